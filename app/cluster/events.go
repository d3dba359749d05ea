package cluster

import (
	"context"
	"fmt"
	"time"

	"cadre/domain/cluster"
)

// EventStore keeps the cluster's activity where every node reads it.
type EventStore interface {
	EventsAdd(ctx context.Context, e cluster.Event) error
}

// eventTimeout bounds the write of one event: activity is worth a line in
// the log, never a stalled check-in.
const eventTimeout = 2 * time.Second

// SetEvents makes the manager record what happens in the cluster (nodes
// joining, leaving and dying, recoveries, scheduler switches, conformance
// errors); without it nothing is recorded.
func (m *Manager) SetEvents(s EventStore) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = s
}

// emit records an event with this node as the actor; a failure is logged.
func (m *Manager) emit(ctx context.Context, kind cluster.EventKind, node, message string, took time.Duration) {
	m.mu.Lock()
	s, actor := m.events, m.self.ID
	m.mu.Unlock()
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventTimeout)
	defer cancel()
	e := cluster.Event{Kind: kind, Node: node, Actor: actor, Message: message, Millis: took.Milliseconds()}
	if err := s.EventsAdd(ctx, e); err != nil {
		m.log.Warn("record cluster event", "kind", kind, "about", node, "err", err)
	}
}

// recoverDead has a node this one declared dead recovered, and records who
// declared it, why, and how long the recovery took.
func (m *Manager) recoverDead(ctx context.Context, id, why string) error {
	start := time.Now()
	tasks, buckets, err := m.rec.RecoverNode(ctx, id)
	took := time.Since(start)
	msg := fmt.Sprintf("declared dead by %s (%s); %d task(s) and %d bucket(s) handed back in %d ms", m.Self().ID, why, tasks, buckets, took.Milliseconds())
	if err != nil {
		msg = fmt.Sprintf("declared dead by %s (%s); recovering its work failed: %v", m.Self().ID, why, err)
	}
	m.emit(ctx, cluster.EventNodeDead, id, msg, took)
	if err != nil {
		return fmt.Errorf("recover node %s: %w", id, err)
	}
	return nil
}
