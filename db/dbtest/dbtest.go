// Package dbtest gives tests a fresh database: a temporary SQLite file, or a
// new PostgreSQL database on the server named by CADRE_TEST_POSTGRES.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// DefaultPostgres is used when CADRE_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Dialects lists the dialects a contract suite runs on.
var Dialects = []string{"sqlite", "postgresql"}

// PostgresAdminURL is the server the tests use.
func PostgresAdminURL() string {
	if v := os.Getenv("CADRE_TEST_POSTGRES"); v != "" {
		return v
	}
	return DefaultPostgres
}

// RequirePostgres reports whether an unreachable PostgreSQL is a failure.
func RequirePostgres() bool { return os.Getenv("CADRE_REQUIRE_POSTGRES") == "1" }

// URL returns a fresh, empty database URL of the dialect; the database is
// dropped when the test ends. PostgreSQL tests skip (or fail, under
// CADRE_REQUIRE_POSTGRES=1) when the server is unreachable.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == "sqlite" {
		return SQLite(t)
	}
	return Postgres(t)
}

// SQLite returns a jdbc:sqlite: URL of a file in a temporary directory.
func SQLite(t testing.TB) string {
	t.Helper()
	return "jdbc:sqlite:" + filepath.Join(t.TempDir(), "cadre.db")
}

// Postgres creates a new database and returns its postgres:// URL.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := PostgresAdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := sql.Open("pgx", admin)
	if err == nil {
		err = conn.PingContext(ctx)
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		if RequirePostgres() {
			t.Fatalf("PostgreSQL at %s unreachable and CADRE_REQUIRE_POSTGRES=1: %v", redact(admin), err)
		}
		t.Skipf("SKIP: PostgreSQL at %s unreachable (set CADRE_TEST_POSTGRES; CADRE_REQUIRE_POSTGRES=1 makes this a failure): %v", redact(admin), err)
	}
	defer conn.Close()
	name := "cadre_t_" + randomHex(6)
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
	}
	return strings.TrimSpace(u.String())
}
