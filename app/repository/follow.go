package repository

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Follower makes a node apply every change log entry written by other
// nodes, whether or not the signed push for it arrived.
//
// Every Tick reads the entries after floor in one indexed query (seq >
// floor ORDER BY seq LIMIT batch). Everything at or below floor has been
// applied. Entries above it are remembered by seq, so an entry that came by
// push, or that a tick read already, is applied once.
//
// Sequence numbers are not visible in order: on PostgreSQL two
// transactions take seq 7 and 8, and 8 may commit first; a reader that
// moved its floor to 8 would never see 7. So floor only moves over a seq
// that was applied, or over a missing one (a hole) that stayed missing for
// HoleWait: a hole is either a transaction still committing (it shows up
// within milliseconds; the seq is taken at the end of the change's
// transaction) or one that rolled back, whose seq never appears. Until
// then every tick reads again from below the hole, which costs a few
// already-applied rows.
//
// A node that could not read the log for longer than MaxAway may have
// missed entries already pruned: it drops every cache and principal
// (DropAll) and starts again from the head. A node that starts afresh has
// empty caches and starts at the head too.
type Follower struct {
	Reader LogReader
	// Self is this node's id: its own entries were applied when they were made.
	Self string
	// Apply applies one entry of another node.
	Apply func(LogEntry)
	// DropAll drops every cache and cached principal.
	DropAll func()
	// Lag is told, once per entry of another node, the time from the
	// entry's commit to this node applying it (database clock).
	Lag func(time.Duration)
	// Missed is told how many entries a tick applied from the log whose
	// push had not arrived within PushGrace.
	Missed func(n int)
	// Now is the local clock (monotonic intervals only).
	Now func() time.Time

	HoleWait  time.Duration // default 5 s
	MaxAway   time.Duration // default 5 min
	PushGrace time.Duration // default 2 s
	Batch     int           // default 500

	mu      sync.Mutex
	floor   int64
	above   map[int64]*followed
	pending map[int64]time.Time // applied from the log, push not seen yet
	lastOK  time.Time
	changed chan struct{} // closed and replaced when floor or above change
}

type followed struct {
	applied   time.Time // local clock; zero while a hole
	holeSince time.Time
	pushed    bool
	measured  bool
}

func (f *Follower) defaults() {
	if f.Now == nil {
		f.Now = time.Now
	}
	if f.HoleWait <= 0 {
		f.HoleWait = 5 * time.Second
	}
	if f.MaxAway <= 0 {
		f.MaxAway = 5 * time.Minute
	}
	if f.PushGrace <= 0 {
		f.PushGrace = 2 * time.Second
	}
	if f.Batch <= 0 {
		f.Batch = 500
	}
}

// Start begins at the head of the log: the node has cached nothing yet.
func (f *Follower) Start(ctx context.Context) error {
	f.defaults()
	head, err := f.Reader.ChangeLogHead(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restart(head)
	return nil
}

func (f *Follower) restart(head int64) {
	f.floor, f.above, f.pending, f.lastOK = head, map[int64]*followed{}, map[int64]time.Time{}, f.Now()
	f.signal()
}

func (f *Follower) signal() {
	if f.changed != nil {
		close(f.changed)
	}
	f.changed = make(chan struct{})
}

// Applied is the floor: every entry at or below it has been applied.
func (f *Follower) Applied() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.floor
}

// Pushed records that the push of entry seq arrived and was applied.
func (f *Follower) Pushed(seq int64) { f.mark(seq, true) }

// Made records that this node made the change of entry seq and applied it
// already, so a request waiting for it on this node goes on at once.
func (f *Follower) Made(seq int64) { f.mark(seq, false) }

func (f *Follower) mark(seq int64, pushed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.above == nil || seq <= f.floor {
		return
	}
	delete(f.pending, seq)
	e := f.above[seq]
	if e == nil {
		e = &followed{}
		f.above[seq] = e
	}
	e.pushed = e.pushed || pushed
	if e.applied.IsZero() {
		e.applied = f.Now()
	}
	f.signal()
}

// Wait returns once entry seq has been applied on this node (true), or
// when ctx ends (false).
func (f *Follower) Wait(ctx context.Context, seq int64) bool {
	for {
		f.mu.Lock()
		if f.above == nil { // not started: a single node applies its own changes
			f.mu.Unlock()
			return true
		}
		done := seq <= f.floor
		if e := f.above[seq]; e != nil && !e.applied.IsZero() {
			done = true
		}
		ch := f.changed
		f.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// Tick reads and applies the entries this node has not applied yet.
func (f *Follower) Tick(ctx context.Context) error {
	f.mu.Lock()
	away := f.Now().Sub(f.lastOK) > f.MaxAway
	after := f.floor
	f.mu.Unlock()
	if away {
		head, err := f.Reader.ChangeLogHead(ctx)
		if err != nil {
			return err
		}
		f.DropAll()
		f.mu.Lock()
		f.restart(head)
		f.mu.Unlock()
		return fmt.Errorf("%w: no change log read for over %s; dropped every cache and principal", ErrLogGap, f.MaxAway)
	}
	for {
		entries, dbNow, err := f.Reader.ChangeLogAfter(ctx, after, f.Batch)
		if err != nil {
			return err
		}
		f.apply(entries, dbNow)
		if len(entries) < f.Batch {
			break
		}
		after = entries[len(entries)-1].Seq
	}
	f.mu.Lock()
	f.lastOK = f.Now()
	missed := f.advance()
	f.mu.Unlock()
	if missed > 0 && f.Missed != nil {
		f.Missed(missed)
	}
	return nil
}

// ErrLogGap says the follower had to drop everything.
var ErrLogGap = fmt.Errorf("change log gap")

func (f *Follower) apply(entries []LogEntry, dbNow time.Time) {
	for _, en := range entries {
		f.mu.Lock()
		if en.Seq <= f.floor {
			f.mu.Unlock()
			continue
		}
		e := f.above[en.Seq]
		if e == nil {
			e = &followed{}
			f.above[en.Seq] = e
		}
		fresh := e.applied.IsZero()
		own := en.NodeID == f.Self
		now := f.Now()
		if fresh {
			e.applied = now
			if !own {
				f.pending[en.Seq] = now
			}
		}
		measure := !own && !e.measured
		e.measured = true
		lag := dbNow.Sub(en.At) - now.Sub(e.applied)
		f.mu.Unlock()
		if fresh && !own {
			f.Apply(en)
		}
		if measure && f.Lag != nil && !dbNow.IsZero() {
			f.Lag(max(lag, 0))
		}
	}
}

// advance moves floor over applied entries and expired holes, and counts
// the entries applied from the log whose push never came; f.mu is held.
func (f *Follower) advance() int {
	now := f.Now()
	var high int64
	for seq := range f.above {
		high = max(high, seq)
	}
	for seq := f.floor + 1; seq < high; seq++ { // every hole starts waiting now
		if e := f.above[seq]; e == nil {
			f.above[seq] = &followed{holeSince: now}
		} else if e.applied.IsZero() && e.holeSince.IsZero() {
			e.holeSince = now
		}
	}
	moved := false
	for f.floor < high {
		next := f.floor + 1
		if e := f.above[next]; e.applied.IsZero() && now.Sub(e.holeSince) < f.HoleWait {
			break
		}
		delete(f.above, next)
		f.floor, moved = next, true
	}
	if moved {
		f.signal()
	}
	missed := 0
	for seq, at := range f.pending {
		if now.Sub(at) >= f.PushGrace {
			missed++
			delete(f.pending, seq)
		}
	}
	return missed
}
