package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// DefaultClosedTasksOlderThan is how long cleanup keeps closed tasks by default.
const DefaultClosedTasksOlderThan = 24 * time.Hour

// Cleanup removes what is no longer needed; meant to be recurring. Params:
// closedTasksOlderThan (a Go duration such as "24h", or milliseconds as a
// number; default 24h): CLOSED top-level tasks that finished longer ago than
// this are deleted with their workers and buckets. Expired web sessions are
// deleted too. One progress item per thing deleted; a step that fails is an
// error item, and the other steps still run. Never bucketed.
type Cleanup struct {
	tasks    TaskCleaner
	sessions SessionCleaner
	now      func() time.Time
}

// NewCleanup returns the cleanup handler; a nil cleaner's step is skipped,
// now nil means time.Now.
func NewCleanup(tasks TaskCleaner, sessions SessionCleaner, now func() time.Time) taskmanager.Handler {
	if now == nil {
		now = time.Now
	}
	return &Cleanup{tasks: tasks, sessions: sessions, now: now}
}

// Validate implements taskmanager.Handler.
func (h *Cleanup) Validate(params map[string]any, b *task.Bucketing) error {
	if _, err := closedTasksOlderThan(params); err != nil {
		return err
	}
	return rejectBucketing("cleanup", "it is one pass over the whole repository", b)
}

// cleanupStep is one kind of thing cleanup removes.
type cleanupStep struct {
	what string
	run  func(ctx context.Context) (int64, error)
}

// Run implements taskmanager.Handler.
func (h *Cleanup) Run(ctx context.Context, run *taskmanager.Run) error {
	keep, err := closedTasksOlderThan(run.Task.Params)
	if err != nil {
		return err
	}
	now := h.now().UTC()
	var steps []cleanupStep
	if h.tasks != nil {
		steps = append(steps, cleanupStep{"closed tasks", func(ctx context.Context) (int64, error) {
			return h.tasks.DeleteClosedTasksBefore(ctx, now.Add(-keep))
		}})
	}
	if h.sessions != nil {
		steps = append(steps, cleanupStep{"expired sessions", func(ctx context.Context) (int64, error) {
			return h.sessions.SessionsDeleteExpired(ctx, now)
		}})
	}
	// Hook: dead nodes. When node cleanup exists, add its step here, e.g.
	// cleanupStep{"dead nodes", func(ctx) { return h.nodes.DeleteDownBefore(ctx, now.Add(-keepNodes)) }},
	// with its port declared in ports.go and passed through Deps.
	for _, s := range steps {
		if run.Stopping() {
			return nil
		}
		n, err := s.run(ctx)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			run.Progress(0, 1)
			run.Log.Warn("cleanup step failed", "step", s.what, "err", err)
			continue
		}
		run.Progress(n, 0)
		if n > 0 {
			run.Log.Info("cleanup deleted", "step", s.what, "count", n)
		}
	}
	return nil
}

// closedTasksOlderThan reads the closedTasksOlderThan parameter.
func closedTasksOlderThan(params map[string]any) (time.Duration, error) {
	v, ok := params["closedTasksOlderThan"]
	if !ok || v == nil {
		return DefaultClosedTasksOlderThan, nil
	}
	var d time.Duration
	switch v := v.(type) {
	case float64:
		d = time.Duration(v * float64(time.Millisecond))
	case int:
		d = time.Duration(v) * time.Millisecond
	case int64:
		d = time.Duration(v) * time.Millisecond
	case string:
		s := strings.TrimSpace(v)
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			d = time.Duration(ms) * time.Millisecond
		} else if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf(`parameter "closedTasksOlderThan" is %q: not a duration such as "24h" or milliseconds`, v)
		}
	default:
		return 0, fmt.Errorf(`parameter "closedTasksOlderThan" must be a duration such as "24h", not %T`, v)
	}
	if d <= 0 {
		return 0, errors.New(`parameter "closedTasksOlderThan" must be positive`)
	}
	return d, nil
}
