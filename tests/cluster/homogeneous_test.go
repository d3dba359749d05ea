package cluster_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"cadre/db/dbtest"
	"cadre/node/proctest"
)

// TestHeterogeneousJobStoreWarnedOnEveryNode: a node whose job store lives
// in a separate database while the others keep it in the repository is
// shown with a warning, on every node, naming the job store and both values.
func TestHeterogeneousJobStoreWarnedOnEveryNode(t *testing.T) {
	c := startCluster(t, 1)
	jobs := dbtest.Postgres(t)
	odd := proctest.Start(t, "node2", append(clusterArgs(c.url), "-Dmidpoint.taskManager.jdbcUrl="+jobs)...)
	for _, seen := range []*proctest.Proc{c.nodes[0], odd} {
		for _, about := range []string{"node1", "node2"} {
			var warnings []any
			proctest.WaitFor(t, seen.NodeID+" to warn about "+about+"'s job store", 15*time.Second, func() bool {
				warnings, _ = nodeField(t, seen, about, "warnings").([]any)
				return strings.Contains(fmt.Sprint(warnings), "job store (taskManager/jdbcUrl)")
			})
			w := fmt.Sprint(warnings)
			if !strings.Contains(w, "repository database") || !strings.Contains(w, "separate postgresql database") || !strings.Contains(w, "must be the same on every node") {
				t.Fatalf("%s shows %s with warnings %s; want both job-store placements named", seen.NodeID, about, w)
			}
		}
	}
	// Same settings elsewhere: no such warning between identical nodes.
	third := proctest.Start(t, "node3", clusterArgs(c.url)...)
	proctest.WaitFor(t, "node3 to be listed", 10*time.Second, func() bool { return nodeField(t, third, "node3", "nodeId") == "node3" })
	for _, w := range nodeField(t, third, "node3", "warnings").([]any) {
		if strings.Contains(w.(string), "node1") {
			t.Fatalf("node3 warned about identical node1: %v", w)
		}
	}
}
