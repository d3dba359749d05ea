package proctest

import "time"

// Test timings for clustered nodes: short, so cluster tests run in seconds.
const (
	Interval = 500 * time.Millisecond // taskManager/nodeRegistrationInterval
	Timeout  = 3 * time.Second        // taskManager/nodeTimeout
)

// ClusterArgs are the arguments of a clustered test node on dbURL: several
// nodes on this host, short timings and the test administrator password.
func ClusterArgs(dbURL string) []string {
	return []string{
		"-Dmidpoint.repository.jdbcUrl=" + dbURL,
		"-Dmidpoint.taskManager.clustered=true",
		"-Dmidpoint.taskManager.localNodeClusteringEnabled=true",
		"-Dmidpoint.taskManager.nodeRegistrationInterval=" + Interval.String(),
		"-Dmidpoint.taskManager.nodeTimeout=" + Timeout.String(),
		"-Dmidpoint.administrator.initialPassword=" + AdminPassword,
	}
}
