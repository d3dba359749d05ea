package handlers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// DefaultClosedTasksOlderThan is how long cleanup keeps closed tasks by default.
const DefaultClosedTasksOlderThan = 24 * time.Hour

// DefaultDeadNodesOlderThan is how long cleanup keeps the row of a node that
// is DOWN, by default (midPoint's cleanup policy for nodes keeps them a day).
const DefaultDeadNodesOlderThan = 24 * time.Hour

// Cleanup removes what is no longer needed; meant to be recurring. Params
// (each a Go duration such as "24h", an ISO-8601 duration as midPoint writes
// them such as "P1D" or "PT12H", or milliseconds as a number):
// closedTasksOlderThan (default 24h): CLOSED top-level tasks that finished
// longer ago than this are deleted with their workers and buckets;
// deadNodesOlderThan (default 24h): nodes DOWN whose last check-in (database
// clock) is older than this are deleted, and every node drops their metric
// series at its next check-in. Expired web sessions are deleted too. One
// progress item per thing deleted; a step that fails is an error item, and
// the other steps still run. Never bucketed.
type Cleanup struct {
	tasks    TaskCleaner
	sessions SessionCleaner
	nodes    NodeCleaner
	now      func() time.Time
}

// NewCleanup returns the cleanup handler; a nil cleaner's step is skipped,
// now nil means time.Now.
func NewCleanup(tasks TaskCleaner, sessions SessionCleaner, nodes NodeCleaner, now func() time.Time) taskmanager.Handler {
	if now == nil {
		now = time.Now
	}
	return &Cleanup{tasks: tasks, sessions: sessions, nodes: nodes, now: now}
}

// Validate implements taskmanager.Handler.
func (h *Cleanup) Validate(params map[string]any, b *task.Bucketing) error {
	if _, err := closedTasksOlderThan(params); err != nil {
		return err
	}
	if _, err := durationParam(params, "deadNodesOlderThan", DefaultDeadNodesOlderThan); err != nil {
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
	keepNodes, err := durationParam(run.Task.Params, "deadNodesOlderThan", DefaultDeadNodesOlderThan)
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
	if h.nodes != nil {
		steps = append(steps, cleanupStep{"dead nodes", func(ctx context.Context) (int64, error) {
			ids, err := h.nodes.NodesDeleteDownFor(ctx, keepNodes)
			if len(ids) > 0 {
				run.Log.Info("removed nodes DOWN longer than deadNodesOlderThan", "nodes", strings.Join(ids, ","), "deadNodesOlderThan", keepNodes)
			}
			return int64(len(ids)), err
		}})
	}
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
	return durationParam(params, "closedTasksOlderThan", DefaultClosedTasksOlderThan)
}

// durationParam reads a positive duration parameter: a Go duration ("24h"),
// an ISO-8601 duration ("P1D", "PT12H30M") or milliseconds; def when absent.
func durationParam(params map[string]any, name string, def time.Duration) (time.Duration, error) {
	v, ok := params[name]
	if !ok || v == nil {
		return def, nil
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
		var err error
		if ms, perr := strconv.ParseInt(s, 10, 64); perr == nil {
			d = time.Duration(ms) * time.Millisecond
		} else if d, err = parseISODuration(s); err != nil {
			if d, err = time.ParseDuration(s); err != nil {
				return 0, fmt.Errorf(`parameter %q is %q: not a duration such as "24h", "P1D" or milliseconds`, name, v)
			}
		}
	default:
		return 0, fmt.Errorf(`parameter %q must be a duration such as "24h" or "P1D", not %T`, name, v)
	}
	if d <= 0 {
		return 0, fmt.Errorf(`parameter %q must be positive`, name)
	}
	return d, nil
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// parseISODuration reads the day-and-time subset of ISO 8601 durations
// ("P1D", "PT12H", "P2DT30M"), as midPoint's cleanup policies are written.
func parseISODuration(s string) (time.Duration, error) {
	m := isoDurationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, errors.New("not an ISO-8601 duration")
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] != "" {
			n, err := strconv.ParseInt(m[i+1], 10, 64)
			if err != nil {
				return 0, err
			}
			d += time.Duration(n) * unit
		}
	}
	return d, nil
}
