package taskmanager

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"cadre/domain/task"
)

// DefaultRetryWindow bounds how long a store call that failed with an
// error not known to be transient is tried again (a restarted database, cut
// connections the classification does not know) before the caller gives up.
const DefaultRetryWindow = 15 * time.Second

// Backoff between tries of a failed store call: from retryFirstWait,
// doubling up to retryMaxWait, each wait jittered by ±20% so that the
// nodes of a cluster do not knock on the database in step.
const (
	retryFirstWait = 50 * time.Millisecond
	retryMaxWait   = 2 * time.Second
)

// errRunStopping ends the retries of a run that was stopped meanwhile.
var errRunStopping = errors.New("run stopped while its store call was retried")

// retryPolicy says which store errors are tried again and for how long.
type retryPolicy struct {
	// transient classifies database errors (Config.Transient); nil: none is.
	transient func(error) bool
	// window bounds the tries after an error not known to be transient.
	window time.Duration
	// leaving reports that the node is stopping: from then on a transient
	// error is tried only within the window too, so that a node stopped
	// while its database is away does not wait for the database forever
	// (what it leaves, its peers and the repair pass take over). Nil: never.
	leaving func() bool
}

// do runs op until it succeeds or fails for good. A transient database
// error is tried again with backoff for as long as ctx lasts: an outage of
// any length ends in the transition being done, not in a task left
// halfway. Any other database error is tried again within the window; a
// domain error is returned at once. Without an error it costs one call of
// op and nothing else.
func (p retryPolicy) do(ctx context.Context, op func() error) error {
	err := op()
	if err == nil {
		return nil
	}
	return p.after(ctx, err, op)
}

func (p retryPolicy) after(ctx context.Context, err error, op func() error) error {
	deadline := time.Now().Add(p.window)
	wait := retryFirstWait
	for {
		waitsOut := transientOf(p.transient, err) && (p.leaving == nil || !p.leaving())
		if permanent(err) || ctx.Err() != nil || (!waitsOut && time.Now().After(deadline)) {
			return err
		}
		timer := time.NewTimer(jitter(wait))
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
		wait = min(2*wait, retryMaxWait)
		if err = op(); err == nil {
			return nil
		}
	}
}

// transientOf applies the classification; without one nothing is transient.
func transientOf(transient func(error) bool, err error) bool {
	return transient != nil && transient(err)
}

// jitter spreads d by ±20%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

func permanent(err error) bool {
	return errors.Is(err, task.ErrFenced) || errors.Is(err, task.ErrNotFound) || errors.Is(err, task.ErrIllegalState) ||
		errors.Is(err, errNotRunnable) || errors.Is(err, errRunStopping) || errors.Is(err, errAtLimit) ||
		errors.Is(err, errUnchanged) || errors.Is(err, context.Canceled)
}

// retry runs op under this manager's retry policy.
func (m *Manager) retry(ctx context.Context, op func() error) error {
	return m.completer.policy.do(ctx, op)
}
