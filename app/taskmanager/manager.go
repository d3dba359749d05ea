package taskmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"cadre/app/repository"
	"cadre/domain/task"
)

// Config of the task manager.
type Config struct {
	NodeID string
	// WorkersPerNode is the default number of workers per live node (taskManager/workerThreadsPerNode, 4).
	WorkersPerNode int
	// StopPoll is how often a running task re-reads its state to notice a
	// suspension made on another node (default 250 ms).
	StopPoll time.Duration
	// ParseCron validates cron expressions.
	ParseCron func(string) (task.CronSchedule, error)
	// Repo, when set, gives every run a local cache over the repository;
	// CacheMetrics counts its hits and misses.
	Repo         *repository.Service
	CacheMetrics repository.CacheMetrics
	// ClaimBudget is how much work, by measured bucket time, a worker claims
	// ahead in one statement (default DefaultClaimBudget, 50 ms); MaxClaim
	// bounds the buckets of one claim (default DefaultMaxClaim, 64; 1 turns
	// prefetching off).
	ClaimBudget time.Duration
	MaxClaim    int
	// CompletionWindow is how long finished buckets are collected before they
	// are written in one statement (default DefaultCompletionWindow, 25 ms);
	// CompletionBatch bounds one statement (default DefaultCompletionBatch).
	CompletionWindow time.Duration
	CompletionBatch  int
	// Limits are the node's execution limitations (taskExecutionLimitations
	// over task.DefaultLimits); nil means task.DefaultLimits().
	Limits []task.GroupLimit
	// StalledThreshold marks a RUNNING task stalled when its progress has
	// not moved this long (stalledTasksThreshold, default 600s);
	// StalledCheckInterval is how often the node looks (default 60s).
	StalledThreshold, StalledCheckInterval time.Duration
	// Transient reports whether a store error is a transient database
	// error (db.IsTransient): such an error is retried with backoff for as
	// long as the node runs, instead of failing the transition. Nil means
	// none is known to be transient.
	Transient func(error) bool
	// RetryWindow bounds the tries of a store call that failed with an
	// error not known to be transient (default DefaultRetryWindow).
	RetryWindow time.Duration
	// RepairInterval is how often the repair pass runs (default
	// DefaultRepairInterval); see repair.go.
	RepairInterval time.Duration
	// Go runs f on a goroutine its owner waits for (the node: f's context
	// ends at Node.Stop, which waits for f before closing the databases) and
	// reports false once the owner is stopping. Default: a plain goroutine on
	// context.Background, for tests that build a manager alone.
	Go func(f func(ctx context.Context)) bool
}

// Manager is the task manager of one node.
type Manager struct {
	cfg      Config
	store    TaskStore
	sched    Scheduler
	cluster  Cluster
	handlers map[string]Handler
	metrics  Metrics
	now      func() time.Time
	log      *slog.Logger

	remoteStop func(ctx context.Context, nodeID, oid string)
	completer  *completer
	limits     *limiter
	stalled    stalledState
	reporter   RepairReporter
	repairMu   sync.Mutex // one pass at a time
	repairs    repairState
	summaries  summaries

	mu       sync.Mutex
	running  map[string]*localRun // task OID → run on this node
	watching bool                 // the watcher goroutine is running
	draining bool
	local    sync.WaitGroup // workers started in-process (startHere)
}

type localRun struct {
	cancel   context.CancelFunc
	stopping chan struct{}
	once     sync.Once
	beat     beat // when progress last moved, for the stall check
}

func (r *localRun) stop() { r.once.Do(func() { close(r.stopping) }) }

func (r *localRun) isStopping() bool {
	select {
	case <-r.stopping:
		return true
	default:
		return false
	}
}

// New builds a task manager. handlers maps handler names to implementations.
func New(cfg Config, store TaskStore, sched Scheduler, cluster Cluster, handlers map[string]Handler, metrics Metrics, now func() time.Time, log *slog.Logger) *Manager {
	if cfg.WorkersPerNode <= 0 {
		cfg.WorkersPerNode = 4
	}
	if cfg.StopPoll <= 0 {
		cfg.StopPoll = 250 * time.Millisecond
	}
	if metrics == nil {
		metrics = noMetrics{}
	}
	if now == nil {
		now = time.Now
	}
	if cfg.ClaimBudget <= 0 {
		cfg.ClaimBudget = DefaultClaimBudget
	}
	if cfg.MaxClaim <= 0 {
		cfg.MaxClaim = DefaultMaxClaim
	}
	if cfg.StalledThreshold <= 0 {
		cfg.StalledThreshold = DefaultStalledThreshold
	}
	if cfg.StalledCheckInterval <= 0 {
		cfg.StalledCheckInterval = DefaultStalledCheckInterval
	}
	if cfg.RetryWindow <= 0 {
		cfg.RetryWindow = DefaultRetryWindow
	}
	if cfg.RepairInterval <= 0 {
		cfg.RepairInterval = DefaultRepairInterval
	}
	if cfg.Go == nil {
		cfg.Go = func(f func(context.Context)) bool {
			go f(context.Background())
			return true
		}
	}
	m := &Manager{cfg: cfg, store: store, sched: sched, cluster: cluster, handlers: handlers, metrics: metrics,
		now: now, log: log, running: map[string]*localRun{}, limits: newLimiter(cfg.NodeID, cfg.Limits)}
	policy := retryPolicy{transient: cfg.Transient, window: cfg.RetryWindow, leaving: m.isDraining}
	m.completer = newCompleter(store, now, policy, cfg.CompletionWindow, cfg.CompletionBatch, cfg.Go)
	return m
}

// isDraining reports whether the node is leaving (Drain without Undrain).
func (m *Manager) isDraining() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.draining
}

// SetScheduler wires the job store after construction (the scheduler's runner
// calls back into the manager, so one of them has to come second).
func (m *Manager) SetScheduler(s Scheduler) { m.sched = s }

// SetRemoteStop sets how a task running on another node is told to stop at
// once (a peer call); without it the other node notices within StopPoll.
func (m *Manager) SetRemoteStop(f func(ctx context.Context, nodeID, oid string)) { m.remoteStop = f }

// Handlers lists the registered handler names, sorted.
func (m *Manager) Handlers() []string {
	names := make([]string, 0, len(m.handlers))
	for n := range m.handlers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Get reads one task with its bucket counts and next run time.
func (m *Manager) Get(ctx context.Context, oid string) (*task.Task, error) {
	t, err := m.store.TasksGet(ctx, oid)
	if err != nil {
		return nil, err
	}
	m.decorate(ctx, t)
	return t, nil
}

func (m *Manager) decorate(ctx context.Context, t *task.Task) {
	m.decorateFrom(ctx, t, summariesOnce{})
}

// summariesOnce keeps each coordinator's bucket summary for one listing, so
// that a page with a coordinator and many of its workers reads the
// coordinator's buckets once, not once per worker.
type summariesOnce map[string]bucketSummary

// of returns coordinator oid's summary; coordinator is its task when the
// caller has it, nil to read it (by key) for its stamp.
func (p summariesOnce) of(ctx context.Context, m *Manager, oid string, coordinator *task.Task) (bucketSummary, error) {
	if s, ok := p[oid]; ok {
		return s, nil
	}
	if coordinator == nil {
		c, err := m.store.TasksGet(ctx, oid)
		if err != nil {
			return bucketSummary{}, err
		}
		coordinator = c
	}
	s, err := m.summary(ctx, oid, summaryStamp(coordinator))
	if err != nil {
		return bucketSummary{}, err
	}
	p[oid] = s
	return s, nil
}

func (m *Manager) decorateFrom(ctx context.Context, t *task.Task, once summariesOnce) {
	if t.Role == task.Coordinator {
		if s, err := once.of(ctx, m, t.OID, t); err == nil && s.counts.Total() > 0 {
			c := s.counts
			t.Progress.BucketsComplete, t.Progress.BucketsTotal = c.Complete, c.Total()
			t.Progress.ItemsProcessed, t.Progress.Errors = c.Items, c.Errors
		}
	}
	if t.Role == task.Worker && t.Parent != "" {
		if s, err := once.of(ctx, m, t.Parent, nil); err == nil {
			t.Progress = workerProgress(t.OID, s.progress)
		}
	}
	if t.State == task.Runnable {
		if next, err := m.sched.NextFireTime(ctx, t.OID); err == nil {
			t.NextRunTime = next
		}
	}
}

// List returns tasks matching the filter and the total count.
func (m *Manager) List(ctx context.Context, f TaskFilter) ([]*task.Task, int64, error) {
	ts, total, err := m.store.TasksList(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	once := summariesOnce{}
	for _, t := range ts {
		m.decorateFrom(ctx, t, once)
	}
	return ts, total, nil
}

// Bucket page sizes: DefaultBucketPage when the caller names none, at most
// MaxBucketPage.
const (
	DefaultBucketPage = 100
	MaxBucketPage     = 1000
)

// ErrBucketPage is a page size over MaxBucketPage or below 1.
var ErrBucketPage = errors.New("bucket page size out of range")

// Buckets lists one page of a task's buckets after seq after (0: from the
// first), at most limit (1…MaxBucketPage); more reports whether later
// buckets remain. It reads limit+1 rows on the primary key, so a task with a
// million buckets costs what a task with a hundred does.
func (m *Manager) Buckets(ctx context.Context, oid string, after int64, limit int) (bs []task.Bucket, more bool, err error) {
	if limit < 1 || limit > MaxBucketPage {
		return nil, false, fmt.Errorf("%w: %d, want 1 to %d", ErrBucketPage, limit, MaxBucketPage)
	}
	if _, err := m.store.TasksGet(ctx, oid); err != nil {
		return nil, false, err
	}
	bs, err = m.store.BucketsPage(ctx, BucketsPageParams{TaskOID: oid, After: after, Limit: limit + 1})
	if err != nil {
		return nil, false, err
	}
	if len(bs) > limit {
		return bs[:limit], true, nil
	}
	return bs, false, nil
}

// Workers lists a coordinator's worker tasks.
func (m *Manager) Workers(ctx context.Context, oid string) ([]*task.Task, error) {
	ts, _, err := m.store.TasksList(ctx, TaskFilter{Parent: oid, Limit: 10000})
	return ts, err
}

// RunningHere is the number of tasks running on this node.
func (m *Manager) RunningHere() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.running)
}

func (m *Manager) handler(name string) (Handler, error) {
	h, ok := m.handlers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", task.ErrUnknownHandler, name, m.Handlers())
	}
	return h, nil
}
