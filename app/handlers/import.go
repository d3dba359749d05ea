package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// Import creates and updates users from a CSV resource. Params: resource
// (required, the file's path). Columns: name (required), fullName,
// emailAddress, enabled (true/false, default true); a column the file lacks
// is left alone on existing users. Bucketed by numeric ranges of data-row
// indexes [from, to) (0 is the first row after the header); unbucketed, the
// whole file. Re-running a row changes nothing. A bad row is an error item
// with a log line naming its line; it never stops the run.
type Import struct {
	repo *repository.Service
	csv  Resource
}

// NewImport returns the import handler.
func NewImport(repo *repository.Service, csv Resource) taskmanager.Handler {
	return &Import{repo: repo, csv: csv}
}

// Validate implements taskmanager.Handler.
func (h *Import) Validate(params map[string]any, b *task.Bucketing) error {
	if err := checkResource(h.csv, params); err != nil {
		return err
	}
	if b != nil && b.Numeric == nil {
		return errors.New("import is bucketed by numeric ranges of data rows (bucketing.numeric); oidPrefix and explicit bucketing are not supported")
	}
	return nil
}

// Run implements taskmanager.Handler.
func (h *Import) Run(ctx context.Context, run *taskmanager.Run) error {
	resource, err := resourceParam(run.Task.Params)
	if err != nil {
		return err
	}
	// A checkpoint is the index of the first data row not yet done.
	first, err := resumeIndex(run, "")
	if err != nil {
		return err
	}
	var rows []Row
	if run.Bucket != nil {
		c := run.Bucket.Content
		if c.From == nil || c.To == nil {
			return fmt.Errorf("import bucket %d is not a numeric range of rows", run.Bucket.Seq)
		}
		// Only the bucket's own rows: cost grows with the bucket, not the file.
		first = max(first, *c.From)
		rows, err = h.csv.ReadRange(ctx, resource, clamp(first), clamp(*c.To))
	} else {
		rows, err = h.csv.Read(ctx, resource)
		rows = rows[min(clamp(first), len(rows)):]
	}
	if err != nil {
		return err
	}
	var counts syncCounts
	err = syncRows(ctx, repoFor(h.repo, run), run, resource, rows, &counts, nil,
		func(done int) string { return strconv.FormatInt(first+int64(done), 10) })
	if errors.Is(err, errStopped) {
		return err
	}
	if err != nil {
		return err
	}
	run.Log.Info("import done", "resource", resource, "rows", len(rows), "created", counts.created,
		"updated", counts.updated, "unchanged", counts.unchanged, "failed", counts.failed)
	return nil
}

// clamp bounds a row index to what an int holds (ReadRange clamps to the file).
func clamp(i int64) int {
	return int(min(max(i, 0), int64(math.MaxInt32)))
}
