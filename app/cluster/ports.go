// Package cluster is the cluster manager: it registers this node, checks in
// every nodeRegistrationInterval, judges conformance, detects dead nodes by
// the database clock and has their work recovered.
package cluster

import (
	"context"
	"time"

	"cadre/domain/cluster"
)

// NodeStore persists node rows. Every time it takes or returns is the database clock.
type NodeStore interface {
	// Now reads the database clock.
	Now(ctx context.Context) (time.Time, error)
	NodesList(ctx context.Context) ([]*cluster.Node, error)
	NodesGet(ctx context.Context, id string) (*cluster.Node, error)
	// NodesRegister locks the row of n.ID, calls judge with it (nil if absent)
	// and every other node at database time, and, unless judge fails, writes n
	// with LastCheckIn = StartedAt = database now. It keeps an existing secret
	// and urlOverride when n has none.
	NodesRegister(ctx context.Context, n *cluster.Node, judge func(existing *cluster.Node, others []*cluster.Node, now time.Time) error) error
	// NodesCheckIn sets last check-in to database now and writes the node's
	// state fields, only while the row still belongs to internalID
	// (cluster.ErrTakenOver otherwise). It reports whether peers had marked it DOWN.
	NodesCheckIn(ctx context.Context, n *cluster.Node) (wasDown bool, err error)
	// NodesMarkDown flips a node that has not checked in since deadBefore to
	// DOWN; it reports whether this call did it (one winner per death).
	NodesMarkDown(ctx context.Context, id string, deadBefore time.Time) (bool, error)
	// NodesMarkCrashed flips the row of instance internalID of node id to
	// DOWN unless it is DOWN already or belongs to another instance; it
	// reports whether this call did it (one winner per death).
	NodesMarkCrashed(ctx context.Context, id, internalID string) (bool, error)
	// NodesSetURLOverride writes node id's urlOverride ("" clears it);
	// cluster.ErrNotFound when there is no such node.
	NodesSetURLOverride(ctx context.Context, id, override string) error
	// NodesSetDown marks this instance's own row DOWN (graceful stop).
	NodesSetDown(ctx context.Context, id, internalID string) error
	NodesDelete(ctx context.Context, id string) error
}

// Recoverer makes a dead node's work runnable elsewhere.
type Recoverer interface {
	RecoverNode(ctx context.Context, node string) (tasks int, buckets int64, err error)
	Maintain(ctx context.Context) error
}

// Scheduler is the local job scheduler's on/off switch.
type Scheduler interface {
	Pause()
	Resume()
	Paused() bool
}

// URLSource gives the system configuration's intraClusterHttpUrlPattern.
type URLSource interface {
	IntraClusterURLPattern(ctx context.Context) string
}

// LockProbe tells which nodes' liveness locks are free (PostgreSQL). A lock is
// held by its node's dedicated connection for as long as the process lives;
// the database frees it when the process dies.
type LockProbe interface {
	// FreeLocks returns the keys among keys that nobody holds; probing takes
	// and releases each one at once, so it never keeps a node from its lock.
	FreeLocks(ctx context.Context, keys []int64) ([]int64, error)
}

// StatusProbe asks a node's signed status endpoint whether its process is there.
type StatusProbe interface {
	// Refused reports whether connecting to the node's URL is refused: nothing
	// listens there. A timeout, an error answer or any other failure is not a
	// refusal (a hung or cut-off node is judged by its lease).
	Refused(ctx context.Context, n cluster.Node) bool
}
