// Package pgsession is a node's one session connection to PostgreSQL, kept
// outside the pool. It carries what needs a connection of its own for as
// long as the node lives:
//
//   - the node's liveness lock (DESIGN §3): a session-level advisory lock.
//     When the process dies the database ends its session and frees the lock
//     at once, so a peer that can take it (on its pool, pglock.Probe) knows
//     the holder is gone without waiting for a timeout;
//   - LISTEN for the job store's trigger notifications, so a task created on
//     one node starts on another within milliseconds;
//   - the node's check-in (Do), so it never queues behind bulk statements in
//     the pool.
//
// One connection instead of one per purpose keeps a node's share of the
// server's max_connections small. When the connection drops (database
// restart, terminated backend, failover), the session dials again at once,
// takes the lock again and LISTENs again.
package pgsession

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timings of the session.
const (
	// retakeDelay is the pause between attempts to (re)connect or (re)take
	// the lock: after the connection dropped, or while a peer's probe holds
	// the lock for a moment.
	retakeDelay = 50 * time.Millisecond
	// maxBusyDelay bounds the pause between attempts while another session
	// holds the lock.
	maxBusyDelay = time.Second
	// pingEvery is how often an idle session is pinged, to notice a
	// connection the network lost without closing it.
	pingEvery = 5 * time.Second
	// connectTimeout bounds one connection attempt.
	connectTimeout = 5 * time.Second
)

// ErrNotConnected is returned by Do while the session has no connection
// (before the first connect, or while it dials again); the caller uses the
// pool instead.
var ErrNotConnected = errors.New("pgsession: session connection not established")

// Session owns one pgx connection in one goroutine. Statements of other
// goroutines (Do) are handed to that goroutine, which interrupts its wait
// for notifications to run them, so they never wait for a pool.
type Session struct {
	dsn string
	key int64 // liveness lock; 0 takes none
	log *slog.Logger

	held      atomic.Bool
	takes     atomic.Int64
	connected atomic.Bool

	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{} // channel → listeners

	requests chan request
	wake     chan struct{}
	stop     context.CancelFunc
	done     chan struct{}
}

type subscriber struct{ notify func(payload string) }

type request struct {
	ctx   context.Context
	fn    func(ctx context.Context, conn *pgx.Conn) error
	reply chan error
}

// New prepares a session on the database at dsn (a pgx URL). A non-zero
// lockKey is the liveness lock it holds while connected.
func New(dsn string, lockKey int64, log *slog.Logger) *Session {
	if lockKey != 0 {
		log = log.With("livenessLock", lockKey)
	}
	return &Session{dsn: dsn, key: lockKey, log: log, subs: map[string]map[*subscriber]struct{}{},
		requests: make(chan request), wake: make(chan struct{}, 1)}
}

// Held reports whether the liveness lock is held right now.
func (s *Session) Held() bool { return s.held.Load() }

// Takes counts how often the lock was taken (1 after start, more after drops).
func (s *Session) Takes() int64 { return s.takes.Load() }

// Connected reports whether the session has a connection right now.
func (s *Session) Connected() bool { return s.connected.Load() }

// Start connects in the background and keeps the session until Stop. It
// does not wait for the first connection: until then peers see a free lock,
// but the node answers its status endpoint, so they leave it to its lease.
func (s *Session) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop, s.done = cancel, make(chan struct{})
	go s.run(ctx)
	return nil
}

// Stop closes the connection, which releases the lock.
func (s *Session) Stop(ctx context.Context) error {
	if s.stop == nil {
		return nil
	}
	s.stop()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close session connection: %w", ctx.Err())
	}
}

// Do runs fn on the session connection, ahead of waiting for notifications.
// fn must be short (one statement): the connection serves nothing else
// meanwhile. It returns ErrNotConnected at once while there is no connection.
func (s *Session) Do(ctx context.Context, fn func(ctx context.Context, conn *pgx.Conn) error) error {
	if !s.connected.Load() || s.done == nil {
		return ErrNotConnected
	}
	req := request{ctx: ctx, fn: fn, reply: make(chan error, 1)}
	s.poke()
	recheck := time.NewTicker(retakeDelay)
	defer recheck.Stop()
	for sent := false; !sent; {
		select {
		case s.requests <- req:
			sent = true
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrNotConnected
		case <-recheck.C: // the connection dropped meanwhile: do not wait for the next one
			if !s.connected.Load() {
				return ErrNotConnected
			}
			s.poke()
		}
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// QueryRow runs one statement that returns one row on the session
// connection and scans it into dest; ok is false, with nothing run, while the
// session has no connection (gormrepo.PriorityConn: a node's check-in).
func (s *Session) QueryRow(ctx context.Context, query string, args []any, dest ...any) (ok bool, err error) {
	err = s.Do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, query, args...).Scan(dest...)
	})
	if errors.Is(err, ErrNotConnected) {
		return false, nil
	}
	return true, err
}

// Listen calls notify with the payload of every notification on channel
// until ctx ends, and with "" whenever the session starts listening on a
// (new) connection, since notifications sent while nobody listened are
// lost. It returns when ctx ends.
func (s *Session) Listen(ctx context.Context, channel string, notify func(payload string)) error {
	sub := &subscriber{notify: notify}
	s.mu.Lock()
	if s.subs[channel] == nil {
		s.subs[channel] = map[*subscriber]struct{}{}
	}
	s.subs[channel][sub] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs[channel], sub)
		s.mu.Unlock()
	}()
	s.poke() // the session goroutine LISTENs before it waits again
	<-ctx.Done()
	return ctx.Err()
}

func (s *Session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Session) run(ctx context.Context) {
	defer close(s.done)
	failing := false
	for ctx.Err() == nil {
		before := s.takes.Load()
		wasConnected, err := s.session(ctx)
		s.held.Store(false)
		s.connected.Store(false)
		switch {
		case ctx.Err() != nil:
			return
		case wasConnected || s.takes.Load() != before: // it was up: connect again at once
			s.log.Warn("session connection lost (liveness lock, LISTEN, check-ins); connecting again at once", "err", err)
			failing = false
			continue
		case !failing:
			s.log.Warn("session connection not established; retrying", "err", err)
			failing = true
		}
		sleep(ctx, retakeDelay)
	}
}

// session connects, takes the lock, LISTENs and then serves requests and
// notifications until the connection fails or ctx ends. connected says
// whether it got as far as serving.
func (s *Session) session(ctx context.Context) (connected bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	conn, err := pgx.Connect(cctx, s.dsn)
	cancel()
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx) // ends the session: the database frees the lock
	}()
	if err := s.takeLock(ctx, conn); err != nil {
		return false, err
	}
	s.connected.Store(true)
	return true, s.serve(ctx, conn)
}

// takeLock takes the liveness lock, waiting while another session holds it.
func (s *Session) takeLock(ctx context.Context, conn *pgx.Conn) error {
	if s.key == 0 {
		return nil
	}
	busyLogged, wait := false, retakeDelay
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", s.key).Scan(&ok); err != nil {
			return fmt.Errorf("take liveness lock: %w", err)
		}
		if ok {
			break
		}
		if !busyLogged {
			// A peer probing it holds it for an instant; a previous instance
			// of this node whose session the database has not ended yet, longer.
			s.log.Info("liveness lock is held by another session; retrying")
			busyLogged = true
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(2*wait, maxBusyDelay) // a twin may hold it for long: ask less often
	}
	s.held.Store(true)
	if s.takes.Add(1) > 1 {
		s.log.Info("liveness lock re-taken")
	} else {
		s.log.Info("liveness lock taken")
	}
	return nil
}

// serve waits for notifications, runs requests as they come and pings an
// idle connection, until the connection fails or ctx ends.
func (s *Session) serve(ctx context.Context, conn *pgx.Conn) error {
	listening := map[string]bool{} // on this connection
	for {
		if err := s.listenNew(ctx, conn, listening); err != nil {
			return err
		}
		// Serve every request waiting before the next wait.
		for served := true; served; {
			select {
			case req := <-s.requests:
				req.reply <- s.runRequest(conn, req)
				if conn.IsClosed() {
					return errors.New("connection closed during a statement")
				}
			default:
				served = false
			}
		}
		wctx, cancel := context.WithTimeout(ctx, pingEvery)
		go func() { // a request (Do) ends the wait early

			select {
			case <-s.wake:
				cancel()
			case <-wctx.Done():
			}
		}()
		n, err := conn.WaitForNotification(wctx)
		timedOut := errors.Is(wctx.Err(), context.DeadlineExceeded)
		woken := wctx.Err() != nil && !timedOut
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			s.notifyAll1(n.Channel, n.Payload)
		case woken && !conn.IsClosed():
			// A request is waiting; the loop serves it.
		case timedOut && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, connectTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			// Any message, or the connection closing (a terminated backend
			// sends an error first), ends the wait at once.
			return err
		}
	}
}

// listenNew LISTENs on every channel that has listeners and is not listened
// on yet on this connection, and then tells those listeners "" (anything
// may have been sent while nobody listened).
func (s *Session) listenNew(ctx context.Context, conn *pgx.Conn, listening map[string]bool) error {
	for _, ch := range s.channels() {
		if listening[ch] {
			continue
		}
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("listen on %s: %w", ch, err)
		}
		listening[ch] = true
		s.notifyAll1(ch, "")
	}
	return nil
}

func (s *Session) runRequest(conn *pgx.Conn, req request) (err error) {
	if err := req.ctx.Err(); err != nil {
		return err
	}
	return req.fn(req.ctx, conn)
}

func (s *Session) channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for ch, subs := range s.subs {
		if len(subs) > 0 {
			out = append(out, ch)
		}
	}
	return out
}

// notifyAll1 tells every listener of channel.
func (s *Session) notifyAll1(channel, payload string) {
	s.mu.Lock()
	var fs []func(string)
	for sub := range s.subs[channel] {
		fs = append(fs, sub.notify)
	}
	s.mu.Unlock()
	for _, f := range fs {
		f(payload)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
