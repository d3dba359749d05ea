package node

import (
	"fmt"
	"os"
	"strings"
)

// applicationName names this process's PostgreSQL connections, so that
// pg_stat_activity shows which node sent a statement: "cadre node1 pid=42".
// A node id that is still an expression (${sequence:…} is resolved against
// the database, after it is open) is left out; the pid always identifies
// the process.
func applicationName(nodeID string) string {
	if nodeID == "" || strings.Contains(nodeID, "${") {
		return fmt.Sprintf("cadre pid=%d", os.Getpid())
	}
	// PostgreSQL keeps 63 bytes of it; the pid goes first so it survives.
	return fmt.Sprintf("cadre pid=%d %s", os.Getpid(), nodeID)
}
