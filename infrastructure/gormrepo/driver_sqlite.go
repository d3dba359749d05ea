package gormrepo

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"gorm.io/gorm"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// sqliteDriver: SQLite runs inside this one process and serialises writers
// (its write transactions are BEGIN IMMEDIATE), so it needs no row locks, and
// its clock is the host's.
type sqliteDriver struct{}

func (sqliteDriver) lockForUpdate(q *gorm.DB) *gorm.DB { return q }

func (sqliteDriver) lockRegistrations(*gorm.DB) error { return nil }

func (sqliteDriver) now(*gorm.DB) (time.Time, error) { return time.Now().UTC(), nil }

// checkIn is a read and a write in one transaction.
func (sqliteDriver) checkIn(ctx context.Context, sqlDB *sql.DB, args []any) (string, time.Time, error) {
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	defer func() { _ = tx.Rollback() }()
	id, internalID := args[9], args[10]
	var previous string
	if err := tx.QueryRowContext(ctx, "SELECT operational_state FROM nodes WHERE node_id = ? AND internal_id = ?", id, internalID).Scan(&previous); err != nil {
		return "", time.Time{}, err
	}
	now := time.Now().UTC()
	if _, err := tx.ExecContext(ctx, `UPDATE nodes SET last_check_in = ?, operational_state = ?, scheduler_state = ?,
    error_reason = ?, url = ?, hostname = ?, http_port = ?, node_timeout_ms = ?, liveness_lock = ?, shared_settings = ?
WHERE node_id = ? AND internal_id = ?`, append([]any{now}, args...)...); err != nil {
		return "", time.Time{}, err
	}
	return previous, now, tx.Commit()
}

func (sqliteDriver) whereNames(q *gorm.DB, t string, norms []string) *gorm.DB {
	return q.Where("type = ? AND name_norm IN ?", t, norms)
}

// claimSkipsLocked: one writer at a time; a claim sees every READY row.
func (sqliteDriver) claimSkipsLocked() bool { return false }

// estimateRows: SQLite's planner keeps no row estimates worth reporting.
func (sqliteDriver) estimateRows(*gorm.DB) (int64, bool) { return 0, false }

// analyzeObjects: the SQLite plans of the repository's reads do not depend
// on statistics (TestObjectReadPlansArePaged holds them without any).
func (sqliteDriver) analyzeObjects(context.Context, *gorm.DB) (int64, bool, error) {
	return 0, false, nil
}

// sessionLocks: SQLite has no locks that outlive a statement's transaction.
func (sqliteDriver) sessionLocks() bool { return false }

func (sqliteDriver) placeholder(int) string { return "?" }

func (sqliteDriver) clockMillisSQL() string {
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// claimSQL uses a plain IN: one writer at a time, nothing to skip.
func (sqliteDriver) claimSQL(p taskmanager.BucketsClaimParams, limit int) (string, []any) {
	return `UPDATE buckets SET state = 'DELEGATED', worker_oid = ?, node_id = ?, epoch = epoch + 1, claimed_at = ?,
  resumed_from = checkpoint, not_before = NULL
WHERE task_oid = ? AND state = 'READY' AND seq IN (
  SELECT seq FROM buckets WHERE task_oid = ? AND state = 'READY' AND (not_before IS NULL OR not_before <= ?)
  ORDER BY seq LIMIT ?)
RETURNING seq, epoch, content, items_processed, attempts, checkpoint`, []any{p.Worker, p.Node, p.Now.UTC(), p.TaskOID, p.TaskOID, p.Now.UTC(), limit}
}

// completeSQL passes the completions as a VALUES list.
func (sqliteDriver) completeSQL(cs []taskmanager.BucketCompletion, now time.Time) (string, []any) {
	var values strings.Builder
	args := make([]any, 0, len(cs)*6+1)
	args = append(args, now.UTC())
	for i, c := range cs {
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, c.TaskOID, c.Seq, c.Epoch, c.Items, c.Errors, c.Error)
	}
	q := `UPDATE buckets SET state = 'COMPLETE', items_processed = v.items, errors = v.errs, completed_at = ?, completions = buckets.completions + 1,
  attempts = buckets.attempts + 1, last_error = CASE WHEN v.failure <> '' THEN v.failure ELSE buckets.last_error END
FROM (SELECT column1 AS task_oid, column2 AS seq, column3 AS epoch, column4 AS items, column5 AS errs, column6 AS failure FROM (VALUES ` + values.String() + `)) AS v
WHERE buckets.task_oid = v.task_oid AND buckets.seq = v.seq AND buckets.epoch = v.epoch AND buckets.state = 'DELEGATED'
RETURNING buckets.task_oid, buckets.seq, buckets.epoch`
	return q, args
}

// insertBuckets writes a coordinator's buckets in multi-row inserts of 500
// (SQLite runs in this process; a statement costs no round trip).
func (sqliteDriver) insertBuckets(tx *gorm.DB, taskOID string, contents []string) error {
	rows := make([]bucketRow, len(contents))
	for i, c := range contents {
		rows[i] = bucketRow{TaskOID: taskOID, Seq: int64(i + 1), State: string(task.BucketReady), Content: c}
	}
	return tx.CreateInBatches(rows, 500).Error
}

// writeObjectsSQL: none; SQLite writes one object per statement, in one
// transaction, as cheaply (it runs in this process).
func (sqliteDriver) writeObjectsSQL([]objectRow, time.Time, []changeRow) (string, []any, bool) {
	return "", nil, false
}
