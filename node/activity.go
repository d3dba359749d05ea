package node

import (
	"context"
	"sync"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/cluster"
	"cadre/infrastructure/metrics"
	"cadre/quartzstore"
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

// repairEvents counts every repair of the task manager's repair pass (and
// the scheduler's sweep of orphaned fired triggers) in cadre_repairs_total
// and records it as cluster activity.
type repairEvents struct{ n *Node }

// Repaired implements taskmanager.RepairReporter.
func (r repairEvents) Repaired(ctx context.Context, rep taskmanager.Repair) {
	r.n.Metrics.Repaired(string(rep.Kind))
	id := r.n.Config.NodeID
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	e := cluster.Event{Kind: cluster.EventRepair, Node: id, Actor: id,
		Message: string(rep.Kind) + ": task " + rep.TaskOID + ": " + rep.Message}
	if err := r.n.Store.EventsAdd(ctx, e); err != nil {
		r.n.Log.Warn("record cluster event", "kind", e.Kind, "err", err)
	}
}

// orphanDeleted reports the scheduler's deletion of an orphaned fired trigger.
func (r repairEvents) orphanDeleted(ctx context.Context, f quartzstore.FiredTrigger) {
	r.Repaired(ctx, taskmanager.Repair{Kind: taskmanager.RepairFiredTrigger, TaskOID: f.JobKey,
		Message: "fired trigger " + f.FireID + " was left behind by a fire whose completion was lost; deleted"})
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
