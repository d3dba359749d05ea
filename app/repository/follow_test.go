package repository_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"cadre/app/repository"
	"cadre/domain/object"
)

// fakeLog is a change log whose rows become visible in any order, as
// PostgreSQL's do when transactions commit out of seq order.
type fakeLog struct {
	mu   sync.Mutex
	rows []repository.LogEntry
	err  error
}

func (l *fakeLog) commit(seq int64, node string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rows = append(l.rows, repository.LogEntry{Seq: seq, Type: object.TypeArchetype, OID: "o", Effect: repository.EffectCache, NodeID: node, At: time.Now()})
	slices.SortFunc(l.rows, func(a, b repository.LogEntry) int { return int(a.Seq - b.Seq) })
}

func (l *fakeLog) ChangeLogAfter(_ context.Context, after int64, limit int) ([]repository.LogEntry, time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil, time.Time{}, l.err
	}
	var out []repository.LogEntry
	for _, r := range l.rows {
		if r.Seq > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, time.Now(), nil
}

func (l *fakeLog) ChangeLogHead(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.rows) == 0 {
		return 0, nil
	}
	return l.rows[len(l.rows)-1].Seq, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newFollower(l *fakeLog, c *clock, applied *[]int64, dropped *int) *repository.Follower {
	return &repository.Follower{Reader: l, Self: "me", Now: c.now, Batch: 2,
		Apply:   func(e repository.LogEntry) { *applied = append(*applied, e.Seq) },
		DropAll: func() { *dropped++ }}
}

// TestFollowerAppliesAnEntryCommittedAfterAHigherOne proves that a seq made
// visible after a higher one is still applied, that a rolled-back seq holds
// the floor only for HoleWait, and that own entries are not applied again.
func TestFollowerAppliesAnEntryCommittedAfterAHigherOne(t *testing.T) {
	ctx := context.Background()
	l, c := &fakeLog{}, &clock{t: time.Unix(1000, 0)}
	var applied []int64
	var dropped int
	f := newFollower(l, c, &applied, &dropped)
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	l.commit(1, "node1")
	l.commit(3, "node1") // 2 is still committing
	l.commit(4, "me")
	l.commit(6, "node1") // 5 rolled back
	if err := f.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Applied() != 1 {
		t.Fatalf("floor %d, want 1 (below the hole at 2)", f.Applied())
	}
	c.t = c.t.Add(time.Second)
	l.commit(2, "node2")
	if err := f.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 3, 6, 2}; !slices.Equal(applied, want) {
		t.Fatalf("applied %v, want %v (own entry 4 skipped, late 2 applied)", applied, want)
	}
	if f.Applied() != 4 {
		t.Fatalf("floor %d, want 4 (waiting at the rolled-back 5)", f.Applied())
	}
	c.t = c.t.Add(6 * time.Second)
	if err := f.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Applied() != 6 || dropped != 0 {
		t.Fatalf("floor %d dropped %d, want 6 and 0", f.Applied(), dropped)
	}
}

// TestFollowerDropsEverythingAfterALongAbsence: a node that could not read
// the log for longer than MaxAway may have missed pruned entries.
func TestFollowerDropsEverythingAfterALongAbsence(t *testing.T) {
	ctx := context.Background()
	l, c := &fakeLog{}, &clock{t: time.Unix(1000, 0)}
	var applied []int64
	var dropped int
	f := newFollower(l, c, &applied, &dropped)
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(10 * time.Minute)
	l.commit(7, "node1")
	if err := f.Tick(ctx); err == nil || dropped != 1 || f.Applied() != 7 {
		t.Fatalf("err %v dropped %d floor %d; want a gap, one drop, floor at the head 7", err, dropped, f.Applied())
	}
}

// TestFollowerWaitEndsWhenThePushOrTheTickApplies is read-your-writes on one node.
func TestFollowerWaitEndsWhenThePushOrTheTickApplies(t *testing.T) {
	ctx := context.Background()
	l, c := &fakeLog{}, &clock{t: time.Unix(1000, 0)}
	var applied []int64
	var dropped int
	missed := 0
	f := newFollower(l, c, &applied, &dropped)
	f.Missed = func(n int) { missed += n }
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if f.Wait(short, 1) {
		t.Fatal("Wait(1) returned before anything applied 1")
	}
	f.Pushed(1)
	if !f.Wait(ctx, 1) {
		t.Fatal("Wait(1) after the push")
	}
	l.commit(1, "node1")
	l.commit(2, "node1")
	if err := f.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, []int64{2}) || !f.Wait(ctx, 2) {
		t.Fatalf("applied %v; want only 2 (1 came by push)", applied)
	}
	c.t = c.t.Add(3 * time.Second)
	if err := f.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if missed != 1 {
		t.Fatalf("missed %d, want 1 (entry 2 never pushed)", missed)
	}
}
