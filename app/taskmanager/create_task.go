package taskmanager

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"cadre/domain/task"
)

// CreateTask is the input of Create.
type CreateTask struct {
	Name           string
	Handler        string
	Owner          string
	Params         map[string]any
	Schedule       task.Schedule
	Bucketing      *task.Bucketing
	Workers        *task.Workers
	ExecutionGroup string
	// Retry is how often a failed run or bucket is tried; nil is once.
	Retry *task.Retry
	// Suspended creates the task without scheduling it.
	Suspended bool
	// ThreadStopAction is restart (default, ""), reschedule, suspend or close.
	ThreadStopAction string
	// UniqueKey, when set, refuses the task while another that is not
	// CLOSED has the same key (*task.DuplicateKeyError).
	UniqueKey string
}

// MaxUniqueKey is the longest uniqueKey, in bytes.
const MaxUniqueKey = 256

// Create validates and stores a task and schedules it.
func (m *Manager) Create(ctx context.Context, in CreateTask) (*task.Task, error) {
	if strings.TrimSpace(in.Name) == "" {
		return nil, fmt.Errorf("%w: name is required", task.ErrInvalid)
	}
	h, err := m.handler(in.Handler)
	if err != nil {
		return nil, err
	}
	if err := in.Schedule.Validate(m.cfg.ParseCron, m.now()); err != nil {
		return nil, err
	}
	if in.Bucketing != nil {
		if err := in.Bucketing.Validate(); err != nil {
			return nil, err
		}
	}
	if in.Workers != nil {
		if in.Bucketing == nil {
			return nil, fmt.Errorf("%w: workers need bucketing", task.ErrInvalid)
		}
		if err := in.Workers.Validate(); err != nil {
			return nil, err
		}
	}
	if in.Retry != nil {
		if err := in.Retry.Validate(); err != nil {
			return nil, err
		}
	}
	stopAction, err := task.ParseThreadStopAction(in.ThreadStopAction)
	if err != nil {
		return nil, err
	}
	if len(in.UniqueKey) > MaxUniqueKey {
		return nil, fmt.Errorf("%w: uniqueKey is longer than %d bytes", task.ErrInvalid, MaxUniqueKey)
	}
	if in.Params == nil {
		in.Params = map[string]any{}
	}
	if err := h.Validate(in.Params, in.Bucketing); err != nil {
		return nil, fmt.Errorf("%w: %v", task.ErrInvalid, err)
	}
	now := m.now().UTC()
	t := &task.Task{
		OID: uuid.NewString(), Name: in.Name, Handler: in.Handler, Owner: in.Owner, Params: in.Params,
		Schedule: in.Schedule, Bucketing: in.Bucketing, Workers: in.Workers, ExecutionGroup: in.ExecutionGroup,
		Retry: in.Retry, Role: task.Standalone, State: task.Runnable, Result: task.InProgress, Version: 1, CreatedAt: now, ModifiedAt: now,
	}
	t.ThreadStopAction, t.UniqueKey = stopAction, in.UniqueKey
	if in.Bucketing != nil {
		t.Role = task.Coordinator
	}
	if in.Suspended {
		t.State = task.Suspended
	}
	if err := m.store.TasksAdd(ctx, t); err != nil {
		return nil, err
	}
	if t.State == task.Runnable {
		if err := m.sched.Schedule(ctx, t, t.Schedule.Interval > 0); err != nil {
			return nil, fmt.Errorf("schedule task %s: %w", t.OID, err)
		}
	}
	return m.Get(ctx, t.OID)
}
