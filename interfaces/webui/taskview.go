package webui

import (
	"time"

	"cadre/domain/task"
)

// taskView is a task as the web UI's templates show it. It is read from the
// domain task here rather than borrowed from the REST API's wire form, which
// answers to another contract (the OpenAPI description).
type taskView struct {
	OID, Name, Handler, ExecutionGroup string
	ExecutionState, ResultStatus       string
	Message, Node, Parent, Role        string
	Progress                           task.Progress
	// Retry is the task's retry spec; Attempts and LastError are of its
	// current (or last) run.
	Retry     *task.Retry
	Attempts  int64
	LastError string

	LastRunStart, LastRunFinish, NextRunTime *time.Time
	// StalledSince is set while a RUNNING task's progress has not moved for
	// stalledTasksThreshold.
	StalledSince *time.Time
	RunCount     int64
	// ThreadStopAction is never empty: unset means restart.
	ThreadStopAction task.ThreadStopAction
	UniqueKey        string
}

func newTaskView(t *task.Task) taskView {
	return taskView{OID: t.OID, Name: t.Name, Handler: t.Handler, ExecutionGroup: t.ExecutionGroup,
		ExecutionState: string(t.State), ResultStatus: string(t.Result), Message: t.Message, Node: t.Node,
		Parent: t.Parent, Role: string(t.Role), Progress: t.Progress, Retry: t.Retry, Attempts: t.Attempts,
		LastError: t.LastError, LastRunStart: t.LastRunStart, LastRunFinish: t.LastRunFinish, NextRunTime: t.NextRunTime,
		StalledSince: t.StalledSince, RunCount: t.RunCount, ThreadStopAction: t.ThreadStopAction.OrDefault(), UniqueKey: t.UniqueKey}
}

// bucketView is a bucket as the task page lists it.
type bucketView struct {
	Seq       int64
	State     task.BucketState
	Node      string
	Attempts  int64
	LastError string
	// Checkpoint is its handler's last recorded position, ResumedFrom the
	// one its current (or last) holder started from; nil for none.
	Checkpoint, ResumedFrom *task.Checkpoint
	// RetryAt is when a failed bucket may be claimed again; nil unless it waits.
	RetryAt *time.Time
}

func newBucketView(b task.Bucket) bucketView {
	return bucketView{Seq: b.Seq, State: b.State, Node: b.Node, Attempts: b.Attempts, LastError: b.LastError,
		Checkpoint: b.Checkpoint, ResumedFrom: b.ResumedFrom, RetryAt: b.NotBefore}
}
