// Package handlers holds the task handlers: each does real work on the repository.
package handlers

import (
	"context"
	"fmt"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// Noop processes items that do nothing but wait delayMs each: for tests and
// benchmarks. Params: itemsPerBucket (default 10), delayMs (default 0), and
// without bucketing, items (default 1).
type Noop struct{}

// NewNoop returns the noop handler.
func NewNoop() taskmanager.Handler { return Noop{} }

// Validate implements taskmanager.Handler.
func (Noop) Validate(params map[string]any, _ *task.Bucketing) error {
	for _, k := range []string{"itemsPerBucket", "delayMs", "items"} {
		if v, ok := params[k]; ok {
			n, ok := v.(float64)
			if !ok || n < 0 || n != float64(int64(n)) {
				return fmt.Errorf("noop parameter %s must be a non-negative integer", k)
			}
		}
	}
	return nil
}

// Run implements taskmanager.Handler.
func (Noop) Run(ctx context.Context, run *taskmanager.Run) error {
	items := IntParam(run.Task.Params, "items", 1)
	if run.Bucket != nil {
		items = IntParam(run.Task.Params, "itemsPerBucket", 10)
	}
	delay := time.Duration(IntParam(run.Task.Params, "delayMs", 0)) * time.Millisecond
	for range items {
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
