package gormrepo

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"cadre/app/taskmanager"
)

// postgresDriver: row locks with FOR UPDATE, clock_timestamp() as the
// clock, advisory locks, arrays as single parameters.
type postgresDriver struct{}

func (postgresDriver) lockForUpdate(q *gorm.DB) *gorm.DB {
	return q.Clauses(clause.Locking{Strength: "UPDATE"})
}

// lockRegistrations takes a transaction-level advisory lock (key 4243).
func (postgresDriver) lockRegistrations(tx *gorm.DB) error {
	return tx.Exec("SELECT pg_advisory_xact_lock(4243)").Error
}

func (postgresDriver) now(tx *gorm.DB) (time.Time, error) {
	var t time.Time
	err := tx.Raw("SELECT clock_timestamp()").Scan(&t).Error
	return t.UTC(), err
}

// checkIn is one statement that also reads whether peers had marked the
// node DOWN.
func (postgresDriver) checkIn(ctx context.Context, sqlDB *sql.DB, args []any) (string, time.Time, error) {
	var previous string
	var now time.Time
	err := sqlDB.QueryRowContext(ctx, pgCheckInSQL, args...).Scan(&previous, &now)
	return previous, now, err
}

// pgCheckInSQL is the check-in statement, on the pool or on a node's
// session connection (Repo.CheckInOn).
const pgCheckInSQL = `WITH old AS (
    SELECT operational_state FROM nodes WHERE node_id = $10 AND internal_id = $11 FOR UPDATE)
UPDATE nodes SET last_check_in = clock_timestamp(), operational_state = $1, scheduler_state = $2,
    error_reason = $3, url = $4, hostname = $5, http_port = $6, node_timeout_ms = $7,
    liveness_lock = $8, shared_settings = $9
FROM old WHERE node_id = $10 AND internal_id = $11
RETURNING old.operational_state, nodes.last_check_in`

// whereNames takes one array parameter, not an IN list of hundreds:
// PostgreSQL's generic plan for a long IN list of parameters can turn into a
// sequential scan that reads every object once per call. The names are
// joined as a set (IN over unnest), so each is one lookup in the unique
// (type, name_norm) index: as name_norm = ANY(array), the generic plan that
// a prepared statement gets after five calls answered it through the
// trigram index, whose "=" looks up every name's trigrams (seconds a
// chunk of 500 names once the table held a few thousand users, "user…" all
// sharing theirs).
func (postgresDriver) whereNames(q *gorm.DB, t string, norms []string) *gorm.DB {
	return q.Where("type = ? AND name_norm IN (SELECT unnest(?::text[]))", t, pgTextArray(norms))
}

// estimateRows reads the planner's row estimate of q from EXPLAIN, which
// costs a plan and no scan.
func (postgresDriver) estimateRows(q *gorm.DB) (int64, bool) {
	stmt := q.Session(&gorm.Session{DryRun: true}).Select("1").Find(&[]int{}).Statement
	sqlDB, err := q.DB()
	if err != nil {
		return 0, false
	}
	var raw []byte
	if err := sqlDB.QueryRowContext(stmt.Context, "EXPLAIN (FORMAT JSON) "+stmt.SQL.String(), stmt.Vars...).Scan(&raw); err != nil {
		return 0, false
	}
	var plans []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &plans); err != nil || len(plans) == 0 {
		return 0, false
	}
	return int64(plans[0].Plan.Rows), true
}

// analyzeObjects runs ANALYZE objects, which reads a sample of the table
// (30,000 rows at the default statistics target, whatever its size).
func (postgresDriver) analyzeObjects(ctx context.Context, g *gorm.DB) (int64, bool, error) {
	if err := g.WithContext(ctx).Exec("ANALYZE objects").Error; err != nil {
		return 0, false, err
	}
	var rows float64
	if err := g.WithContext(ctx).Raw("SELECT reltuples FROM pg_class WHERE oid = 'objects'::regclass").Row().Scan(&rows); err != nil {
		return 0, false, err
	}
	return int64(rows), true, nil
}

// claimSkipsLocked: claims use FOR UPDATE SKIP LOCKED.
func (postgresDriver) claimSkipsLocked() bool { return true }

// sessionLocks: session-level advisory locks (pg_try_advisory_lock).
func (postgresDriver) sessionLocks() bool { return true }

// pgTextArray writes strings as a PostgreSQL text[] literal, one bind value.
// arrayElementEscaper escapes a quoted element of an array literal.
var arrayElementEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func pgTextArray(ss []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(arrayElementEscaper.Replace(s))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func (postgresDriver) placeholder(i int) string { return fmt.Sprintf("$%d", i) }

func (postgresDriver) clockMillisSQL() string {
	return "(extract(epoch from clock_timestamp()) * 1000)::bigint"
}

// claimSQL picks and locks the rows in an InitPlan (ARRAY(SELECT ctid …
// FOR UPDATE SKIP LOCKED)) and updates exactly those row versions by their
// physical address (a TID scan), whatever the statistics say. Matching them
// by key instead (task_oid and seq = ANY) left the plan to the statistics:
// right after a run wrote its buckets, PostgreSQL believed the task had
// almost none, scanned all of them and filtered on seq = ANY — 6 ms a claim
// at 10,000 buckets instead of 1 ms, and most of the database's time in a
// no-op run. The InitPlan's lock keeps each row at the version it returned
// (READY, re-checked if another claimer changed it first) until the update.
func (postgresDriver) claimSQL(p taskmanager.BucketsClaimParams, limit int) (string, []any) {
	return `UPDATE buckets SET state = 'DELEGATED', worker_oid = $1, node_id = $2, epoch = epoch + 1, claimed_at = $3,
  resumed_from = checkpoint, not_before = NULL
WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM buckets WHERE task_oid = $4 AND state = 'READY' AND (not_before IS NULL OR not_before <= $3)
  ORDER BY seq LIMIT $5 FOR UPDATE SKIP LOCKED))
RETURNING seq, epoch, content, items_processed, attempts, checkpoint`, []any{p.Worker, p.Node, p.Now.UTC(), p.TaskOID, limit}
}

// insertBuckets writes a coordinator's buckets in one statement: their
// contents as one array parameter, numbered from 1 by WITH ORDINALITY (10,000
// buckets took 150 ms as batched multi-row inserts, a fifth of such a task's
// whole run).
func (postgresDriver) insertBuckets(tx *gorm.DB, taskOID string, contents []string) error {
	return tx.Exec(`INSERT INTO buckets (task_oid, seq, state, content)
SELECT ?, u.seq, 'READY', u.content FROM unnest(?::text[]) WITH ORDINALITY AS u(content, seq)`,
		taskOID, pgTextArray(contents)).Error
}

// completeSQL passes the completions as arrays, unnested into rows.
func (postgresDriver) completeSQL(cs []taskmanager.BucketCompletion, now time.Time) (string, []any) {
	oids, seqs, epochs, items, errs := make([]string, len(cs)), make([]int64, len(cs)), make([]int64, len(cs)), make([]int64, len(cs)), make([]int64, len(cs))
	failures := make([]string, len(cs))
	for i, c := range cs {
		oids[i], seqs[i], epochs[i], items[i], errs[i], failures[i] = c.TaskOID, c.Seq, c.Epoch, c.Items, c.Errors, c.Error
	}
	q := `UPDATE buckets b SET state = 'COMPLETE', items_processed = v.items, errors = v.errs, completed_at = $7, completions = b.completions + 1,
  attempts = b.attempts + 1, last_error = CASE WHEN v.failure <> '' THEN v.failure ELSE b.last_error END
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[]) AS v(task_oid, seq, epoch, items, errs, failure)
WHERE b.task_oid = v.task_oid AND b.seq = v.seq AND b.epoch = v.epoch AND b.state = 'DELEGATED'
RETURNING b.task_oid, b.seq, b.epoch`
	return q, []any{oids, seqs, epochs, items, errs, failures, now.UTC()}
}

// writeObjectsSQL writes every row in one UPDATE … FROM unnest, and the
// change log rows of the objects written in the same statement.
func (postgresDriver) writeObjectsSQL(rows []objectRow, now time.Time, logs []changeRow) (string, []any, bool) {
	oids, types, names, norms, datas := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	versions := make([]int64, len(rows))
	for i, r := range rows {
		oids[i], types[i], names[i], norms[i], datas[i], versions[i] = r.OID, r.Type, r.Name, r.NameNorm, r.Data, r.Version
	}
	update := `UPDATE objects o SET name = v.name, name_norm = v.norm, data = v.data, version = o.version + 1, modified_at = $7
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS v(oid, type, name, norm, data, version)
WHERE o.oid = v.oid AND o.type = v.type AND o.version = v.version
RETURNING o.oid`
	args := []any{oids, types, names, norms, datas, versions, now.UTC()}
	if len(logs) == 0 {
		return update + ", 0::bigint", args, true
	}
	lOIDs, lTypes, lEffects, lNodes := make([]string, len(logs)), make([]string, len(logs)), make([]string, len(logs)), make([]string, len(logs))
	for i, l := range logs {
		lOIDs[i], lTypes[i], lEffects[i], lNodes[i] = l.OID, l.Type, l.Effect, l.NodeID
	}
	return `WITH w AS (` + update + `),
l AS (INSERT INTO change_log (type, oid, effect, node_id)
	SELECT e.type, e.oid, e.effect, e.node FROM unnest($8::text[], $9::text[], $10::text[], $11::text[]) AS e(oid, type, effect, node)
	JOIN w ON w.oid = e.oid
	RETURNING oid, seq)
SELECT w.oid, coalesce(l.seq, 0) FROM w LEFT JOIN l ON l.oid = w.oid`, append(args, lOIDs, lTypes, lEffects, lNodes), true
}
