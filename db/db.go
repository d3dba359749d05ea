// Package db opens Cadre's databases (SQLite and PostgreSQL) through gorm and
// applies embedded, versioned migrations per dialect.
package db

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
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
	// MaxPoolSize bounds open connections; default DefaultMaxPoolSize.
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

// Pool sizes (docs/connections.md).
const (
	// DefaultMaxPoolSize is the pool size when Options set none.
	DefaultMaxPoolSize = 2
	// maxIdleTime closes a pool's connections unused for that long: after a
	// burst on a larger pool, an idle node goes back to the one or two its
	// polls and check-ins use. (A pool keeps all its connections while busy:
	// closing and reopening them under load costs more than they hold.)
	maxIdleTime = time.Minute
)

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
	// net/url reads "h1:5432,h2:5433" as host "h1:5432,h2" with port 5433
	// and rejects a list of bracketed IPv6 hosts, so the host list (the
	// multi-host form of pgJDBC and libpq) is cut out first and checked on
	// its own; url.Parse sees a single placeholder host.
	rest := strings.TrimPrefix(strings.TrimPrefix(raw, "postgres://"), "postgresql://")
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	if err := checkHosts(hosts); err != nil {
		return "", "", fmt.Errorf("%w: %q: %w", ErrBadURL, raw, err)
	}
	const placeholder = "cadre-hosts"
	u, err := url.Parse("postgres://" + userinfo + placeholder + tail)
	if err != nil {
		return "", "", fmt.Errorf("%w: %q", ErrBadURL, raw)
	}
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
	if err := jdbcParams(q); err != nil {
		return "", "", fmt.Errorf("%w: %q: %w", ErrBadURL, raw, err)
	}
	u.RawQuery = q.Encode()
	return Postgres, strings.Replace(u.String(), placeholder, hosts, 1), nil
}

// checkHosts accepts "host", "host:port" and comma-separated lists of them
// (IPv6 addresses in brackets).
func checkHosts(hosts string) error {
	if hosts == "" {
		return errors.New("no host")
	}
	for _, h := range strings.Split(hosts, ",") {
		host := h
		if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
			var port string
			var err error
			if host, port, err = net.SplitHostPort(h); err != nil {
				if !strings.HasSuffix(h, "]") {
					return fmt.Errorf("host %q: %w", h, err)
				}
				host, port = strings.Trim(h, "[]"), ""
			}
			if p, err := strconv.Atoi(port); port != "" && (err != nil || p < 1 || p > 65535) {
				return fmt.Errorf("host %q: bad port", h)
			}
		}
		if host == "" || strings.ContainsAny(host, "/@ ") {
			return fmt.Errorf("bad host %q", h)
		}
	}
	return nil
}

// targetSessionAttrs maps pgJDBC's targetServerType to pgx's
// target_session_attrs. pgJDBC tells a primary by transaction_read_only,
// as pgx's read-write and read-only do. pgx has no "prefer primary": Cadre
// writes, so a standby is of no use to it, and preferPrimary becomes
// read-write.
var targetSessionAttrs = map[string]string{
	"any":             "any",
	"primary":         "read-write",
	"master":          "read-write",
	"preferPrimary":   "read-write",
	"secondary":       "read-only",
	"slave":           "read-only",
	"standby":         "read-only",
	"preferSecondary": "prefer-standby",
	"preferSlave":     "prefer-standby",
	"preferStandby":   "prefer-standby",
}

// jdbcParams turns pgJDBC parameters into pgx's and drops those pgx does
// not understand (PostgreSQL would reject them as unknown settings).
func jdbcParams(q url.Values) error {
	if v := q.Get("currentSchema"); v != "" {
		q.Set("search_path", v)
	}
	if v := q.Get("targetServerType"); v != "" {
		attrs, ok := targetSessionAttrs[v]
		if !ok {
			return fmt.Errorf("targetServerType %q is none of any, primary, master, preferPrimary, secondary, slave, standby, preferSecondary, preferSlave, preferStandby", v)
		}
		if q.Get("target_session_attrs") == "" {
			q.Set("target_session_attrs", attrs)
		}
	}
	// prepareThreshold=0 is how pgJDBC users turn server-side prepared
	// statements off for PgBouncer in transaction mode. pgx's default caches
	// prepared statements per connection, which PgBouncer hands to other
	// clients ("prepared statement stmtcache_… already exists"); exec mode
	// sends every statement unnamed.
	if v := q.Get("prepareThreshold"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return fmt.Errorf("prepareThreshold %q is not a whole number", v)
		} else if n == 0 && q.Get("default_query_exec_mode") == "" {
			q.Set("default_query_exec_mode", "exec")
		}
	}
	for _, k := range []string{"currentSchema", "ssl", "loggerLevel", "targetServerType", "prepareThreshold", "loadBalanceHosts", "hostRecheckSeconds"} {
		q.Del(k)
	}
	return nil
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
		pool = DefaultMaxPoolSize
	}
	sqlDB.SetMaxOpenConns(pool)
	sqlDB.SetMaxIdleConns(pool)
	sqlDB.SetConnMaxIdleTime(maxIdleTime)
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

// SessionDSN is the pgx URL of a node's session connection on PostgreSQL
// at raw (a JDBC or native URL), named like the pool's connections.
func SessionDSN(raw, username, password, applicationName string) (string, error) {
	dialect, dsn, err := ParseURL(raw, username, password)
	if err != nil {
		return "", err
	}
	if dialect != Postgres {
		return "", fmt.Errorf("%w: %q is not PostgreSQL", ErrBadURL, raw)
	}
	if applicationName != "" {
		dsn = withApplicationName(dsn, applicationName)
	}
	return dsn, nil
}

// withApplicationName adds application_name to a PostgreSQL URL made by
// postgresDSN, unless the user's URL already names one.
func withApplicationName(dsn, name string) string {
	return withParam(dsn, "application_name", name)
}

// withParam sets parameter k of a PostgreSQL URL made by postgresDSN to v,
// unless it is set already. Only the query is parsed: net/url misreads a
// host list.
func withParam(dsn, k, v string) string {
	base, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil || q.Get(k) != "" {
		return dsn
	}
	q.Set(k, v)
	return base + "?" + q.Encode()
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
