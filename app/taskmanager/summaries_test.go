package taskmanager

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cadre/domain/task"
)

// summaryStore is a task store with one coordinator and its workers that
// counts every query over the coordinator's buckets.
type summaryStore struct {
	TaskStore
	tasks []*task.Task
	// workersOnly leaves the coordinator out of lists.
	workersOnly bool
	delay       time.Duration
	// gate, when set, holds every read until it is closed.
	gate chan struct{}

	mu         sync.Mutex
	aggregates int
	complete   map[string]int64 // worker → COMPLETE buckets
	total      int64
}

func (s *summaryStore) TasksList(context.Context, TaskFilter) ([]*task.Task, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*task.Task
	for _, t := range s.tasks {
		if s.workersOnly && t.Role == task.Coordinator {
			continue
		}
		c := *t
		out = append(out, &c)
	}
	return out, int64(len(out)), nil
}

func (s *summaryStore) TasksGet(_ context.Context, oid string) (*task.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tasks {
		if t.OID == oid {
			c := *t
			return &c, nil
		}
	}
	return nil, task.ErrNotFound
}

func (s *summaryStore) read() (BucketCounts, []BucketProgress) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aggregates++
	var c BucketCounts
	var ps []BucketProgress
	for w, n := range s.complete {
		c.Complete += n
		c.Items += n
		ps = append(ps, BucketProgress{Worker: w, Node: "n1", Buckets: n, Items: n})
	}
	c.Ready = s.total - c.Complete
	time.Sleep(s.delay)
	return c, ps
}

func (s *summaryStore) BucketsCount(context.Context, string) (BucketCounts, error) {
	c, _ := s.read()
	return c, nil
}

func (s *summaryStore) BucketsProgress(context.Context, string) ([]BucketProgress, error) {
	_, ps := s.read()
	return ps, nil
}

func (s *summaryStore) BucketsSummary(context.Context, string) (BucketCounts, []BucketProgress, error) {
	c, ps := s.read()
	return c, ps, nil
}

func (s *summaryStore) queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aggregates
}

func (s *summaryStore) completeOne(worker string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.complete[worker]++
}

func setupSummaries(t *testing.T, workers int, delay time.Duration) (*Manager, *summaryStore) {
	t.Helper()
	const coord = "c0000000-0000-4000-8000-000000000000"
	s := &summaryStore{delay: delay, complete: map[string]int64{}, total: 1000}
	s.tasks = append(s.tasks, &task.Task{OID: coord, Name: "big", Role: task.Coordinator, State: task.Running})
	for i := range workers {
		w := fmt.Sprintf("w%07d-0000-4000-8000-000000000000", i)
		s.tasks = append(s.tasks, &task.Task{OID: w, Name: "big worker", Role: task.Worker, Parent: coord, State: task.Running})
		s.complete[w] = int64(10 * (i + 1))
	}
	m := New(Config{NodeID: "n1"}, s, nil, nil, nil, nil, nil, slog.New(slog.DiscardHandler))
	return m, s
}

// progressOf lists the tasks and returns each one's progress by OID.
func progressOf(t *testing.T, m *Manager) map[string]task.Progress {
	t.Helper()
	ts, _, err := m.List(context.Background(), TaskFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]task.Progress{}
	for _, tk := range ts {
		out[tk.OID] = tk.Progress
	}
	return out
}

// TestTaskListReadsACoordinatorsBucketsOnce: a page with a coordinator and
// its eight workers reads the coordinator's buckets once (it read them once
// per worker, 0.5 s each beside a million buckets), and every task still
// shows its own progress.
func TestTaskListReadsACoordinatorsBucketsOnce(t *testing.T) {
	m, s := setupSummaries(t, 8, 0)
	got := progressOf(t, m)
	if n := s.queries(); n != 1 {
		t.Fatalf("listing a coordinator and 8 workers read its buckets %d times, want once", n)
	}
	if c := got[s.tasks[0].OID]; c.BucketsTotal != 1000 || c.BucketsComplete != 360 || c.ItemsProcessed != 360 {
		t.Errorf("coordinator progress %+v, want 360 of 1000 buckets and 360 items", c)
	}
	for i, w := range s.tasks[1:] {
		if p := got[w.OID]; p.BucketsComplete != int64(10*(i+1)) {
			t.Errorf("worker %d progress %+v, want %d buckets", i, p, 10*(i+1))
		}
	}
}

// TestSmallSummariesAreExact: a coordinator whose buckets are quick to read
// shows a completed bucket at the next read.
func TestSmallSummariesAreExact(t *testing.T) {
	m, s := setupSummaries(t, 2, 0)
	progressOf(t, m)
	s.completeOne(s.tasks[1].OID)
	if c := progressOf(t, m)[s.tasks[0].OID]; c.BucketsComplete != 31 {
		t.Fatalf("after one more completion the coordinator shows %d buckets complete, want 31", c.BucketsComplete)
	}
	if n := s.queries(); n != 2 {
		t.Fatalf("two lists read the buckets %d times, want 2 (nothing kept)", n)
	}
}

// TestCostlySummariesAreKept: a coordinator whose buckets take long to read
// is read once for many lists in a row; once the kept summary is stale, a
// list still answers from it at once and one background read renews it.
func TestCostlySummariesAreKept(t *testing.T) {
	m, s := setupSummaries(t, 2, summaryCostly+10*time.Millisecond)
	coord := s.tasks[0].OID
	progressOf(t, m)
	s.completeOne(s.tasks[1].OID)
	for range 5 {
		if c := progressOf(t, m)[coord]; c.BucketsComplete != 30 {
			t.Fatalf("a kept summary shows %d buckets complete, want the kept 30", c.BucketsComplete)
		}
	}
	if n := s.queries(); n != 1 {
		t.Fatalf("six lists read the buckets %d times, want once", n)
	}

	m.summaries.mu.Lock()
	m.summaries.m[coord].at = time.Now().Add(-time.Hour)
	m.summaries.mu.Unlock()
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	answered := make(chan task.Progress, 1)
	go func() { answered <- progressOf(t, m)[coord] }()
	select {
	case c := <-answered:
		if c.BucketsComplete != 30 {
			t.Fatalf("a stale summary answered %d, want the kept 30 while it is renewed", c.BucketsComplete)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a list with a stale summary waited for its renewal")
	}
	close(gate)
	deadline := time.Now().Add(10 * time.Second)
	for progressOf(t, m)[coord].BucketsComplete != 31 {
		if time.Now().After(deadline) {
			t.Fatal("the stale summary was never renewed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.queries(); n != 2 {
		t.Fatalf("the renewal read the buckets %d times in all, want 2", n)
	}

	// The coordinator closes: its kept summary is not used any more.
	s.completeOne(s.tasks[1].OID)
	s.mu.Lock()
	s.tasks[0].State, s.tasks[0].Result = task.Closed, task.Success
	s.mu.Unlock()
	if got := progressOf(t, m); got[coord].BucketsComplete != 32 || got[s.tasks[1].OID].BucketsComplete != 12 {
		t.Fatalf("after the coordinator closed: coordinator %+v, worker %+v; want 32 and 12 buckets complete, read afresh",
			got[coord], got[s.tasks[1].OID])
	}
}

// TestWorkersAloneReadTheirCoordinatorOnce: a page of workers without their
// coordinator reads its buckets once too, and the Progress of the task
// page agrees with the list.
func TestWorkersAloneReadTheirCoordinatorOnce(t *testing.T) {
	m, s := setupSummaries(t, 4, 0)
	coord := s.tasks[0]
	s.workersOnly = true
	got := progressOf(t, m)
	if n := s.queries(); n != 1 {
		t.Fatalf("listing 4 workers read their coordinator's buckets %d times, want once", n)
	}
	ps, err := m.Progress(context.Background(), coord.OID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if got[p.Worker].BucketsComplete != p.Buckets {
			t.Errorf("worker %s: list says %d buckets, progress %d", p.Worker, got[p.Worker].BucketsComplete, p.Buckets)
		}
	}
}
