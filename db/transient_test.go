package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"cadre/db"
	"cadre/db/dbtest"
)

// TestIsTransientOnRealPostgresErrors brings a real PostgreSQL to raise each
// error, then checks the classification of it as a store returns it.
func TestIsTransientOnRealPostgresErrors(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.Postgres(t)
	connect := func(t *testing.T, dsn string) *pgconn.PgConn {
		t.Helper()
		c, err := pgconn.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	exec := func(c *pgconn.PgConn, q string) error {
		_, err := c.Exec(ctx, q).ReadAll()
		return err
	}
	admin := connect(t, dsn)
	if err := exec(admin, "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0), (2, 0)"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		provoke   func(t *testing.T) error
		wantCode  string // "" when the driver reports no SQLSTATE
		transient bool
	}{
		{"connection terminated by an administrator (pg_terminate_backend)", func(t *testing.T) error {
			c := connect(t, dsn)
			if err := exec(admin, fmt.Sprintf("SELECT pg_terminate_backend(%d)", c.PID())); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // let the FATAL reach the socket
			return exec(c, "SELECT 1")
		}, "", true},
		{"deadlock", func(t *testing.T) error {
			a, b := connect(t, dsn), connect(t, dsn)
			for _, c := range []*pgconn.PgConn{a, b} {
				if err := exec(c, "SET deadlock_timeout = '50ms'; BEGIN"); err != nil {
					t.Fatal(err)
				}
			}
			if err := exec(a, "UPDATE t SET v = v + 1 WHERE id = 1"); err != nil {
				t.Fatal(err)
			}
			if err := exec(b, "UPDATE t SET v = v + 1 WHERE id = 2"); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Add(2)
			go func() { defer wg.Done(); errs[0] = exec(a, "UPDATE t SET v = v + 1 WHERE id = 2") }()
			go func() { defer wg.Done(); errs[1] = exec(b, "UPDATE t SET v = v + 1 WHERE id = 1") }()
			wg.Wait()
			_ = exec(a, "ROLLBACK")
			_ = exec(b, "ROLLBACK")
			return errors.Join(errs...)
		}, "40P01", true},
		{"too many connections (a role's connection limit)", func(t *testing.T) error {
			role := fmt.Sprintf("cadre_t_role_%d", time.Now().UnixNano())
			if err := exec(admin, "CREATE ROLE "+role+" LOGIN CONNECTION LIMIT 0"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = exec(admin, "DROP ROLE IF EXISTS "+role) })
			u, _ := url.Parse(dsn)
			u.User = url.User(role)
			c, err := pgconn.Connect(ctx, u.String())
			if err == nil {
				c.Close(ctx)
			}
			return err
		}, "53300", true},
		{"connection refused", func(t *testing.T) error {
			_, err := pgconn.Connect(ctx, "postgres://postgres@127.0.0.1:1/x?connect_timeout=2")
			return err
		}, "", true},
		{"database not accepting connections", func(t *testing.T) error {
			u, _ := url.Parse(dsn)
			name := strings.TrimPrefix(u.Path, "/")
			server := connect(t, dbtest.PostgresAdminURL()) // not in the database it closes
			if err := exec(server, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false"); err != nil {
				t.Fatal(err)
			}
			defer exec(server, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true") //nolint:errcheck // restores the test database
			_, err := pgconn.Connect(ctx, dsn)
			return err
		}, "55000", true},
		{"wrong database (not transient)", func(t *testing.T) error {
			u, _ := url.Parse(dsn)
			u.Path = "/cadre_no_such_database"
			_, err := pgconn.Connect(ctx, u.String())
			return err
		}, "3D000", false},
		{"read-only transaction (as on a standby)", func(t *testing.T) error {
			c := connect(t, dsn)
			return exec(c, "BEGIN READ ONLY; UPDATE t SET v = 1; ROLLBACK")
		}, "25006", true},
		{"unique violation", func(t *testing.T) error {
			return exec(admin, "INSERT INTO t VALUES (1, 0)")
		}, "23505", false},
		{"syntax error", func(t *testing.T) error { return exec(admin, "SELEC 1") }, "42601", false},
		{"missing table", func(t *testing.T) error { return exec(admin, "SELECT * FROM nowhere") }, "42P01", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.provoke(t)
			if err == nil {
				t.Fatal("the server raised no error")
			}
			var pgErr *pgconn.PgError
			if tc.wantCode != "" && (!errors.As(err, &pgErr) || pgErr.Code != tc.wantCode) {
				t.Fatalf("error %v, want SQLSTATE %s", err, tc.wantCode)
			}
			// As the stores return it: wrapped with what they were doing.
			wrapped := fmt.Errorf("claim buckets of x: %w", err)
			if got := db.IsTransient(wrapped); got != tc.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tc.transient)
			}
		})
	}
}

// TestIsTransientOnSQLiteBusy: a writer that finds the database locked by
// another connection (its busy timeout spent) may try again.
func TestIsTransientOnSQLiteBusy(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	open := func() *sql.DB {
		d, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	a, b := open(), open()
	if _, err := a.ExecContext(ctx, "CREATE TABLE t (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	holder, err := a.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer holder.ExecContext(ctx, "ROLLBACK") //nolint:errcheck // cleanup
	_, err = b.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	if err == nil {
		t.Fatal("a second writer was not refused")
	}
	if !db.IsTransient(err) {
		t.Errorf("IsTransient(%v) = false, want true", err)
	}
	if db.IsTransient(sql.ErrNoRows) || db.IsTransient(context.Canceled) || db.IsTransient(nil) {
		t.Error("no rows, a cancelled context and nil must not be transient")
	}
}
