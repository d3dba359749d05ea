package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"cadre/app/approval"
	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/task"
)

// NameApproval is the handler that carries out an approved case.
const NameApproval = approval.HandlerName

// Approval gives the user of an approved case its role, exactly once however
// often it runs: a node that dies mid-run leaves the task to be run again
// elsewhere, and adding a role the user already has changes nothing. The
// case then records when it was applied. Param: case (the case OID); the
// approval service creates these tasks, one per approved case.
type Approval struct {
	repo *repository.Service
	now  func() time.Time
	// pause waits between giving the role and marking the case applied; it
	// exists for tests that kill the node in that window (0 in production).
	pause time.Duration
}

// NewApproval returns the approval handler; now nil means time.Now, and
// pause is zero except in tests.
func NewApproval(repo *repository.Service, now func() time.Time, pause time.Duration) taskmanager.Handler {
	if now == nil {
		now = time.Now
	}
	return Approval{repo: repo, now: now, pause: pause}
}

// Validate implements taskmanager.Handler.
func (Approval) Validate(params map[string]any, b *task.Bucketing) error {
	if err := rejectBucketing(NameApproval, "it carries out one case", b); err != nil {
		return err
	}
	oid, err := optionalString(params, approval.ParamCase)
	if err != nil {
		return err
	}
	if oid == "" {
		return fmt.Errorf("parameter %q is required: the OID of an approved case", approval.ParamCase)
	}
	return nil
}

// Run implements taskmanager.Handler.
func (a Approval) Run(ctx context.Context, run *taskmanager.Run) error {
	oid, _ := optionalString(run.Task.Params, approval.ParamCase)
	o, err := a.repo.Store().Get(ctx, object.TypeCase, oid)
	if err != nil {
		return fmt.Errorf("read case %s: %w", oid, err)
	}
	c := o.(*object.Case)
	switch {
	case c.State != object.CaseApproved:
		return fmt.Errorf("case %s is %s, not approved: the role is not given", c.OID, c.State)
	case c.Task != run.Task.OID:
		return fmt.Errorf("case %s is carried out by task %s, not this one", c.OID, c.Task)
	case c.AppliedAt != nil:
		run.Log.InfoContext(ctx, "approval case already applied", "case", c.OID)
		run.Progress(1, 0)
		return nil
	}
	if err := a.giveRole(ctx, c); err != nil {
		return err
	}
	if err := a.wait(ctx, run); err != nil {
		return err
	}
	_, err = a.repo.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeCase, OID: c.OID, Apply: func(o object.Object) error {
		o.(*object.Case).MarkApplied(a.now())
		return nil
	}})
	if err != nil {
		return fmt.Errorf("mark case %s applied: %w", c.OID, err)
	}
	run.Log.InfoContext(ctx, "approval case applied", "case", c.OID, "user", c.User, "role", c.Role)
	run.Progress(1, 0)
	return nil
}

// giveRole adds the case's role to its user unless the user has it already
// (then nothing is written: errUnchanged), under the user's row lock.
func (a Approval) giveRole(ctx context.Context, c *object.Case) error {
	_, err := a.repo.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeUser, OID: c.User, Apply: func(o object.Object) error {
		u := o.(*object.User)
		if slices.Contains(u.Roles, c.Role) {
			return errUnchanged
		}
		u.Roles = append(u.Roles, c.Role)
		return nil
	}})
	if err != nil && !errors.Is(err, errUnchanged) {
		return fmt.Errorf("give role %s to user %s (case %s): %w", c.Role, c.User, c.OID, err)
	}
	return nil
}

// wait sleeps the test pause, leaving early when the run stops.
func (a Approval) wait(ctx context.Context, run *taskmanager.Run) error {
	deadline := time.Now().Add(a.pause)
	for time.Now().Before(deadline) {
		if run.Stopping() {
			return taskmanager.ErrStopped
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(100*time.Millisecond, time.Until(deadline))):
		}
	}
	return nil
}
