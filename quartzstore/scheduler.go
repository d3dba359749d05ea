package quartzstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// JobRunner runs one fire of a job. Its error is logged; the fire completes
// either way. ctx is cancelled when the scheduler's Start context ends or Stop
// gives up waiting; a fire that returns after that is not completed but left
// for peers to recover (when its job requests recovery).
type JobRunner func(ctx context.Context, f FiredTrigger) error

// DefaultInstanceTimeout is the recommended SchedulerConfig.InstanceTimeout.
const DefaultInstanceTimeout = 10 * time.Second

// SchedulerConfig configures a Scheduler. Zero values take the defaults given.
type SchedulerConfig struct {
	// InstanceID names this scheduler in the store; default hostname-<random hex>.
	InstanceID string
	// Threads bounds the jobs running at once; default 10.
	Threads int
	// MisfireThreshold: a trigger later than this has misfired; default 5s.
	MisfireThreshold time.Duration
	// IdleWait is the longest sleep between polls of the store; default 1s.
	IdleWait time.Duration
	// CheckInInterval is how often the instance checks in (and recovers dead peers); default 2s.
	CheckInInterval time.Duration
	// InstanceTimeout: a peer silent this long is dead and its fires are
	// recovered. 0 (or negative) disables recovery; DefaultInstanceTimeout (10s)
	// is the usual value for a clustered store. Keep it well above
	// CheckInInterval plus the longest database stall, or live peers get recovered.
	InstanceTimeout time.Duration
	// Groups returns the execution groups this instance may run, asked before
	// every acquisition; nil (or a nil func) means any.
	Groups func() []string
	// Runner runs the jobs (required).
	Runner JobRunner
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Now is the clock handed to the store; default the store's Now (the database clock).
	Now func(ctx context.Context) (time.Time, error)
	// OnOrphanDeleted, when set, is told of every fired trigger of this
	// instance that no running fire held and that housekeeping deleted.
	OnOrphanDeleted func(ctx context.Context, f FiredTrigger)
}

// completeRetryWindow bounds how long the completion of a fire is tried
// again while the store fails; a fired trigger left after that is deleted
// by housekeeping (see sweepOrphans).
const completeRetryWindow = time.Minute

// sweepEvery is how many check-ins pass between two sweeps for orphaned
// fired triggers.
const sweepEvery = 5

// Scheduler acquires due triggers from a Store and runs their jobs on a bounded pool.
// It is a service: Start, then Stop.
type Scheduler struct {
	store Store
	cfg   SchedulerConfig
	log   *slog.Logger

	paused  atomic.Bool
	running atomic.Int64
	wake    chan struct{}

	mu         sync.Mutex
	started    bool
	cancelLoop context.CancelFunc // stops acquiring
	cancelJobs context.CancelFunc // cancels running jobs' contexts
	loopDone   chan struct{}
	listening  sync.WaitGroup // the notification listener
	jobs       sync.WaitGroup

	// inflight holds the fire ids of this instance's running fires, until
	// their completion was tried; suspects are the orphans the last sweep
	// found. housekeeps is the loop goroutine's.
	inflight   sync.Map
	sweepMu    sync.Mutex
	suspects   map[string]bool
	housekeeps int
}

// NewScheduler returns a scheduler over store; cfg defaults are filled in.
func NewScheduler(store Store, cfg SchedulerConfig) *Scheduler {
	if cfg.InstanceID == "" {
		cfg.InstanceID = defaultInstanceID()
	}
	if cfg.Threads <= 0 {
		cfg.Threads = 10
	}
	if cfg.MisfireThreshold <= 0 {
		cfg.MisfireThreshold = 5 * time.Second
	}
	if cfg.IdleWait <= 0 {
		cfg.IdleWait = time.Second
	}
	if cfg.CheckInInterval <= 0 {
		cfg.CheckInInterval = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = store.Now
	}
	return &Scheduler{
		store: store,
		cfg:   cfg,
		log:   cfg.Logger.With("instance", cfg.InstanceID),
		wake:  make(chan struct{}, 1),
	}
}

func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "scheduler"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// InstanceID returns the id this scheduler checks in with.
func (s *Scheduler) InstanceID() string { return s.cfg.InstanceID }

// Start checks in and starts the acquisition loop in the background. The loop
// runs until Stop, or until ctx ends (which also cancels running jobs).
func (s *Scheduler) Start(ctx context.Context) error {
	if s.cfg.Runner == nil {
		return errors.New("start scheduler: no Runner")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("start scheduler: already started")
	}
	now, err := s.cfg.Now(ctx)
	if err != nil {
		return fmt.Errorf("start scheduler: %w", err)
	}
	if err := s.store.InstancesCheckIn(ctx, InstancesCheckInParams{ID: s.cfg.InstanceID, Now: now, Interval: s.cfg.CheckInInterval}); err != nil {
		return fmt.Errorf("start scheduler: %w", err)
	}
	loopCtx, cancelLoop := context.WithCancel(ctx)
	jobCtx, cancelJobs := context.WithCancel(ctx)
	s.started, s.cancelLoop, s.cancelJobs = true, cancelLoop, cancelJobs
	s.loopDone = make(chan struct{})
	go s.loop(loopCtx, jobCtx)
	if l, ok := s.store.(Listener); ok {
		s.listening.Add(1)
		go s.listen(loopCtx, l)
	}
	s.log.Info("scheduler started", "threads", s.cfg.Threads)
	return nil
}

// Stop stops acquiring, waits for running jobs until ctx ends, and deregisters
// the instance. When ctx ends first, the jobs' contexts are cancelled and
// ctx's error is returned; their fired triggers stay for peers to recover.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return nil
	}
	s.started = false
	cancelLoop, cancelJobs, loopDone := s.cancelLoop, s.cancelJobs, s.loopDone
	s.mu.Unlock()

	cancelLoop()
	<-loopDone // the loop never blocks on anything but the store
	s.listening.Wait()
	done := make(chan struct{})
	go func() { s.jobs.Wait(); close(done) }()
	var waitErr error
	select {
	case <-done:
	case <-ctx.Done():
		waitErr = fmt.Errorf("stop scheduler: %d jobs still running: %w", s.Running(), ctx.Err())
		s.log.Warn("scheduler stopped before its jobs finished", "running", s.Running())
	}
	cancelJobs()
	rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.InstancesRemove(rmCtx, s.cfg.InstanceID); err != nil {
		return errors.Join(waitErr, fmt.Errorf("stop scheduler: %w", err))
	}
	s.log.Info("scheduler stopped")
	return waitErr
}

// Pause stops acquiring triggers (standby); running jobs go on and the
// instance keeps checking in.
func (s *Scheduler) Pause() { s.paused.Store(true) }

// Resume acquires triggers again after Pause.
func (s *Scheduler) Resume() { s.paused.Store(false); s.Wake() }

// Paused reports whether the scheduler is paused.
func (s *Scheduler) Paused() bool { return s.paused.Load() }

// Wake interrupts the loop's sleep, e.g. after a trigger was added.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Running returns the number of jobs executing now.
func (s *Scheduler) Running() int { return int(s.running.Load()) }

func (s *Scheduler) groups() []string {
	if s.cfg.Groups == nil {
		return nil
	}
	return s.cfg.Groups()
}

// loop is the acquisition loop: check in and recover when due, claim up to
// the free threads' worth of due triggers, run them, and sleep until the next
// fire time, IdleWait or Wake.
func (s *Scheduler) loop(ctx, jobCtx context.Context) {
	defer close(s.loopDone)
	nextHousekeep := time.Now() // recover dead peers right away
	for ctx.Err() == nil {
		sleep := s.cfg.IdleWait
		now, err := s.cfg.Now(ctx)
		readAt := time.Now() // to age now by the local monotonic clock
		if err == nil && !readAt.Before(nextHousekeep) {
			nextHousekeep = readAt.Add(s.cfg.CheckInInterval)
			s.housekeep(ctx, now)
			now, err = s.cfg.Now(ctx) // housekeeping took time
			readAt = time.Now()
		}
		if err != nil {
			s.logErr(ctx, "read clock", err)
			s.sleep(ctx, sleep)
			continue
		}
		sleep = min(sleep, time.Until(nextHousekeep))
		if !s.Paused() {
			free := s.cfg.Threads - s.Running()
			acquired := 0
			if free > 0 {
				fired, err := s.store.TriggersAcquireNext(ctx, TriggersAcquireNextParams{
					InstanceID: s.cfg.InstanceID, Now: now, MaxCount: free,
					Groups: s.groups(), MisfireThreshold: s.cfg.MisfireThreshold,
				})
				if err != nil {
					s.logErr(ctx, "acquire triggers", err)
					s.sleep(ctx, sleep) // back off for IdleWait
					continue
				}
				for _, f := range fired {
					s.run(jobCtx, f)
				}
				acquired = len(fired)
			}
			if free > acquired {
				// Threads left: sleep until the next fire time. When threads are
				// all busy, a finishing job wakes the loop.
				next, ok, err := s.store.TriggersNextFireTime(ctx, TriggersNextFireTimeParams{Groups: s.groups()})
				if err != nil {
					s.logErr(ctx, "next fire time", err)
				} else if ok {
					until := next.Sub(now) - time.Since(readAt)
					if until <= 0 && acquired == 0 {
						// Due but not claimed (another instance holds it): back off briefly.
						until = min(10*time.Millisecond, s.cfg.IdleWait)
					}
					sleep = min(sleep, until)
				}
			}
		}
		s.sleep(ctx, sleep)
	}
}

// listen wakes the loop whenever a trigger of one of this instance's groups
// is upserted anywhere, reconnecting after a failure, until ctx ends.
func (s *Scheduler) listen(ctx context.Context, l Listener) {
	defer s.listening.Done()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		started := time.Now()
		err := l.TriggersListen(ctx, func(group string) {
			if s.wants(group) {
				s.Wake()
			}
		})
		if errors.Is(err, ErrListenUnsupported) || ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		s.logErr(ctx, "listen for triggers (polling goes on)", err)
		s.sleepCtx(ctx, backoff)
		backoff = min(2*backoff, s.cfg.IdleWait*5)
	}
}

// wants reports whether this instance runs triggers of group ("" from a
// listener means: anything may have changed).
func (s *Scheduler) wants(group string) bool {
	gs := s.groups()
	if gs == nil || group == "" {
		return true
	}
	for _, g := range gs {
		if g == group {
			return true
		}
	}
	return false
}

// sleepCtx waits for d or the end of ctx (a Wake does not cut it short).
func (s *Scheduler) sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// housekeep checks in and, with recovery enabled, recovers dead peers.
func (s *Scheduler) housekeep(ctx context.Context, now time.Time) {
	if err := s.store.InstancesCheckIn(ctx, InstancesCheckInParams{ID: s.cfg.InstanceID, Now: now, Interval: s.cfg.CheckInInterval}); err != nil {
		s.logErr(ctx, "check in", err)
	}
	if s.cfg.InstanceTimeout <= 0 {
		return
	}
	res, err := s.store.InstancesRecover(ctx, InstancesRecoverParams{Self: s.cfg.InstanceID, Now: now, Timeout: s.cfg.InstanceTimeout})
	if err != nil {
		s.logErr(ctx, "recover instances", err)
	} else if len(res.InstanceIDs)+len(res.JobKeys) > 0 {
		s.log.Warn("recovered dead scheduler instances", "dead", res.InstanceIDs, "jobs", res.JobKeys)
	}
	if s.housekeeps++; s.housekeeps%sweepEvery == 0 {
		if err := s.SweepOrphans(ctx); err != nil {
			s.logErr(ctx, "sweep orphaned fired triggers", err)
		}
	}
}

// SweepOrphans deletes this instance's fired triggers that no running fire
// holds: their job ran, but the completion was lost with the database. Left
// there, they would fire the job again when a peer recovers this instance.
// A fired trigger is deleted only when two sweeps in a row find it, so a
// fire being started is never taken for an orphan. Housekeeping calls it
// every few check-ins; it is exported for tests.
func (s *Scheduler) SweepOrphans(ctx context.Context) error {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	fired, err := s.store.FiredTriggersList(ctx)
	if err != nil {
		return err
	}
	prev := s.suspects
	s.suspects = map[string]bool{}
	for _, f := range fired {
		if f.InstanceID != s.cfg.InstanceID {
			continue
		}
		if _, running := s.inflight.Load(f.FireID); running {
			continue
		}
		if !prev[f.FireID] {
			s.suspects[f.FireID] = true
			continue
		}
		if err := s.store.FiredTriggersComplete(ctx, f.FireID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		s.log.Warn("deleted a fired trigger that no running fire held", "job", f.JobKey, "fire", f.FireID)
		if s.cfg.OnOrphanDeleted != nil {
			s.cfg.OnOrphanDeleted(ctx, f)
		}
	}
	return nil
}

func (s *Scheduler) logErr(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return // stopping
	}
	s.log.Error("scheduler: "+what, "err", err)
}

// sleep waits for d, a Wake, or the end of ctx.
func (s *Scheduler) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.wake:
	case <-ctx.Done():
	}
}

// run executes one fire on its own goroutine and completes it when the runner returns.
func (s *Scheduler) run(ctx context.Context, f FiredTrigger) {
	s.running.Add(1)
	s.jobs.Add(1)
	s.inflight.Store(f.FireID, true)
	go func() {
		defer s.jobs.Done()
		defer s.inflight.Delete(f.FireID)
		defer s.Wake()
		defer s.running.Add(-1)
		log := s.log.With("job", f.JobKey, "fire", f.FireID)
		if err := s.invoke(ctx, f); err != nil {
			log.Error("job failed", "err", err)
		}
		if ctx.Err() != nil {
			// Cut short by Stop or by the end of Start's context: leave the fire
			// to peers, which recover it once this instance times out.
			log.Warn("job interrupted by shutdown; its fire is left for recovery")
			return
		}
		if err := s.complete(ctx, f.FireID); err != nil {
			if errors.Is(err, ErrNotFound) {
				log.Warn("fired trigger was recovered by another instance while this one ran it; is the clock or a pause skewing check-ins?")
			} else {
				log.Error("complete fired trigger", "err", err)
			}
		}
	}()
}

// complete deletes a fired trigger, trying again with backoff (50 ms
// doubling to 2 s) for up to completeRetryWindow while the store fails.
func (s *Scheduler) complete(ctx context.Context, fireID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeRetryWindow)
	defer cancel()
	wait := 50 * time.Millisecond
	for {
		err := s.store.FiredTriggersComplete(ctx, fireID)
		if err == nil || errors.Is(err, ErrNotFound) || ctx.Err() != nil {
			return err
		}
		s.sleepCtx(ctx, wait)
		wait = min(2*wait, 2*time.Second)
	}
}

// invoke calls the runner, turning a panic into an error.
func (s *Scheduler) invoke(ctx context.Context, f FiredTrigger) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("job panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return s.cfg.Runner(ctx, f)
}
