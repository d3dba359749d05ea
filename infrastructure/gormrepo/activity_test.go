package gormrepo_test

import (
	"context"
	"testing"
	"time"

	"cadre/domain/cluster"
	"cadre/infrastructure/gormrepo"
)

// TestClusterEvents: events come back newest first with the database's
// time, limited, and old ones can be pruned.
func TestClusterEvents(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgresql"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			r := gormrepo.New(openMigrated(t, dialect))
			before, _ := r.Now(ctx)
			want := []cluster.Event{
				{Kind: cluster.EventNodeJoined, Node: "node1", Actor: "node1"},
				{Kind: cluster.EventNodeDead, Node: "node2", Actor: "node1", Message: "no check-in", Millis: 42},
				{Kind: cluster.EventBucketFenced, Node: "node2", Actor: "node2"},
			}
			for _, e := range want {
				if err := r.EventsAdd(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.EventsList(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Kind != cluster.EventBucketFenced || got[1].Kind != cluster.EventNodeDead {
				t.Fatalf("newest two: %+v", got)
			}
			if d := got[1]; d.Node != "node2" || d.Actor != "node1" || d.Millis != 42 || d.Message != "no check-in" || d.At.Before(before.Add(-time.Second)) {
				t.Fatalf("dead event read back as %+v", d)
			}
			older, err := r.EventsPage(ctx, got[1].ID, 10)
			if err != nil || len(older) != 1 || older[0].Kind != cluster.EventNodeJoined {
				t.Fatalf("the page after the dead event: %+v %v", older, err)
			}
			n, err := r.EventsPrune(ctx, time.Now().Add(time.Hour))
			if err != nil || n != 3 {
				t.Fatalf("prune: %d %v", n, err)
			}
		})
	}
}
