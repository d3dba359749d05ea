// Package pglock is PostgreSQL crash detection (DESIGN §3): each node holds a
// session-level advisory lock on a dedicated connection for as long as it
// lives, and peers probe those locks. When a process dies the database ends
// its session and frees the lock at once, so a peer that can take the lock
// knows the holder's connection is gone without waiting for a timeout.
package pglock

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timings of the holder.
const (
	// retakeDelay is the pause between attempts to (re)take the lock: after
	// the connection dropped, or while a peer's probe holds it for a moment.
	retakeDelay = 50 * time.Millisecond
	// maxBusyDelay bounds the pause between attempts while another session
	// holds the lock.
	maxBusyDelay = time.Second
	// pingEvery is how often an idle lock connection is pinged, to notice a
	// connection the network lost without closing it.
	pingEvery = 5 * time.Second
	// connectTimeout bounds one connection attempt.
	connectTimeout = 5 * time.Second
)

// Holder keeps this node's liveness lock on its own connection, outside the
// pool, and re-takes it at once when that connection drops (database
// restart, terminated backend) while the node lives.
type Holder struct {
	dsn string
	key int64
	log *slog.Logger

	held  atomic.Bool
	takes atomic.Int64
	stop  context.CancelFunc
	done  chan struct{}
}

// NewHolder prepares a holder of lock key on the database at dsn (a pgx DSN).
func NewHolder(dsn string, key int64, log *slog.Logger) *Holder {
	return &Holder{dsn: dsn, key: key, log: log.With("livenessLock", key)}
}

// Held reports whether the lock is held right now.
func (h *Holder) Held() bool { return h.held.Load() }

// Takes counts how often the lock was taken (1 after start, more after drops).
func (h *Holder) Takes() int64 { return h.takes.Load() }

// Start takes the lock in the background and keeps it until Stop. It does
// not wait for the first take: until then peers see a free lock, but the
// node answers its status endpoint, so they leave it to its lease.
func (h *Holder) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.stop, h.done = cancel, make(chan struct{})
	go h.run(ctx)
	return nil
}

// Stop releases the lock by closing its connection.
func (h *Holder) Stop(ctx context.Context) error {
	if h.stop == nil {
		return nil
	}
	h.stop()
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("release liveness lock: %w", ctx.Err())
	}
}

func (h *Holder) run(ctx context.Context) {
	defer close(h.done)
	failing := false
	for ctx.Err() == nil {
		before := h.takes.Load()
		err := h.holdOnce(ctx)
		h.held.Store(false)
		switch {
		case ctx.Err() != nil:
			return
		case h.takes.Load() != before: // it was held: take it again at once
			h.log.Warn("liveness lock connection lost; re-taking it at once", "err", err)
			failing = false
			continue
		case !failing:
			h.log.Warn("liveness lock not taken; retrying", "err", err)
			failing = true
		}
		sleep(ctx, retakeDelay)
	}
}

// holdOnce connects, takes the lock and waits until the connection fails or
// ctx ends.
func (h *Holder) holdOnce(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	conn, err := pgx.Connect(cctx, h.dsn)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx) // ends the session: the database frees the lock
	}()
	busyLogged, wait := false, retakeDelay
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", h.key).Scan(&ok); err != nil {
			return fmt.Errorf("take lock: %w", err)
		}
		if ok {
			break
		}
		if !busyLogged {
			// A peer probing it holds it for an instant; a previous instance
			// of this node whose session the database has not ended yet, longer.
			h.log.Info("liveness lock is held by another session; retrying")
			busyLogged = true
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(2*wait, maxBusyDelay) // a twin may hold it for long: ask less often
	}
	h.held.Store(true)
	if h.takes.Add(1) > 1 {
		h.log.Info("liveness lock re-taken")
	} else {
		h.log.Info("liveness lock taken")
	}
	for {
		// Any message, or the connection closing (a terminated backend sends
		// an error first), ends the wait at once.
		wctx, cancel := context.WithTimeout(ctx, pingEvery)
		err := conn.PgConn().WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil: // a notification nobody asked for; keep waiting
		case errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, connectTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

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
