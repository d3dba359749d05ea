package node

import (
	"context"
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
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		e := cluster.Event{Kind: cluster.EventBucketFenced, Node: id, Actor: id,
			Message: "a bucket completion was refused: the bucket had been handed to another worker (stale epoch)"}
		if err := f.n.Store.EventsAdd(ctx, e); err != nil {
			f.n.Log.Warn("record cluster event", "kind", e.Kind, "err", err)
		}
	}()
}
