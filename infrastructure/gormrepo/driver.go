package gormrepo

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"cadre/app/taskmanager"
	"cadre/db"
)

// driver is everything in which the repository's databases differ, behind
// one interface as River's drivers are: the row lock of a read-modify-write,
// the database clock, session locks, and the forms of the statements that
// batch or return rows. The rest of the package is written once, against it.
//
// newDriver picks a database's driver, in this one place. A new backend is a
// new driver (driver_<name>.go) with its migrations (db/migrations/<name>/),
// proved by the conformance suites (docs/adding-a-repository-backend.md).
type driver interface {
	// lockForUpdate makes q's read hold its rows until the transaction ends,
	// so a read-modify-write has one winner.
	lockForUpdate(q *gorm.DB) *gorm.DB
	// lockRegistrations serialises node registrations for the rest of tx,
	// so two nodes starting at once judge each other.
	lockRegistrations(tx *gorm.DB) error
	// now reads the database clock inside tx.
	now(tx *gorm.DB) (time.Time, error)
	// checkIn writes a node's check-in (the args NodesCheckIn builds),
	// stamped with the database clock, and returns the row's operational
	// state before it and that time; sql.ErrNoRows when the row is not this
	// instance's.
	checkIn(ctx context.Context, sqlDB *sql.DB, args []any) (previous string, now time.Time, err error)
	// whereNames restricts q to objects of type t whose normalized name is
	// one of norms.
	whereNames(q *gorm.DB, t string, norms []string) *gorm.DB
	// estimateRows returns the planner's estimate of the rows q selects, or
	// false where the database offers none.
	estimateRows(q *gorm.DB) (int64, bool)
	// analyzeObjects refreshes the planner's statistics of the objects
	// table and returns how many rows they now count; false where the
	// database keeps none that its plans depend on.
	analyzeObjects(ctx context.Context, g *gorm.DB) (rows int64, ok bool, err error)
	// claimSkipsLocked reports whether a bucket claim passes over rows that
	// other claimers hold: an empty claim then needs a second look.
	claimSkipsLocked() bool
	// sessionLocks reports whether the database offers session-level locks
	// that it releases the moment the holding connection dies.
	sessionLocks() bool

	// The hot path's statements (hotpath.go), written on database/sql.

	// insertBuckets adds READY buckets with the given contents (JSON),
	// numbered from 1, inside tx.
	insertBuckets(tx *gorm.DB, taskOID string, contents []string) error

	// placeholder is the i-th (1-based) bind placeholder.
	placeholder(i int) string
	// clockMillisSQL is an expression for the database clock in Unix
	// milliseconds (the change log's at_ms default).
	clockMillisSQL() string
	// claimSQL delegates up to limit READY buckets of p.TaskOID, lowest seq
	// first, passing over buckets waiting for a retry (not_before after
	// p.Now) and recording the checkpoint a bucket resumes from as
	// resumed_from; it returns seq, epoch, content, items_processed,
	// attempts, checkpoint of each.
	claimSQL(p taskmanager.BucketsClaimParams, limit int) (string, []any)
	// completeSQL completes every bucket of cs still DELEGATED at its epoch,
	// its items being the final counts, and returns task_oid, seq, epoch of
	// each one it completed.
	completeSQL(cs []taskmanager.BucketCompletion, now time.Time) (string, []any)
	// writeObjectsSQL is one statement that writes rows at the versions they
	// carry, inserts the change log rows of logs whose object it wrote, and
	// returns the oid of each written with the seq of its log row (0: none),
	// or false when the database is better served by one statement per row.
	writeObjectsSQL(rows []objectRow, now time.Time, logs []changeRow) (string, []any, bool)
}

// newDriver is the driver of d's database.
func newDriver(d *db.DB) driver {
	switch d.Dialect {
	case db.Postgres:
		return postgresDriver{}
	case db.SQLite:
		return sqliteDriver{}
	}
	// db.Open yields no other dialect; a new one needs its driver here.
	panic(fmt.Sprintf("gormrepo: no driver for database dialect %q", d.Dialect))
}
