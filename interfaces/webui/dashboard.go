package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"cadre/domain/cluster"
	"cadre/domain/object"
	"cadre/domain/security"
	"cadre/domain/task"
	"cadre/interfaces/httpapi"
)

// nodesRefreshSeconds is how often the dashboard's node table refreshes.
const nodesRefreshSeconds = 2

func (h *Handlers) routesDashboard(g *gin.RouterGroup) {
	g.GET("/", h.dashboard)
	if h.nodes == nil {
		return
	}
	g.GET("/nodes/fragment", h.nodesFragment)
	if h.schedulerStop != nil {
		g.POST("/nodes/:id/scheduler/stop", h.schedulerAction(false))
		g.POST("/nodes/:id/scheduler/start", h.schedulerAction(true))
	}
	if h.setURLOverride != nil {
		g.POST("/nodes/url-override", h.urlOverride)
	}
}

// dashboardPage is the data of the "dashboard" template.
type dashboardPage struct {
	Info    NodeInfo
	Uptime  string
	Users   int64
	Roles   int64
	Reports int64
	// Cluster is the node table; nil when the node cannot list nodes.
	Cluster *clusterLive
	// Overrides lists the nodes for the URL override form (outside the
	// refreshing table, so typing is not interrupted); nil hides the form.
	Overrides []overrideRow
}

// overrideRow is one node in the URL override form.
type overrideRow struct{ ID, URLOverride string }

// clusterLive is the node table and its banners: the part of the dashboard
// that GET /ui/nodes/fragment serves again.
type clusterLive struct {
	Nodes []nodeRow
	// Err says why the nodes could not be read; the table keeps refreshing.
	Err string
	// ErrorNodes and WarningNodes count the nodes with errors and with warnings.
	ErrorNodes, WarningNodes int
	// Live counts the nodes that are UP and checking in.
	Live int
	// Actions is set when the scheduler buttons exist (writers see them).
	Actions bool
	// Reach is set when this node reports what it saw of its peers.
	Reach          bool
	RefreshURL     string
	RefreshSeconds int
	// Throughput and Running chart each node's buckets per second and
	// running tasks over the last minutes; nil before two samples exist.
	Throughput, Running *rateChart
	// Stalled lists the tasks whose progress has not moved for the stall
	// threshold, on any node.
	Stalled []stalledRow
}

// stalledRow is one stalled task on the dashboard.
type stalledRow struct {
	OID, Name, Node string
	Since           time.Time
	// For is how long it has not moved, as "3 min".
	For string
}

// limitView is one execution limit of a node with its running tasks.
type limitView struct {
	Group   string
	Running int64
	// Limit is the number, or "∞" when unlimited.
	Limit string
	// Full is set when no further task of the group may start there.
	Full bool
}

// nodeRow is one node in the dashboard's table.
type nodeRow struct {
	ID, URL, Hostname string
	// Self marks the node that serves the page.
	Self bool
	// State is the operational state: UP, DOWN or STARTING.
	State string
	// Silent is set when the row says UP or STARTING but the node has not
	// checked in within the timeout: the cluster treats it as dead.
	Silent  bool
	CheckIn string // "0.4 s ago", by the database clock
	// Age is the check-in age as a bar against the node's timeout; nil for
	// a DOWN node or one that never checked in.
	Age       *ageBar
	Version   string
	Schema    int
	Scheduler string
	Groups    []string
	// Limits are the node's execution limits with its running tasks.
	Limits   []limitView
	Errors   []string
	Warnings []string
	// Reach is what this node last saw when calling the node; nil for itself.
	Reach *reachView
	// CanStop and CanStart choose the scheduler button.
	CanStop, CanStart bool
}

// reachView is the peer reachability of one node, as this node saw it.
type reachView struct {
	// None is set when this node has not called the node yet.
	None bool
	// OK is the age of the last successful call ("" when none).
	OK string
	// Error is the last failed call and ErrorAge its age ("" when none).
	Error, ErrorAge string
	// Failing is set when the last call failed.
	Failing bool
}

func (h *Handlers) dashboard(c *gin.Context) {
	h.renderDashboard(c, http.StatusOK, "")
}

// renderDashboard shows the dashboard, with alert in the error box when set.
func (h *Handlers) renderDashboard(c *gin.Context, status int, alert string) {
	ctx := c.Request.Context()
	p, _ := httpapi.PrincipalOf(c)
	data := dashboardPage{Info: NodeInfo{NodeID: h.nodeID}}
	if h.info != nil {
		data.Info = h.info(ctx)
	}
	if !data.Info.Started.IsZero() {
		data.Uptime = formatUptime(time.Since(data.Info.Started))
	}
	var err error
	for _, n := range []struct {
		t  object.Type
		to *int64
	}{{object.TypeUser, &data.Users}, {object.TypeRole, &data.Roles}, {object.TypeReport, &data.Reports}} {
		if *n.to, err = h.count(ctx, p, n.t); err != nil {
			h.fail(c, err)
			return
		}
	}
	if h.nodes != nil {
		live := h.loadCluster(ctx)
		data.Cluster = &live
		if h.setURLOverride != nil && p.CanWrite() {
			if views, err := h.nodes(ctx); err == nil {
				for _, v := range views {
					data.Overrides = append(data.Overrides, overrideRow{ID: v.ID, URLOverride: v.URLOverride})
				}
			}
		}
	}
	h.renderAlert(c, status, "dashboard", alert, data)
}

func (h *Handlers) nodesFragment(c *gin.Context) {
	if p, _ := httpapi.PrincipalOf(c); !p.CanRead() {
		h.renderError(c, http.StatusForbidden, msgForbidden)
		return
	}
	live := h.loadCluster(c.Request.Context())
	h.renderFragment(c, "dashboard", "nodes-live", dashboardPage{Cluster: &live})
}

// loadCluster reads the nodes for the table. A failure is shown in the
// table, not as an error page: the dashboard stays useful (and keeps
// refreshing) while the database or the cluster manager is unavailable.
func (h *Handlers) loadCluster(ctx context.Context) clusterLive {
	live := clusterLive{Actions: h.schedulerStop != nil, Reach: h.reachability != nil,
		RefreshURL: "/ui/nodes/fragment", RefreshSeconds: nodesRefreshSeconds}
	if h.samples != nil {
		live.Throughput, live.Running = clusterCharts(h.samples())
	}
	views, err := h.nodes(ctx)
	if err != nil {
		h.log.WarnContext(ctx, "list nodes for the dashboard", "err", err)
		live.Err = "The node list cannot be read right now; this table tries again every few seconds. See this node's log."
		return live
	}
	var reach map[string]PeerReach
	if h.reachability != nil {
		reach = h.reachability()
	}
	now := time.Now()
	for _, v := range views {
		row := nodeRow{ID: v.ID, URL: v.URL, Hostname: v.Hostname, Self: v.ID == h.nodeID, State: string(v.OperationalState),
			Version: v.Version, Schema: v.SchemaVersion, Scheduler: string(v.SchedulerState), Groups: v.ExecutionGroups,
			Errors: v.Errors, Warnings: v.Warnings, CheckIn: "never"}
		if !v.LastCheckIn.IsZero() {
			row.CheckIn = formatAge(v.CheckInAge)
			if v.OperationalState != cluster.Down {
				row.Age = newAgeBar(v.CheckInAge, v.Lease(defaultNodeTimeout))
			}
		}
		row.Limits = limitViews(v.Limits)
		row.Silent = !v.Alive && v.OperationalState != cluster.Down
		if v.Alive && v.OperationalState == cluster.Up {
			live.Live++
			row.CanStop = v.SchedulerState == cluster.SchedulerRunning
			row.CanStart = v.SchedulerState == cluster.SchedulerPaused
		}
		if len(v.Errors) > 0 {
			live.ErrorNodes++
		}
		if len(v.Warnings) > 0 {
			live.WarningNodes++
		}
		if reach != nil && !row.Self {
			row.Reach = reachOf(reach[v.ID], now)
		}
		live.Nodes = append(live.Nodes, row)
	}
	live.Stalled = h.stalledRows(ctx, now)
	return live
}

// limitViews shows a node's limits; the entries that keep a group off the
// node (limit 0) are left out unless a task of theirs still runs there.
func limitViews(ls []task.LimitUse) []limitView {
	var out []limitView
	for _, l := range ls {
		if l.Limit == 0 && l.Running == 0 {
			continue
		}
		v := limitView{Group: l.Group, Running: l.Running, Limit: "∞"}
		if l.Limit != task.Unlimited {
			v.Limit = strconv.Itoa(l.Limit)
			v.Full = l.Running >= int64(l.Limit)
		}
		out = append(out, v)
	}
	return out
}

// stalledRows lists the stalled tasks; a failed read leaves the list out
// (the node table says the database is away when it is).
func (h *Handlers) stalledRows(ctx context.Context, now time.Time) []stalledRow {
	if h.tasks == nil {
		return nil
	}
	ts, err := h.tasks.StalledTasks(ctx)
	if err != nil {
		h.log.WarnContext(ctx, "list stalled tasks for the dashboard", "err", err)
		return nil
	}
	out := make([]stalledRow, 0, len(ts))
	for _, t := range ts {
		if t.StalledSince == nil {
			continue
		}
		out = append(out, stalledRow{OID: t.OID, Name: t.Name, Node: t.Node, Since: *t.StalledSince, For: formatUptime(now.Sub(*t.StalledSince))})
	}
	return out
}

// reachOf describes what this node last saw of a peer, at local time now
// (the peer client records its calls by the local clock too).
func reachOf(r PeerReach, now time.Time) *reachView {
	v := &reachView{None: r.LastOK.IsZero() && r.LastError == ""}
	if !r.LastOK.IsZero() {
		v.OK = formatAge(now.Sub(r.LastOK))
	}
	if r.LastError != "" {
		v.Error, v.ErrorAge = r.LastError, formatAge(now.Sub(r.LastErrorAt))
		v.Failing = r.LastErrorAt.After(r.LastOK)
	}
	return v
}

// schedulerAction stops or starts the scheduler of the node in the path and
// goes back to the dashboard; a failure is explained on the dashboard.
func (h *Handlers) schedulerAction(start bool) gin.HandlerFunc {
	action, verb, flash := h.schedulerStop, "stop", "scheduler-stopped"
	if start {
		action, verb, flash = h.schedulerStart, "start", "scheduler-started"
	}
	return func(c *gin.Context) {
		if !h.requireWrite(c) {
			return
		}
		ctx := c.Request.Context()
		id := c.Param("id")
		err := action(ctx, id)
		if err == nil {
			c.Redirect(http.StatusSeeOther, "/ui/?ok="+flash)
			return
		}
		var status int
		var message string
		switch {
		case errors.Is(err, cluster.ErrNotFound):
			status, message = http.StatusNotFound, fmt.Sprintf("There is no node %q; it may have been removed.", id)
		case errors.Is(err, cluster.ErrUnauthorized):
			status, message = http.StatusBadGateway, fmt.Sprintf("Node %s refused this node's call to %s its scheduler as unauthorized; see both nodes' logs.", id, verb)
		case errors.Is(err, cluster.ErrUnreachable):
			status, message = http.StatusServiceUnavailable, fmt.Sprintf("Node %s did not answer, so its scheduler was not told to %s; it may be down or unreachable from node %s.", id, verb, h.nodeID)
		default:
			status, message = http.StatusInternalServerError, fmt.Sprintf("The scheduler of node %s could not be told to %s; see this node's log.", id, verb)
		}
		p, _ := httpapi.PrincipalOf(c)
		h.log.WarnContext(ctx, "scheduler "+verb+" from the web UI failed", "target", id, "user", p.Name, "err", err)
		h.renderDashboard(c, status, message)
	}
}

// urlOverride sets or clears a node's urlOverride from the dashboard form
// (fields node, urlOverride and action "set" or "clear").
func (h *Handlers) urlOverride(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	ctx := c.Request.Context()
	id, override := c.PostForm("node"), strings.TrimSpace(c.PostForm("urlOverride"))
	flash := "url-override-set"
	if c.PostForm("action") == "clear" || override == "" {
		override, flash = "", "url-override-cleared"
	}
	err := h.setURLOverride(ctx, id, override)
	if err == nil {
		c.Redirect(http.StatusSeeOther, "/ui/?ok="+flash)
		return
	}
	var status int
	var message string
	switch {
	case errors.Is(err, cluster.ErrNotFound):
		status, message = http.StatusNotFound, fmt.Sprintf("There is no node %q; it may have been removed.", id)
	case errors.Is(err, cluster.ErrBadURL):
		status, message = http.StatusUnprocessableEntity, fmt.Sprintf("%q is not an absolute http or https URL (for example https://node1.example.com:8443/midpoint); nothing was changed.", override)
	default:
		status, message = http.StatusInternalServerError, fmt.Sprintf("The URL override of node %s could not be saved; see this node's log.", id)
	}
	p, _ := httpapi.PrincipalOf(c)
	h.log.WarnContext(ctx, "URL override from the web UI failed", "target", id, "user", p.Name, "err", err)
	h.renderDashboard(c, status, message)
}

// count returns how many objects of the type the principal can see.
func (h *Handlers) count(ctx context.Context, p security.Principal, t object.Type) (int64, error) {
	page, err := h.repo.Search(ctx, p, object.Query{Type: t, Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", t, err)
	}
	return page.Total, nil
}

// formatAge writes how long ago something happened: "0.4 s ago" under ten
// seconds, "42 s ago" under a minute, then "5m 10s ago", "4h 5m ago".
func formatAge(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
		fallthrough
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f s ago", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d/time.Second))
	}
	return formatUptime(d) + " ago"
}

// formatUptime writes a duration as its two largest units: "3d 4h", "4h 5m", "5m 10s", "10s".
func formatUptime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days, hours, mins, secs := s/86400, s/3600%24, s/60%60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm %ds", mins, secs)
	}
	return fmt.Sprintf("%ds", secs)
}

// defaultNodeTimeout judges a node row that carries no timeout of its own
// (written by an older version); DESIGN's default.
const defaultNodeTimeout = 10 * time.Second

// ageBar draws a node's check-in age against its timeout: the bar fills as
// the node stays silent and is full (and red) when the cluster may declare
// it dead.
type ageBar struct {
	// Percent is the filled share, 0–100, formatted for SVG.
	Percent string
	// Class is "ok" (under half the timeout), "warn" or "late".
	Class string
	Label string
}

func newAgeBar(age, timeout time.Duration) *ageBar {
	if timeout <= 0 {
		return nil
	}
	f := min(max(age.Seconds()/timeout.Seconds(), 0), 1)
	class := "ok"
	switch {
	case age >= timeout:
		class = "late"
	case f >= 0.5:
		class = "warn"
	}
	return &ageBar{Percent: fmt.Sprintf("%.1f", 100*f), Class: class,
		Label: fmt.Sprintf("last check-in %.1f s ago; declared dead after %s", age.Seconds(), formatUptime(timeout))}
}

// clusterCharts draws each node's throughput (buckets completed per second)
// and running tasks from the samples; nil, nil with fewer than two.
func clusterCharts(samples []ClusterSample) (throughput, running *rateChart) {
	if len(samples) < 2 {
		return nil, nil
	}
	seen := map[string]bool{}
	var names []string
	for _, s := range samples {
		for _, m := range []map[string]int64{s.Completed, s.Running} {
			for n := range m {
				if n != "" && !seen[n] {
					seen[n] = true
					names = append(names, n)
				}
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	slices.SortFunc(names, naturalCompare)
	rates := make([][]float64, len(names))
	counts := make([][]float64, len(names))
	for i, n := range names {
		for _, s := range samples {
			r := 0.0
			if s.Seconds > 0 {
				r = float64(s.Completed[n]) / s.Seconds
			}
			rates[i] = append(rates[i], r)
			counts[i] = append(counts[i], float64(s.Running[n]))
		}
	}
	span := "last " + formatUptime(samples[len(samples)-1].At.Sub(samples[0].At).Round(time.Second))
	throughput = newLineChart("Throughput: buckets completed per second, per node", "buckets/s", span, "per check-in", names, rates)
	running = newLineChart("Running tasks per node", "tasks", span, "per check-in", names, counts)
	for _, c := range []*rateChart{throughput, running} {
		var parts []string
		for i := range c.Series {
			s := &c.Series[i]
			vals := rates[i]
			unit := "/s"
			if c == running {
				vals, unit = counts[i], ""
			}
			s.Note = fmt.Sprintf("now %s%s, peak %s%s", strconv.FormatFloat(vals[len(vals)-1], 'f', 1, 64), unit, s.Peak, unit)
			parts = append(parts, s.Name+" "+s.Note)
		}
		c.Summary = c.Title + ", " + span + ": " + strings.Join(parts, "; ")
	}
	return throughput, running
}
