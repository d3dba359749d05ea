package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

func init() {
	RegisterError(task.ErrNotFound, http.StatusNotFound, "task-not-found")
	RegisterError(task.ErrUnknownHandler, http.StatusUnprocessableEntity, "unknown-handler")
	RegisterError(task.ErrInvalid, http.StatusUnprocessableEntity, "invalid-task")
	RegisterError(task.ErrIllegalState, http.StatusConflict, "illegal-state")
	RegisterError(task.ErrDuplicateKey, http.StatusConflict, "conflict")
}

// TaskJSON is the API form of a task (DESIGN §8).
type TaskJSON struct {
	OID            string          `json:"oid"`
	Name           string          `json:"name"`
	Handler        string          `json:"handler"`
	Owner          string          `json:"owner,omitempty"`
	Params         map[string]any  `json:"params"`
	Schedule       *task.Schedule  `json:"schedule,omitempty"`
	Bucketing      *task.Bucketing `json:"bucketing,omitempty"`
	Workers        *task.Workers   `json:"workers,omitempty"`
	ExecutionGroup string          `json:"executionGroup,omitempty"`
	ExecutionState string          `json:"executionState"`
	ResultStatus   string          `json:"resultStatus"`
	Message        string          `json:"message,omitempty"`
	Node           string          `json:"node"`
	Parent         string          `json:"parent"`
	Role           string          `json:"role"`
	Progress       ProgressJSON    `json:"progress"`
	// Retry is the task's retry spec; Attempts and LastError are of its
	// current (or last) run.
	Retry         *RetryJSON `json:"retry,omitempty"`
	Attempts      int64      `json:"attempts"`
	LastError     string     `json:"lastError,omitempty"`
	LastRunStart  *time.Time `json:"lastRunStart"`
	LastRunFinish *time.Time `json:"lastRunFinish"`
	NextRunTime   *time.Time `json:"nextRunTime"`
	// StalledSince is when a RUNNING task's progress last moved, once it has
	// not moved for stalledTasksThreshold; null otherwise.
	StalledSince *time.Time `json:"stalledSince"`
	RunCount     int64      `json:"runCount"`
	Version      int64      `json:"version"`

	// ThreadStopAction is never empty on a read: unset means restart.
	ThreadStopAction task.ThreadStopAction `json:"threadStopAction"`
	UniqueKey        string                `json:"uniqueKey,omitempty"`
}

// ProgressJSON is the API form of a task's progress.
type ProgressJSON struct {
	ItemsProcessed  int64 `json:"itemsProcessed"`
	Errors          int64 `json:"errors"`
	BucketsComplete int64 `json:"bucketsComplete"`
	BucketsTotal    int64 `json:"bucketsTotal"`
}

// RetryJSON is the API form of a task's retry spec.
type RetryJSON struct {
	MaxAttempts int   `json:"maxAttempts"`
	BackoffMs   int64 `json:"backoffMs"`
}

// CheckpointJSON is the API form of a bucket's (or run's) checkpoint.
type CheckpointJSON struct {
	Items    int64  `json:"items"`
	Errors   int64  `json:"errors"`
	Position string `json:"position"`
}

func retryToJSON(r *task.Retry) *RetryJSON {
	if r == nil {
		return nil
	}
	return &RetryJSON{MaxAttempts: r.MaxAttempts, BackoffMs: r.BackoffMs}
}

func checkpointToJSON(c *task.Checkpoint) *CheckpointJSON {
	if c == nil {
		return nil
	}
	return &CheckpointJSON{Items: c.Items, Errors: c.Errors, Position: c.Position}
}

// TaskToJSON converts a task for the API, field by field: the wire form
// follows the OpenAPI description, and the domain type may change under it.
func TaskToJSON(t *task.Task) TaskJSON {
	j := TaskJSON{OID: t.OID, Name: t.Name, Handler: t.Handler, Owner: t.Owner, Params: t.Params, Bucketing: t.Bucketing,
		Workers: t.Workers, ExecutionGroup: t.ExecutionGroup, ExecutionState: string(t.State), ResultStatus: string(t.Result),
		Message: t.Message, Node: t.Node, Parent: t.Parent, Role: string(t.Role),
		Progress: ProgressJSON{ItemsProcessed: t.Progress.ItemsProcessed, Errors: t.Progress.Errors,
			BucketsComplete: t.Progress.BucketsComplete, BucketsTotal: t.Progress.BucketsTotal},
		LastRunStart: t.LastRunStart, LastRunFinish: t.LastRunFinish, NextRunTime: t.NextRunTime, RunCount: t.RunCount, Version: t.Version,
		StalledSince: t.StalledSince}
	j.Retry, j.Attempts, j.LastError = retryToJSON(t.Retry), t.Attempts, t.LastError
	j.ThreadStopAction, j.UniqueKey = t.ThreadStopAction.OrDefault(), t.UniqueKey
	if !t.Schedule.IsZero() {
		s := t.Schedule
		j.Schedule = &s
	}
	return j
}

// BucketJSON is the API form of a bucket.
type BucketJSON struct {
	Seq            int64            `json:"seq"`
	State          task.BucketState `json:"state"`
	WorkerTask     string           `json:"workerTask"`
	Node           string           `json:"node"`
	Epoch          int64            `json:"epoch"`
	From           any              `json:"from"`
	To             any              `json:"to"`
	ItemsProcessed int64            `json:"itemsProcessed"`
	Attempts       int64            `json:"attempts"`
	LastError      string           `json:"lastError,omitempty"`
	// Checkpoint is the handler's last recorded position, ResumedFrom the
	// one the current (or last) holder started from; null for none.
	Checkpoint  *CheckpointJSON `json:"checkpoint"`
	ResumedFrom *CheckpointJSON `json:"resumedFrom"`
	// RetryAt is when a failed bucket may be claimed again; null unless it waits.
	RetryAt *time.Time `json:"retryAt"`
}

// BucketToJSON converts a bucket for the API.
func BucketToJSON(b task.Bucket) BucketJSON {
	j := BucketJSON{Seq: b.Seq, State: b.State, WorkerTask: b.Worker, Node: b.Node, Epoch: b.Epoch, ItemsProcessed: b.ItemsProcessed,
		Attempts: b.Attempts, LastError: b.LastError, Checkpoint: checkpointToJSON(b.Checkpoint), ResumedFrom: checkpointToJSON(b.ResumedFrom), RetryAt: b.NotBefore}
	switch {
	case b.Content.From != nil:
		j.From, j.To = *b.Content.From, *b.Content.To
	case b.Content.Value != "":
		j.From, j.To = b.Content.Value, b.Content.Value
	default:
		j.From, j.To = b.Content.OIDFrom, b.Content.OIDTo
	}
	return j
}

type createTaskRequest struct {
	Name           string          `json:"name"`
	Handler        string          `json:"handler"`
	Params         map[string]any  `json:"params"`
	Schedule       *task.Schedule  `json:"schedule"`
	Bucketing      *task.Bucketing `json:"bucketing"`
	Workers        *task.Workers   `json:"workers"`
	ExecutionGroup string          `json:"executionGroup"`
	Suspended      bool            `json:"suspended"`
	Retry          *task.Retry     `json:"retry"`

	// ThreadStopAction and UniqueKey are validated by the task manager.
	ThreadStopAction string `json:"threadStopAction"`
	UniqueKey        string `json:"uniqueKey"`
}

func (a *API) registerTasks(g *gin.RouterGroup) {
	g.GET("/tasks", a.listTasks)
	g.POST("/tasks", a.createTask)
	g.GET("/tasks/:oid", a.getTask)
	g.DELETE("/tasks/:oid", a.deleteTask)
	g.POST("/tasks/:oid/suspend", a.taskAction(a.d.Tasks.Suspend))
	g.POST("/tasks/:oid/resume", a.taskAction(a.d.Tasks.Resume))
	g.POST("/tasks/:oid/run-now", a.taskAction(a.d.Tasks.RunNow))
	g.GET("/tasks/:oid/buckets", a.listBuckets)
}

func (a *API) canRead(c *gin.Context) bool {
	p, _ := PrincipalOf(c)
	if err := p.RequireRead(); err != nil {
		Fail(c, a.log, err)
		return false
	}
	return true
}

func (a *API) canWrite(c *gin.Context) bool {
	p, _ := PrincipalOf(c)
	if err := p.RequireWrite(); err != nil {
		Fail(c, a.log, err)
		return false
	}
	return true
}

func (a *API) listTasks(c *gin.Context) {
	if !a.canRead(c) {
		return
	}
	f := taskmanager.TaskFilter{Handler: c.Query("handler"), Parent: c.Query("parent")}
	if s := c.Query("state"); s != "" {
		st, err := task.ParseExecutionState(s)
		if err != nil {
			Abort(c, http.StatusBadRequest, "bad-query", err.Error())
			return
		}
		f.State = st
	}
	var err error
	if f.Limit, err = intQuery(c, "limit", 100); err == nil {
		f.Offset, err = intQuery(c, "offset", 0)
	}
	if err != nil {
		Abort(c, http.StatusBadRequest, "bad-query", err.Error())
		return
	}
	ts, total, err := a.d.Tasks.List(c.Request.Context(), f)
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	items := make([]TaskJSON, 0, len(ts))
	for _, t := range ts {
		items = append(items, TaskToJSON(t))
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": total})
}

func (a *API) createTask(c *gin.Context) {
	if !a.canWrite(c) {
		return
	}
	var req createTaskRequest
	if !BindJSON(c, &req) {
		return
	}
	p, _ := PrincipalOf(c)
	in := taskmanager.CreateTask{Name: req.Name, Handler: req.Handler, Owner: p.UserOID, Params: req.Params,
		Bucketing: req.Bucketing, Workers: req.Workers, ExecutionGroup: req.ExecutionGroup, Suspended: req.Suspended,
		Retry: req.Retry}
	in.ThreadStopAction, in.UniqueKey = req.ThreadStopAction, req.UniqueKey
	if req.Schedule != nil {
		in.Schedule = *req.Schedule
	}
	t, err := a.d.Tasks.Create(c.Request.Context(), in)
	if err != nil {
		a.failTask(c, err)
		return
	}
	c.Header("Location", "/api/v1/tasks/"+t.OID)
	c.JSON(http.StatusCreated, TaskToJSON(t))
}

func (a *API) getTask(c *gin.Context) {
	if !a.canRead(c) {
		return
	}
	t, err := a.d.Tasks.Get(c.Request.Context(), c.Param("oid"))
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	c.JSON(http.StatusOK, TaskToJSON(t))
}

func (a *API) deleteTask(c *gin.Context) {
	if !a.canWrite(c) {
		return
	}
	if err := a.d.Tasks.Delete(c.Request.Context(), c.Param("oid")); err != nil {
		Fail(c, a.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) taskAction(action func(ctx context.Context, oid string) (*task.Task, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !a.canWrite(c) {
			return
		}
		t, err := action(c.Request.Context(), c.Param("oid"))
		if err != nil {
			a.failTask(c, err)
			return
		}
		c.JSON(http.StatusOK, TaskToJSON(t))
	}
}

// failTask writes err; when another open task holds the unique key, the
// answer names it (oid) and points to it (Location), so a client that lost
// a create race can follow the task that won.
func (a *API) failTask(c *gin.Context, err error) {
	var dup *task.DuplicateKeyError
	if !errors.As(err, &dup) || dup.OID == "" {
		Fail(c, a.log, err)
		return
	}
	c.Header("Location", "/api/v1/tasks/"+dup.OID)
	c.AbortWithStatusJSON(http.StatusConflict, gin.H{"error": "conflict", "message": err.Error(), "oid": dup.OID})
}

func (a *API) listBuckets(c *gin.Context) {
	if !a.canRead(c) {
		return
	}
	limit, err := intQuery(c, "limit", 0)
	if err == nil && limit > taskmanager.MaxBucketPage {
		err = fmt.Errorf("limit must be at most %d, got %d; page with next", taskmanager.MaxBucketPage, limit)
	}
	if limit == 0 {
		limit = taskmanager.DefaultBucketPage
	}
	var after int64
	if v := c.Query("after"); err == nil && v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			err = fmt.Errorf("after must be the next of a previous page, got %q", v)
		}
	}
	if err != nil {
		Abort(c, http.StatusBadRequest, "bad-query", err.Error())
		return
	}
	bs, more, err := a.d.Tasks.Buckets(c.Request.Context(), c.Param("oid"), after, limit)
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	page := BucketPageJSON{Items: make([]BucketJSON, 0, len(bs))}
	for _, b := range bs {
		page.Items = append(page.Items, BucketToJSON(b))
	}
	if more {
		next := strconv.FormatInt(bs[len(bs)-1].Seq, 10)
		page.Next = &next
	}
	c.JSON(http.StatusOK, page)
}

// BucketPageJSON is one page of a task's buckets; Next, absent on the last
// page, is the after of the next one.
type BucketPageJSON struct {
	Items []BucketJSON `json:"items"`
	Next  *string      `json:"next,omitempty"`
}
