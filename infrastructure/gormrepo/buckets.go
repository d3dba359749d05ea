package gormrepo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

type bucketRow struct {
	TaskOID        string `gorm:"primaryKey;column:task_oid"`
	Seq            int64  `gorm:"primaryKey"`
	State          string
	WorkerOID      string `gorm:"column:worker_oid"`
	NodeID         string
	Epoch          int64
	Content        string
	ItemsProcessed int64
	Completions    int64
	ClaimedAt      *time.Time
	CompletedAt    *time.Time
	Attempts       int64
	LastError      string
	Checkpoint     string
	ResumedFrom    string
	NotBefore      *time.Time
}

func (bucketRow) TableName() string { return "buckets" }

func (r bucketRow) toDomain() (task.Bucket, error) {
	b := task.Bucket{TaskOID: r.TaskOID, Seq: r.Seq, State: task.BucketState(r.State), Worker: r.WorkerOID, Node: r.NodeID,
		Epoch: r.Epoch, ItemsProcessed: r.ItemsProcessed, ClaimedAt: utcPtr(r.ClaimedAt), CompletedAt: utcPtr(r.CompletedAt),
		Attempts: r.Attempts, LastError: r.LastError, NotBefore: utcPtr(r.NotBefore)}
	if err := json.Unmarshal([]byte(r.Content), &b.Content); err != nil {
		return task.Bucket{}, fmt.Errorf("decode bucket %s/%d: %w", r.TaskOID, r.Seq, err)
	}
	var err error
	if b.Checkpoint, err = decodeCheckpoint(r.Checkpoint); err != nil {
		return task.Bucket{}, fmt.Errorf("decode checkpoint of bucket %s/%d: %w", r.TaskOID, r.Seq, err)
	}
	if b.ResumedFrom, err = decodeCheckpoint(r.ResumedFrom); err != nil {
		return task.Bucket{}, fmt.Errorf("decode resumed_from of bucket %s/%d: %w", r.TaskOID, r.Seq, err)
	}
	return b, nil
}

// BucketsCreate replaces a coordinator's buckets with READY ones, numbered from 1.
func (r *Repo) BucketsCreate(ctx context.Context, taskOID string, contents []task.Content) error {
	return r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM buckets WHERE task_oid = ?", taskOID).Error; err != nil {
			return err
		}
		data := make([]string, len(contents))
		for i, c := range contents {
			b, err := json.Marshal(c)
			if err != nil {
				return err
			}
			data[i] = string(b)
		}
		return r.drv.insertBuckets(tx, taskOID, data)
	})
}

// BucketsClaim delegates up to p.Limit READY buckets to a worker in one
// atomic statement: PostgreSQL skips rows other claimers hold (FOR UPDATE
// SKIP LOCKED), SQLite serialises writers. It returns none only when no
// bucket is READY.
func (r *Repo) BucketsClaim(ctx context.Context, p taskmanager.BucketsClaimParams) ([]task.Bucket, error) {
	for {
		bs, err := r.hot.claim(ctx, p)
		if err != nil || len(bs) > 0 || !r.drv.claimSkipsLocked() {
			return bs, err
		}
		// SKIP LOCKED may have skipped READY rows that a concurrent claimer
		// holds for an instant; report "none" only when none is READY at all.
		ready, err := r.hot.anyReady(ctx, p.TaskOID, p.Now)
		if err != nil || !ready {
			return nil, err
		}
	}
}

// BucketsComplete records completions only for the epochs that hold them, in
// one statement. Items and errors stay on the bucket; a coordinator's
// progress is their sum, so no completion has to lock the coordinator's row.
func (r *Repo) BucketsComplete(ctx context.Context, cs []taskmanager.BucketCompletion, now time.Time) ([]bool, error) {
	return r.hot.complete(ctx, cs, now)
}

// BucketsRetry puts a failed bucket back to READY for another attempt, fenced by its epoch.
func (r *Repo) BucketsRetry(ctx context.Context, br taskmanager.BucketRetry) (bool, error) {
	ok, err := r.hot.retry(ctx, br)
	if err != nil {
		return false, fmt.Errorf("retry bucket %s/%d: %w", br.TaskOID, br.Seq, err)
	}
	return ok, nil
}

// BucketsCheckpoint records a handler's position in a bucket, fenced by its epoch.
func (r *Repo) BucketsCheckpoint(ctx context.Context, c taskmanager.BucketCheckpoint) (bool, error) {
	ok, err := r.hot.checkpoint(ctx, c)
	if err != nil {
		return false, fmt.Errorf("checkpoint bucket %s/%d: %w", c.TaskOID, c.Seq, err)
	}
	return ok, nil
}

// BucketsReadyAt reads the earliest not-before time of a task's READY
// buckets (NULL, claimable now, sorts first). Workers ask only when a claim
// found nothing, so the READY rows are then the few waiting for a retry.
func (r *Repo) BucketsReadyAt(ctx context.Context, taskOID string) (time.Time, bool, error) {
	var rows []struct{ NotBefore *time.Time }
	err := r.db.WithContext(ctx).Raw(`SELECT not_before FROM buckets WHERE task_oid = ? AND state = 'READY'
ORDER BY not_before NULLS FIRST LIMIT 1`, taskOID).Scan(&rows).Error
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read retry times of %s: %w", taskOID, err)
	}
	if len(rows) == 0 {
		return time.Time{}, false, nil
	}
	if rows[0].NotBefore == nil {
		return time.Time{}, true, nil
	}
	return rows[0].NotBefore.UTC(), true, nil
}

// BucketsReleaseWorker returns a worker's delegated buckets to READY.
func (r *Repo) BucketsReleaseWorker(ctx context.Context, worker string) (int64, error) {
	res := r.db.WithContext(ctx).Exec(`UPDATE buckets SET state = 'READY', worker_oid = '', node_id = '' WHERE worker_oid = ? AND state = 'DELEGATED'`, worker)
	return res.RowsAffected, res.Error
}

// BucketsReleaseNode returns buckets delegated on a node to READY.
func (r *Repo) BucketsReleaseNode(ctx context.Context, node string) (int64, error) {
	res := r.db.WithContext(ctx).Exec(`UPDATE buckets SET state = 'READY', worker_oid = '', node_id = '' WHERE node_id = ? AND state = 'DELEGATED'`, node)
	return res.RowsAffected, res.Error
}

// BucketsList lists a task's buckets in order.
func (r *Repo) BucketsList(ctx context.Context, taskOID string) ([]task.Bucket, error) {
	var rows []bucketRow
	if err := r.db.WithContext(ctx).Where("task_oid = ?", taskOID).Order("seq").Find(&rows).Error; err != nil {
		return nil, err
	}
	return bucketsOf(rows)
}

// BucketsPage lists one page of a task's buckets after a seq, on the
// primary key (task_oid, seq): the database reads p.Limit rows, however many
// buckets the task has.
func (r *Repo) BucketsPage(ctx context.Context, p taskmanager.BucketsPageParams) ([]task.Bucket, error) {
	if p.Limit <= 0 {
		return nil, fmt.Errorf("buckets of %s: page limit %d is not positive", p.TaskOID, p.Limit)
	}
	var rows []bucketRow
	err := r.db.WithContext(ctx).Where("task_oid = ? AND seq > ?", p.TaskOID, p.After).Order("seq").Limit(p.Limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("buckets of %s after %d: %w", p.TaskOID, p.After, err)
	}
	return bucketsOf(rows)
}

// BucketsCount counts a task's buckets by state and sums their items and errors.
func (r *Repo) BucketsCount(ctx context.Context, taskOID string) (taskmanager.BucketCounts, error) {
	var rows []struct {
		State  string
		N      int64
		Items  int64
		Errors int64
	}
	err := r.db.WithContext(ctx).Raw(`SELECT state, COUNT(*) AS n, COALESCE(SUM(items_processed), 0) AS items, COALESCE(SUM(errors), 0) AS errors
FROM buckets WHERE task_oid = ? GROUP BY state`, taskOID).Scan(&rows).Error
	var c taskmanager.BucketCounts
	for _, row := range rows {
		c.Items += row.Items
		c.Errors += row.Errors
		switch task.BucketState(row.State) {
		case task.BucketReady:
			c.Ready = row.N
		case task.BucketDelegated:
			c.Delegated = row.N
		case task.BucketComplete:
			c.Complete = row.N
		}
	}
	return c, err
}

// BucketCompletions returns the completion count of every bucket, for tests
// that prove no bucket completed twice.
func (r *Repo) BucketCompletions(ctx context.Context, taskOID string) (map[int64]int64, error) {
	var rows []bucketRow
	if err := r.db.WithContext(ctx).Select("seq, completions").Where("task_oid = ?", taskOID).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]int64, len(rows))
	for _, row := range rows {
		out[row.Seq] = row.Completions
	}
	return out, nil
}

// bucketsOf converts bucket rows to the domain, in their order.
func bucketsOf(rows []bucketRow) ([]task.Bucket, error) {
	out := make([]task.Bucket, 0, len(rows))
	for _, row := range rows {
		b, err := row.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
