package taskmanager

import (
	"context"

	"cadre/domain/task"
)

// BucketProgress is what one worker task completed on one node: its COMPLETE
// buckets and the items and errors recorded with them.
type BucketProgress struct {
	Worker, Node           string
	Buckets, Items, Errors int64
}

// Progress lists, per worker and node, the buckets of coordinator oid that
// are COMPLETE. It is the source of worker and node progress: live while the
// task runs (a bucket counts the moment it completes) and still right after a
// node was killed, whose finished buckets stay with its workers.
func (m *Manager) Progress(ctx context.Context, oid string) ([]BucketProgress, error) {
	s, err := summariesOnce{}.of(ctx, m, oid, nil)
	return s.progress, err
}

// workerProgress is a worker task's progress: the buckets it completed, out
// of its coordinator's per-worker progress ps.
func workerProgress(worker string, ps []BucketProgress) task.Progress {
	p := task.Progress{}
	for _, bp := range ps {
		if bp.Worker == worker {
			p.BucketsComplete += bp.Buckets
			p.ItemsProcessed += bp.Items
			p.Errors += bp.Errors
		}
	}
	return p
}
