package node

import (
	"context"
	"sync"
	"time"

	"cadre/domain/cluster"
	"cadre/infrastructure/metrics"
)

// fenceEvents is the task manager's metrics sink: it counts as before and
// also records every refused (fenced) bucket completion as cluster activity,
// so the activity view shows a node that came back too late.
type fenceEvents struct {
	*metrics.Metrics
	n *Node
}

// BucketFenced implements taskmanager.Metrics.
func (f fenceEvents) BucketFenced() {
	f.Metrics.BucketFenced()
	id := f.n.Config.NodeID
	f.n.life.Go(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		e := cluster.Event{Kind: cluster.EventBucketFenced, Node: id, Actor: id,
			Message: "a bucket completion was refused: the bucket had been handed to another worker (stale epoch)"}
		if err := f.n.Store.EventsAdd(ctx, e); err != nil {
			f.n.Log.Warn("record cluster event", "kind", e.Kind, "err", err)
		}
	})
}

// Cluster events are kept eventRetention; any node prunes older ones, at
// most once per pruneEvery.
const (
	eventRetention = 7 * 24 * time.Hour
	pruneEvery     = time.Hour
)

// eventPruner deletes old cluster events now and then.
type eventPruner struct {
	mu   sync.Mutex
	next time.Time
}

// maybePrune prunes in the background when pruneEvery has passed.
func (p *eventPruner) maybePrune(n *Node) {
	now := n.now()
	p.mu.Lock()
	if now.Before(p.next) {
		p.mu.Unlock()
		return
	}
	p.next = now.Add(pruneEvery)
	p.mu.Unlock()
	n.life.Go(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if pruned, err := n.Store.EventsPrune(ctx, now.Add(-eventRetention)); err != nil {
			n.Log.Warn("prune cluster events", "err", err)
		} else if pruned > 0 {
			n.Log.Info("pruned old cluster events", "events", pruned, "olderThan", eventRetention)
		}
	})
}
