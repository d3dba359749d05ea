package cluster_test

import (
	"strings"
	"testing"
	"time"

	"cadre/node/proctest"
)

// TestCleanupRemovesDeadNodes: a cleanup task removes the row of a node
// DOWN longer than deadNodesOlderThan, and the other nodes drop its
// cadre_node_up series; live nodes stay.
func TestCleanupRemovesDeadNodes(t *testing.T) {
	c := startCluster(t, 3)
	node1, leaver := c.nodes[0], c.nodes[2]
	if err := leaver.Term(15 * time.Second); err != nil {
		t.Fatalf("SIGTERM %s: %v", leaver.NodeID, err)
	}
	series := `cadre_node_up{instance_node="node1",node="node3"}`
	proctest.WaitFor(t, "node1 to export node3 as down", 10*time.Second, func() bool {
		return strings.Contains(string(node1.Admin().Request(t, "GET", "/metrics", nil).Body), series+" 0")
	})
	time.Sleep(1500 * time.Millisecond) // DOWN for longer than the retention below

	status, out := node1.Admin().Do(t, "POST", "/api/v1/tasks", map[string]any{"name": "cleanup", "handler": "cleanup",
		"params": map[string]any{"deadNodesOlderThan": "PT1S"}})
	if status != 201 {
		t.Fatalf("create cleanup task: %d %v", status, out)
	}
	done := c.waitClosed(out["oid"].(string), 30*time.Second)
	if done.Progress.ItemsProcessed < 1 {
		t.Fatalf("cleanup processed %d items; want node3 removed", done.Progress.ItemsProcessed)
	}
	for _, p := range c.nodes[:2] {
		proctest.WaitFor(t, p.NodeID+" to forget node3", 10*time.Second, func() bool {
			return nodeField(t, p, "node3", "nodeId") == nil &&
				!strings.Contains(string(p.Admin().Request(t, "GET", "/metrics", nil).Body), `node="node3"}`)
		})
		for _, live := range []string{"node1", "node2"} {
			if nodeField(t, p, live, "nodeId") != live {
				t.Fatalf("%s no longer lists live %s", p.NodeID, live)
			}
		}
	}
}
