package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/task"
)

// Reconcile makes the repository's users match a CSV resource. Params:
// resource (required). First every row is applied as import does (create
// missing users, update changed ones); then every enabled user whose name is
// not in the file is disabled. Every user but administrator is taken to be
// managed by the resource. When a row cannot be read (malformed, or without a
// name) nobody is disabled: the user that row stands for is unknown. Progress
// counts one item per row and one per user disabled. It runs over the whole
// file and all users, so it is never bucketed.
type Reconcile struct {
	repo *repository.Service
	csv  Resource
}

// NewReconcile returns the reconcile handler.
func NewReconcile(repo *repository.Service, csv Resource) taskmanager.Handler {
	return &Reconcile{repo: repo, csv: csv}
}

// Validate implements taskmanager.Handler.
func (h *Reconcile) Validate(params map[string]any, b *task.Bucketing) error {
	if err := checkResource(h.csv, params); err != nil {
		return err
	}
	return rejectBucketing("reconcile", "it compares the whole resource with all users", b)
}

// Run implements taskmanager.Handler.
func (h *Reconcile) Run(ctx context.Context, run *taskmanager.Run) error {
	resource, err := resourceParam(run.Task.Params)
	if err != nil {
		return err
	}
	if run.Bucket != nil {
		return errors.New("reconcile cannot run a bucket: it compares the whole resource with all users")
	}
	rows, err := h.csv.Read(ctx, resource)
	if err != nil {
		return err
	}
	firstRow, after, err := reconcileResume(run, len(rows))
	if err != nil {
		return err
	}
	repo := repoFor(h.repo, run)
	var counts syncCounts
	inFile := make(map[string]bool, len(rows))
	// Rows a resumed run did before its checkpoint are only read again,
	// for the names the disable pass must spare.
	for _, r := range rows[:firstRow] {
		noteRow(r, &counts, inFile)
	}
	err = syncRows(ctx, repo, run, resource, rows[firstRow:], &counts, inFile,
		func(done int) string { return rowPosition + strconv.Itoa(firstRow+done) })
	if err == nil && counts.unreadable > 0 {
		run.Log.Warn("disable pass skipped: some rows name no user, so users missing from the file cannot be told apart",
			"resource", resource, "unreadableRows", counts.unreadable)
	}
	if err == nil && counts.unreadable == 0 {
		if firstRow < len(rows) {
			// The rows are done: a crash from here on redoes only the pass.
			err = checkpoint(ctx, run, userPosition)
		}
		if err == nil {
			err = h.disableMissing(ctx, repo, run, resource, inFile, after, &counts)
		}
	}
	if errors.Is(err, errStopped) {
		return err
	}
	if err != nil {
		return err
	}
	run.Log.Info("reconcile done", "resource", resource, "rows", len(rows), "created", counts.created,
		"updated", counts.updated, "unchanged", counts.unchanged, "disabled", counts.disabled, "failed", counts.failed)
	return nil
}

// Reconcile's checkpoints: "row:N" while it applies rows (N rows done),
// "user:OID" in the disable pass (users up to OID done; "user:" at its start).
const (
	rowPosition  = "row:"
	userPosition = "user:"
)

// reconcileResume reads where a resumed run starts: the first row to apply
// and the OID after which the disable pass goes on.
func reconcileResume(run *taskmanager.Run, rows int) (firstRow int, after string, err error) {
	if run.Resume == nil || run.Resume.Position == "" {
		return 0, "", nil
	}
	if oid, ok := strings.CutPrefix(run.Resume.Position, userPosition); ok {
		return rows, oid, nil
	}
	n, err := resumeIndex(run, rowPosition)
	if err != nil {
		return 0, "", err
	}
	return int(min(n, int64(rows))), "", nil
}

// disableMissing is the disable pass: every enabled user after the OID after
// whose name is not in the file is disabled, with a checkpoint per full page.
func (h *Reconcile) disableMissing(ctx context.Context, repo *repository.Service, run *taskmanager.Run, resource string,
	inFile map[string]bool, after string, counts *syncCounts) error {
	return eachUserPage(ctx, repo, run, "", "", after, func(page []*object.User) error {
		for _, u := range page {
			if run.Stopping() {
				return errStopped
			}
			if !u.Enabled || inFile[object.NormalizeName(u.Name)] || isAdministrator(u.Name) {
				continue
			}
			if err := h.disable(ctx, u.OID); err != nil {
				if ctxErr := ctx.Err(); ctxErr != nil {
					return ctxErr
				}
				if run.DatabaseAway(err) { // not the user's fault: the bucket runs again
					return fmt.Errorf("disable user %s: %w", u.OID, err)
				}
				counts.failed++
				run.Progress(1, 1)
				run.Log.Warn("disable user not in resource", "resource", resource, "user", u.Name, "oid", u.OID, "err", err)
				continue
			}
			counts.disabled++
			run.Progress(1, 0)
		}
		if len(page) < pageSize {
			return nil
		}
		return checkpoint(ctx, run, userPosition+page[len(page)-1].OID)
	})
}

// disable sets enabled=false unless the user is already disabled.
func (h *Reconcile) disable(ctx context.Context, oid string) error {
	_, err := h.repo.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeUser, OID: oid, Apply: func(o object.Object) error {
		u, ok := o.(*object.User)
		if !ok {
			return fmt.Errorf("object %s is a %T, not a user", oid, o)
		}
		if !u.Enabled {
			return errUnchanged
		}
		u.Enabled = false
		return nil
	}})
	if errors.Is(err, errUnchanged) || errors.Is(err, object.ErrNotFound) {
		return nil
	}
	return err
}
