package quartzstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Trigger acquisition runs on every scheduler poll and before every task
// start, so it is explicit SQL on database/sql with named columns, not gorm
// reflection. The dialect differences live in rawTx and rowLock.

// rawTx is one database/sql transaction that writes its statements with "?"
// placeholders and counts what it sends.
type rawTx struct {
	tx      *sql.Tx
	dialect Dialect
	count   func()
}

func (s *SQLStore) begin(ctx context.Context) (*rawTx, error) {
	// SQLite: the caller opened the pool so that every transaction is
	// BEGIN IMMEDIATE (see NewSQLStore).
	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &rawTx{tx: tx, dialect: s.dialect, count: s.count}, nil
}

// rebind turns "?" placeholders into PostgreSQL's "$n".
func (t *rawTx) rebind(q string) string {
	if t.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (t *rawTx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.count()
	return t.tx.QueryContext(ctx, t.rebind(q), args...)
}

func (t *rawTx) exec(ctx context.Context, q string, args ...any) error {
	t.count()
	_, err := t.tx.ExecContext(ctx, t.rebind(q), args...)
	return err
}

// placeholders returns "(?, ?, …)" for n values.
func placeholders(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// groupCond restricts triggers to execution groups (nil: any).
func groupCond(groups []string) (string, []any) {
	if groups == nil {
		return "", nil
	}
	if len(groups) == 0 {
		return " AND 1 = 0", nil
	}
	args := make([]any, len(groups))
	for i, g := range groups {
		args[i] = g
	}
	return " AND exec_group IN " + placeholders(len(groups)), args
}

const triggerColumns = `trigger_key, job_key, kind, interval_ms, cron, misfire, exec_group, next_fire_time, prev_fire_time, paused, recovering, version`

func scanTrigger(rows *sql.Rows) (triggerRow, error) {
	var r triggerRow
	err := rows.Scan(&r.TriggerKey, &r.JobKey, &r.Kind, &r.IntervalMs, &r.Cron, &r.Misfire, &r.ExecGroup,
		&r.NextFireTime, &r.PrevFireTime, &r.Paused, &r.Recovering, &r.Version)
	return r, err
}

// TriggersAcquireNext implements Store. The claim is one statement,
// UPDATE … WHERE trigger_key IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED])
// RETURNING the columns, followed in the same transaction by the job reads,
// the trigger advances and the fired-trigger inserts.
func (s *SQLStore) TriggersAcquireNext(ctx context.Context, p TriggersAcquireNextParams) (out []FiredTrigger, err error) {
	now := utcMillis(p.Now)
	limit := toMillis(now.Add(p.Lookahead))
	maxCount := max(p.MaxCount, 1)
	gcond, gargs := groupCond(p.Groups)
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire triggers: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.tx.Rollback()
		}
	}()
	args := append([]any{false, limit}, gargs...)
	args = append(args, maxCount)
	rows, err := tx.query(ctx, `UPDATE qrtz_triggers SET version = version + 1 WHERE trigger_key IN (
		SELECT trigger_key FROM qrtz_triggers WHERE paused = ? AND next_fire_time <= ?`+gcond+`
		ORDER BY next_fire_time, trigger_key LIMIT ?`+s.rowLock()+`) RETURNING `+triggerColumns, args...)
	if err != nil {
		return nil, fmt.Errorf("acquire triggers: claim: %w", err)
	}
	var claimed []triggerRow
	for rows.Next() {
		r, err := scanTrigger(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("acquire triggers: claim: %w", err)
		}
		claimed = append(claimed, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("acquire triggers: claim: %w", err)
	}
	slices.SortFunc(claimed, func(a, b triggerRow) int {
		return cmp.Or(cmp.Compare(a.NextFireTime, b.NextFireTime), cmp.Compare(a.TriggerKey, b.TriggerKey))
	})
	// RETURNING shows the rows as locked. Should a plan ever re-run the
	// subquery and lock a row that another claimer just advanced, the row
	// is no longer due: drop it rather than fire it early.
	claimed = slices.DeleteFunc(claimed, func(r triggerRow) bool { return r.Paused || r.NextFireTime > limit })
	claimed = claimed[:min(len(claimed), maxCount)]
	if len(claimed) > 0 {
		if out, err = s.fire(ctx, tx, p, now, claimed); err != nil {
			return nil, fmt.Errorf("acquire triggers: %w", err)
		}
	}
	if err := tx.tx.Commit(); err != nil {
		return nil, fmt.Errorf("acquire triggers: commit: %w", err)
	}
	return out, nil
}

// fire advances or deletes the claimed triggers and records their fires.
func (s *SQLStore) fire(ctx context.Context, tx *rawTx, p TriggersAcquireNextParams, now time.Time, claimed []triggerRow) ([]FiredTrigger, error) {
	jobs, err := loadJobsRaw(ctx, tx, claimed)
	if err != nil {
		return nil, err
	}
	var fires []firedRow
	var gone []any
	for _, r := range claimed {
		t := r.toTrigger()
		plan := planFire(t, now, p.MisfireThreshold)
		if plan.keep {
			prev := r.PrevFireTime
			if plan.fire {
				prev = toMillis(plan.scheduled)
			}
			if err := tx.exec(ctx, `UPDATE qrtz_triggers SET next_fire_time = ?, prev_fire_time = ? WHERE trigger_key = ?`,
				toMillis(plan.next), prev, r.TriggerKey); err != nil {
				return nil, fmt.Errorf("advance trigger %q: %w", r.TriggerKey, err)
			}
		} else {
			gone = append(gone, r.TriggerKey)
		}
		j, ok := jobs[r.JobKey]
		if !plan.fire || !ok {
			continue
		}
		fires = append(fires, firedRow{
			FireID: fireID(t.Key, plan.scheduled), TriggerKey: t.Key, JobKey: t.JobKey, ExecGroup: t.Group,
			InstanceID: p.InstanceID, ScheduledTime: toMillis(plan.scheduled), FiredTime: toMillis(now),
			Recovering: t.Recovering, Data: j,
		})
	}
	if len(gone) > 0 {
		if err := tx.exec(ctx, `DELETE FROM qrtz_triggers WHERE trigger_key IN `+placeholders(len(gone)), gone...); err != nil {
			return nil, fmt.Errorf("delete fired once triggers: %w", err)
		}
	}
	inserted, err := insertFiredRaw(ctx, tx, fires)
	if err != nil {
		return nil, err
	}
	var out []FiredTrigger
	for _, f := range fires {
		if !inserted[f.FireID] {
			continue // this scheduled time already fired: idempotent
		}
		ft, err := f.toFired()
		if err != nil {
			return nil, err
		}
		out = append(out, ft)
	}
	return out, nil
}

// loadJobsRaw reads the data of the claimed triggers' jobs, by job key.
func loadJobsRaw(ctx context.Context, tx *rawTx, claimed []triggerRow) (map[string]string, error) {
	keys := make([]string, len(claimed))
	for i, r := range claimed {
		keys[i] = r.JobKey
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := tx.query(ctx, `SELECT job_key, data FROM qrtz_jobs WHERE job_key IN `+placeholders(len(keys)), args...)
	if err != nil {
		return nil, fmt.Errorf("load jobs: %w", err)
	}
	defer rows.Close()
	jobs := make(map[string]string, len(keys))
	for rows.Next() {
		var key, data string
		if err := rows.Scan(&key, &data); err != nil {
			return nil, fmt.Errorf("load jobs: %w", err)
		}
		jobs[key] = data
	}
	return jobs, rows.Err()
}

// insertFiredRaw inserts fired triggers, skipping fire ids that exist, and
// reports which were inserted.
func insertFiredRaw(ctx context.Context, tx *rawTx, fires []firedRow) (map[string]bool, error) {
	inserted := map[string]bool{}
	if len(fires) == 0 {
		return inserted, nil
	}
	var sb strings.Builder
	sb.WriteString(`INSERT INTO qrtz_fired_triggers (fire_id, trigger_key, job_key, exec_group, instance_id,
		scheduled_time, fired_time, recovering, data) VALUES `)
	args := make([]any, 0, 9*len(fires))
	for i, f := range fires {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(placeholders(9))
		args = append(args, f.FireID, f.TriggerKey, f.JobKey, f.ExecGroup, f.InstanceID,
			f.ScheduledTime, f.FiredTime, f.Recovering, f.Data)
	}
	sb.WriteString(" ON CONFLICT (fire_id) DO NOTHING RETURNING fire_id")
	rows, err := tx.query(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("insert fired triggers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("insert fired triggers: %w", err)
		}
		inserted[id] = true
	}
	return inserted, rows.Err()
}
