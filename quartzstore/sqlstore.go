package quartzstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the SQL database an SQLStore talks to.
type Dialect string

// Supported dialects.
const (
	// SQLite through github.com/mattn/go-sqlite3 (one process per database file).
	SQLite Dialect = "sqlite"
	// Postgres through github.com/jackc/pgx/v5/stdlib (a cluster may share it).
	Postgres Dialect = "postgresql"
)

// ErrUnknownDialect is returned by NewSQLStore for a dialect it does not support.
var ErrUnknownDialect = errors.New("quartzstore: unknown SQL dialect")

// SQLOptions configure NewSQLStore.
type SQLOptions struct {
	// Dialect of the database (required).
	Dialect Dialect
	// ListenDSN is the PostgreSQL connection string (postgres://…) that
	// TriggersListen dials for its dedicated LISTEN connection; "" makes
	// TriggersListen return ErrListenUnsupported, and schedulers rely on polling.
	ListenDSN string
	// Listen, when set, wins over ListenDSN: it subscribes to a PostgreSQL
	// notification channel on a connection the caller owns (Cadre shares a
	// node's session connection between LISTEN and its liveness lock), calls
	// notify with every payload and with "" after every (re)connect, and
	// returns when ctx ends.
	Listen func(ctx context.Context, channel string, notify func(payload string)) error
	// OnStatement is called once for every statement the store sends, for
	// metrics; nil counts nothing.
	OnStatement func()
}

// NewSQLStore returns a store on an open pool. The caller owns the pool
// (and closes it); call Migrate before first use.
//
// SQLite must be opened so that every transaction starts with BEGIN
// IMMEDIATE and waits for a busy database instead of failing, e.g. with
// go-sqlite3's DSN "file:jobs.db?_txlock=immediate&_busy_timeout=10000&_journal_mode=WAL":
// a claim reads and then writes, and a deferred transaction would fail with
// SQLITE_BUSY on the lock upgrade when two claimers meet.
func NewSQLStore(sqlDB *sql.DB, o SQLOptions) (*SQLStore, error) {
	var dialector gorm.Dialector
	switch o.Dialect {
	case SQLite:
		dialector = &sqlite.Dialector{Conn: sqlDB}
	case Postgres:
		dialector = postgres.New(postgres.Config{Conn: sqlDB})
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownDialect, o.Dialect)
	}
	gdb, err := gorm.Open(dialector, &gorm.Config{Logger: logger.Discard, TranslateError: true,
		NowFunc: func() time.Time { return time.Now().UTC() }})
	if err != nil {
		return nil, fmt.Errorf("open %s job store: %w", o.Dialect, err)
	}
	count := o.OnStatement
	if count == nil {
		count = func() {}
	}
	if err := countStatements(gdb, count); err != nil {
		return nil, err
	}
	return &SQLStore{db: gdb, sqlDB: sqlDB, dialect: o.Dialect, listenDSN: o.ListenDSN, listen: o.Listen, count: count}, nil
}

// countStatements calls count after every statement gorm sends; the explicit
// SQL of trigger acquisition counts its own.
func countStatements(gdb *gorm.DB, count func()) error {
	inc := func(*gorm.DB) { count() }
	cb := gdb.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("quartzstore:count", inc),
		cb.Query().After("gorm:query").Register("quartzstore:count", inc),
		cb.Update().After("gorm:update").Register("quartzstore:count", inc),
		cb.Delete().After("gorm:delete").Register("quartzstore:count", inc),
		cb.Row().After("gorm:row").Register("quartzstore:count", inc),
		cb.Raw().After("gorm:raw").Register("quartzstore:count", inc),
	} {
		if err != nil {
			return fmt.Errorf("register statement counter: %w", err)
		}
	}
	return nil
}

// rowLock is appended to the claiming subqueries. PostgreSQL locks the rows it
// claims and skips rows another claimer holds; SQLite needs nothing because its
// BEGIN IMMEDIATE transaction already excludes every other writer.
func (s *SQLStore) rowLock() string {
	if s.dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}
