package gormrepo

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/domain/task"
)

// hotPath runs the statements every bucket pays for — claims and
// completions — as explicit SQL on database/sql, without gorm's reflection.
// The dialect differences of these statements live here and nowhere else.
type hotPath struct {
	sql     *sql.DB
	dialect db.Dialect
	count   func() // counts one statement sent
}

func newHotPath(d *db.DB) *hotPath {
	sqlDB, err := d.DB.DB()
	if err != nil {
		panic(fmt.Sprintf("gormrepo: gorm without a *sql.DB: %v", err)) // gorm always has one after Open
	}
	return &hotPath{sql: sqlDB, dialect: d.Dialect, count: d.CountStatement}
}

// ph returns the i-th (1-based) bind placeholder of the dialect.
func (h *hotPath) ph(i int) string {
	if h.dialect == db.Postgres {
		return fmt.Sprintf("$%d", i)
	}
	return "?"
}

// claim delegates up to p.Limit READY buckets of a task, lowest seq first,
// in one statement; each claimed bucket's epoch goes up by one.
func (h *hotPath) claim(ctx context.Context, p taskmanager.BucketsClaimParams) ([]task.Bucket, error) {
	limit := max(p.Limit, 1)
	q, args := h.claimSQL(p, limit)
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
		var content string
		if err := rows.Scan(&b.Seq, &b.Epoch, &content, &b.ItemsProcessed); err != nil {
			return nil, fmt.Errorf("claim buckets of %s: %w", p.TaskOID, err)
		}
		if err := json.Unmarshal([]byte(content), &b.Content); err != nil {
			return nil, fmt.Errorf("decode bucket %s/%d: %w", p.TaskOID, b.Seq, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim buckets of %s: %w", p.TaskOID, err)
	}
	// RETURNING gives no order; workers take buckets in seq order.
	slices.SortFunc(out, func(a, b task.Bucket) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// claimSQL is the claim statement of the dialect. PostgreSQL picks the rows
// in an InitPlan (ARRAY(SELECT … FOR UPDATE SKIP LOCKED)), so the update is an
// index lookup of exactly those keys rather than a join over the task's
// buckets; SQLite, one writer at a time, uses a plain IN.
func (h *hotPath) claimSQL(p taskmanager.BucketsClaimParams, limit int) (string, []any) {
	if h.dialect == db.Postgres {
		return `UPDATE buckets SET state = 'DELEGATED', worker_oid = $1, node_id = $2, epoch = epoch + 1, claimed_at = $3
WHERE task_oid = $4 AND state = 'READY' AND seq = ANY (ARRAY(
  SELECT seq FROM buckets WHERE task_oid = $4 AND state = 'READY' ORDER BY seq LIMIT $5 FOR UPDATE SKIP LOCKED))
RETURNING seq, epoch, content, items_processed`, []any{p.Worker, p.Node, p.Now.UTC(), p.TaskOID, limit}
	}
	return `UPDATE buckets SET state = 'DELEGATED', worker_oid = ?, node_id = ?, epoch = epoch + 1, claimed_at = ?
WHERE task_oid = ? AND state = 'READY' AND seq IN (
  SELECT seq FROM buckets WHERE task_oid = ? AND state = 'READY' ORDER BY seq LIMIT ?)
RETURNING seq, epoch, content, items_processed`, []any{p.Worker, p.Node, p.Now.UTC(), p.TaskOID, p.TaskOID, limit}
}

// anyReady reports whether a task has a READY bucket at all, locked or not.
func (h *hotPath) anyReady(ctx context.Context, taskOID string) (bool, error) {
	h.count()
	var one int
	err := h.sql.QueryRowContext(ctx, fmt.Sprintf(`SELECT 1 FROM buckets WHERE task_oid = %s AND state = 'READY' LIMIT 1`, h.ph(1)), taskOID).Scan(&one)
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
	var (
		q    string
		args []any
	)
	if h.dialect == db.Postgres {
		oids, seqs, epochs, items, errs := make([]string, len(cs)), make([]int64, len(cs)), make([]int64, len(cs)), make([]int64, len(cs)), make([]int64, len(cs))
		for i, c := range cs {
			oids[i], seqs[i], epochs[i], items[i], errs[i] = c.TaskOID, c.Seq, c.Epoch, c.Items, c.Errors
		}
		q = `UPDATE buckets b SET state = 'COMPLETE', items_processed = v.items, errors = v.errs, completed_at = $6, completions = b.completions + 1
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS v(task_oid, seq, epoch, items, errs)
WHERE b.task_oid = v.task_oid AND b.seq = v.seq AND b.epoch = v.epoch AND b.state = 'DELEGATED'
RETURNING b.task_oid, b.seq, b.epoch`
		args = []any{oids, seqs, epochs, items, errs, now.UTC()}
	} else {
		var values strings.Builder
		args = make([]any, 0, len(cs)*5+1)
		args = append(args, now.UTC())
		for i, c := range cs {
			if i > 0 {
				values.WriteString(", ")
			}
			values.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, c.TaskOID, c.Seq, c.Epoch, c.Items, c.Errors)
		}
		q = `UPDATE buckets SET state = 'COMPLETE', items_processed = v.items, errors = v.errs, completed_at = ?, completions = buckets.completions + 1
FROM (SELECT column1 AS task_oid, column2 AS seq, column3 AS epoch, column4 AS items, column5 AS errs FROM (VALUES ` + values.String() + `)) AS v
WHERE buckets.task_oid = v.task_oid AND buckets.seq = v.seq AND buckets.epoch = v.epoch AND buckets.state = 'DELEGATED'
RETURNING buckets.task_oid, buckets.seq, buckets.epoch`
	}
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

// writeObjects updates objects at the versions they carry (version+1) and
// reports which were written. PostgreSQL takes them all in one UPDATE … FROM
// unnest; SQLite runs one UPDATE per object inside one transaction.
func (h *hotPath) writeObjects(ctx context.Context, rows []objectRow, now time.Time) ([]bool, error) {
	written := make([]bool, len(rows))
	if h.dialect == db.Postgres {
		oids, types, names, norms, datas := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
		versions := make([]int64, len(rows))
		for i, r := range rows {
			oids[i], types[i], names[i], norms[i], datas[i], versions[i] = r.OID, r.Type, r.Name, r.NameNorm, r.Data, r.Version
		}
		h.count()
		res, err := h.sql.QueryContext(ctx, `UPDATE objects o SET name = v.name, name_norm = v.norm, data = v.data, version = o.version + 1, modified_at = $7
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS v(oid, type, name, norm, data, version)
WHERE o.oid = v.oid AND o.type = v.type AND o.version = v.version
RETURNING o.oid`, oids, types, names, norms, datas, versions, now.UTC())
		if err != nil {
			return nil, fmt.Errorf("write %d objects: %w", len(rows), err)
		}
		defer res.Close()
		done := make(map[string]bool, len(rows))
		for res.Next() {
			var oid string
			if err := res.Scan(&oid); err != nil {
				return nil, fmt.Errorf("write %d objects: %w", len(rows), err)
			}
			done[oid] = true
		}
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("write %d objects: %w", len(rows), err)
		}
		for i, r := range rows {
			written[i] = done[r.OID]
		}
		return written, nil
	}
	tx, err := h.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("write %d objects: %w", len(rows), err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, `UPDATE objects SET name = ?, name_norm = ?, data = ?, version = version + 1, modified_at = ?
WHERE oid = ? AND type = ? AND version = ?`)
	if err != nil {
		return nil, fmt.Errorf("write %d objects: %w", len(rows), err)
	}
	defer stmt.Close()
	for i, r := range rows {
		h.count()
		res, err := stmt.ExecContext(ctx, r.Name, r.NameNorm, r.Data, now.UTC(), r.OID, r.Type, r.Version)
		if err != nil {
			return nil, fmt.Errorf("write object %s: %w", r.OID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("write object %s: %w", r.OID, err)
		}
		written[i] = n == 1
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("write %d objects: %w", len(rows), err)
	}
	return written, nil
}
