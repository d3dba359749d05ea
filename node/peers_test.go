package node_test

import (
	"testing"
	"time"

	"cadre/db/dbtest"
	"cadre/node/nodetest"
)

// TestPeersProbedWithoutTraffic: with no user activity at all, each node
// knows within a few check-ins whether it reaches the other, so the
// dashboard's reachability column is filled from the start.
func TestPeersProbedWithoutTraffic(t *testing.T) {
	url := dbtest.Postgres(t)
	args := []string{"-Dmidpoint.taskManager.clustered=true", "-Dmidpoint.taskManager.localNodeClusteringEnabled=true"}
	n1 := nodetest.StartOn(t, url, append(args, "-Dmidpoint.nodeId=node1")...)
	n2 := nodetest.StartOn(t, url, append(args, "-Dmidpoint.nodeId=node2")...)
	for _, c := range []struct {
		from *nodetest.Node
		peer string
	}{{n1, "node2"}, {n2, "node1"}} {
		waitFor(t, c.from.Config.NodeID+" to have called "+c.peer, 15*time.Second, func() bool {
			r, ok := c.from.Peers.Reachability()[c.peer]
			return ok && !r.LastOK.IsZero()
		})
	}
}
