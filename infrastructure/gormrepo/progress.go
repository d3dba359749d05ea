package gormrepo

import (
	"context"
	"fmt"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/task"
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

// BucketsSummary counts a coordinator's buckets by state and sums its
// COMPLETE ones per worker and node, in one grouped query: one pass over the
// task's buckets where BucketsCount and BucketsProgress take two.
func (r *Repo) BucketsSummary(ctx context.Context, taskOID string) (taskmanager.BucketCounts, []taskmanager.BucketProgress, error) {
	var rows []struct {
		State     string
		WorkerOID string `gorm:"column:worker_oid"`
		NodeID    string `gorm:"column:node_id"`
		N         int64
		Items     int64
		Errors    int64
	}
	err := r.db.WithContext(ctx).Raw(`SELECT state, worker_oid, node_id, COUNT(*) AS n,
COALESCE(SUM(items_processed), 0) AS items, COALESCE(SUM(errors), 0) AS errors
FROM buckets WHERE task_oid = ? GROUP BY state, worker_oid, node_id ORDER BY worker_oid, node_id`, taskOID).Scan(&rows).Error
	if err != nil {
		return taskmanager.BucketCounts{}, nil, fmt.Errorf("bucket summary of task %s: %w", taskOID, err)
	}
	var c taskmanager.BucketCounts
	progress := []taskmanager.BucketProgress{}
	for _, row := range rows {
		c.Items += row.Items
		c.Errors += row.Errors
		switch task.BucketState(row.State) {
		case task.BucketReady:
			c.Ready += row.N
		case task.BucketDelegated:
			c.Delegated += row.N
		case task.BucketComplete:
			c.Complete += row.N
			progress = append(progress, taskmanager.BucketProgress{Worker: row.WorkerOID, Node: row.NodeID, Buckets: row.N, Items: row.Items, Errors: row.Errors})
		}
	}
	return c, progress, nil
}

// BucketsCompletedBetween counts, per node, the buckets completed in
// (after, upTo] (completion times as the completing nodes wrote them), for
// the dashboard's throughput chart.
func (r *Repo) BucketsCompletedBetween(ctx context.Context, after, upTo time.Time) (map[string]int64, error) {
	return r.countByNode(ctx, `SELECT node_id, COUNT(*) AS n FROM buckets
WHERE state = 'COMPLETE' AND completed_at > ? AND completed_at <= ? GROUP BY node_id`, after.UTC(), upTo.UTC())
}

// TasksRunningPerNode counts the RUNNING tasks (worker tasks included) per node.
func (r *Repo) TasksRunningPerNode(ctx context.Context) (map[string]int64, error) {
	return r.countByNode(ctx, `SELECT node_id, COUNT(*) AS n FROM tasks WHERE execution_state = 'RUNNING' GROUP BY node_id`)
}

func (r *Repo) countByNode(ctx context.Context, query string, args ...any) (map[string]int64, error) {
	var rows []struct {
		NodeID string `gorm:"column:node_id"`
		N      int64
	}
	if err := r.db.WithContext(ctx).Raw(query, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count per node: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, row := range rows {
		out[row.NodeID] += row.N
	}
	return out, nil
}
