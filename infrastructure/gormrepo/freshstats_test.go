package gormrepo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"cadre/db/dbtest"
	"cadre/domain/object"
)

// TestBulkInsertsRefreshStatistics: on PostgreSQL, a node that inserted many
// objects analyzes the table itself, so the planner knows of them without
// waiting for autovacuum (off on some servers): before, it still believes
// the users are the hundred it saw last.
func TestBulkInsertsRefreshStatistics(t *testing.T) {
	ctx := context.Background()
	d := planDB(t, dbtest.Postgres(t))
	fillUsers(t, d, 100) // analyzed with 100 users
	r := New(d)
	r.stats.mu.Lock()
	r.stats.threshold = 2000 // minAnalyzeRows, scaled down
	r.stats.mu.Unlock()
	estimate := func() int64 {
		n, ok := r.drv.estimateRows(r.db.Model(&objectRow{}).Where("type = ?", "users"))
		if !ok {
			t.Fatal("no estimate")
		}
		return n
	}
	add := func(from, to int) {
		var objs []object.Object
		for i := from; i < to; i++ {
			objs = append(objs, &object.User{Meta: object.Meta{OID: uuid.NewString(), Name: fmt.Sprintf("bulk%05d", i)}, Enabled: true})
		}
		if err := r.AddMany(ctx, objs); err != nil {
			t.Fatal(err)
		}
	}
	for from := 0; from < 1500; from += 500 {
		add(from, from+500)
	}
	time.Sleep(200 * time.Millisecond)
	if n := estimate(); n > 500 {
		t.Fatalf("the planner expects %d users after 1,500 inserts, below the threshold; want the stale ~100 (is something else analyzing?)", n)
	}
	for from := 1500; from < 5000; from += 500 {
		add(from, from+500)
	}
	deadline := time.Now().Add(30 * time.Second)
	for n := estimate(); n < 2500; n = estimate() {
		if time.Now().After(deadline) {
			t.Fatalf("the planner still expects %d users after 5,000 inserts", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
