package handlers_test

import (
	"slices"
	"testing"
	"time"

	"cadre/app/handlers"
	"cadre/domain/cluster"
)

// TestCleanupDeadNodes removes the rows of nodes DOWN longer than
// deadNodesOlderThan, and keeps recently stopped and live nodes.
func TestCleanupDeadNodes(t *testing.T) {
	e := setup(t)
	e.handlers["cleanup"] = handlers.NewCleanup(nil, nil, e.store, func() time.Time { return e.now })
	register := func(id string, down bool) {
		n := &cluster.Node{ID: id, InternalID: id + "-1", Hostname: id, Clustered: true, OperationalState: cluster.Up, SchedulerState: cluster.SchedulerRunning}
		if err := e.store.NodesRegister(t.Context(), n, func(*cluster.Node, []*cluster.Node, time.Time) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if down {
			if err := e.store.NodesSetDown(t.Context(), id, id+"-1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	register("gone", true)
	register("silent", false) // UP in its row: the cluster manager decides about it, not cleanup
	time.Sleep(300 * time.Millisecond)
	register("stopped", true)
	register("live", false)

	res := e.run(t, "cleanup", map[string]any{"deadNodesOlderThan": "200ms"}, runOpts{})
	if res.err != nil || res.items != 1 || res.errs != 0 {
		t.Fatalf("run: err %v, %d items, %d errors; want 1 item\n%s", res.err, res.items, res.errs, res.logs)
	}
	nodes, err := e.store.NodesList(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	if !slices.Equal(ids, []string{"live", "silent", "stopped"}) {
		t.Fatalf("nodes left %v; want live, silent, stopped", ids)
	}

	// The default keeps a day.
	res = e.run(t, "cleanup", map[string]any{}, runOpts{})
	if res.err != nil || res.items != 0 {
		t.Fatalf("default run: err %v, %d items; want none deleted", res.err, res.items)
	}
}

func TestCleanupDurations(t *testing.T) {
	h := handlers.NewCleanup(nil, nil, nil, nil)
	for _, ok := range []any{"P1D", "PT12H", "P2DT30M", "PT90S", "36h", float64(60000)} {
		if err := h.Validate(map[string]any{"deadNodesOlderThan": ok, "closedTasksOlderThan": ok}, nil); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
	for _, bad := range []any{"P", "PT", "1 day", "-5m", "P1Y", true} {
		if err := h.Validate(map[string]any{"deadNodesOlderThan": bad}, nil); err == nil {
			t.Errorf("deadNodesOlderThan %v accepted", bad)
		}
	}
}
