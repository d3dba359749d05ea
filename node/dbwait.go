package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"cadre/db"
	"cadre/infrastructure/config"
)

// opener opens the database of key (repository/jdbcUrl or taskManager/jdbcUrl).
type opener func(ctx context.Context, key string, o db.Options) (*db.DB, error)

// openOnce tries once. A configuration mistake (a bad URL or SQLite path)
// comes back as a *config.KeyError naming key.
func openOnce(ctx context.Context, key string, o db.Options) (*db.DB, error) {
	d, err := db.Open(ctx, o)
	if err != nil {
		return nil, dbError(key, err)
	}
	return d, nil
}

// Backoff between attempts to reach a database at start-up: doubling from
// the first delay up to the cap, so that a node notices within half a second
// that its database accepts connections (and is ready within about two on a
// fresh database, which it must migrate first). Attempts are logged at
// warning level at most once a second, the others at debug level; each line
// carries the attempt's number.
const (
	firstRetryDelay = 100 * time.Millisecond
	maxRetryDelay   = 500 * time.Millisecond
	retryLogEvery   = time.Second
)

// waitingOpener retries a database that does not answer until it does, for
// at most bound (repository/initializationFailTimeout: 0 = one attempt,
// config.WaitForever = no bound), logging the attempts. waiting is called
// while it retries and reached once the database answers. A configuration
// mistake is not retried, and cancelling ctx (SIGTERM) ends the wait.
func waitingOpener(bound time.Duration, log *slog.Logger, waiting, reached func()) opener {
	return func(ctx context.Context, key string, o db.Options) (*db.DB, error) {
		start := time.Now()
		deadline := start.Add(bound)
		delay := firstRetryDelay
		var logged time.Time // when an attempt was last logged as a warning
		for attempt := 1; ; attempt++ {
			actx, cancel := ctx, context.CancelFunc(func() {})
			if bound > 0 { // one attempt (0) or no bound: db.Open's own ping timeout
				actx, cancel = context.WithDeadline(ctx, deadline)
			}
			d, err := db.Open(actx, o)
			cancel()
			if err == nil {
				if attempt > 1 {
					log.Info("database reachable", "key", key, "database", dbLocation(o.URL), "attempts", attempt, "waited", time.Since(start).Round(time.Millisecond))
				}
				reached()
				return d, nil
			}
			if !errors.Is(err, db.ErrUnreachable) {
				return nil, dbError(key, err)
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("stopped while waiting for %s: %w", key, ctx.Err())
			}
			remaining := time.Until(deadline)
			if bound != config.WaitForever && remaining <= 0 {
				return nil, fmt.Errorf("%s %s unreachable; gave up after %d attempts in %s (repository/initializationFailTimeout=%s): %w",
					key, dbLocation(o.URL), attempt, time.Since(start).Round(time.Millisecond), bound, err)
			}
			next := delay
			if bound != config.WaitForever {
				next = min(delay, remaining)
			}
			waiting()
			level := slog.LevelDebug
			if time.Since(logged) >= retryLogEvery {
				level, logged = slog.LevelWarn, time.Now()
			}
			log.Log(ctx, level, "database unreachable; waiting for it", "key", key, "database", dbLocation(o.URL), "attempt", attempt,
				"waited", time.Since(start).Round(time.Millisecond), "retryIn", next.Round(time.Millisecond), "err", err)
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("stopped while waiting for %s: %w", key, ctx.Err())
			case <-time.After(next):
			}
			delay = min(2*delay, maxRetryDelay)
		}
	}
}

// remaining is what is left of bound (initializationFailTimeout) since start,
// for a build started over: 0 (one attempt) and no bound stay as they are.
func remaining(bound time.Duration, start time.Time) time.Duration {
	if bound <= 0 {
		return bound
	}
	return max(bound-time.Since(start), time.Millisecond).Round(time.Millisecond)
}

// Open builds the node on this front as New does, except that it waits for
// each database up to repository/initializationFailTimeout, while /readyz
// says so. A database lost again in the middle of the start (while
// migrating or bootstrapping) starts the build over, within the same bound.
// Start then serves the node here.
func (f *Front) Open(ctx context.Context) (*Node, error) {
	bound, start := f.cfg.Repository.InitializationFailTimeout, time.Now()
	for left := bound; ; left = remaining(bound, start) {
		open := waitingOpener(left, f.log, func() { f.setReason(reasonWaiting) }, func() { f.setReason(reasonStarting) })
		n, err := build(ctx, f.cfg, f.log, f.instanceID, open)
		if err == nil {
			n.front = f
			return n, nil
		}
		if !db.IsTransient(err) || ctx.Err() != nil || bound == 0 || (bound > 0 && time.Since(start) >= bound) {
			return nil, err
		}
		f.log.Warn("database lost while starting; starting over", "err", err)
		f.setReason(reasonWaiting)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped while waiting for the database: %w", ctx.Err())
		case <-time.After(firstRetryDelay):
		}
	}
}
