package repository

import (
	"context"
	"sync"
	"time"

	"cadre/domain/object"
)

// Effect is what a committed change means for the other nodes, as the
// change log records it.
type Effect string

// Effects of a change on other nodes.
const (
	// EffectCache: a globally cached object changed; drop it.
	EffectCache Effect = "cache"
	// EffectRefresh: the user's cached principals must be rebuilt.
	EffectRefresh Effect = "refresh"
	// EffectEnd: the user was disabled or deleted; its sessions end.
	EffectEnd Effect = "end"
	// EffectRefreshAll: a role changed; every cached principal is rebuilt.
	EffectRefreshAll Effect = "refresh-all"
)

// LogEntry is one row of the change log: a committed change other nodes
// must act on. A Store writes it in the transaction of the change itself.
type LogEntry struct {
	Seq    int64
	Type   object.Type
	OID    string
	Effect Effect
	NodeID string    // the node that made the change
	At     time.Time // the database clock at the insert
}

// Classifier says whether a change goes to the change log and with which
// effect. Before is nil on add and delete, and on a modify written in a
// batch (WriteMany) by a caller that did not hand it down (BeforeOf), where
// the classifier must assume the worst.
type Classifier func(Change) (Effect, bool)

// LogReader reads the change log, for a node following it.
type LogReader interface {
	// ChangeLogAfter returns up to limit entries with seq > after in seq
	// order, and the database clock at the read.
	ChangeLogAfter(ctx context.Context, after int64, limit int) ([]LogEntry, time.Time, error)
	// ChangeLogHead returns the highest seq written so far (0 for none).
	ChangeLogHead(ctx context.Context) (int64, error)
}

// ChangeSeqs collects the change log sequence numbers of the changes made
// under a context, by OID, so the service can hand each change's seq to its
// listeners and an HTTP response can name the last one.
type ChangeSeqs struct {
	parent *ChangeSeqs

	mu      sync.Mutex
	byOID   map[string]int64
	max     int64
	befores map[string]object.Object // objects as read, for a batch write
}

type changeSeqsKey struct{}

// WithChangeSeqs returns a context whose stores record the seqs of the
// changes they log into the returned collector (and into any collector of
// an enclosing context).
func WithChangeSeqs(ctx context.Context) (context.Context, *ChangeSeqs) {
	parent, _ := ctx.Value(changeSeqsKey{}).(*ChangeSeqs)
	c := &ChangeSeqs{parent: parent, byOID: map[string]int64{}}
	return context.WithValue(ctx, changeSeqsKey{}, c), c
}

// RecordChangeSeq is called by a Store for each change log row it wrote
// (after the commit).
func RecordChangeSeq(ctx context.Context, oid string, seq int64) {
	for c, _ := ctx.Value(changeSeqsKey{}).(*ChangeSeqs); c != nil; c = c.parent {
		c.mu.Lock()
		c.byOID[oid] = max(c.byOID[oid], seq)
		c.max = max(c.max, seq)
		c.mu.Unlock()
	}
}

// BeforeOf is the object as it was read before a batch write changed it,
// as the service handed it down (nil: unknown); a Store that writes a batch
// classifies the change with it.
func BeforeOf(ctx context.Context, oid string) object.Object {
	c, _ := ctx.Value(changeSeqsKey{}).(*ChangeSeqs)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.befores[oid]
}

func (c *ChangeSeqs) setBefore(oid string, o object.Object) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.befores == nil {
		c.befores = map[string]object.Object{}
	}
	c.befores[oid] = o
}

// Of is the seq logged for an object (0: none).
func (c *ChangeSeqs) Of(oid string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byOID[oid]
}

// Max is the highest seq recorded (0: none).
func (c *ChangeSeqs) Max() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}
