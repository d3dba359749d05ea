package gormrepo

import (
	"context"
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
// scan would make every claim cost the whole task.
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
	q, args := postgresDriver{}.claimSQL(taskmanager.BucketsClaimParams{TaskOID: "t", Worker: "w", Node: "n", Now: time.Now()}, 8)
	sqlDB, err := d.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := sqlDB.QueryContext(ctx, "EXPLAIN "+q, args...)
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
	if p := plan.String(); !strings.Contains(p, "buckets_ready_seq") || strings.Contains(p, "Seq Scan") {
		t.Fatalf("the claim does not go through the READY index:\n%s", p)
	}
}
