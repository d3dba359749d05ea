package cluster_test

import (
	"context"
	"testing"
	"time"

	"cadre/apiclient"
	"cadre/domain/task"
	"cadre/node/proctest"
)

// startLimitedCluster starts node1 with taskExecutionLimitations "#:1,reports:0"
// (one of its own workers at a time, never a "reports" task, though it is in
// that execution group) and node2 without limitations, both in "reports".
func startLimitedCluster(t *testing.T) *cluster {
	t.Helper()
	c := newCluster(t, func(url string) []string {
		return append(clusterArgs(url), "-Dmidpoint.taskManager.executionGroups=reports")
	})
	c.nodes = append(c.nodes,
		proctest.Start(t, "node1", append(c.args, "-Dmidpoint.taskManager.taskExecutionLimitations=#:1,reports:0")...),
		proctest.Start(t, "node2", c.args...))
	c.waitLive(2)
	return c
}

// runningOn counts the RUNNING tasks of an execution group on a node, from the repository.
func (c *cluster) runningOn(node, group string) int {
	c.t.Helper()
	ts, err := c.repo.TasksRunningOn(context.Background(), node)
	if err != nil {
		c.t.Fatal(err)
	}
	n := 0
	for _, t := range ts {
		if t.ExecutionGroup == group {
			n++
		}
	}
	return n
}

// limitOf finds a node's limit entry for group in GET /api/v1/nodes.
func limitOf(nodes []apiclient.Node, nodeID, group string) (apiclient.ExecutionLimit, bool) {
	for _, n := range nodes {
		if n.NodeId != nodeID || n.ExecutionLimits == nil {
			continue
		}
		for _, l := range *n.ExecutionLimits {
			if l.Group == group {
				return l, true
			}
		}
	}
	return apiclient.ExecutionLimit{}, false
}

// TestExecutionLimits checks taskExecutionLimitations on real processes: a
// node limited to one of its own workers never runs two of them at once,
// while the other node's workers take the rest of the work; and a group
// limited to 0 never runs on that node.
func TestExecutionLimits(t *testing.T) {
	c := startLimitedCluster(t)

	t.Run("a node at #:1 runs one of its workers at a time and the task completes", func(t *testing.T) {
		const buckets, perNode = 300, 4
		oid := c.createNoop(buckets, 1, 20, perNode)
		peak1, peak2 := 0, 0
		api := c.admin(1) // node2 reports node1's row
		for {
			n1, n2 := c.runningOn("node1", "node1"), c.runningOn("node2", "node2")
			peak1, peak2 = max(peak1, n1), max(peak2, n2)
			if n1 > 1 {
				t.Fatalf("%d workers pinned to node1 RUNNING at once; its limit is #:1", n1)
			}
			if l, ok := limitOf(api.Nodes(t), "node1", "#"); !ok || l.Limit == nil || *l.Limit != 1 || l.Running > 1 {
				t.Fatalf("node1's # limit in node2's GET /api/v1/nodes = %+v (found %v), want limit 1 and at most 1 running", l, ok)
			}
			got, err := c.repo.TasksGet(context.Background(), oid)
			if err != nil {
				t.Fatal(err)
			}
			if got.State == task.Closed {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.assertExactlyOnce(oid, buckets, 1)
		if peak1 != 1 || peak2 < 2 {
			t.Errorf("peak running workers: node1 %d (want 1), node2 %d (want several: it takes the work node1 leaves)", peak1, peak2)
		}
	})

	t.Run("group:0 never runs on that node", func(t *testing.T) {
		group := "reports"
		params := map[string]any{"items": 4, "delayMs": 150}
		var oids []string
		for range 4 {
			oids = append(oids, c.admin(0).CreateTask(t, apiclient.TaskCreate{Name: "report-like", Handler: "noop", Params: &params, ExecutionGroup: &group}).Oid)
		}
		seenOn2 := false
		proctest.WaitFor(t, "the reports tasks to close", 60*time.Second, func() bool {
			if n := c.runningOn("node1", group); n > 0 {
				t.Fatalf("%d %q tasks RUNNING on node1, whose limit for the group is 0", n, group)
			}
			seenOn2 = seenOn2 || c.runningOn("node2", group) > 0
			for _, oid := range oids {
				got, err := c.repo.TasksGet(context.Background(), oid)
				if err != nil || got.State != task.Closed {
					return false
				}
			}
			return true
		})
		if !seenOn2 {
			t.Error("no reports task was seen running on node2")
		}
		if l, ok := limitOf(c.admin(0).Nodes(t), "node1", group); !ok || l.Limit == nil || *l.Limit != 0 {
			t.Errorf("node1's %q limit in GET /api/v1/nodes = %+v (found %v), want 0", group, l, ok)
		}
	})
}
