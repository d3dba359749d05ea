package handlers

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"cadre/app/taskmanager"
)

// checkpoint records the run's position when the run can take one (a Run
// built without a task manager, as in tests, cannot).
func checkpoint(ctx context.Context, run *taskmanager.Run, position string) error {
	if run.Checkpoint == nil {
		return nil
	}
	return run.Checkpoint(ctx, position)
}

// resumeIndex reads a position that is an item or row index (with an
// optional "prefix:"), 0 when the run starts from the beginning.
func resumeIndex(run *taskmanager.Run, prefix string) (int64, error) {
	if run.Resume == nil || run.Resume.Position == "" {
		return 0, nil
	}
	pos, ok := strings.CutPrefix(run.Resume.Position, prefix)
	if !ok {
		return 0, fmt.Errorf("checkpoint %q is not a %sN position", run.Resume.Position, prefix)
	}
	n, err := strconv.ParseInt(pos, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("checkpoint %q is not a %sN position", run.Resume.Position, prefix)
	}
	return n, nil
}

// attempts is how many attempts of the run's unit of work (its bucket, or
// the task's run) finished before this one: the same on every node.
func attempts(run *taskmanager.Run) int64 {
	if run.Bucket != nil {
		return run.Bucket.Attempts
	}
	return run.Task.Attempts
}
