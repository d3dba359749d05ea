package gormrepo_test

import (
	"errors"
	"testing"
	"time"

	"cadre/db/dbtest"
	"cadre/domain/cluster"
	"cadre/infrastructure/gormrepo"
)

// TestNodeCheckIn drives the node registry's check-in (explicit SQL) on
// both dialects: it writes the lease, lock key and settings, reports a DOWN
// mark from peers, and refuses an instance whose row was taken over.
func TestNodeCheckIn(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			r := gormrepo.New(openMigrated(t, dialect))
			n := &cluster.Node{ID: "node1", InternalID: "i1", Hostname: "h1", Clustered: true, OperationalState: cluster.Up,
				SchedulerState: cluster.SchedulerRunning, Timeout: 30 * time.Second, LivenessLock: cluster.LivenessLockKey("node1"),
				Settings: map[string]string{cluster.SettingJobStore: "repository database"}}
			if err := r.NodesRegister(ctx, n, func(*cluster.Node, []*cluster.Node, time.Time) error { return nil }); err != nil {
				t.Fatal(err)
			}
			registered := n.LastCheckIn
			time.Sleep(20 * time.Millisecond)
			n.URL, n.SchedulerState, n.Timeout = "http://h1:8080", cluster.SchedulerPaused, 45*time.Second
			wasDown, err := r.NodesCheckIn(ctx, n)
			if err != nil || wasDown {
				t.Fatalf("check-in: wasDown %v, %v", wasDown, err)
			}
			got, err := r.NodesGet(ctx, "node1")
			if err != nil {
				t.Fatal(err)
			}
			if !got.LastCheckIn.After(registered) || got.URL != "http://h1:8080" || got.SchedulerState != cluster.SchedulerPaused ||
				got.Timeout != 45*time.Second || got.LivenessLock != cluster.LivenessLockKey("node1") ||
				got.Settings[cluster.SettingJobStore] != "repository database" {
				t.Fatalf("row after check-in: %+v", got)
			}

			// Peers marked it DOWN (its lease ran out); the next check-in says so and brings it back UP.
			if won, err := r.NodesMarkDown(ctx, "node1", got.LastCheckIn.Add(time.Second)); err != nil || !won {
				t.Fatalf("mark down: %v %v", won, err)
			}
			if wasDown, err := r.NodesCheckIn(ctx, n); err != nil || !wasDown {
				t.Fatalf("check-in after DOWN: wasDown %v, %v", wasDown, err)
			}
			if got, _ := r.NodesGet(ctx, "node1"); got.OperationalState != cluster.Up {
				t.Fatalf("state after check-in: %s", got.OperationalState)
			}

			// A crash mark names the instance: a stale one changes nothing.
			if won, err := r.NodesMarkCrashed(ctx, "node1", "old-instance"); err != nil || won {
				t.Fatalf("crash mark for another instance: %v %v", won, err)
			}
			if won, err := r.NodesMarkCrashed(ctx, "node1", "i1"); err != nil || !won {
				t.Fatalf("crash mark: %v %v", won, err)
			}
			if won, _ := r.NodesMarkCrashed(ctx, "node1", "i1"); won {
				t.Fatal("a second crash mark won too")
			}

			// Another instance took the row over: the old one's check-in is refused.
			twin := *n
			twin.InternalID = "i2"
			if err := r.NodesRegister(ctx, &twin, func(*cluster.Node, []*cluster.Node, time.Time) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := r.NodesCheckIn(ctx, n); !errors.Is(err, cluster.ErrTakenOver) {
				t.Fatalf("check-in of the replaced instance: %v; want ErrTakenOver", err)
			}
			gone := &cluster.Node{ID: "nobody", InternalID: "x"}
			if _, err := r.NodesCheckIn(ctx, gone); !errors.Is(err, cluster.ErrTakenOver) {
				t.Fatalf("check-in without a row: %v; want ErrTakenOver", err)
			}
		})
	}
}
