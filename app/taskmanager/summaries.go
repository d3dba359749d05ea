package taskmanager

import (
	"context"
	"fmt"
	"sync"
	"time"

	"cadre/domain/task"
)

// Bucket summaries of large coordinators. Counting a coordinator's buckets
// and summing its workers' progress is one pass over its buckets: about
// 0.3 s for a million of them on PostgreSQL, paid by every task list, task
// page and dashboard refresh that shows the task. A summary whose query took
// at least summaryCostly is therefore kept and served for a while
// (summaryFresh, or five times what the query took if longer); after that it
// is still served while one background query renews it. A small task's
// summary is never kept, so its progress is exact on every read; a large
// one's lags by at most a few seconds while its coordinator runs. A kept
// summary holds the coordinator's stamp (state, result, run count) and is
// used only while the stamp is unchanged, so a task that closes, fails or is
// suspended or run again is read afresh at once.
const (
	summaryCostly = 50 * time.Millisecond
	summaryFresh  = 2 * time.Second
	// summaryForget drops summaries nobody asked for this long (a deleted
	// or finished task's).
	summaryForget = time.Minute
)

// bucketSummary is a coordinator's bucket counts and per-worker progress.
type bucketSummary struct {
	counts   BucketCounts
	progress []BucketProgress
}

type summaryEntry struct {
	bucketSummary
	stamp      string
	at, used   time.Time
	took       time.Duration
	refreshing bool
}

func (e *summaryEntry) fresh(now time.Time) bool {
	return now.Sub(e.at) < max(summaryFresh, 5*e.took)
}

// summaries holds the kept summaries. It measures wall-clock time (it is a
// cache of database work, not a rule of the domain).
type summaries struct {
	mu sync.Mutex
	m  map[string]*summaryEntry
}

// summaryStamp says which run and state of a coordinator a kept summary
// belongs to.
func summaryStamp(t *task.Task) string {
	return fmt.Sprintf("%s/%s/%d", t.State, t.Result, t.RunCount)
}

// summary returns coordinator oid's bucket summary: a kept one with the same
// stamp (renewing it in the background once it is stale), or a fresh query.
func (m *Manager) summary(ctx context.Context, oid, stamp string) (bucketSummary, error) {
	s := &m.summaries
	now := time.Now()
	s.mu.Lock()
	for k, e := range s.m {
		if now.Sub(e.used) > summaryForget && !e.refreshing {
			delete(s.m, k)
		}
	}
	if e := s.m[oid]; e != nil && e.stamp == stamp {
		e.used = now
		if !e.fresh(now) && !e.refreshing {
			e.refreshing = true
			if !m.cfg.Go(func(ctx context.Context) { _, _ = m.loadSummary(ctx, oid, stamp) }) {
				e.refreshing = false
			}
		}
		out := e.bucketSummary
		s.mu.Unlock()
		return out, nil
	}
	s.mu.Unlock()
	return m.loadSummary(ctx, oid, stamp)
}

// loadSummary queries a coordinator's summary and keeps it when the query
// was costly.
func (m *Manager) loadSummary(ctx context.Context, oid, stamp string) (bucketSummary, error) {
	start := time.Now()
	counts, progress, err := m.store.BucketsSummary(ctx, oid)
	took := time.Since(start)
	s := &m.summaries
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if e := s.m[oid]; e != nil {
			e.refreshing = false
		}
		return bucketSummary{}, err
	}
	sum := bucketSummary{counts: counts, progress: progress}
	if e := s.m[oid]; e != nil && e.at.After(start) {
		// A read that began later was kept while this one ran: keep the
		// newer figures, so that no reader sees progress go back.
		e.refreshing = false
		return sum, nil
	}
	if took < summaryCostly {
		delete(s.m, oid)
		return sum, nil
	}
	if s.m == nil {
		s.m = map[string]*summaryEntry{}
	}
	s.m[oid] = &summaryEntry{bucketSummary: sum, stamp: stamp, at: start, used: time.Now(), took: took}
	return sum, nil
}
