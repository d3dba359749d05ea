package taskmanager

import (
	"context"
	"errors"
	"time"

	"cadre/domain/task"
)

// Defaults of bucket prefetching.
const (
	// DefaultClaimBudget is how much work, by the worker's measured bucket
	// time, one claim takes ahead: fast buckets are claimed by the dozen,
	// slow ones one at a time, so no worker hoards what others could run.
	DefaultClaimBudget = 50 * time.Millisecond
	// DefaultMaxClaim bounds the buckets one claim takes.
	DefaultMaxClaim = 64
	// maxOutstanding bounds a worker's completions not yet written.
	maxOutstanding = 1024
)

// bucketWorker is one run of a worker task: it claims buckets in batches
// sized by how long its buckets take, runs them one after another, and hands
// each finished bucket to the node's completer without waiting for the write.
type bucketWorker struct {
	m   *Manager
	w   *task.Task
	h   Handler
	run *localRun

	base        *Run          // what every bucket's Run shares
	queue       []task.Bucket // claimed, not started
	avg         time.Duration // moving average of a bucket's run time; 0 = none measured yet
	results     chan completionResult
	outstanding int
	items, errs int64 // of counted completions
}

// runWorker claims buckets first-come-first-served until none is READY.
func (m *Manager) runWorker(ctx context.Context, w *task.Task, r *localRun) error {
	h, err := m.handler(w.Handler)
	if err != nil {
		return m.finish(ctx, w.OID, task.FatalError, err.Error(), 0, 0, "")
	}
	bw := &bucketWorker{m: m, w: w, h: h, run: r, results: make(chan completionResult, maxOutstanding)}
	// One run context for the whole worker run: its logger and its local
	// cache (objects, queries, versions) serve every bucket and are dropped
	// when the worker ends, as DESIGN §7 has it for a task's run.
	var none int64
	bw.base = m.newRun(w, nil, r, &none, &none)
	stopped, err := bw.loop(ctx)
	// Everything handed to the completer is written (or failed) before the
	// worker says what it did, so the counts below are final.
	bw.drain()
	if err != nil {
		// A store error that is not transient, or the node is stopping:
		// give the buckets back at once (their epochs fence this worker),
		// end this worker, and let the coordinator have a new one.
		return errors.Join(err, m.endWorkerOnError(ctx, w, err, bw.items, bw.errs))
	}
	if stopped || r.isStopping() {
		// Buckets claimed but not finished go back to READY at once.
		if err := m.releaseWorker(ctx, w.OID); err != nil {
			return err
		}
	}
	if r.isStopping() {
		return m.afterStop(ctx, w.OID, bw.items, bw.errs)
	}
	result := task.Success
	if bw.errs > 0 {
		result = task.PartialError
	}
	if err := m.finish(ctx, w.OID, result, "", bw.items, bw.errs, ""); err != nil {
		return err
	}
	return m.afterWorker(ctx, w.Parent)
}

// afterWorker runs when a worker ended: its coordinator closes when every
// bucket is complete, and gets a new worker when READY buckets are left
// with none to take them (buckets given back after this worker last looked,
// by a recovery or the repair pass), instead of waiting for Maintain.
func (m *Manager) afterWorker(ctx context.Context, coordOID string) error {
	// The run first, then its buckets (see checkCoordinatorDone); one count
	// serves both the close and the top-up.
	var coord *task.Task
	if err := m.retry(ctx, func() (err error) {
		coord, err = m.store.TasksGet(ctx, coordOID)
		return err
	}); err != nil {
		if errors.Is(err, task.ErrNotFound) {
			return nil
		}
		return err
	}
	if coord.State != task.Waiting {
		return nil
	}
	var counts BucketCounts
	if err := m.retry(ctx, func() (err error) {
		counts, err = m.store.BucketsCount(ctx, coordOID)
		return err
	}); err != nil {
		return err
	}
	if counts.Ready == 0 { // done, or the other workers are on it
		return m.closeIfDone(ctx, coord, counts)
	}
	return m.ensureWorkersFor(ctx, coord, counts, m.cluster.LiveNodes(ctx))
}

// loop runs buckets until none is READY (waiting while READY buckets wait
// for their retry), the run stops (stopped: a handler left its bucket
// unfinished), or the store fails.
func (bw *bucketWorker) loop(ctx context.Context) (stopped bool, err error) {
	for !bw.run.isStopping() {
		if len(bw.queue) == 0 {
			if err := bw.claim(ctx); err != nil {
				if bw.run.isStopping() {
					return true, nil
				}
				return false, err
			}
			if len(bw.queue) == 0 {
				// Nothing to claim now. A bucket waiting for its retry keeps
				// this worker on, so the task never waits for Maintain.
				waiting, err := bw.awaitRetry(ctx)
				if err != nil {
					return false, err
				}
				if !waiting {
					return false, nil // nothing READY: this worker is done
				}
				continue
			}
		}
		b := bw.queue[0]
		bw.queue = bw.queue[1:]
		if stopped, err := bw.runBucket(ctx, b); stopped || err != nil {
			return stopped, err
		}
	}
	return true, nil
}

// runBucket runs one bucket from its checkpoint, if it has one, and then
// completes it, or puts it back for a retry when it failed with attempts
// left. stopped means the handler left it unfinished.
func (bw *bucketWorker) runBucket(ctx context.Context, b task.Bucket) (stopped bool, err error) {
	m := bw.m
	var items, errs int64
	started := time.Now()
	run := *bw.base
	run.Bucket = &b
	run.Progress = func(i, e int64) { items += i; errs += e; bw.run.beat.moved(i, e, m.now) }
	run.Resume = b.Checkpoint
	var resumed task.Checkpoint
	if b.Checkpoint != nil {
		resumed = *b.Checkpoint
	}
	run.Checkpoint = func(ctx context.Context, position string) error {
		return bw.checkpoint(ctx, b, task.Checkpoint{Items: resumed.Items + items, Errors: resumed.Errors + errs, Position: position})
	}
	runErr := bw.runHandler(ctx, &run, func() { items, errs = 0, 0 })
	switch {
	case errors.Is(runErr, ErrStopped) || errors.Is(runErr, context.Canceled):
		return true, nil // released with the rest of the queue
	case errors.Is(runErr, task.ErrFenced):
		// A checkpoint found the bucket handed to someone else while this
		// node was away: its work is theirs now.
		m.metrics.BucketFenced()
		m.log.Warn("bucket lost to another worker", "task", bw.w.Parent, "bucket", b.Seq, "epoch", b.Epoch)
		return false, nil
	}
	bw.measure(time.Since(started))
	if runErr != nil && b.Attempts+1 < bw.w.Retry.Attempts() {
		return false, bw.retryLater(ctx, b, runErr)
	}
	// The handler did the whole bucket (or failed its last attempt):
	// complete it even if a stop came in meanwhile. If the bucket was
	// reassigned while this node was away, the epoch no longer matches and
	// the completion is fenced. Its counts include the checkpoint it resumed
	// from, which Progress did not report again.
	c := BucketCompletion{TaskOID: bw.w.Parent, Seq: b.Seq, Epoch: b.Epoch, Items: resumed.Items + items, Errors: resumed.Errors + errs}
	if runErr != nil {
		c.Errors++
		c.Error = runErr.Error()
		m.log.Warn("bucket failed", "task", bw.w.Parent, "bucket", b.Seq, "attempts", b.Attempts+1, "err", runErr)
	}
	bw.complete(c)
	return false, bw.collect(false)
}

// runHandler runs a bucket's handler, and runs it again from where the
// bucket started while it fails because the database is away (a transient
// error, Run.Unavailable): a database fault is not the bucket's failure and
// spends none of its attempts. Before a rerun, reset forgets the counts of
// the interrupted one. The worker still holds the bucket meanwhile (its
// epoch fences it if the bucket is handed to someone else).
func (bw *bucketWorker) runHandler(ctx context.Context, run *Run, reset func()) error {
	wait := retryFirstWait
	for {
		err := bw.h.Run(ctx, run)
		if !run.DatabaseAway(err) || bw.run.isStopping() {
			return err
		}
		bw.m.log.Warn("bucket interrupted by a database fault; running it again", "task", bw.w.Parent,
			"bucket", run.Bucket.Seq, "retryIn", wait, "err", err)
		timer := time.NewTimer(jitter(wait))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		wait = min(2*wait, retryMaxWait)
		reset()
	}
}

// claim fills the queue with as many buckets as the claim budget covers.
func (bw *bucketWorker) claim(ctx context.Context) error {
	m := bw.m
	limit := 1
	if bw.avg > 0 {
		limit = int(m.cfg.ClaimBudget / bw.avg)
	} else if m.cfg.MaxClaim > 1 {
		limit = 2 // nothing measured yet: a small first bite
	}
	limit = max(1, min(limit, m.cfg.MaxClaim))
	var bs []task.Bucket
	err := m.retry(ctx, func() (err error) {
		if bw.run.isStopping() {
			return errRunStopping
		}
		bs, err = m.store.BucketsClaim(ctx, BucketsClaimParams{TaskOID: bw.w.Parent, Worker: bw.w.OID, Node: m.cfg.NodeID,
			Now: m.now().UTC(), Limit: limit})
		return err
	})
	if err != nil {
		return err
	}
	for range bs {
		m.metrics.BucketClaimed()
	}
	bw.queue = bs
	return nil
}

// measure folds one bucket's run time into the moving average.
func (bw *bucketWorker) measure(d time.Duration) {
	d = max(d, time.Microsecond)
	if bw.avg == 0 {
		bw.avg = d
		return
	}
	bw.avg = (3*bw.avg + d) / 4
}

// complete hands a finished bucket to the completer, first waiting for
// results if too many are outstanding.
func (bw *bucketWorker) complete(c BucketCompletion) {
	for bw.outstanding >= maxOutstanding {
		bw.take(<-bw.results)
	}
	bw.outstanding++
	bw.m.completer.submit(c, bw.results)
}

// collect takes the results that have arrived; with wait, all of them.
func (bw *bucketWorker) collect(wait bool) error {
	var firstErr error
	for bw.outstanding > 0 {
		var r completionResult
		if wait {
			r = <-bw.results
		} else {
			select {
			case r = <-bw.results:
			default:
				return firstErr
			}
		}
		if err := bw.take(r); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// take accounts for one completion result.
func (bw *bucketWorker) take(r completionResult) error {
	bw.outstanding--
	m := bw.m
	switch {
	case r.err != nil:
		return r.err
	case !r.counted:
		m.metrics.BucketFenced()
		m.log.Warn("bucket completion fenced: it was reassigned while this node was away", "task", r.c.TaskOID, "bucket", r.c.Seq, "epoch", r.c.Epoch)
	default:
		m.metrics.BucketCompleted()
		bw.items += r.c.Items
		bw.errs += r.c.Errors
	}
	return nil
}

// drain writes this worker's outstanding completions now and waits for them.
func (bw *bucketWorker) drain() {
	if bw.outstanding > 0 {
		bw.m.completer.flushSoon()
	}
	if err := bw.collect(true); err != nil {
		bw.m.log.Warn("bucket completions not written; their buckets will be done again", "task", bw.w.Parent, "err", err)
	}
}

// releaseWorker puts a worker's DELEGATED buckets back to READY, retrying
// the database as any transition does.
func (m *Manager) releaseWorker(ctx context.Context, worker string) error {
	ctx = context.WithoutCancel(ctx)
	return m.retry(ctx, func() error {
		_, err := m.store.BucketsReleaseWorker(ctx, worker)
		return err
	})
}

// endWorkerOnError ends a worker whose run failed on the store: its
// buckets go back to READY at once, it closes FATAL_ERROR, and its
// coordinator gets a new worker if READY buckets are left without one.
func (m *Manager) endWorkerOnError(ctx context.Context, w *task.Task, runErr error, items, errs int64) error {
	if err := m.releaseWorker(ctx, w.OID); err != nil {
		// The repair pass releases buckets held by an ended worker.
		m.log.Warn("buckets of a failed worker not released; the repair pass will", "task", w.OID, "err", err)
	}
	if err := m.finish(ctx, w.OID, task.FatalError, runErr.Error(), items, errs, ""); err != nil {
		return err
	}
	return m.Maintain(context.WithoutCancel(ctx))
}
