package taskmanager

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cadre/domain/task"
)

// markStore records stall marks; the rest of TaskStore is not used here.
type markStore struct {
	TaskStore
	mu    sync.Mutex
	marks map[string]*time.Time
}

func (s *markStore) TasksMarkStalled(_ context.Context, oid, _ string, since *time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks[oid] = since
	return nil
}

func (s *markStore) TasksStalled(context.Context) ([]*task.Task, error) { return nil, nil }

func (s *markStore) mark(oid string) *time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marks[oid]
}

type gauge struct {
	noMetrics
	n int
}

func (g *gauge) TasksStalled(n int) { g.n = n }

func TestStalledDetection(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	store := &markStore{marks: map[string]*time.Time{}}
	g := &gauge{}
	m := New(Config{NodeID: "n1", StalledThreshold: 10 * time.Second}, store, nil, nil, nil, g, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r := &localRun{stopping: make(chan struct{})}
	r.beat.mark(now)
	m.running["t1"] = r
	ctx := context.Background()

	now = start.Add(9 * time.Second)
	m.checkStalled(ctx)
	if store.mark("t1") != nil || g.n != 0 {
		t.Fatalf("marked before the threshold: %v, gauge %d", store.mark("t1"), g.n)
	}

	now = start.Add(10 * time.Second)
	m.checkStalled(ctx)
	if got := store.mark("t1"); got == nil || !got.Equal(start) || g.n != 1 {
		t.Fatalf("after 10 s without progress: mark %v (want %s, when the run started), gauge %d", got, start, g.n)
	}

	now = start.Add(12 * time.Second)
	r.beat.moved(1, 0, clock) // an item completes
	m.checkStalled(ctx)
	if got := store.mark("t1"); got != nil || g.n != 0 || len(m.stalled.marked) != 0 {
		t.Fatalf("progress moved but the mark stays: %v, gauge %d", got, g.n)
	}

	now = start.Add(22 * time.Second)
	m.checkStalled(ctx)
	if got := store.mark("t1"); got == nil || !got.Equal(start.Add(12*time.Second)) {
		t.Fatalf("stalled again: mark %v, want when progress last moved (%s)", got, start.Add(12*time.Second))
	}

	delete(m.running, "t1") // the run ends while stalled
	m.checkStalled(ctx)
	if got := store.mark("t1"); got != nil || g.n != 0 {
		t.Errorf("an ended run keeps its mark %v, gauge %d", got, g.n)
	}
}

func TestProgressWithoutItemsIsNoMovement(t *testing.T) {
	var b beat
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.mark(t0)
	b.moved(0, 0, func() time.Time { return t0.Add(time.Hour) })
	if !b.last().Equal(t0) {
		t.Errorf("Progress(0, 0) counted as movement: last %s", b.last())
	}
}

func TestStallWatchRunsWhileTasksRun(t *testing.T) {
	store := &markStore{marks: map[string]*time.Time{}}
	m := New(Config{NodeID: "n1", StalledThreshold: time.Millisecond, StalledCheckInterval: 5 * time.Millisecond},
		store, nil, nil, nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r := &localRun{stopping: make(chan struct{})}
	r.beat.mark(time.Now())
	m.mu.Lock()
	m.running["t1"] = r
	m.mu.Unlock()
	m.ensureStallWatch()
	m.ensureStallWatch() // a second run does not start a second watch
	waitFor(t, "the run to be marked stalled", func() bool { return store.mark("t1") != nil })

	m.mu.Lock()
	delete(m.running, "t1")
	m.mu.Unlock()
	waitFor(t, "the watch to clear the mark and end", func() bool {
		m.stalled.mu.Lock()
		defer m.stalled.mu.Unlock()
		return !m.stalled.watching && store.mark("t1") == nil
	})
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
