// Package cluster holds nodes, their states and the rules that judge them:
// liveness by the database clock, conformance, and intra-cluster URLs.
package cluster

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"cadre/domain/task"
)

// OperationalState of a node.
type OperationalState string

// Operational states (DESIGN §3).
const (
	Starting OperationalState = "STARTING"
	Up       OperationalState = "UP"
	Down     OperationalState = "DOWN"
)

// SchedulerState of a node.
type SchedulerState string

// Scheduler states.
const (
	SchedulerRunning SchedulerState = "RUNNING"
	SchedulerPaused  SchedulerState = "PAUSED"
	SchedulerError   SchedulerState = "ERROR"
	// SchedulerStopped is shown for a DOWN node: stopped, or declared dead
	// and its work recovered elsewhere. Never written by a node itself.
	SchedulerStopped SchedulerState = "STOPPED"
	// SchedulerUnknown is shown for a node that stopped checking in but is
	// not DOWN yet: whatever its row last said may no longer be true.
	SchedulerUnknown SchedulerState = "UNKNOWN"
)

// ShownSchedulerState is what others can say of a node's scheduler: its row's
// state while the node checks in, STOPPED once it is DOWN, UNKNOWN while it
// is silent (alive reports whether it checks in).
func (n *Node) ShownSchedulerState(alive bool) SchedulerState {
	switch {
	case n.OperationalState == Down:
		return SchedulerStopped
	case !alive:
		return SchedulerUnknown
	}
	return n.SchedulerState
}

// Error reasons shown as "ERROR: <reason>".
const (
	ReasonIDConflict   = "node id conflict"
	ReasonNotClustered = "not clustered"
)

// Errors of the cluster.
var (
	ErrNotFound   = errors.New("node not found")
	ErrTakenOver  = errors.New("node row was taken over by another instance with the same id")
	ErrIDConflict = errors.New(ReasonIDConflict)
	// ErrBadURL: a urlOverride that is not an absolute http(s) URL.
	ErrBadURL = errors.New("urlOverride must be an absolute http or https URL, or empty to clear it")
)

// CheckURLOverride accepts "" (clear) or an absolute http(s) URL with a host.
func CheckURLOverride(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: %q", ErrBadURL, s)
	}
	return nil
}

// Node is one Cadre process as registered in the repository.
type Node struct {
	ID               string
	InternalID       string // new at every start; tells two instances of one id apart
	Hostname         string
	HTTPPort         int
	URL              string
	URLOverride      string
	Clustered        bool
	Version          string
	SchemaVersion    int
	OperationalState OperationalState
	SchedulerState   SchedulerState
	ErrorReason      string
	ExecutionGroups  []string
	// ExecutionLimits are the node's effective taskExecutionLimitations.
	ExecutionLimits []task.GroupLimit
	Secret          string
	LastCheckIn     time.Time // database clock
	StartedAt       time.Time // database clock
	// Timeout is the nodeTimeout this node lives by, written into its row:
	// peers judge its silence by this lease, not by their own setting.
	// Zero (a row from an older version) means the judge's own nodeTimeout.
	Timeout time.Duration
	// LivenessLock is the key of the session-level lock the node holds on a
	// dedicated database connection while it lives (PostgreSQL); 0 means none.
	LivenessLock int64
	// Settings are the node's settings that must match cluster-wide
	// (homogeneous cluster), by name.
	Settings map[string]string
}

// Lease is how long the node may stay silent before it is dead: its own
// nodeTimeout when its row carries one, else fallback.
func (n *Node) Lease(fallback time.Duration) time.Duration {
	if n.Timeout > 0 {
		return n.Timeout
	}
	return fallback
}

// LivenessLockKey is the advisory-lock key a node holds while it lives:
// FNV-1a (64 bit) of its id, never 0.
func LivenessLockKey(nodeID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("cadre node liveness " + nodeID))
	k := int64(h.Sum64())
	if k == 0 {
		k = 1
	}
	return k
}

// CheckingIn reports whether the node is not DOWN and checked in within its
// lease (Lease(timeout)) of now; both times come from the database clock.
func (n *Node) CheckingIn(now time.Time, timeout time.Duration) bool {
	return n.OperationalState != Down && now.Sub(n.LastCheckIn) <= n.Lease(timeout)
}

// Live reports whether the node is up, checking in and not in error: it may run work.
func (n *Node) Live(now time.Time, timeout time.Duration) bool {
	return n.OperationalState == Up && n.SchedulerState != SchedulerError && n.CheckingIn(now, timeout)
}

// Errors lists the node's errors in words.
func (n *Node) Errors() []string {
	if n.ErrorReason == "" {
		return nil
	}
	return []string{"ERROR: " + n.ErrorReason}
}

// Registration is what a starting node claims.
type Registration struct {
	Node *Node
	// TakeOver lets the node replace a row whose instance was found gone
	// (its URL no longer answers as that instance) before the timeout.
	TakeOver                   bool
	Timeout                    time.Duration
	LocalNodeClusteringEnabled bool
}

// Judge decides whether a starting node may schedule, given the row that
// already holds its id (nil if none) and every other node, at database time now.
// It returns ErrIDConflict when the id belongs to a live instance; otherwise
// the node registers, with an error reason when it must not schedule.
func (r Registration) Judge(existing *Node, others []*Node, now time.Time) error {
	me := r.Node
	if existing != nil && existing.InternalID != me.InternalID && existing.CheckingIn(now, r.Timeout) && !r.TakeOver {
		return fmt.Errorf("%w: node %s is alive (last check-in %s ago)", ErrIDConflict, me.ID, now.Sub(existing.LastCheckIn).Round(time.Millisecond))
	}
	me.ErrorReason = Conformance(me, others, now, r.Timeout, r.LocalNodeClusteringEnabled)
	return nil
}

// Conformance judges node me against the other rows at database time now
// and returns why me must not schedule ("" when it may). Only live nodes
// count, so a conflict ends by itself when the other node leaves:
//   - a second live node on me's host (unless localNodeClustering) that
//     started before me: ReasonIDConflict naming the key;
//   - me not clustered while a clustered node is live (whichever started
//     first: the clustered majority wins), or while an earlier
//     non-clustered node is live: ReasonNotClustered.
//
// A node that has not started yet (StartedAt zero) counts as the latest.
func Conformance(me *Node, others []*Node, now time.Time, timeout time.Duration, localNodeClustering bool) string {
	earlier := func(o *Node) bool {
		switch {
		case me.StartedAt.IsZero():
			return true
		case o.StartedAt.Equal(me.StartedAt):
			return o.ID < me.ID
		}
		return o.StartedAt.Before(me.StartedAt)
	}
	var live []*Node
	for _, o := range others {
		if o.ID != me.ID && o.CheckingIn(now, timeout) {
			live = append(live, o)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].ID < live[j].ID })
	if !localNodeClustering {
		for _, o := range live {
			if o.Hostname == me.Hostname && earlier(o) && !strings.HasPrefix(o.ErrorReason, ReasonIDConflict) {
				return fmt.Sprintf("%s (host %s already runs live node %s; set taskManager/localNodeClusteringEnabled to allow it)", ReasonIDConflict, me.Hostname, o.ID)
			}
		}
	}
	if me.Clustered {
		return ""
	}
	for _, o := range live {
		if o.Clustered {
			return fmt.Sprintf("%s (this node has clustered=false, live node %s has clustered=true; set the same taskManager/clustered everywhere)",
				ReasonNotClustered, o.ID)
		}
	}
	for _, o := range live {
		if earlier(o) {
			return fmt.Sprintf("%s (this node has clustered=false but shares the repository with live node %s; set taskManager/clustered=true on every node)",
				ReasonNotClustered, o.ID)
		}
	}
	return ""
}

// Settings that must match cluster-wide (the seed's homogeneous cluster),
// as nodes write them into their rows.
const (
	SettingClustered = "clustered"
	SettingJobStore  = "jobStore"
	SettingHandlers  = "handlers"
	SettingPeerMode  = "peerMode"
)

// settingLabels name the settings in warnings, with the keys that set them.
var settingLabels = map[string]string{
	SettingClustered: "taskManager/clustered",
	SettingJobStore:  "job store (taskManager/jdbcUrl)",
	SettingHandlers:  "task handlers",
	SettingPeerMode:  "peer calls (signature and URL scheme)",
}

// Warnings lists differences between a node and the other live nodes
// (version, schema, and the settings that must match cluster-wide), shown
// on every node. A row without settings (an older version) is not compared.
func Warnings(n *Node, all []*Node, now time.Time, timeout time.Duration) []string {
	var out []string
	for _, o := range all {
		if o.ID == n.ID || !o.CheckingIn(now, timeout) {
			continue
		}
		if o.Version != n.Version {
			out = append(out, fmt.Sprintf("version %s differs from node %s (%s)", n.Version, o.ID, o.Version))
		}
		if o.SchemaVersion != n.SchemaVersion {
			out = append(out, fmt.Sprintf("schema version %d differs from node %s (%d)", n.SchemaVersion, o.ID, o.SchemaVersion))
		}
		if len(n.Settings) == 0 || len(o.Settings) == 0 {
			continue
		}
		for _, k := range []string{SettingClustered, SettingJobStore, SettingHandlers, SettingPeerMode} {
			if mine, theirs := n.Settings[k], o.Settings[k]; mine != theirs {
				out = append(out, fmt.Sprintf("%s %q differs from node %s (%q); it must be the same on every node", settingLabels[k], mine, o.ID, theirs))
			}
		}
	}
	sort.Strings(out)
	return out
}

// URLInputs are what the intra-cluster URL is built from.
type URLInputs struct {
	URLOverride string // on the node row
	ConfigURL   string // config url
	Pattern     string // system configuration infrastructure/intraClusterHttpUrlPattern
	Scheme      string
	Host        string
	Port        int
	Path        string
}

// IntraClusterURL picks the URL in the seed's order: urlOverride → config
// url → pattern with $host, $port, $path → scheme://host:port/path.
func IntraClusterURL(in URLInputs) string {
	switch {
	case in.URLOverride != "":
		return strings.TrimSuffix(in.URLOverride, "/")
	case in.ConfigURL != "":
		return strings.TrimSuffix(in.ConfigURL, "/")
	case in.Pattern != "":
		r := strings.NewReplacer("$host", in.Host, "$port", strconv.Itoa(in.Port), "$path", strings.Trim(in.Path, "/"))
		return strings.TrimSuffix(r.Replace(in.Pattern), "/")
	}
	scheme := in.Scheme
	if scheme == "" {
		scheme = "http"
	}
	u := fmt.Sprintf("%s://%s:%d", scheme, in.Host, in.Port)
	if p := strings.Trim(in.Path, "/"); p != "" {
		u += "/" + p
	}
	return u
}
