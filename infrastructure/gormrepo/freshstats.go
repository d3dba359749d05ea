package gormrepo

import (
	"context"
	"sync"
	"time"
)

// minAnalyzeRows is how many objects a node inserts before it first
// refreshes the objects table's statistics itself.
const minAnalyzeRows = 100_000

// freshStats keeps the planner's statistics of the objects table fresh
// during bulk inserts. PostgreSQL's autovacuum analyzes a table after a tenth
// of it changed, but it runs late during a big import and not at all where
// it is turned off; until it runs, the planner believes the table still
// holds what it held before the import (a few hundred users instead of a
// million) and answers a page's total by reading every user. So a node that
// has inserted a fifth of the table since its last look (at least
// minAnalyzeRows objects) analyzes it, in the background, one at a time.
type freshStats struct {
	mu        sync.Mutex
	inserted  int64 // objects inserted since the last analyze
	threshold int64
	running   bool
	analyze   func(ctx context.Context) (rows int64, ok bool, err error)
}

func newFreshStats(analyze func(ctx context.Context) (int64, bool, error)) *freshStats {
	return &freshStats{threshold: minAnalyzeRows, analyze: analyze}
}

// added notes n inserted objects and starts an analyze when they are due.
func (s *freshStats) added(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inserted += int64(n)
	if s.running || s.inserted < s.threshold {
		return
	}
	s.running, s.inserted = true, 0
	go s.run()
}

func (s *freshStats) run() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rows, ok, err := s.analyze(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = false
	if err == nil && ok {
		s.threshold = max(minAnalyzeRows, rows/5)
	}
}
