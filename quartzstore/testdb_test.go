package quartzstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "github.com/mattn/go-sqlite3"    // database/sql driver "sqlite3"

	"cadre/quartzstore"
)

// The tests open their databases themselves, as a program using the library
// would, so that quartzstore's tests need nothing else from Cadre either.

// dialects are the databases every SQLStore test runs on.
var dialects = []quartzstore.Dialect{quartzstore.SQLite, quartzstore.Postgres}

// testDB is one fresh, empty database of a dialect; open gives a new pool on it.
type testDB struct {
	dialect quartzstore.Dialect
	dsn     string
}

// newTestDB makes an empty database: a file in a temporary directory, or a
// new database on the PostgreSQL server of QUARTZSTORE_TEST_POSTGRES (or
// CADRE_TEST_POSTGRES), dropped when the test ends. PostgreSQL tests skip
// when the server is unreachable, unless CADRE_REQUIRE_POSTGRES=1.
func newTestDB(t *testing.T, d quartzstore.Dialect) testDB {
	t.Helper()
	if d == quartzstore.SQLite {
		// Every transaction BEGIN IMMEDIATE and waiting when busy, as NewSQLStore asks.
		return testDB{d, "file:" + filepath.Join(t.TempDir(), "jobs.db") + "?_txlock=immediate&_busy_timeout=10000&_journal_mode=WAL"}
	}
	admin := postgresAdminURL()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.PingContext(ctx); err != nil {
		if os.Getenv("CADRE_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL unreachable and CADRE_REQUIRE_POSTGRES=1: %v", err)
		}
		t.Skipf("SKIP: PostgreSQL unreachable (set QUARTZSTORE_TEST_POSTGRES): %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "qrtz_t_" + hex.EncodeToString(b)
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
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return testDB{d, u.String()}
}

func postgresAdminURL() string {
	for _, env := range []string{"QUARTZSTORE_TEST_POSTGRES", "CADRE_TEST_POSTGRES"} {
		if v := os.Getenv(env); v != "" {
			return v
		}
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// open returns a store on a new pool of the database, closed when the test ends.
func (d testDB) open(t *testing.T) *quartzstore.SQLStore {
	t.Helper()
	driver := "sqlite3"
	o := quartzstore.SQLOptions{Dialect: d.dialect}
	if d.dialect == quartzstore.Postgres {
		driver, o.ListenDSN = "pgx", d.dsn
	}
	pool, err := sql.Open(driver, d.dsn)
	if err != nil {
		t.Fatalf("open %s: %v", d.dialect, err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	s, err := quartzstore.NewSQLStore(pool, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
