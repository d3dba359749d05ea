package taskmanager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cadre/domain/task"
)

// retryPoll bounds how long a worker sleeps while a bucket waits for its
// retry, so a bucket released meanwhile (a dead node's) is not left waiting.
const retryPoll = time.Second

// retryLater puts a failed bucket back to READY for another attempt after
// its backoff; any worker, on any node, may take it then.
func (bw *bucketWorker) retryLater(ctx context.Context, b task.Bucket, runErr error) error {
	m := bw.m
	delay := bw.w.Retry.Backoff(b.Attempts + 1)
	r := BucketRetry{TaskOID: bw.w.Parent, Seq: b.Seq, Epoch: b.Epoch, Error: runErr.Error(), NotBefore: m.now().UTC().Add(delay)}
	var released bool
	err := m.retry(ctx, func() (err error) {
		released, err = m.store.BucketsRetry(ctx, r)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("release failed bucket %d for a retry: %w", b.Seq, err)
	case !released:
		m.metrics.BucketFenced()
		m.log.Warn("failed bucket was reassigned meanwhile; not retried from here", "task", bw.w.Parent, "bucket", b.Seq, "epoch", b.Epoch)
	default:
		m.log.Warn("bucket failed; retrying after backoff", "task", bw.w.Parent, "bucket", b.Seq,
			"attempt", b.Attempts+1, "maxAttempts", bw.w.Retry.Attempts(), "backoff", delay, "err", runErr)
	}
	return nil
}

// checkpoint records a handler's position in its bucket at the bucket's epoch.
func (bw *bucketWorker) checkpoint(ctx context.Context, b task.Bucket, cp task.Checkpoint) error {
	ok, err := bw.m.store.BucketsCheckpoint(ctx, BucketCheckpoint{TaskOID: bw.w.Parent, Seq: b.Seq, Epoch: b.Epoch, Checkpoint: cp})
	if err != nil {
		// The position stays at the previous checkpoint: a crash costs a
		// little more work done again, nothing counted twice.
		bw.m.log.Warn("checkpoint not written", "task", bw.w.Parent, "bucket", b.Seq, "err", err)
		return nil
	}
	if !ok {
		return fmt.Errorf("%w: bucket %d is no longer held at epoch %d", task.ErrFenced, b.Seq, b.Epoch)
	}
	return nil
}

// awaitRetry waits while the task's only READY buckets wait for their retry:
// until the first may be claimed, retryPoll at most, or the run stops. It
// reports false when no bucket is READY at all.
func (bw *bucketWorker) awaitRetry(ctx context.Context) (bool, error) {
	m := bw.m
	var (
		at    time.Time
		ready bool
	)
	err := m.retry(ctx, func() (err error) {
		if bw.run.isStopping() {
			return errRunStopping
		}
		at, ready, err = m.store.BucketsReadyAt(ctx, bw.w.Parent)
		return err
	})
	if err != nil || !ready {
		return false, err
	}
	// Completions held back in the window are written now: nobody else
	// needs this worker's attention while it waits.
	bw.m.completer.flushSoon()
	wait := min(max(at.Sub(m.now()), 10*time.Millisecond), retryPoll)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false, nil
	case <-bw.run.stopping:
	case <-timer.C:
	}
	return true, nil
}

// standaloneTally counts a standalone run's items: all it reported, and the
// part its checkpoints already added to the task's progress.
type standaloneTally struct {
	items, errs               int64
	countedItems, countedErrs int64
	checkpointed              bool // the task has a checkpoint a rerun resumes from
}

// uncounted is what the run did since its last checkpoint.
func (s *standaloneTally) uncounted() (items, errs int64) {
	return s.items - s.countedItems, s.errs - s.countedErrs
}

// standaloneCheckpoint is Run.Checkpoint of a standalone run: it records the
// position on the task, fenced by the run, and moves what the run did since
// its last checkpoint into the task's progress.
func (m *Manager) standaloneCheckpoint(t *task.Task, tally *standaloneTally) func(ctx context.Context, position string) error {
	var resumed task.Checkpoint
	if t.Checkpoint != nil {
		resumed = *t.Checkpoint
	}
	return func(ctx context.Context, position string) error {
		items, errs := tally.uncounted()
		c := TaskCheckpoint{OID: t.OID, Node: m.cfg.NodeID, RunCount: t.RunCount, Items: items, Errors: errs,
			Checkpoint: task.Checkpoint{Items: resumed.Items + tally.items, Errors: resumed.Errors + tally.errs, Position: position}}
		ok, err := m.store.TasksCheckpoint(ctx, c)
		if err != nil {
			m.log.Warn("checkpoint not written", "task", t.OID, "err", err)
			return nil
		}
		if !ok {
			return fmt.Errorf("%w: task %s no longer runs here", task.ErrFenced, t.OID)
		}
		tally.countedItems, tally.countedErrs, tally.checkpointed = tally.items, tally.errs, true
		return nil
	}
}

// retryRun ends a failed attempt of a standalone run that has attempts left:
// the task goes back to RUNNABLE and fires again after the backoff, through
// the job store, so another node may take it.
func (m *Manager) retryRun(ctx context.Context, t *task.Task, runErr error) error {
	ctx = context.WithoutCancel(ctx)
	delay := t.Retry.Backoff(t.Attempts + 1)
	note := fmt.Sprintf("retrying in %s (attempt %d of %d next)", delay.Round(time.Millisecond), t.Attempts+2, t.Retry.Attempts())
	var updated *task.Task
	err := m.retry(ctx, func() (err error) {
		updated, err = m.store.TasksUpdate(ctx, t.OID, func(t *task.Task) error {
			if t.State != task.Running || t.Node != m.cfg.NodeID {
				return errNotRunnable // suspended or taken over meanwhile
			}
			return t.FailAttempt(runErr.Error(), note)
		})
		return err
	})
	if errors.Is(err, errNotRunnable) || errors.Is(err, task.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("retry task %s: %w", t.OID, err)
	}
	m.log.Warn("task run failed; retrying after backoff", "task", t.OID, "attempt", updated.Attempts,
		"maxAttempts", t.Retry.Attempts(), "backoff", delay, "err", runErr)
	// Through the job store, so whichever node acquires it runs the retry.
	return m.sched.Postpone(ctx, updated, delay)
}
