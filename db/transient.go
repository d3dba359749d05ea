package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// IsTransient reports whether err is a database error that goes away by
// itself, so that the same statement or transaction may simply be tried
// again: the server cannot be reached, dropped the connection, has no
// connection slot left, is shutting down or starting, lost a serialization
// or deadlock race, is a standby after a failover, or (SQLite) is busy.
// Errors of the statement itself (a constraint, a syntax error, a missing
// row) and the end of the caller's context are not transient.
//
// It is the one classification of the whole program; the layers that may
// not see driver errors get it as a function (taskmanager.Config.Transient).
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var connectErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &connectErr):
		// The server did not let us in: down, full, not accepting
		// connections yet. Only a wrong login or database is for good.
		if errors.As(err, &pgErr) {
			return !strings.HasPrefix(pgErr.Code, "28") && pgErr.Code != "3D000"
		}
		return true
	case errors.As(err, &pgErr):
		return transientSQLState(pgErr.Code)
	}
	var liteErr sqlite3.Error
	if errors.As(err, &liteErr) {
		return liteErr.Code == sqlite3.ErrBusy || liteErr.Code == sqlite3.ErrLocked
	}
	var netErr net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &netErr):
		// A dial or read that timed out, or any other network failure.
		return true
	}
	// pgx reports a connection it closed under a statement as text only.
	msg := err.Error()
	for _, s := range transientMessages {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// transientSQLState reports whether a PostgreSQL SQLSTATE names a
// transient condition.
func transientSQLState(code string) bool {
	if strings.HasPrefix(code, "08") { // connection exception
		return true
	}
	switch code {
	case "53300", // too_many_connections
		"57P01", // admin_shutdown (pg_terminate_backend, a fast shutdown)
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now (starting up, recovering)
		"40001", // serialization_failure
		"40P01", // deadlock_detected
		"25006": // read_only_sql_transaction: a standby after a failover
		return true
	}
	return false
}

// transientMessages are texts of driver errors that carry no type.
var transientMessages = []string{
	"conn closed",
	"failed to connect",
	"connection reset by peer",
	"broken pipe",
	"unexpected EOF",
	"the database system is shutting down",
	"the database system is starting up",
	"sorry, too many clients already",
}
