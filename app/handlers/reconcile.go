package handlers

import (
	"context"
	"errors"
	"fmt"

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
	var counts syncCounts
	inFile := make(map[string]bool, len(rows))
	err = syncRows(ctx, repoFor(h.repo, run), run, resource, rows, &counts, inFile)
	if err == nil && counts.unreadable > 0 {
		run.Log.Warn("disable pass skipped: some rows name no user, so users missing from the file cannot be told apart",
			"resource", resource, "unreadableRows", counts.unreadable)
	}
	if err == nil && counts.unreadable == 0 {
		err = eachUser(ctx, repoFor(h.repo, run), run, "", "", func(u *object.User) error {
			if !u.Enabled || inFile[object.NormalizeName(u.Name)] || isAdministrator(u.Name) {
				return nil
			}
			if err := h.disable(ctx, u.OID); err != nil {
				if ctxErr := ctx.Err(); ctxErr != nil {
					return ctxErr
				}
				counts.failed++
				run.Progress(1, 1)
				run.Log.Warn("disable user not in resource", "resource", resource, "user", u.Name, "oid", u.OID, "err", err)
				return nil
			}
			counts.disabled++
			run.Progress(1, 0)
			return nil
		})
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
