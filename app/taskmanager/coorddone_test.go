package taskmanager

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"cadre/domain/task"
)

// runNowStore holds one coordinator; counting its buckets lets a run-now
// start a new run that parks WAITING with fresh READY buckets, as happens
// when the check of the last completion of one run is slow (a busy pool).
type runNowStore struct {
	TaskStore
	mu    sync.Mutex
	coord task.Task
}

func (s *runNowStore) TasksGet(context.Context, string) (*task.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.coord
	return &c, nil
}

func (s *runNowStore) BucketsCount(context.Context, string) (BucketCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := BucketCounts{Complete: 4, Items: 4} // the old run's, read just before the run-now
	s.coord.RunCount++                            // the new run: started, buckets created, WAITING
	return counts, nil
}

func (s *runNowStore) TasksUpdate(_ context.Context, _ string, change func(*task.Task) error) (*task.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.coord
	if err := change(&c); err != nil {
		return nil, err
	}
	s.coord = c
	return &c, nil
}

// TestCoordinatorDoneLeavesTheNextRunAlone: a completion check of one run
// that ends after a run-now started the next one does not close the new
// run, whose buckets nobody has claimed yet.
func TestCoordinatorDoneLeavesTheNextRunAlone(t *testing.T) {
	store := &runNowStore{coord: task.Task{OID: "c1", Role: task.Coordinator, State: task.Waiting, Result: task.InProgress, RunCount: 1}}
	m := New(Config{NodeID: "n1"}, store, nil, nil, nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := m.checkCoordinatorDone(t.Context(), "c1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.TasksGet(t.Context(), "c1"); got.State != task.Waiting || got.RunCount != 2 {
		t.Errorf("run %d is %s after a check of run 1; want run 2 still WAITING", got.RunCount, got.State)
	}
}
