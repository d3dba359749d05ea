package cluster_test

import (
	"net/http"
	"testing"
	"time"

	"cadre/domain/task"
	"cadre/node/proctest"
)

// workerItems reads the coordinator's worker tasks through the API and
// returns each worker's reported progress.
func (c *cluster) workerProgress(from int, oid string) map[string]map[string]any {
	c.t.Helper()
	status, out := c.admin(from).Do(c.t, "GET", "/api/v1/tasks?parent="+oid, nil)
	if status != http.StatusOK {
		c.t.Fatalf("list workers: %d %v", status, out)
	}
	got := map[string]map[string]any{}
	items, _ := out["items"].([]any)
	for _, it := range items {
		w := it.(map[string]any)
		got[w["oid"].(string)] = w["progress"].(map[string]any)
	}
	return got
}

// TestWorkerProgressFromBuckets: while a task runs, its workers report the
// items of the buckets they completed; after kill -9 of a node, that node's
// workers keep what they completed, the workers add up to the task, and the
// dead node's scheduler is shown STOPPED, not RUNNING.
func TestWorkerProgressFromBuckets(t *testing.T) {
	c := startCluster(t, 2)
	const buckets, items = 200, 5
	oid := c.createNoop(buckets, items, 8, 2)
	proctest.WaitFor(t, "a fifth of the buckets", 60*time.Second, func() bool { return c.complete(oid) >= buckets/5 })

	// Live: before the task ends, workers already show what they did.
	live := int64(0)
	for _, p := range c.workerProgress(0, oid) {
		live += int64(p["itemsProcessed"].(float64))
	}
	if coord, _ := c.repo.TasksGet(t.Context(), oid); coord.State == task.Closed {
		t.Fatal("the task closed before its progress could be read while running; make it longer")
	}
	if live < buckets/5*items {
		t.Errorf("while running, workers report %d items; %d buckets of %d items were already complete", live, buckets/5, items)
	}

	victim := c.nodes[1]
	victim.Kill()
	c.waitClosed(oid, 90*time.Second)
	c.assertExactlyOnce(oid, buckets, items)

	want := map[string]int64{} // worker → items of the buckets it completed
	byVictim := int64(0)
	for _, b := range c.buckets(oid) {
		want[b.Worker] += b.ItemsProcessed
		if b.Node == victim.NodeID {
			byVictim++
		}
	}
	if byVictim == 0 {
		t.Fatalf("%s completed no bucket before it was killed; the test proves nothing", victim.NodeID)
	}
	total := int64(0)
	for worker, p := range c.workerProgress(0, oid) {
		got := int64(p["itemsProcessed"].(float64))
		total += got
		if got != want[worker] {
			t.Errorf("worker %s reports %d items; the buckets it completed hold %d", worker, got, want[worker])
		}
	}
	if total != buckets*items {
		t.Errorf("workers add up to %d items; the task has %d", total, buckets*items)
	}
	// The dashboard and the API no longer show the dead node's scheduler as RUNNING.
	status, out := c.admin(0).Do(t, "GET", "/api/v1/nodes", nil)
	if status != http.StatusOK {
		t.Fatalf("nodes: %d %v", status, out)
	}
	for _, it := range out["items"].([]any) {
		n := it.(map[string]any)
		if n["nodeId"] == victim.NodeID && (n["operationalState"] != "DOWN" || n["schedulerState"] != "STOPPED") {
			t.Errorf("killed node: operationalState %v, schedulerState %v; want DOWN, STOPPED", n["operationalState"], n["schedulerState"])
		}
	}
	t.Logf("%s completed %d buckets before kill -9; workers add up to %d of %d items", victim.NodeID, byVictim, total, buckets*items)
}
