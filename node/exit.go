package node

import (
	"errors"

	"cadre/db"
	"cadre/infrastructure/config"
)

// Exit statuses of a node that cannot start.
const (
	// ExitFailure is any other start-up failure.
	ExitFailure = 1
	// ExitConfig is a configuration mistake; the message names the key.
	ExitConfig = 2
	// ExitDatabaseUnreachable: a database server did not answer or refused
	// the connection for all of repository/initializationFailTimeout; the
	// configuration may be right and a retry may work.
	ExitDatabaseUnreachable = 3
)

// ExitStatus is the exit status for a start-up error of New or Start.
func ExitStatus(err error) int {
	var ke *config.KeyError
	switch {
	case errors.As(err, &ke):
		return ExitConfig
	case errors.Is(err, db.ErrUnreachable):
		return ExitDatabaseUnreachable
	}
	return ExitFailure
}

// dbError turns a failure to open the database of key (repository/jdbcUrl
// or taskManager/jdbcUrl) into a *config.KeyError naming the key when it is
// a configuration mistake (a bad URL or SQLite path).
func dbError(key string, err error) error {
	if errors.Is(err, db.ErrBadURL) || errors.Is(err, db.ErrSQLiteFile) {
		return &config.KeyError{Key: key, Msg: err.Error()}
	}
	return err
}
