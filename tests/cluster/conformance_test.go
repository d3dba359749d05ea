package cluster_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"cadre/domain/task"
	"cadre/node"
	"cadre/node/proctest"
)

// nodeErrors returns the errors a node shows for nodeID in GET /api/v1/nodes.
func nodeErrors(t *testing.T, p *proctest.Proc, nodeID string) (errs []string, schedulerState string) {
	t.Helper()
	// The node's own row and a twin's view of it may both be listed.
	for _, n := range p.Admin().Nodes(t) {
		if n.NodeId == nodeID {
			errs = append(errs, n.Errors...)
			schedulerState = string(n.SchedulerState)
		}
	}
	return errs, schedulerState
}

func TestSecondNodeWithTheSameID(t *testing.T) {
	c := startCluster(t, 1)
	twin := proctest.StartServing(t, "node1", c.args...)
	var status int
	var out map[string]any
	proctest.WaitFor(t, "the twin to finish starting", 10*time.Second, func() bool {
		status, out = twin.Admin().Do(t, "GET", "/readyz", nil)
		return out["reason"] != "starting"
	})
	if status != 503 || !strings.Contains(fmt.Sprint(out["reason"]), "node id conflict") {
		t.Fatalf("twin /readyz: %d %v; want 503 naming the node id conflict", status, out)
	}
	errs, state := nodeErrors(t, twin, "node1")
	if len(errs) == 0 || errs[0] != "ERROR: node id conflict" || state != "ERROR" {
		t.Fatalf("twin shows errors %v, scheduler %s; want ERROR: node id conflict", errs, state)
	}
	if !strings.Contains(twin.Log(), "ERROR: node id conflict") {
		t.Error("the twin's log does not say ERROR: node id conflict")
	}
	// The first node keeps its row and keeps working.
	oid := c.createNoop(20, 2, 0, 2)
	c.waitClosed(oid, 30*time.Second)
	for _, b := range c.buckets(oid) {
		if b.Node != "node1" {
			t.Fatalf("bucket %d ran on %q", b.Seq, b.Node)
		}
	}
	if status, _ := c.admin(0).Do(t, "GET", "/readyz", nil); status != 200 {
		t.Fatalf("the original node1 is no longer ready: %d", status)
	}
}

func TestSecondNodeOnTheSameHost(t *testing.T) {
	url := startCluster(t, 1).url
	args := clusterArgs(url)
	for i, a := range args {
		if strings.Contains(a, "localNodeClusteringEnabled") {
			args[i] = "-Dmidpoint.taskManager.localNodeClusteringEnabled=false"
		}
	}
	second := proctest.Start(t, "node2", args...)
	errs, state := nodeErrors(t, second, "node2")
	if len(errs) == 0 || !strings.HasPrefix(errs[0], "ERROR: node id conflict") || !strings.Contains(errs[0], "localNodeClusteringEnabled") || state != "ERROR" {
		t.Fatalf("second node on one host shows %v, scheduler %s; want ERROR: node id conflict naming localNodeClusteringEnabled", errs, state)
	}
}

func TestNonClusteredNodeJoining(t *testing.T) {
	c := startCluster(t, 1)
	args := append(clusterArgs(c.url), "-Dmidpoint.taskManager.clustered=false")
	solo := proctest.Start(t, "solo", args...)
	for _, seen := range []*proctest.Proc{solo, c.nodes[0]} { // visible on every node
		errs, state := nodeErrors(t, seen, "solo")
		if len(errs) == 0 || !strings.HasPrefix(errs[0], "ERROR: not clustered") || state != "ERROR" {
			t.Fatalf("%s shows solo with %v, scheduler %s; want ERROR: not clustered", seen.NodeID, errs, state)
		}
	}
	// It serves HTTP, but work created through it runs on the cluster only.
	status, out := solo.Admin().Do(t, "POST", "/api/v1/tasks", map[string]any{"name": "via solo", "handler": "noop",
		"params":    map[string]any{"itemsPerBucket": 2},
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": 20, "bucketSize": 1}}})
	if status != 201 {
		t.Fatalf("create through solo: %d %v", status, out)
	}
	oid := out["oid"].(string)
	c.waitClosed(oid, 30*time.Second)
	for _, b := range c.buckets(oid) {
		if b.Node != "node1" {
			t.Fatalf("bucket %d ran on %q; a non-conformant node must not schedule", b.Seq, b.Node)
		}
	}
}

// TestClockSkewKillsNobody: nodes whose local clocks are an hour off either
// way are neither declared dead nor declare others dead, because liveness is
// judged by the database clock only.
func TestClockSkewKillsNobody(t *testing.T) {
	c := startCluster(t, 1)
	for i, skew := range []string{"1h", "-1h"} {
		os.Setenv(node.ClockSkewEnv, skew) // inherited by the child only at start
		c.nodes = append(c.nodes, proctest.Start(t, fmt.Sprintf("node%d", i+2), c.args...))
		os.Setenv(node.ClockSkewEnv, "")
	}
	t.Cleanup(func() { os.Unsetenv(node.ClockSkewEnv) })
	c.waitLive(3)
	deadline := time.Now().Add(3 * timeout)
	for time.Now().Before(deadline) {
		if live := c.liveNodes(); live != 3 {
			t.Fatalf("%d live nodes; a skewed clock made a node look dead", live)
		}
		time.Sleep(interval)
	}
	oid := c.createNoop(90, 2, 5, 1)
	c.waitClosed(oid, 60*time.Second)
	perNode := c.assertExactlyOnce(oid, 90, 2)
	for _, p := range c.nodes {
		if strings.Contains(p.Log(), "node is dead") {
			t.Errorf("%s declared a node dead", p.NodeID)
		}
		if perNode[p.NodeID] == 0 {
			t.Errorf("%s ran no bucket", p.NodeID)
		}
	}
	got, err := c.repo.TasksGet(context.Background(), oid)
	if err != nil || got.State != task.Closed {
		t.Fatalf("task: %+v %v", got, err)
	}
}
