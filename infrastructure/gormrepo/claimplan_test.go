package gormrepo

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"
	"time"

	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/db/dbtest"
)

// TestClaimPlanUsesReadyIndex: on PostgreSQL the claim still finds its rows
// through the READY partial index when it passes over buckets waiting for a
// retry, however many COMPLETE rows the task has piled up — a sequential
// scan would make every claim cost the whole task — and updates exactly
// those rows by their address, also when the statistics are stale: analyzed
// while every bucket was COMPLETE, before a new run wrote 10,000 READY ones.
func TestClaimPlanUsesReadyIndex(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{URL: dbtest.Postgres(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), db.ActionCreate, db.ActionUpgrade, slog.Default()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO tasks (oid, name, handler, role, execution_state, result_status, created_at, modified_at)
VALUES ('t', 't', 'noop', 'coordinator', 'WAITING', 'IN_PROGRESS', now(), now())`,
		`INSERT INTO buckets (task_oid, seq, state, content)
SELECT 't', g, CASE WHEN g <= 15000 THEN 'COMPLETE' ELSE 'READY' END, '{}' FROM generate_series(1, 20000) g`,
		`UPDATE buckets SET not_before = now() + interval '1 hour' WHERE seq BETWEEN 15001 AND 15050`,
		`ANALYZE buckets`,
	} {
		if err := d.DB.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	sqlDB, err := d.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	plan := claimPlan(t, sqlDB, "t")
	if !strings.Contains(plan, "buckets_ready_seq") || strings.Contains(plan, "Seq Scan") {
		t.Fatalf("the claim does not go through the READY index:\n%s", plan)
	}
	if !strings.Contains(plan, "Tid Scan") {
		t.Fatalf("the claim does not update the rows it locked by their address:\n%s", plan)
	}

	for _, q := range []string{
		`INSERT INTO tasks (oid, name, handler, role, execution_state, result_status, created_at, modified_at)
VALUES ('t2', 't2', 'noop', 'coordinator', 'WAITING', 'IN_PROGRESS', now(), now())`,
		`UPDATE buckets SET state = 'COMPLETE'`,
		`ANALYZE buckets`,
		`INSERT INTO buckets (task_oid, seq, state, content) SELECT 't2', g, 'READY', '{}' FROM generate_series(1, 10000) g`,
	} {
		if err := d.DB.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	if plan := claimPlan(t, sqlDB, "t2"); !strings.Contains(plan, "Tid Scan") || strings.Contains(plan, "Rows Removed by Filter") {
		t.Fatalf("with stale statistics the claim scans the task's buckets instead of updating the rows it locked:\n%s", plan)
	}
}

// claimPlan runs a claim of 8 buckets of taskOID under EXPLAIN ANALYZE (in
// a transaction rolled back afterwards) and returns the plan.
func claimPlan(t *testing.T, sqlDB *sql.DB, taskOID string) string {
	t.Helper()
	ctx := context.Background()
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	q, args := postgresDriver{}.claimSQL(taskmanager.BucketsClaimParams{TaskOID: taskOID, Worker: "w", Node: "n", Now: time.Now()}, 8)
	rows, err := tx.QueryContext(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}
