package gormrepo

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"cadre/domain/task"
)

// The repair pass's queries (taskmanager.RepairStore). Every node runs them
// every few seconds, so each reads through an index and returns few rows:
// open coordinators by tasks_state, their READY buckets by
// buckets_ready_seq, DELEGATED buckets by the partial indexes on that
// state (a handful per worker), RUNNABLE tasks by tasks_state.

// TasksCoordinatorsDone implements taskmanager.RepairStore.
func (r *Repo) TasksCoordinatorsDone(ctx context.Context) ([]*task.Task, error) {
	var rows []taskRow
	err := r.db.WithContext(ctx).Raw(`SELECT * FROM tasks t WHERE t.execution_state IN (?, ?) AND t.role = ?
AND EXISTS (SELECT 1 FROM buckets b WHERE b.task_oid = t.oid)
AND NOT EXISTS (SELECT 1 FROM buckets b WHERE b.task_oid = t.oid AND b.state = 'READY')
AND NOT EXISTS (SELECT 1 FROM buckets b WHERE b.task_oid = t.oid AND b.state = 'DELEGATED')`,
		string(task.Running), string(task.Waiting), string(task.Coordinator)).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	ts, _, err := tasksOf(rows, 0)
	return ts, err
}

// TasksRunnable implements taskmanager.RepairStore.
func (r *Repo) TasksRunnable(ctx context.Context, limit int) ([]*task.Task, error) {
	var rows []taskRow
	if err := r.db.WithContext(ctx).Where("execution_state = ?", string(task.Runnable)).Order("oid").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	ts, _, err := tasksOf(rows, 0)
	return ts, err
}

// BucketsHeldByEnded implements taskmanager.RepairStore.
func (r *Repo) BucketsHeldByEnded(ctx context.Context) ([]task.Bucket, error) {
	var rows []bucketRow
	err := r.db.WithContext(ctx).Raw(`SELECT b.task_oid, b.seq, b.epoch, b.worker_oid, b.node_id FROM buckets b
WHERE b.state = 'DELEGATED' AND NOT EXISTS (
  SELECT 1 FROM tasks w WHERE w.oid = b.worker_oid AND w.execution_state IN (?, ?))
ORDER BY b.task_oid, b.seq LIMIT 10000`, string(task.Runnable), string(task.Running)).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]task.Bucket, len(rows))
	for i, row := range rows {
		out[i] = task.Bucket{TaskOID: row.TaskOID, Seq: row.Seq, Epoch: row.Epoch, State: task.BucketDelegated, Worker: row.WorkerOID, Node: row.NodeID}
	}
	return out, nil
}

// BucketsReleaseAt implements taskmanager.RepairStore: one transaction, each
// bucket fenced by its epoch as a completion is.
func (r *Repo) BucketsReleaseAt(ctx context.Context, bs []task.Bucket) (int64, error) {
	var n int64
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, b := range bs {
			res := tx.Exec(`UPDATE buckets SET state = 'READY', worker_oid = '', node_id = ''
WHERE task_oid = ? AND seq = ? AND epoch = ? AND state = 'DELEGATED'`, b.TaskOID, b.Seq, b.Epoch)
			if res.Error != nil {
				return fmt.Errorf("release bucket %s/%d: %w", b.TaskOID, b.Seq, res.Error)
			}
			n += res.RowsAffected
		}
		return nil
	})
	return n, err
}
