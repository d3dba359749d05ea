// Package approval holds the use cases of approval cases (midPoint's
// "workflow approvals"): deciding a case once, and listing the cases a
// person may decide. Cases are opened by the repository service when someone
// gives a user a role that has approvers; an approved case is carried out by
// an approval task (app/handlers), on whichever node takes it.
package approval

import (
	"context"
	"log/slog"
	"time"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// HandlerName is the task handler that gives the role of an approved case.
const HandlerName = "approval"

// ParamCase is the approval task's parameter naming its case (an OID).
const ParamCase = "case"

// Tasks is the part of the task manager a decision uses.
type Tasks interface {
	Create(ctx context.Context, in taskmanager.CreateTask) (*task.Task, error)
	Resume(ctx context.Context, oid string) (*task.Task, error)
	Delete(ctx context.Context, oid string) error
}

// Options of the approval use cases.
type Options struct {
	// SelfApproval lets the user a case is for decide it, as an approver of
	// the role (security/selfApproval, default false: four eyes).
	SelfApproval bool
}

// Service decides and lists approval cases.
type Service struct {
	repo  *repository.Service
	tasks Tasks
	now   func() time.Time
	log   *slog.Logger
	opts  Options
}

// NewService builds the approval use cases; now nil means time.Now.
func NewService(repo *repository.Service, tasks Tasks, now func() time.Time, log *slog.Logger, opts Options) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{repo: repo, tasks: tasks, now: now, log: log, opts: opts}
}
