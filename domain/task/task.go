// Package task holds tasks, their states and legal transitions, schedules,
// bucketing definitions and buckets with epoch fencing.
package task

import (
	"errors"
	"fmt"
	"time"
)

// ExecutionState of a task (DESIGN §4).
type ExecutionState string

// Execution states.
const (
	Runnable  ExecutionState = "RUNNABLE"
	Running   ExecutionState = "RUNNING"
	Waiting   ExecutionState = "WAITING" // a coordinator waiting for its workers
	Suspended ExecutionState = "SUSPENDED"
	Closed    ExecutionState = "CLOSED"
)

// ParseExecutionState validates a state name.
func ParseExecutionState(s string) (ExecutionState, error) {
	switch st := ExecutionState(s); st {
	case Runnable, Running, Waiting, Suspended, Closed:
		return st, nil
	}
	return "", fmt.Errorf("%w: unknown execution state %q", ErrInvalid, s)
}

// ResultStatus of a task's last run.
type ResultStatus string

// Result statuses.
const (
	InProgress   ResultStatus = "IN_PROGRESS"
	Success      ResultStatus = "SUCCESS"
	PartialError ResultStatus = "PARTIAL_ERROR"
	FatalError   ResultStatus = "FATAL_ERROR"
)

// Role says how a task takes part in bucketed work.
type Role string

// Roles.
const (
	Standalone  Role = "standalone"
	Coordinator Role = "coordinator"
	Worker      Role = "worker"
)

// Errors of tasks and buckets.
var (
	ErrNotFound       = errors.New("task not found")
	ErrInvalid        = errors.New("invalid task")
	ErrIllegalState   = errors.New("illegal task state change")
	ErrFenced         = errors.New("bucket completion fenced: the bucket was reassigned")
	ErrUnknownHandler = errors.New("unknown handler")
)

// Progress counts a task's work.
type Progress struct {
	ItemsProcessed  int64 `json:"itemsProcessed"`
	Errors          int64 `json:"errors"`
	BucketsComplete int64 `json:"bucketsComplete"`
	BucketsTotal    int64 `json:"bucketsTotal"`
}

// Task is a unit of scheduled work. Fields are exported for adapters; state
// changes go through the methods, which enforce the legal transitions.
type Task struct {
	OID            string
	Name           string
	Handler        string
	Owner          string
	Params         map[string]any
	Schedule       Schedule
	Bucketing      *Bucketing
	Workers        *Workers
	ExecutionGroup string
	Parent         string
	Role           Role
	State          ExecutionState
	Result         ResultStatus
	Message        string
	Node           string
	Progress       Progress
	RunCount       int64
	LastRunStart   *time.Time
	LastRunFinish  *time.Time
	NextRunTime    *time.Time
	// StalledSince is when the progress of this RUNNING task last moved, set
	// once it has not moved for the stall threshold; nil when not stalled.
	StalledSince *time.Time
	// Token is handler state kept between runs (livesync's last seen row).
	Token string
	// Retry is how often a failed run (or, on a coordinator and its
	// workers, a failed bucket) is tried; nil is one attempt.
	Retry *Retry
	// Attempts counts the finished attempts of the current run (a retry
	// continues it, a new run starts from 0); LastError is the error of the
	// last failed one.
	Attempts  int64
	LastError string
	// Checkpoint is a standalone run's last recorded position, kept until
	// the run finishes so a retry or a restart elsewhere resumes from it.
	Checkpoint *Checkpoint
	Version    int64
	CreatedAt  time.Time
	ModifiedAt time.Time

	// ThreadStopAction applies when the task's node dies or leaves mid-run
	// ("" = StopRestart); a worker carries its coordinator's.
	ThreadStopAction ThreadStopAction
	// UniqueKey, when set, is held by this task until it is CLOSED: no other
	// task with the same key can be created meanwhile.
	UniqueKey string
}

// Recurring reports whether the task runs on a schedule.
func (t *Task) Recurring() bool { return !t.Schedule.IsZero() }

func (t *Task) illegal(action string) error {
	return fmt.Errorf("%w: cannot %s a %s task", ErrIllegalState, action, t.State)
}

// Start marks the task RUNNING on node; only a RUNNABLE task can start.
func (t *Task) Start(node string, now time.Time) error {
	if t.State != Runnable {
		return t.illegal("start")
	}
	if t.Result != InProgress {
		// A new run, not the retry or restart of an unfinished one.
		t.Attempts, t.LastError, t.Checkpoint = 0, "", nil
	}
	t.State, t.Node, t.Result, t.Message = Running, node, InProgress, ""
	t.LastRunStart = &now
	t.RunCount++
	return nil
}

// Wait parks a running coordinator until its workers finish.
func (t *Task) Wait() error {
	if t.State != Running || t.Role != Coordinator {
		return t.illegal("park")
	}
	t.State, t.Node = Waiting, ""
	return nil
}

// Finish ends a run: recurring tasks become RUNNABLE again, others CLOSED.
func (t *Task) Finish(result ResultStatus, message string, now time.Time) error {
	if t.State != Running && t.State != Waiting {
		return t.illegal("finish")
	}
	t.Result, t.Message, t.Node, t.Checkpoint = result, message, "", nil
	t.LastRunFinish = &now
	if t.Recurring() && t.Role != Worker {
		t.State = Runnable
	} else {
		t.State = Closed
	}
	return nil
}

// FailAttempt ends a failed attempt of a RUNNING run that will be tried
// again: RUNNABLE, the attempt counted and its error kept; the result stays
// IN_PROGRESS, and the checkpoint, if any, is where the next attempt resumes.
func (t *Task) FailAttempt(msg, retryNote string) error {
	if t.State != Running {
		return t.illegal("retry")
	}
	t.Attempts++
	t.State, t.Node, t.LastError = Runnable, "", msg
	t.Message = fmt.Sprintf("attempt %d failed: %s; %s", t.Attempts, msg, retryNote)
	return nil
}

// Release returns a RUNNING task to RUNNABLE (graceful stop, dead node).
func (t *Task) Release() error {
	if t.State != Running {
		return t.illegal("release")
	}
	t.State, t.Node = Runnable, ""
	return nil
}

// Suspend stops a task; a closed task cannot be suspended.
func (t *Task) Suspend() error {
	switch t.State {
	case Runnable, Running, Waiting:
		t.State, t.Node = Suspended, ""
		return nil
	case Suspended:
		return nil
	}
	return t.illegal("suspend")
}

// Resume makes a suspended task runnable (a coordinator with buckets waits again).
func (t *Task) Resume(hasBuckets bool) error {
	if t.State != Suspended {
		return t.illegal("resume")
	}
	if t.Role == Coordinator && hasBuckets {
		t.State = Waiting
	} else {
		t.State = Runnable
	}
	return nil
}

// RunNow makes a task runnable at once: a closed single-run task is reopened.
func (t *Task) RunNow() error {
	switch t.State {
	case Runnable, Closed, Suspended:
		t.State = Runnable
		return nil
	}
	return t.illegal("run now")
}
