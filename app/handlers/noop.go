// Package handlers holds the task handlers: each does real work on the repository.
package handlers

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// Noop processes items that do nothing but wait delayMs each: for tests and
// benchmarks. Params: itemsPerBucket (default 10), delayMs (default 0),
// without bucketing items (default 1), failFirstAttempts (each bucket, or the
// run, fails its first N attempts, default 0: for trying retries) and
// checkpointEvery (a checkpoint every N items, default 10, 0 for none).
type Noop struct{}

// DefaultCheckpointEvery is how many items noop does between checkpoints.
const DefaultCheckpointEvery = 10

// NewNoop returns the noop handler.
func NewNoop() taskmanager.Handler { return Noop{} }

// Validate implements taskmanager.Handler.
func (Noop) Validate(params map[string]any, _ *task.Bucketing) error {
	for _, k := range []string{"itemsPerBucket", "delayMs", "items", "failFirstAttempts", "checkpointEvery"} {
		if v, ok := params[k]; ok {
			n, ok := v.(float64)
			if !ok || n < 0 || n != float64(int64(n)) {
				return fmt.Errorf("noop parameter %s must be a non-negative integer", k)
			}
		}
	}
	return nil
}

// Run implements taskmanager.Handler. It resumes after the last item its
// checkpoint names (the position is the number of items done).
func (Noop) Run(ctx context.Context, run *taskmanager.Run) error {
	if n := IntParam(run.Task.Params, "failFirstAttempts", 0); attempts(run) < n {
		return fmt.Errorf("noop fails attempt %d of the first %d (failFirstAttempts)", attempts(run)+1, n)
	}
	items := IntParam(run.Task.Params, "items", 1)
	if run.Bucket != nil {
		items = IntParam(run.Task.Params, "itemsPerBucket", 10)
	}
	every := IntParam(run.Task.Params, "checkpointEvery", DefaultCheckpointEvery)
	delay := time.Duration(IntParam(run.Task.Params, "delayMs", 0)) * time.Millisecond
	start, err := resumeIndex(run, "")
	if err != nil {
		return err
	}
	for i := start; i < items; i++ {
		if run.Stopping() {
			return taskmanager.ErrStopped
		}
		if delay > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(delay):
			}
		}
		run.Progress(1, 0)
		if done := i + 1; every > 0 && done%every == 0 && done < items {
			if err := checkpoint(ctx, run, strconv.FormatInt(done, 10)); err != nil {
				return err
			}
		}
	}
	return nil
}

// IntParam reads a numeric parameter (JSON numbers arrive as float64).
func IntParam(params map[string]any, key string, def int64) int64 {
	switch v := params[key].(type) {
	case float64:
		return int64(v)
	case int:
		return int64(v)
	case int64:
		return v
	}
	return def
}
