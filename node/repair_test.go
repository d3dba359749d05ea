package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"cadre/app/taskmanager"
	"cadre/db/dbtest"
	"cadre/domain/cluster"
	"cadre/domain/task"
	"cadre/node/nodetest"
)

// TestRepairIsCountedAndShown: a repair made by a node's pass is counted in
// cadre_repairs_total under its kind and recorded as a "repair" entry of
// the cluster activity, naming the task.
func TestRepairIsCountedAndShown(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			n := nodetest.Start(t, dialect)
			ctx := context.Background()
			now := time.Now().UTC()
			// A single-run task left RUNNABLE with no trigger, as a start
			// cut off by the database leaves it.
			lost := &task.Task{OID: uuid.NewString(), Name: "left without a trigger", Handler: "noop", Params: map[string]any{},
				Role: task.Standalone, State: task.Runnable, Result: task.InProgress, Version: 1, CreatedAt: now, ModifiedAt: now}
			if err := n.Store.TasksAdd(ctx, lost); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := n.Tasks.Repair(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if got := n.Metrics.Repairs(string(taskmanager.RepairNoTrigger)); got != 1 {
				t.Fatalf("cadre_repairs_total{kind=no-trigger} = %v, want 1", got)
			}
			waitFor(t, "the rescheduled task to run and close", 20*time.Second, func() bool {
				return taskState(t, n, lost.OID).State == task.Closed
			})
			events, err := n.Store.EventsList(ctx, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				if e.Kind == cluster.EventRepair && strings.Contains(e.Message, lost.OID) && strings.Contains(e.Message, string(taskmanager.RepairNoTrigger)) {
					return
				}
			}
			t.Fatalf("no repair event naming %s in the activity: %+v", lost.OID, events)
		})
	}
}
