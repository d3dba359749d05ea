// Package db opens Cadre's databases (SQLite and PostgreSQL) through gorm and
// applies embedded, versioned migrations per dialect.
package db

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names a supported SQL dialect.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgresql"
)

// Options describe one database to open.
type Options struct {
	// URL is a JDBC-style URL (jdbc:postgresql://host:5432/db, jdbc:sqlite:/path/file.db),
	// a native postgres:// DSN or a plain SQLite file path.
	URL      string
	Username string
	Password string
	// MaxPoolSize bounds open connections; default 20.
	MaxPoolSize int
	// ApplicationName names the connections in PostgreSQL's
	// pg_stat_activity (unless the URL sets application_name itself), so an
	// operator can tell which node sent a statement; ignored for SQLite.
	ApplicationName string
}

// DB is an open database with its dialect.
type DB struct {
	*gorm.DB
	Dialect Dialect
	// DSN is the driver-level connection string (contains the password, never log it).
	DSN string
	// statements counts the statements this process sent (gorm's and the
	// explicit hot-path SQL), for the sql-cost figure and /metrics.
	statements *atomic.Int64
}

// CountStatement records one statement sent outside gorm (explicit SQL).
func (d *DB) CountStatement() {
	if d.statements != nil {
		d.statements.Add(1)
	}
}

// Statements is the number of statements this process has sent on d.
func (d *DB) Statements() int64 {
	if d.statements == nil {
		return 0
	}
	return d.statements.Load()
}

// countStatements registers gorm callbacks that count every statement gorm sends.
func countStatements(gdb *gorm.DB, n *atomic.Int64) error {
	inc := func(*gorm.DB) { n.Add(1) }
	cb := gdb.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("cadre:count", inc),
		cb.Query().After("gorm:query").Register("cadre:count", inc),
		cb.Update().After("gorm:update").Register("cadre:count", inc),
		cb.Delete().After("gorm:delete").Register("cadre:count", inc),
		cb.Row().After("gorm:row").Register("cadre:count", inc),
		cb.Raw().After("gorm:raw").Register("cadre:count", inc),
	} {
		if err != nil {
			return fmt.Errorf("register statement counter: %w", err)
		}
	}
	return nil
}

// Errors of Open.
var (
	// ErrBadURL is returned for a URL that names no supported database.
	ErrBadURL = errors.New("unsupported database URL")
	// ErrSQLiteFile is wrapped when the SQLite file cannot be created or
	// opened (a missing directory, no permission): a configuration mistake.
	ErrSQLiteFile = errors.New("cannot open the SQLite file")
	// ErrUnreachable is wrapped when a PostgreSQL server does not answer or
	// refuses the connection.
	ErrUnreachable = errors.New("database unreachable")
)

// ParseURL turns a JDBC-style or native URL into the dialect and a driver DSN.
func ParseURL(raw, username, password string) (Dialect, string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case strings.HasPrefix(raw, "jdbc:sqlite:"):
		return sqliteDSN(strings.TrimPrefix(raw, "jdbc:sqlite:"))
	case strings.HasPrefix(raw, "jdbc:postgresql://"):
		return postgresDSN("postgres://"+strings.TrimPrefix(raw, "jdbc:postgresql://"), username, password)
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return postgresDSN(raw, username, password)
	case strings.HasPrefix(raw, "file:"):
		return sqliteDSN(strings.TrimPrefix(raw, "file:"))
	case raw != "" && !strings.Contains(raw, "://"):
		return sqliteDSN(raw)
	}
	return "", "", fmt.Errorf("%w: %q", ErrBadURL, raw)
}

func sqliteDSN(path string) (Dialect, string, error) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return "", "", fmt.Errorf("%w: empty SQLite path", ErrBadURL)
	}
	// _txlock=immediate makes every transaction BEGIN IMMEDIATE, so writers queue on
	// the busy timeout instead of failing with SQLITE_BUSY on lock upgrade.
	q := "_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate&_synchronous=NORMAL"
	return SQLite, "file:" + path + "?" + q, nil
}

func postgresDSN(raw, username, password string) (Dialect, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("%w: %q", ErrBadURL, raw)
	}
	u.Scheme = "postgres"
	if username != "" {
		if password != "" {
			u.User = url.UserPassword(username, password)
		} else {
			u.User = url.User(username)
		}
	} else if password != "" && u.User != nil {
		u.User = url.UserPassword(u.User.Username(), password)
	}
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	// JDBC-only parameters that pgx does not understand.
	for _, k := range []string{"currentSchema", "ssl", "loggerLevel"} {
		if v := q.Get(k); v != "" && k == "currentSchema" {
			q.Set("search_path", v)
		}
		q.Del(k)
	}
	u.RawQuery = q.Encode()
	return Postgres, u.String(), nil
}

// Open connects to the database named by o and checks that it answers.
func Open(ctx context.Context, o Options) (*DB, error) {
	dialect, dsn, err := ParseURL(o.URL, o.Username, o.Password)
	if err != nil {
		return nil, err
	}
	if dialect == Postgres && o.ApplicationName != "" {
		dsn = withApplicationName(dsn, o.ApplicationName)
	}
	cfg := &gorm.Config{Logger: logger.Discard, TranslateError: true, NowFunc: func() time.Time { return time.Now().UTC() }}
	var gdb *gorm.DB
	switch dialect {
	case SQLite:
		if err := privateFile(sqlitePath(dsn)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSQLiteFile, err)
		}
		gdb, err = gorm.Open(sqlite.Open(dsn), cfg)
	case Postgres:
		gdb, err = gorm.Open(postgres.New(postgres.Config{DSN: dsn}), cfg)
	}
	if err != nil {
		cause := ErrUnreachable
		if dialect == SQLite {
			cause = ErrSQLiteFile
		}
		return nil, fmt.Errorf("open %s: %w: %w", dialect, cause, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	pool := o.MaxPoolSize
	if pool <= 0 {
		pool = 20
	}
	sqlDB.SetMaxOpenConns(pool)
	sqlDB.SetMaxIdleConns(min(pool, 10))
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		cause := ErrUnreachable
		if dialect == SQLite {
			cause = ErrSQLiteFile
		}
		return nil, fmt.Errorf("connect %s: %w: %w", dialect, cause, err)
	}
	statements := new(atomic.Int64)
	if err := countStatements(gdb, statements); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return &DB{DB: gdb, Dialect: dialect, DSN: dsn, statements: statements}, nil
}

// withApplicationName adds application_name to a PostgreSQL URL made by
// postgresDSN, unless the user's URL already names one.
func withApplicationName(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	if q.Get("application_name") != "" {
		return dsn
	}
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// sqlitePath is the file of a SQLite DSN made by sqliteDSN ("" for memory).
func sqlitePath(dsn string) string {
	path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if path == ":memory:" || strings.HasPrefix(path, ":memory:") {
		return ""
	}
	return path
}

// privateFile creates the SQLite database file readable by its owner only
// (0600: it holds password hashes and node secrets), or takes group and
// world access away from an existing one. SQLite gives its -wal and -shm
// files the same mode.
func privateFile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create SQLite file %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("SQLite file %s: %w", path, err)
	}
	if mode := st.Mode().Perm(); mode&0o077 != 0 && st.Mode().IsRegular() {
		if err := os.Chmod(path, mode&^0o077); err != nil {
			return fmt.Errorf("make SQLite file %s private: %w", path, err)
		}
	}
	return nil
}

// Close closes the pool.
func (d *DB) Close() error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Now reads the database clock (UTC). On SQLite, which runs in this process,
// the database clock is the host clock.
func (d *DB) Now(ctx context.Context) (time.Time, error) {
	if d.Dialect == SQLite {
		return time.Now().UTC(), nil
	}
	var t time.Time
	if err := d.WithContext(ctx).Raw("SELECT clock_timestamp()").Scan(&t).Error; err != nil {
		return time.Time{}, fmt.Errorf("read database clock: %w", err)
	}
	return t.UTC(), nil
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}
