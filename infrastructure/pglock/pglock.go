// Package pglock is the probing half of PostgreSQL crash detection (DESIGN
// §3): each node holds a session-level advisory lock on its session
// connection (pgsession) for as long as it lives, and peers probe those
// locks on their pools. When a process dies the database ends its session
// and frees the lock at once, so a peer that can take the lock knows the
// holder's connection is gone without waiting for a timeout.
package pglock

import (
	"context"
	"database/sql"
	"fmt"
)

// Probe tells free liveness locks apart from held ones, on the pool.
type Probe struct{ db *sql.DB }

// NewProbe probes through the pool db (PostgreSQL).
func NewProbe(db *sql.DB) *Probe { return &Probe{db: db} }

// FreeLocks returns the keys nobody holds. Each is taken for the length of
// one statement (a transaction-level lock), so a probe never keeps a node
// from its lock for longer than that.
func (p *Probe) FreeLocks(ctx context.Context, keys []int64) ([]int64, error) {
	rows, err := p.db.QueryContext(ctx, "SELECT k FROM unnest($1::bigint[]) AS k WHERE pg_try_advisory_xact_lock(k)", keys)
	if err != nil {
		return nil, fmt.Errorf("probe liveness locks: %w", err)
	}
	defer rows.Close()
	var free []int64
	for rows.Next() {
		var k int64
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		free = append(free, k)
	}
	return free, rows.Err()
}
