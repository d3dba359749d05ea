package taskmanager

import (
	"context"
	"errors"
	"time"

	"cadre/domain/task"
)

// retryWindow bounds how long a worker keeps retrying a failed store call
// (a restarted database, cut connections) before it gives up its bucket.
const retryWindow = 15 * time.Second

// retry runs op until it succeeds, fails with a domain error, or the window
// ends; database errors are assumed transient.
func retry(ctx context.Context, op func() error) error {
	deadline := time.Now().Add(retryWindow)
	wait := 50 * time.Millisecond
	for {
		err := op()
		if err == nil || permanent(err) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

func permanent(err error) bool {
	return errors.Is(err, task.ErrFenced) || errors.Is(err, task.ErrNotFound) || errors.Is(err, task.ErrIllegalState) ||
		errors.Is(err, errNotRunnable) || errors.Is(err, context.Canceled)
}
