package gormrepo

import (
	"context"
	"fmt"

	"cadre/app/taskmanager"
)

// BucketsProgress sums a coordinator's COMPLETE buckets per worker task and
// node, in one grouped query. A bucket counts for the worker and node that
// completed it, so a worker whose node was killed keeps the buckets it
// finished, and the bucket taken over after the death counts once, for the
// worker that completed it.
func (r *Repo) BucketsProgress(ctx context.Context, taskOID string) ([]taskmanager.BucketProgress, error) {
	var rows []struct {
		WorkerOID string `gorm:"column:worker_oid"`
		NodeID    string `gorm:"column:node_id"`
		N         int64
		Items     int64
		Errors    int64
	}
	err := r.db.WithContext(ctx).Raw(`SELECT worker_oid, node_id, COUNT(*) AS n,
COALESCE(SUM(items_processed), 0) AS items, COALESCE(SUM(errors), 0) AS errors
FROM buckets WHERE task_oid = ? AND state = 'COMPLETE' GROUP BY worker_oid, node_id ORDER BY worker_oid, node_id`, taskOID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("progress of task %s: %w", taskOID, err)
	}
	out := make([]taskmanager.BucketProgress, len(rows))
	for i, row := range rows {
		out[i] = taskmanager.BucketProgress{Worker: row.WorkerOID, Node: row.NodeID, Buckets: row.N, Items: row.Items, Errors: row.Errors}
	}
	return out, nil
}
