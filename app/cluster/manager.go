package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"cadre/domain/cluster"
	"cadre/domain/task"
)

// Prober asks a node's URL which instance answers there.
type Prober interface {
	// Instance returns the internal id of the instance serving url.
	Instance(ctx context.Context, url string) (string, error)
}

// Config of the cluster manager.
type Config struct {
	Clustered                  bool
	Hostname                   string
	HTTPPort                   int
	Scheme                     string
	Path                       string // server.servlet.context-path: $path of the URL pattern
	ConfigURL                  string
	Version                    string
	SchemaVersion              int
	Interval                   time.Duration // nodeRegistrationInterval
	Timeout                    time.Duration // nodeTimeout
	LocalNodeClusteringEnabled bool
	ExecutionGroups            []string
	// ExecutionLimits are the node's effective taskExecutionLimitations,
	// written into its row for every node's dashboard.
	ExecutionLimits []task.GroupLimit
	// LivenessLock is the key of the liveness lock this node holds (0 = none,
	// e.g. on SQLite); it is written into the node row so peers probe it.
	LivenessLock int64
	// ProbeInterval is how often peers' liveness locks are probed; default
	// DefaultProbeInterval, never longer than Interval.
	ProbeInterval time.Duration
	// Settings must match cluster-wide; differences are warned about.
	Settings map[string]string
}

// Manager registers and keeps this node in the cluster.
type Manager struct {
	cfg    Config
	store  NodeStore
	rec    Recoverer
	sched  Scheduler
	urls   URLSource
	prober Prober
	log    *slog.Logger

	// checkingIn serialises check-ins: the periodic one and an operator's
	// scheduler stop or start each write the state they read, so without it
	// a slower periodic check-in could write a state the operator just changed.
	checkingIn sync.Mutex

	mu         sync.Mutex
	self       cluster.Node
	registered bool
	nodes      []*cluster.Node
	dbNow      time.Time
	paused     bool // scheduler stopped by an operator
	stop       context.CancelFunc
	done       chan struct{}
	watchDone  chan struct{}
	beatDone   chan struct{}
	// checkedIn is when the last check-in succeeded (local monotonic clock).
	checkedIn time.Time
	onChange  []func()
	events    EventStore // nil: no activity recorded

	locks    LockProbe
	status   StatusProbe
	suspects chan string
}

// New builds the manager for node id (already resolved) with a fresh internal id.
func New(cfg Config, id, internalID string, store NodeStore, rec Recoverer, sched Scheduler, urls URLSource, prober Prober, log *slog.Logger) *Manager {
	return &Manager{cfg: cfg, store: store, rec: rec, sched: sched, urls: urls, prober: prober, log: log,
		self: cluster.Node{ID: id, InternalID: internalID, Hostname: cfg.Hostname, HTTPPort: cfg.HTTPPort, Clustered: cfg.Clustered,
			Version: cfg.Version, SchemaVersion: cfg.SchemaVersion, OperationalState: cluster.Starting,
			SchedulerState: cluster.SchedulerPaused, ExecutionGroups: cfg.ExecutionGroups, ExecutionLimits: cfg.ExecutionLimits, Secret: newSecret(),
			Timeout: cfg.Timeout, LivenessLock: cfg.LivenessLock, Settings: cfg.Settings}}
}

// ResolveNodeID expands a node id expression; a ${sequence:…} takes the first
// number whose node row is free or no longer checking in.
func ResolveNodeID(ctx context.Context, expr string, getenv func(string) string, hostname string, store NodeStore, timeout time.Duration) (string, error) {
	id, seq, err := cluster.ExpandNodeID(expr, getenv, hostname)
	if err != nil || seq == nil {
		return id, err
	}
	now, err := store.Now(ctx)
	if err != nil {
		return "", err
	}
	for i := seq.Start; i <= seq.End; i++ {
		cand := seq.Candidate(i)
		n, err := store.NodesGet(ctx, cand)
		if errors.Is(err, cluster.ErrNotFound) || (err == nil && !n.CheckingIn(now, timeout)) {
			return cand, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("nodeId %q: every number from %d to %d is taken by a live node", expr, seq.Start, seq.End)
}

// Self is a copy of this node's row as last written.
func (m *Manager) Self() cluster.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.self
}

// Registered reports whether this node owns its row (no id conflict).
func (m *Manager) Registered() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.registered
}

// CanSchedule reports whether this node may run tasks.
func (m *Manager) CanSchedule() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.registered && m.self.ErrorReason == "" && !m.paused
}

// Start registers the node and starts the check-in loop. A conflict does not
// fail Start: the node keeps serving HTTP, does not schedule, and retries.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.register(ctx); err != nil && !errors.Is(err, cluster.ErrIDConflict) {
		return err
	}
	if err := m.Tick(ctx); err != nil { // write the scheduler state and learn the peers at once
		m.log.Warn("first cluster check-in", "err", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.stop, m.done = cancel, make(chan struct{})
	go m.loop(loopCtx)
	m.beatDone = make(chan struct{})
	go m.heartbeat(loopCtx)
	if m.locks != nil && m.status != nil {
		m.watchDone = make(chan struct{})
		go m.watch(loopCtx)
	}
	return nil
}

// OnChange registers a callback run after every check-in (e.g. to refresh peers).
func (m *Manager) OnChange(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onChange = append(m.onChange, f)
}

func (m *Manager) register(ctx context.Context) error {
	m.mu.Lock()
	me := m.self
	m.mu.Unlock()
	me.URL = m.computeURL(ctx, me.URLOverride)
	me.OperationalState = cluster.Up
	reg := cluster.Registration{Node: &me, Timeout: m.cfg.Timeout, LocalNodeClusteringEnabled: m.cfg.LocalNodeClusteringEnabled}
	var existingURL, existingInstance string
	judge := func(existing *cluster.Node, others []*cluster.Node, now time.Time) error {
		if existing != nil {
			existingURL, existingInstance = existing.URL, existing.InternalID
		}
		return reg.Judge(existing, others, now)
	}
	err := m.store.NodesRegister(ctx, &me, judge)
	if errors.Is(err, cluster.ErrIDConflict) && existingURL != "" && m.prober != nil {
		// The row is fresh, but is its instance still there? A node restarted
		// after a crash finds its own old row; it may take it over at once.
		probeCtx, cancel := context.WithTimeout(ctx, time.Second)
		inst, perr := m.prober.Instance(probeCtx, existingURL)
		cancel()
		if perr != nil || inst != existingInstance {
			m.log.Info("taking over the row of a previous instance that no longer answers", "url", existingURL, "instance", existingInstance)
			reg.TakeOver = true
			err = m.store.NodesRegister(ctx, &me, judge)
		}
	}
	if errors.Is(err, cluster.ErrIDConflict) {
		m.mu.Lock()
		m.registered = false
		m.self.ErrorReason = cluster.ReasonIDConflict
		m.self.SchedulerState = cluster.SchedulerError
		m.mu.Unlock()
		m.sched.Pause()
		m.log.Error("ERROR: node id conflict: another live node has this id; this node serves HTTP but does not schedule", "err", err)
		return err
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", me.ID, err)
	}
	m.mu.Lock()
	m.registered = true
	m.self = me
	m.mu.Unlock()
	m.applySchedulerState(ctx)
	if me.ErrorReason != "" {
		m.log.Error("ERROR: " + me.ErrorReason + "; this node serves HTTP but does not schedule")
		m.emit(ctx, cluster.EventConformance, me.ID, "ERROR: "+me.ErrorReason+"; serves HTTP but does not schedule", 0)
	} else {
		m.log.Info("node registered", "url", me.URL, "clustered", me.Clustered)
		m.emit(ctx, cluster.EventNodeJoined, me.ID, "joined at "+me.URL, 0)
	}
	return nil
}

// applySchedulerState pauses or resumes the local scheduler to match the
// node's error state and the operator's stop/start, and writes it.
func (m *Manager) applySchedulerState(ctx context.Context) {
	m.mu.Lock()
	state := cluster.SchedulerRunning
	switch {
	case !m.registered || m.self.ErrorReason != "":
		state = cluster.SchedulerError
	case m.paused:
		state = cluster.SchedulerPaused
	}
	m.self.SchedulerState = state
	m.mu.Unlock()
	if state == cluster.SchedulerRunning {
		m.sched.Resume()
	} else {
		m.sched.Pause()
	}
}

func (m *Manager) computeURL(ctx context.Context, override string) string {
	pattern := ""
	if m.urls != nil {
		pattern = m.urls.IntraClusterURLPattern(ctx)
	}
	return cluster.IntraClusterURL(cluster.URLInputs{URLOverride: override, ConfigURL: m.cfg.ConfigURL, Pattern: pattern,
		Scheme: m.cfg.Scheme, Host: m.cfg.Hostname, Port: m.cfg.HTTPPort, Path: m.cfg.Path})
}

func (m *Manager) loop(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := m.Tick(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("cluster check-in", "err", err)
			}
		}
	}
}

// heartbeat checks in by itself whenever the loop's round is late: a round
// also judges peers, recovers their work and maintains tasks, which can
// take seconds while the database is busy with bulk work (counting a
// million buckets), and a node must not miss its own check-ins meanwhile.
func (m *Manager) heartbeat(ctx context.Context) {
	defer close(m.beatDone)
	tick := time.NewTicker(m.cfg.Interval / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Half an interval of slack: a round on time is never doubled.
		m.mu.Lock()
		due := m.registered && time.Since(m.checkedIn) >= m.cfg.Interval*3/2
		m.mu.Unlock()
		if !due {
			continue
		}
		if err := m.checkIn(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("cluster check-in (heartbeat)", "err", err)
		}
	}
}

// Tick does one round: check in (or retry registration), find dead nodes
// and recover their work, and run task maintenance.
func (m *Manager) Tick(ctx context.Context) error {
	if !m.Registered() {
		if err := m.register(ctx); err != nil {
			return nil // still in conflict; the error is on the node and in the log
		}
	}
	if err := m.checkIn(ctx); err != nil {
		return err
	}
	nodes, err := m.store.NodesList(ctx)
	if err != nil {
		return err
	}
	now, err := m.store.Now(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.nodes, m.dbNow = nodes, now
	callbacks := append([]func(){}, m.onChange...)
	m.mu.Unlock()
	if err := m.rejudge(ctx, nodes, now); err != nil {
		return err
	}
	for _, f := range callbacks {
		f()
	}
	if !m.CanSchedule() {
		return nil
	}
	var errs []error
	for _, n := range nodes {
		if n.ID == m.self.ID || n.OperationalState == cluster.Down || n.CheckingIn(now, m.cfg.Timeout) {
			continue
		}
		lease := n.Lease(m.cfg.Timeout)
		won, err := m.store.NodesMarkDown(ctx, n.ID, now.Add(-lease))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !won {
			continue
		}
		m.log.Warn("node is dead: no check-in within its nodeTimeout (its lease, by the database clock); recovering its work",
			"deadNode", n.ID, "lastCheckIn", n.LastCheckIn, "silentFor", now.Sub(n.LastCheckIn).Round(time.Millisecond), "lease", lease)
		why := fmt.Sprintf("no check-in for %s, lease %s", now.Sub(n.LastCheckIn).Round(time.Millisecond), lease)
		if err := m.recoverDead(ctx, n.ID, why); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, m.rec.Maintain(ctx))
	return errors.Join(errs...)
}

// settings are the configured cluster-wide settings plus how peers call
// this node (the scheme of its intra-cluster URL); a fresh map each time.
func (m *Manager) settings(url string) map[string]string {
	out := make(map[string]string, len(m.cfg.Settings)+2)
	for k, v := range m.cfg.Settings {
		out[k] = v
	}
	out[cluster.SettingClustered] = strconv.FormatBool(m.cfg.Clustered)
	scheme, _, _ := strings.Cut(url, "://")
	out[cluster.SettingPeerMode] = "signed HMAC-SHA256 over " + scheme
	return out
}

// rejudge checks this node's conformance against the live nodes at every
// check-in: a node enters ERROR when a conflict appears and leaves it by
// itself when the conflict is gone. A changed state is written at once.
func (m *Manager) rejudge(ctx context.Context, nodes []*cluster.Node, now time.Time) error {
	m.mu.Lock()
	if !m.registered {
		m.mu.Unlock()
		return nil
	}
	me := m.self
	reason := cluster.Conformance(&me, nodes, now, m.cfg.Timeout, m.cfg.LocalNodeClusteringEnabled)
	was := m.self.ErrorReason
	m.self.ErrorReason = reason
	overrideWas := m.self.URLOverride
	for _, n := range nodes {
		if n.ID == me.ID && n.InternalID == me.InternalID {
			m.self.URLOverride = n.URLOverride // set by an administrator on any node
		}
	}
	override := m.self.URLOverride
	m.mu.Unlock()
	if override != overrideWas {
		m.log.Info("urlOverride changed; this node's intra-cluster URL follows it", "urlOverride", override)
		if reason == was {
			return m.checkIn(ctx)
		}
	}
	if reason == was {
		return nil
	}
	if reason != "" {
		m.log.Error("ERROR: " + reason + "; this node serves HTTP but does not schedule")
		m.emit(ctx, cluster.EventConformance, m.Self().ID, "ERROR: "+reason+"; serves HTTP but does not schedule", 0)
	} else {
		m.log.Info("conformance restored: this node schedules again", "was", "ERROR: "+was)
	}
	return m.checkIn(ctx)
}

func (m *Manager) checkIn(ctx context.Context) error {
	m.checkingIn.Lock()
	defer m.checkingIn.Unlock()
	m.mu.Lock()
	m.self.URL = ""
	override := m.self.URLOverride
	m.mu.Unlock()
	url := m.computeURL(ctx, override)
	m.applySchedulerState(ctx)
	m.mu.Lock()
	m.self.URL = url
	m.self.Settings = m.settings(url)
	me := m.self
	m.mu.Unlock()
	wasDown, err := m.store.NodesCheckIn(ctx, &me)
	if errors.Is(err, cluster.ErrTakenOver) {
		m.mu.Lock()
		m.registered = false
		m.self.ErrorReason = cluster.ReasonIDConflict
		m.mu.Unlock()
		m.applySchedulerState(ctx)
		m.log.Error("ERROR: node id conflict: another instance took over this node's row; scheduling stopped")
		m.emit(ctx, cluster.EventConformance, me.ID, "ERROR: node id conflict: another instance took over its row; scheduling stopped", 0)
		return nil
	}
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.checkedIn = time.Now()
	m.mu.Unlock()
	if wasDown {
		m.log.Warn("this node was declared dead by the cluster while it was away; its work was recovered elsewhere and any late completion is fenced")
		m.emit(ctx, cluster.EventNodeReturned, me.ID, "checked in again after it was declared dead; late completions of its old buckets are fenced", 0)
	}
	return nil
}

// Stop ends the loop and marks the node DOWN, so peers need no timeout.
func (m *Manager) Stop(ctx context.Context) error {
	if m.stop != nil {
		m.stop()
		<-m.done
		<-m.beatDone
		if m.watchDone != nil {
			<-m.watchDone
		}
	}
	m.mu.Lock()
	registered, me := m.registered, m.self
	m.mu.Unlock()
	if !registered {
		return nil
	}
	if err := m.store.NodesSetDown(ctx, me.ID, me.InternalID); err != nil {
		return err
	}
	m.emit(ctx, cluster.EventNodeLeft, me.ID, "stopped gracefully and handed its work back", 0)
	return nil
}

// LiveNodes returns the ids of the nodes that may run work, sorted; it
// always includes this node when it can schedule.
func (m *Manager) LiveNodes(ctx context.Context) []string {
	// Read the rows afresh: a node that joined since the last check-in must
	// get its share of the workers.
	if nodes, err := m.store.NodesList(ctx); err == nil {
		if now, err := m.store.Now(ctx); err == nil {
			m.mu.Lock()
			m.nodes, m.dbNow = nodes, now
			m.mu.Unlock()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	var ids []string
	if m.registered && m.self.ErrorReason == "" && !m.paused {
		seen[m.self.ID] = true
		ids = append(ids, m.self.ID)
	}
	for _, n := range m.nodes {
		if !seen[n.ID] && n.ID != m.self.ID && n.Live(m.dbNow, m.cfg.Timeout) && n.SchedulerState == cluster.SchedulerRunning {
			seen[n.ID] = true
			ids = append(ids, n.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// NodeView is a node with what other nodes see of it.
type NodeView struct {
	cluster.Node
	CheckInAge time.Duration
	Alive      bool
	Errors     []string
	Warnings   []string
	// Limits are the node's execution limits with its running tasks
	// counted against them; nil until the caller adds them.
	Limits []task.LimitUse
}

// Nodes lists every node with its check-in age, errors and warnings.
func (m *Manager) Nodes(ctx context.Context) ([]NodeView, error) {
	nodes, err := m.store.NodesList(ctx)
	if err != nil {
		return nil, err
	}
	now, err := m.store.Now(ctx)
	if err != nil {
		return nil, err
	}
	me := m.Self()
	found := false
	out := make([]NodeView, 0, len(nodes)+1)
	for _, n := range nodes {
		if n.ID == me.ID && n.InternalID == me.InternalID {
			found = true
		}
		v := NodeView{Node: *n, CheckInAge: now.Sub(n.LastCheckIn), Alive: n.CheckingIn(now, m.cfg.Timeout),
			Errors: n.Errors(), Warnings: cluster.Warnings(n, nodes, now, m.cfg.Timeout)}
		v.SchedulerState = n.ShownSchedulerState(v.Alive) // a dead node's row still says RUNNING
		out = append(out, v)
	}
	if !found && me.ErrorReason != "" { // an unregistered (conflicting) node still shows itself
		out = append(out, NodeView{Node: me, Errors: me.Errors(), Alive: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// SetURLOverride sets (or, with "", clears) the urlOverride of node id, the
// first choice for its intra-cluster URL. This node applies its own at once;
// another node applies it at its next check-in.
func (m *Manager) SetURLOverride(ctx context.Context, id, override string) error {
	if err := cluster.CheckURLOverride(override); err != nil {
		return err
	}
	if err := m.store.NodesSetURLOverride(ctx, id, override); err != nil {
		return err
	}
	m.mu.Lock()
	self := id == m.self.ID && m.registered
	if self {
		m.self.URLOverride = override
	}
	m.mu.Unlock()
	if self {
		return m.checkIn(ctx)
	}
	return nil
}

// StopScheduler pauses scheduling on this node (operator action).
func (m *Manager) StopScheduler(ctx context.Context) error {
	m.mu.Lock()
	m.paused = true
	m.mu.Unlock()
	if err := m.checkIn(ctx); err != nil {
		return err
	}
	m.emit(ctx, cluster.EventSchedulerStopped, m.Self().ID, "scheduler stopped by an operator", 0)
	return nil
}

// StartScheduler resumes scheduling on this node.
func (m *Manager) StartScheduler(ctx context.Context) error {
	m.mu.Lock()
	m.paused = false
	m.mu.Unlock()
	if err := m.checkIn(ctx); err != nil {
		return err
	}
	m.emit(ctx, cluster.EventSchedulerStarted, m.Self().ID, "scheduler started by an operator", 0)
	return nil
}

// newSecret makes a node's peer secret; a node keeps the one in its row.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
