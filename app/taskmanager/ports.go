// Package taskmanager runs tasks: creation and validation, state changes,
// execution of fired triggers, coordinators and workers over buckets, and
// recovery of work held by dead or departing nodes.
package taskmanager

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"cadre/app/repository"
	"cadre/domain/task"
)

// TaskFilter selects tasks for listing.
type TaskFilter struct {
	State   task.ExecutionState
	Handler string
	Parent  string
	// TopLevel hides worker tasks when Parent is empty.
	TopLevel bool
	Limit    int
	Offset   int
}

// BucketCounts counts a coordinator's buckets by state.
type BucketCounts struct {
	Ready, Delegated, Complete int64
	// Items and Errors are summed over the buckets (completed ones hold their final counts).
	Items, Errors int64
}

// Total is the number of buckets.
func (c BucketCounts) Total() int64 { return c.Ready + c.Delegated + c.Complete }

// BucketsClaimParams claim READY buckets of a coordinator for one worker.
type BucketsClaimParams struct {
	TaskOID string
	Worker  string
	Node    string
	Now     time.Time
	// Limit is the most buckets to claim in one statement; 0 means 1.
	Limit int
}

// BucketsPageParams select one page of a task's buckets.
type BucketsPageParams struct {
	TaskOID string
	// After is the seq of the last bucket of the previous page; 0 starts at
	// the first bucket (seqs start at 1).
	After int64
	// Limit is the most buckets to list; it must be positive.
	Limit int
}

// BucketCompletion is one finished bucket, as its worker reports it.
type BucketCompletion struct {
	TaskOID string
	Seq     int64
	// Epoch is the epoch the worker claimed the bucket at; the completion
	// counts only while the bucket is still delegated at that epoch.
	Epoch  int64
	Items  int64
	Errors int64
	// Error is the failure of a bucket's last allowed attempt, "" when it
	// succeeded; the completion counts the attempt either way.
	Error string
}

// BucketRetry puts a failed bucket back to READY for another attempt.
type BucketRetry struct {
	TaskOID string
	Seq     int64
	// Epoch fences the release as it does a completion.
	Epoch int64
	Error string
	// NotBefore is the earliest time a claim may take the bucket again.
	NotBefore time.Time
}

// BucketCheckpoint records a handler's position inside a delegated bucket.
type BucketCheckpoint struct {
	TaskOID string
	Seq     int64
	// Epoch fences the write as it does a completion.
	Epoch      int64
	Checkpoint task.Checkpoint
}

// TaskCheckpoint records a standalone run's position on its task.
type TaskCheckpoint struct {
	OID string
	// Node and RunCount fence the write: only the run that holds the task
	// (RUNNING there, in that run) records its position.
	Node       string
	RunCount   int64
	Checkpoint task.Checkpoint
	// Items and Errors are what the run did since its previous checkpoint;
	// they join the task's progress with the write.
	Items, Errors int64
}

// TaskStore persists tasks and buckets. Every state change is one atomic
// statement or one transaction, as if other nodes were there.
type TaskStore interface {
	TasksAdd(ctx context.Context, t *task.Task) error
	TasksGet(ctx context.Context, oid string) (*task.Task, error)
	TasksList(ctx context.Context, f TaskFilter) ([]*task.Task, int64, error)
	// TasksUpdate reads the task under a row lock, applies change and writes it back.
	TasksUpdate(ctx context.Context, oid string, change func(*task.Task) error) (*task.Task, error)
	TasksDelete(ctx context.Context, oid string) error
	TasksAddProgress(ctx context.Context, oid string, items, errs int64) error
	// TasksCheckpoint records a standalone run's checkpoint in one statement;
	// false when the run no longer holds the task (fenced).
	TasksCheckpoint(ctx context.Context, c TaskCheckpoint) (bool, error)
	// TasksRunningHere reports which of oids are RUNNING on node.
	TasksRunningHere(ctx context.Context, node string, oids []string) (map[string]bool, error)
	// TasksRunningOn lists RUNNING tasks whose node is the given one.
	TasksRunningOn(ctx context.Context, node string) ([]*task.Task, error)
	// TasksRunnableWorkersIn lists RUNNABLE worker tasks pinned to an execution group.
	TasksRunnableWorkersIn(ctx context.Context, group string) ([]*task.Task, error)
	// TasksWaitingCoordinators lists WAITING coordinators.
	TasksWaitingCoordinators(ctx context.Context) ([]*task.Task, error)

	// BucketsCreate replaces a coordinator's buckets with READY ones.
	BucketsCreate(ctx context.Context, taskOID string, contents []task.Content) error
	// BucketsClaim delegates up to p.Limit READY buckets whose not-before
	// time is not after p.Now, lowest seq first, each at epoch+1, in one
	// atomic statement. It returns them in seq order, each with the
	// checkpoint it resumes from, and none only when no READY bucket may be
	// claimed at p.Now.
	BucketsClaim(ctx context.Context, p BucketsClaimParams) ([]task.Bucket, error)
	// BucketsComplete records completions in one atomic statement. A
	// completion counts only for a bucket still delegated at its epoch; the
	// result says, per completion, whether it counted (false = fenced).
	BucketsComplete(ctx context.Context, cs []BucketCompletion, now time.Time) ([]bool, error)
	// BucketsRetry puts a failed bucket back to READY with its attempt
	// counted, its error and a not-before time, in one statement; false when
	// the bucket is no longer delegated at that epoch (fenced).
	BucketsRetry(ctx context.Context, r BucketRetry) (bool, error)
	// BucketsCheckpoint records a checkpoint (and its items and errors as the
	// bucket's counts) in one statement; false when fenced.
	BucketsCheckpoint(ctx context.Context, c BucketCheckpoint) (bool, error)
	// BucketsReadyAt is the earliest time one of the task's READY buckets
	// may be claimed: zero when one may be claimed now; ok is false when
	// none is READY.
	BucketsReadyAt(ctx context.Context, taskOID string) (at time.Time, ok bool, err error)
	// BucketsReleaseWorker puts the worker's DELEGATED buckets back to READY.
	BucketsReleaseWorker(ctx context.Context, worker string) (int64, error)
	// BucketsReleaseNode puts DELEGATED buckets held on a node back to READY.
	BucketsReleaseNode(ctx context.Context, node string) (int64, error)
	// BucketsList lists every bucket of a task, for tests and tools; the API
	// and the UI page with BucketsPage.
	BucketsList(ctx context.Context, taskOID string) ([]task.Bucket, error)
	// BucketsPage lists up to p.Limit buckets of a task whose seq is after
	// p.After, in seq order, reading no more rows than that (keyset paging).
	BucketsPage(ctx context.Context, p BucketsPageParams) ([]task.Bucket, error)
	BucketsCount(ctx context.Context, taskOID string) (BucketCounts, error)
	// BucketsProgress sums a coordinator's COMPLETE buckets per worker and node.
	BucketsProgress(ctx context.Context, taskOID string) ([]BucketProgress, error)
	// BucketsSummary is BucketsCount and BucketsProgress of one coordinator
	// from one pass over its buckets.
	BucketsSummary(ctx context.Context, taskOID string) (BucketCounts, []BucketProgress, error)
}

// Scheduler is the job store seen from the task manager.
type Scheduler interface {
	// Schedule makes the task fire: now for a single run (or when fireNow),
	// otherwise at the next time of its schedule.
	Schedule(ctx context.Context, t *task.Task, fireNow bool) error
	// Postpone makes the task fire once more after d (a fire this node
	// refused at its execution limit), keeping a recurring schedule.
	Postpone(ctx context.Context, t *task.Task, d time.Duration) error
	Unschedule(ctx context.Context, oid string) error
	NextFireTime(ctx context.Context, oid string) (*time.Time, error)
}

// Cluster tells the task manager about the nodes.
type Cluster interface {
	// LiveNodes lists the ids of the nodes that are up, checking in and
	// scheduling, sorted.
	LiveNodes(ctx context.Context) []string
}

// Run is what a handler gets for one run of a task or one bucket.
type Run struct {
	Task *task.Task
	// Bucket is the bucket to process, nil for an unbucketed task.
	Bucket *task.Bucket
	Node   string
	Log    *slog.Logger
	// Progress adds processed items and errors.
	Progress func(items, errs int64)
	// Stopping reports that the task was suspended or the node is leaving;
	// a handler checks it between items and returns early.
	Stopping func() bool
	// SetToken records handler state for the next run (livesync).
	SetToken func(token string)
	// Resume is the checkpoint this run starts from (the bucket's, or a
	// standalone run's), nil to start from the beginning. Its Items and
	// Errors are counted already: Progress reports only what comes after.
	Resume *task.Checkpoint
	// Checkpoint records that everything reported through Progress so far
	// is done up to position (the handler's own notation), so that a retry
	// or a node taking over after a crash resumes there. It costs one
	// statement: call it per page or batch, not per item. It returns
	// task.ErrFenced when the work was handed to someone else (the handler
	// should stop); a database error is logged and the run goes on.
	Checkpoint func(ctx context.Context, position string) error
	// Repo reads and writes the repository through this run's local cache
	// (objects, queries, versions), dropped when the run ends; nil when the
	// manager was built without a repository.
	Repo *repository.Service
	// Unavailable reports whether err means the database is away for now (a
	// transient fault: refused, reset, restarting, too many clients), not
	// that the item is bad. A handler returns such an error instead of
	// counting the item failed: the worker runs the bucket again once the
	// database answers, without spending one of its attempts. Nil: never.
	Unavailable func(err error) bool
}

// DatabaseAway reports whether err is a database fault of the moment (see
// Run.Unavailable) rather than the item's failure.
func (r *Run) DatabaseAway(err error) bool {
	return err != nil && r.Unavailable != nil && r.Unavailable(err)
}

// ErrStopped is what a handler returns when it noticed Stopping and left its
// work unfinished; a bucket is then released, not completed.
var ErrStopped = errors.New("run stopped before its work was done")

// Handler does the real work of a kind of task.
type Handler interface {
	// Validate checks parameters when the task is created.
	Validate(params map[string]any, b *task.Bucketing) error
	// Run processes the whole task, or one bucket when run.Bucket is set.
	Run(ctx context.Context, run *Run) error
}

// Metrics receives task manager events.
type Metrics interface {
	BucketClaimed()
	BucketCompleted()
	BucketFenced()
	TaskRun(handler string, failed bool)
	// TasksStalled reports how many of this node's runs are marked stalled.
	TasksStalled(n int)
}

type noMetrics struct{}

func (noMetrics) BucketClaimed()       {}
func (noMetrics) BucketCompleted()     {}
func (noMetrics) BucketFenced()        {}
func (noMetrics) TaskRun(string, bool) {}
func (noMetrics) TasksStalled(int)     {}
