package node

import (
	"context"
	"fmt"
	"sync"
)

// lifetime owns the node's background goroutines: peer broadcasts, remote
// task stops, samples, event writes, the HTTP server's loop. Each runs with
// a context derived from the node's root context, which stop cancels; stop
// then waits for every one of them, so none outlives Node.Stop or touches a
// closed database.
type lifetime struct {
	// root is the node's root context. It is kept here, against the usual
	// rule, because it is the one context every background goroutine derives
	// from, as http.Server's BaseContext is.
	root   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

func newLifetime() *lifetime {
	root, cancel := context.WithCancel(context.Background())
	return &lifetime{root: root, cancel: cancel}
}

// Context is the node's root context, for work done in place that must end
// with the node.
func (l *lifetime) Context() context.Context { return l.root }

// Go runs f on a goroutine the node waits for at stop, with the node's root
// context. Once stop has begun it runs nothing and reports false.
func (l *lifetime) Go(f func(ctx context.Context)) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f(l.root)
	}()
	return true
}

// stop cancels the root context and waits until every goroutine started by
// Go has returned, or until ctx ends.
func (l *lifetime) stop(ctx context.Context) error {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.cancel()
	done := make(chan struct{})
	go func() { // ends with the last owned goroutine
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for background work: %w", ctx.Err())
	}
}
