package handlers

import (
	"context"
	"errors"
	"strconv"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// LiveSync polls a CSV resource for appended rows; meant to be recurring.
// Params: resource (required). The task's token is the number of data rows
// already seen; each run applies the rows after it as import does and records
// the new count. When the file has fewer rows than the token it was replaced,
// and every row is applied again (which changes nothing for unchanged rows).
// It runs on one node at a time, so it is never bucketed.
type LiveSync struct {
	repo *repository.Service
	csv  Resource
}

// NewLiveSync returns the livesync handler.
func NewLiveSync(repo *repository.Service, csv Resource) taskmanager.Handler {
	return &LiveSync{repo: repo, csv: csv}
}

// Validate implements taskmanager.Handler.
func (h *LiveSync) Validate(params map[string]any, b *task.Bucketing) error {
	if err := checkResource(h.csv, params); err != nil {
		return err
	}
	return rejectBucketing("livesync", "it follows one resource from one node at a time", b)
}

// Run implements taskmanager.Handler.
func (h *LiveSync) Run(ctx context.Context, run *taskmanager.Run) error {
	resource, err := resourceParam(run.Task.Params)
	if err != nil {
		return err
	}
	if run.Bucket != nil {
		return errors.New("livesync cannot run a bucket: it follows one resource from one node at a time")
	}
	seen := 0
	if tok := run.Task.Token; tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			run.Log.Warn("livesync token is not a row count; reading the resource from the start", "resource", resource, "token", tok)
		} else {
			seen = n
		}
	}
	rows, err := h.csv.Read(ctx, resource)
	if err != nil {
		return err
	}
	if len(rows) < seen {
		run.Log.Info("resource has fewer rows than already seen; it was replaced, reading it from the start",
			"resource", resource, "rows", len(rows), "seen", seen)
		seen = 0
	}
	var counts syncCounts
	err = syncRows(ctx, repoFor(h.repo, run), run, resource, rows[seen:], &counts, nil, nil)
	done := counts.created + counts.updated + counts.unchanged + counts.failed
	run.SetToken(strconv.Itoa(seen + int(done)))
	if errors.Is(err, errStopped) {
		return err
	}
	if err != nil {
		return err
	}
	if done > 0 {
		run.Log.Info("livesync applied new rows", "resource", resource, "rows", done, "created", counts.created,
			"updated", counts.updated, "unchanged", counts.unchanged, "failed", counts.failed, "token", seen+int(done))
	}
	return nil
}
