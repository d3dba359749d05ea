package taskmanager

import (
	"context"
	"sync"
	"time"
)

// Defaults of the completion window.
const (
	// DefaultCompletionWindow is the longest a finished bucket waits before
	// its completion is written together with the others of the window.
	DefaultCompletionWindow = 25 * time.Millisecond
	// DefaultCompletionBatch is the most completions written in one statement;
	// a window that fills up is written at once.
	DefaultCompletionBatch = 500
)

// completer groups the bucket completions of every worker on this node and
// writes each group in one statement, so a bucket costs a fraction of a
// round trip instead of a whole one. A completion waits at most the window
// (or until someone needs it now); a crash loses only the completions not
// yet written, and their buckets are done again, never counted twice,
// because the store counts a completion only for the epoch that holds it.
type completer struct {
	store TaskStore
	now   func() time.Time
	// policy retries failed writes (the manager's, shared).
	policy retryPolicy
	window time.Duration
	batch  int
	// start runs the flushing goroutine on the node's lifetime (Config.Go),
	// so Node.Stop waits for it; false once the node is stopping.
	start func(func(context.Context)) bool

	mu      sync.Mutex
	pending []pendingCompletion
	running bool          // the flushing goroutine is alive
	kick    chan struct{} // write now instead of at the end of the window
}

type pendingCompletion struct {
	c    BucketCompletion
	done chan<- completionResult
}

// completionResult tells a worker what became of one completion: counted,
// fenced (the bucket was handed to someone else), or an error.
type completionResult struct {
	c       BucketCompletion
	counted bool
	err     error
}

func newCompleter(store TaskStore, now func() time.Time, policy retryPolicy, window time.Duration, batch int, start func(func(context.Context)) bool) *completer {
	if window <= 0 {
		window = DefaultCompletionWindow
	}
	if batch <= 0 {
		batch = DefaultCompletionBatch
	}
	return &completer{store: store, now: now, policy: policy, window: window, batch: batch, start: start, kick: make(chan struct{}, 1)}
}

// submit queues a completion; its result arrives on done (which must have
// room for it) once the group it belongs to is written.
func (c *completer) submit(bc BucketCompletion, done chan<- completionResult) {
	c.mu.Lock()
	c.pending = append(c.pending, pendingCompletion{bc, done})
	full := len(c.pending) >= c.batch
	started := true
	if !c.running {
		c.running = true
		if started = c.start(c.run); !started {
			c.running = false
		}
	}
	c.mu.Unlock()
	if !started {
		// The node is stopping and starts no more goroutines: write on
		// the worker's own, so its finished bucket still counts.
		ctx, cancel := context.WithTimeout(context.Background(), c.policy.window)
		c.writePending(ctx)
		cancel()
		return
	}
	if full {
		c.flushSoon()
	}
}

// writePending writes what is pending now, on the caller's goroutine.
func (c *completer) writePending(ctx context.Context) {
	c.mu.Lock()
	group := c.pending
	c.pending = nil
	c.mu.Unlock()
	for len(group) > 0 {
		n := min(len(group), c.batch)
		c.write(ctx, group[:n])
		group = group[n:]
	}
}

// flushSoon ends the current window at once.
func (c *completer) flushSoon() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// run writes a group at the end of every window until nothing is pending;
// the next submit starts it again, so an idle node runs no goroutine for it.
// The node's context only ends the retries of a write while the database
// is away: what it holds are finished buckets, and a node drains its
// workers, so these are written, before it stops.
func (c *completer) run(ctx context.Context) {
	timer := time.NewTimer(c.window)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-c.kick:
		}
		c.mu.Lock()
		group := c.pending
		c.pending = nil
		if len(group) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for len(group) > 0 {
			n := min(len(group), c.batch)
			c.write(ctx, group[:n])
			group = group[n:]
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(c.window)
	}
}

// write records one group, retrying database errors (transient ones until
// ctx ends), and tells every worker what became of its completion.
func (c *completer) write(ctx context.Context, group []pendingCompletion) {
	cs := make([]BucketCompletion, len(group))
	for i, p := range group {
		cs[i] = p.c
	}
	var counted []bool
	err := c.policy.do(ctx, func() (err error) {
		counted, err = c.store.BucketsComplete(context.Background(), cs, c.now().UTC())
		return err
	})
	for i, p := range group {
		r := completionResult{c: p.c, err: err}
		if err == nil {
			r.counted = counted[i]
		}
		p.done <- r
	}
}
