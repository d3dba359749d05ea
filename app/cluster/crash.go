package cluster

import (
	"context"
	"errors"
	"time"

	"cadre/domain/cluster"
)

// DefaultProbeInterval is how often a node probes its peers' liveness locks
// when nodeRegistrationInterval is longer: a crashed peer is noticed within
// about this long plus one status call, whatever the check-in interval.
const DefaultProbeInterval = 250 * time.Millisecond

// statusTimeout bounds the status call that confirms a crash.
const statusTimeout = time.Second

// SetCrashDetection turns on crash detection by liveness locks (DESIGN §3):
// every probe interval, and at once when Suspect names a node, the locks of
// the peers that advertise one are probed; a free lock counts as death only
// when the node's status endpoint refuses the connection too. Call before Start.
func (m *Manager) SetCrashDetection(locks LockProbe, status StatusProbe) {
	m.locks, m.status = locks, status
	m.suspects = make(chan string, 16)
}

// Suspect asks for an immediate probe of node id, e.g. after a peer call to
// it was refused. It never blocks.
func (m *Manager) Suspect(id string) {
	if m.suspects == nil {
		return
	}
	select {
	case m.suspects <- id:
	default: // a probe is already due
	}
}

func (m *Manager) probeInterval() time.Duration {
	p := m.cfg.ProbeInterval
	if p <= 0 {
		p = DefaultProbeInterval
	}
	return min(p, m.cfg.Interval)
}

// watch probes the peers' liveness locks until ctx ends.
func (m *Manager) watch(ctx context.Context) {
	defer close(m.watchDone)
	tick := time.NewTicker(m.probeInterval())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-m.suspects:
		}
		if err := m.probeCrashes(ctx); err != nil && ctx.Err() == nil {
			m.log.Debug("liveness lock probe", "err", err)
		}
	}
}

// probeCrashes declares dead the peers whose liveness lock is free and whose
// URL refuses connections, and has their work recovered. It returns the
// nodes it declared dead.
func (m *Manager) probeCrashes(ctx context.Context) error {
	if !m.CanSchedule() {
		return nil
	}
	m.mu.Lock()
	selfID := m.self.ID
	byKey := map[int64]cluster.Node{}
	var keys []int64
	for _, n := range m.nodes {
		if n.ID == selfID || n.OperationalState == cluster.Down || n.LivenessLock == 0 {
			continue
		}
		byKey[n.LivenessLock] = *n
		keys = append(keys, n.LivenessLock)
	}
	m.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	free, err := m.locks.FreeLocks(ctx, keys)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range free {
		n := byKey[k]
		sctx, cancel := context.WithTimeout(ctx, statusTimeout)
		refused := m.status.Refused(sctx, n)
		cancel()
		if !refused {
			// The process answers (or may be hung): its lock connection
			// dropped and it re-takes it; the lease decides otherwise.
			m.log.Debug("liveness lock free but the node's URL does not refuse; leaving it to its lease", "peer", n.ID, "url", n.URL)
			continue
		}
		won, err := m.store.NodesMarkCrashed(ctx, n.ID, n.InternalID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !won {
			continue
		}
		m.log.Warn("node is dead: its process is gone (liveness lock released, its URL refuses connections); recovering its work",
			"deadNode", n.ID, "url", n.URL, "lastCheckIn", n.LastCheckIn)
		m.markLocalDown(n.ID)
		if err := m.recoverDead(ctx, n.ID, "its process is gone: liveness lock released, its URL refuses connections"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// markLocalDown updates the last-read rows so that no second probe judges a
// node already declared dead.
func (m *Manager) markLocalDown(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, n := range m.nodes {
		if n.ID == id {
			c := *n
			c.OperationalState = cluster.Down
			m.nodes[i] = &c
		}
	}
}
