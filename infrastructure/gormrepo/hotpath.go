package gormrepo

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/domain/task"
)

// hotPath runs the statements every bucket pays for — claims and
// completions — as explicit SQL on database/sql, without gorm's reflection.
// The dialect differences of these statements are the driver's.
type hotPath struct {
	sql   *sql.DB
	drv   driver
	count func() // counts one statement sent
}

func newHotPath(d *db.DB, drv driver) *hotPath {
	sqlDB, err := d.DB.DB()
	if err != nil {
		panic(fmt.Sprintf("gormrepo: gorm without a *sql.DB: %v", err)) // gorm always has one after Open
	}
	return &hotPath{sql: sqlDB, drv: drv, count: d.CountStatement}
}

// ph returns the i-th (1-based) bind placeholder of the dialect.
func (h *hotPath) ph(i int) string { return h.drv.placeholder(i) }

// claim delegates up to p.Limit READY buckets of a task, lowest seq first,
// in one statement; each claimed bucket's epoch goes up by one.
func (h *hotPath) claim(ctx context.Context, p taskmanager.BucketsClaimParams) ([]task.Bucket, error) {
	limit := max(p.Limit, 1)
	q, args := h.drv.claimSQL(p, limit)
	h.count()
	rows, err := h.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("claim buckets of %s: %w", p.TaskOID, err)
	}
	defer rows.Close()
	claimedAt := p.Now.UTC()
	out := make([]task.Bucket, 0, limit)
	for rows.Next() {
		b := task.Bucket{TaskOID: p.TaskOID, State: task.BucketDelegated, Worker: p.Worker, Node: p.Node, ClaimedAt: &claimedAt}
		var content, checkpoint string
		if err := rows.Scan(&b.Seq, &b.Epoch, &content, &b.ItemsProcessed, &b.Attempts, &checkpoint); err != nil {
			return nil, fmt.Errorf("claim buckets of %s: %w", p.TaskOID, err)
		}
		if err := json.Unmarshal([]byte(content), &b.Content); err != nil {
			return nil, fmt.Errorf("decode bucket %s/%d: %w", p.TaskOID, b.Seq, err)
		}
		cp, err := decodeCheckpoint(checkpoint)
		if err != nil {
			return nil, fmt.Errorf("decode checkpoint of bucket %s/%d: %w", p.TaskOID, b.Seq, err)
		}
		b.Checkpoint, b.ResumedFrom = cp, cp
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim buckets of %s: %w", p.TaskOID, err)
	}
	// RETURNING gives no order; workers take buckets in seq order.
	slices.SortFunc(out, func(a, b task.Bucket) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// anyReady reports whether a task has a READY bucket that may be claimed at
// now, locked or not.
func (h *hotPath) anyReady(ctx context.Context, taskOID string, now time.Time) (bool, error) {
	h.count()
	var one int
	err := h.sql.QueryRowContext(ctx, fmt.Sprintf(`SELECT 1 FROM buckets WHERE task_oid = %s AND state = 'READY' AND (not_before IS NULL OR not_before <= %s) LIMIT 1`,
		h.ph(1), h.ph(2)), taskOID, now.UTC()).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

// complete records completions in one statement and returns, for each input,
// whether it was accepted: only a DELEGATED bucket at the same epoch is.
func (h *hotPath) complete(ctx context.Context, cs []taskmanager.BucketCompletion, now time.Time) ([]bool, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	// Items are the bucket's final counts, a resumed bucket's checkpoint
	// included, so they replace what a checkpoint wrote. A completion is a
	// finished attempt; a failed last attempt leaves its error.
	q, args := h.drv.completeSQL(cs, now)
	h.count()
	rows, err := h.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("complete %d buckets: %w", len(cs), err)
	}
	defer rows.Close()
	type key struct {
		oid        string
		seq, epoch int64
	}
	done := make(map[key]bool, len(cs))
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.oid, &k.seq, &k.epoch); err != nil {
			return nil, fmt.Errorf("complete %d buckets: %w", len(cs), err)
		}
		done[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("complete %d buckets: %w", len(cs), err)
	}
	ok := make([]bool, len(cs))
	for i, c := range cs {
		ok[i] = done[key{c.TaskOID, c.Seq, c.Epoch}]
	}
	return ok, nil
}

// retry puts a failed bucket back to READY at its epoch: the attempt is
// counted and the checkpoint stays, so the next attempt resumes from it.
func (h *hotPath) retry(ctx context.Context, r taskmanager.BucketRetry) (bool, error) {
	q := fmt.Sprintf(`UPDATE buckets SET state = 'READY', worker_oid = '', node_id = '', attempts = attempts + 1, last_error = %s, not_before = %s
WHERE task_oid = %s AND seq = %s AND epoch = %s AND state = 'DELEGATED'`, h.ph(1), h.ph(2), h.ph(3), h.ph(4), h.ph(5))
	return h.fencedExec(ctx, q, r.Error, r.NotBefore.UTC(), r.TaskOID, r.Seq, r.Epoch)
}

// checkpoint writes a bucket's checkpoint and its counts at its epoch.
func (h *hotPath) checkpoint(ctx context.Context, c taskmanager.BucketCheckpoint) (bool, error) {
	data, err := json.Marshal(c.Checkpoint)
	if err != nil {
		return false, fmt.Errorf("encode checkpoint: %w", err)
	}
	q := fmt.Sprintf(`UPDATE buckets SET checkpoint = %s, items_processed = %s, errors = %s
WHERE task_oid = %s AND seq = %s AND epoch = %s AND state = 'DELEGATED'`, h.ph(1), h.ph(2), h.ph(3), h.ph(4), h.ph(5), h.ph(6))
	return h.fencedExec(ctx, q, string(data), c.Checkpoint.Items, c.Checkpoint.Errors, c.TaskOID, c.Seq, c.Epoch)
}

// fencedExec runs a one-row fenced update and reports whether it matched.
func (h *hotPath) fencedExec(ctx context.Context, q string, args ...any) (bool, error) {
	h.count()
	res, err := h.sql.ExecContext(ctx, q, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// decodeCheckpoint reads a checkpoint column: the empty string is none.
func decodeCheckpoint(s string) (*task.Checkpoint, error) {
	if s == "" {
		return nil, nil
	}
	var cp task.Checkpoint
	if err := json.Unmarshal([]byte(s), &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// writeObjects updates objects at the versions they carry (version+1) and
// reports which were written: all in the driver's one statement (PostgreSQL:
// UPDATE … FROM unnest, with the change log rows in the same statement), or
// one UPDATE per object inside one transaction (SQLite), followed there by
// the change log rows. logs are the change log rows of the objects, to be
// written for those written; the ones written come back with their seqs.
func (h *hotPath) writeObjects(ctx context.Context, rows []objectRow, now time.Time, logs []changeRow) ([]bool, []changeRow, error) {
	written := make([]bool, len(rows))
	if q, args, ok := h.drv.writeObjectsSQL(rows, now, logs); ok {
		h.count()
		res, err := h.sql.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, nil, fmt.Errorf("write %d objects: %w", len(rows), err)
		}
		defer res.Close()
		done := make(map[string]int64, len(rows))
		for res.Next() {
			var oid string
			var seq int64
			if err := res.Scan(&oid, &seq); err != nil {
				return nil, nil, fmt.Errorf("write %d objects: %w", len(rows), err)
			}
			done[oid] = seq
		}
		if err := res.Err(); err != nil {
			return nil, nil, fmt.Errorf("write %d objects: %w", len(rows), err)
		}
		for i, r := range rows {
			_, written[i] = done[r.OID]
		}
		var logged []changeRow
		for _, l := range logs {
			if seq := done[l.OID]; seq != 0 {
				l.Seq = seq
				logged = append(logged, l)
			}
		}
		return written, logged, nil
	}
	tx, err := h.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("write %d objects: %w", len(rows), err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := h.writeObjectsEach(ctx, tx, rows, now, written); err != nil {
		return nil, nil, err
	}
	wrote := make(map[string]bool, len(rows))
	for i, r := range rows {
		wrote[r.OID] = written[i]
	}
	var logged []changeRow
	for _, l := range logs {
		if wrote[l.OID] {
			logged = append(logged, l)
		}
	}
	if err := h.writeLogSQL(ctx, tx, logged); err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("write %d objects: %w", len(rows), err)
	}
	return written, logged, nil
}

// writeObjectsEach writes the rows one UPDATE each inside tx.
func (h *hotPath) writeObjectsEach(ctx context.Context, tx *sql.Tx, rows []objectRow, now time.Time, written []bool) error {
	stmt, err := tx.PrepareContext(ctx, `UPDATE objects SET name = ?, name_norm = ?, data = ?, version = version + 1, modified_at = ?
WHERE oid = ? AND type = ? AND version = ?`)
	if err != nil {
		return fmt.Errorf("write %d objects: %w", len(rows), err)
	}
	defer stmt.Close()
	for i, r := range rows {
		h.count()
		res, err := stmt.ExecContext(ctx, r.Name, r.NameNorm, r.Data, now.UTC(), r.OID, r.Type, r.Version)
		if err != nil {
			return fmt.Errorf("write object %s: %w", r.OID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("write object %s: %w", r.OID, err)
		}
		written[i] = n == 1
	}
	return nil
}
