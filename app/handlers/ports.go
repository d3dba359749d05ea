package handlers

import (
	"context"
	"io"
	"time"
)

// Row is one data row of a CSV resource.
type Row struct {
	// Line is the 1-based line of the file the row starts on (the header is line 1).
	Line int
	// Fields maps each header column to the row's trimmed value; a column the
	// file does not have is absent, an empty cell is "".
	Fields map[string]string
	// Err is set when the row is malformed (a wrong number of cells); the
	// handlers count such a row as an error and go on.
	Err error
}

// Resource reads a CSV resource: a header row with a `name` column, then data rows.
type Resource interface {
	// Read returns the data rows in file order; row i is data row index i, the
	// index numeric buckets cover. It fails, naming the file and the line, when
	// the file is missing, unreadable, has no `name` column or is not valid CSV.
	// It refuses a path outside the allowed directories without opening it.
	Read(ctx context.Context, path string) ([]Row, error)
	// ReadRange returns data rows [from, to) — the rows Read returns at those
	// indexes (bounds are clamped) — reading no more of the file than it must.
	ReadRange(ctx context.Context, path string, from, to int) ([]Row, error)
	// Resolve returns the file's real path (`..` and symbolic links
	// resolved) when it lies in a directory resources may be read from, and
	// an error naming the setting otherwise. It does not read the file.
	Resolve(path string) (string, error)
}

// ReportFiles stores report files on this node's local disk.
type ReportFiles interface {
	// Create makes a new file called name (a base name, no directories) and
	// returns it for writing and its full path. It refuses an existing file.
	Create(name string) (w io.WriteCloser, path string, err error)
	// Remove deletes a file made by Create.
	Remove(fileName string) error
}

// TaskCleaner deletes old tasks.
type TaskCleaner interface {
	// DeleteClosedTasksBefore deletes top-level tasks (no parent) in state CLOSED
	// whose LastRunFinish is before t, together with their worker tasks and
	// buckets, and returns how many top-level tasks it deleted.
	DeleteClosedTasksBefore(ctx context.Context, t time.Time) (int64, error)
}

// NodeCleaner deletes the rows of nodes that left the cluster.
type NodeCleaner interface {
	// NodesDeleteDownFor deletes the nodes that are DOWN and last checked in
	// longer than olderThan ago by the database clock, and returns their ids.
	NodesDeleteDownFor(ctx context.Context, olderThan time.Duration) ([]string, error)
}

// SessionCleaner deletes expired web sessions.
type SessionCleaner interface {
	// SessionsDeleteExpired deletes sessions that expired before now and returns how many.
	SessionsDeleteExpired(ctx context.Context, now time.Time) (int64, error)
}
