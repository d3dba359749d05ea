package webui_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	appcluster "cadre/app/cluster"
	"cadre/domain/cluster"
	"cadre/interfaces/webui"
)

// fakeCluster stands in for the cluster manager and the peer client behind
// the dashboard: five nodes in every state the table distinguishes.
type fakeCluster struct {
	mu    sync.Mutex
	calls []string // "stop node1", "start node2"
	err   error    // returned by Nodes when set
}

func (f *fakeCluster) nodes(context.Context) ([]appcluster.NodeView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	node := func(id string, state cluster.OperationalState, sched cluster.SchedulerState, version string) cluster.Node {
		return cluster.Node{ID: id, URL: "http://" + id + ".example:8080", Hostname: id + ".example", HTTPPort: 8080, Clustered: true,
			Version: version, SchemaVersion: 3, OperationalState: state, SchedulerState: sched, LastCheckIn: time.Now()}
	}
	return []appcluster.NodeView{
		{Node: node("node1", cluster.Up, cluster.SchedulerRunning, "0.1.0"), CheckInAge: 400 * time.Millisecond, Alive: true},
		{Node: node("node2", cluster.Up, cluster.SchedulerPaused, "0.2.0"), CheckInAge: 1250 * time.Millisecond, Alive: true,
			Warnings: []string{"version 0.2.0 differs from node node1 (0.1.0)"}},
		{Node: node("node3", cluster.Up, cluster.SchedulerError, "0.1.0"), CheckInAge: 42 * time.Second, Alive: true,
			Errors: []string{"ERROR: node id conflict"}},
		{Node: node("node4", cluster.Down, cluster.SchedulerRunning, "0.1.0"), CheckInAge: 5 * time.Minute},
		{Node: node("node5", cluster.Up, cluster.SchedulerRunning, "0.1.0"), CheckInAge: 15 * time.Second},
	}, nil
}

func (f *fakeCluster) reachability() map[string]webui.PeerReach {
	now := time.Now()
	return map[string]webui.PeerReach{
		"node2": {LastOK: now.Add(-3 * time.Second)},
		"node3": {LastOK: now.Add(-time.Minute), LastError: "peer node3: node unreachable: connection refused", LastErrorAt: now.Add(-2 * time.Second)},
		"node5": {LastOK: now.Add(-time.Second), LastError: "peer node5: timed out", LastErrorAt: now.Add(-90 * time.Second)},
	}
}

func (f *fakeCluster) scheduler(verb string) func(ctx context.Context, nodeID string) error {
	return func(_ context.Context, nodeID string) error {
		switch nodeID {
		case "ghost":
			return fmt.Errorf("%w: %s", cluster.ErrNotFound, nodeID)
		case "node5":
			return fmt.Errorf("peer node5: %w: timed out", cluster.ErrUnreachable)
		case "node3":
			return errors.New("pq: connection reset")
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, verb+" "+nodeID)
		return nil
	}
}

func (f *fakeCluster) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// withCluster wires the fake into the web UI.
func withCluster(f *fakeCluster) func(*options) {
	return func(o *options) {
		o.deps = func(d *webui.Deps) {
			d.Nodes, d.Reachability = f.nodes, f.reachability
			d.SchedulerStop, d.SchedulerStart = f.scheduler("stop"), f.scheduler("start")
		}
	}
}

var (
	nodeRowRe   = regexp.MustCompile(`(?s)<tr class="cluster-node[^"]*" id="node-(\w+)".*?</tr>`)
	thRe        = regexp.MustCompile(`(?s)<th scope="col">(.*?)</th>`)
	dataLabelRe = regexp.MustCompile(`<td data-label="([^"]+)"`)
)

// nodeRows maps node id to its table row.
func nodeRows(body string) map[string]string {
	rows := map[string]string{}
	for _, m := range nodeRowRe.FindAllStringSubmatch(body, -1) {
		rows[m[1]] = m[0]
	}
	return rows
}

func TestDashboardShowsEveryNode(t *testing.T) {
	t.Parallel()
	f := &fakeCluster{}
	e := setup(t, withCluster(f))
	b := e.browser(t)
	b.login("administrator", adminPassword)

	for _, path := range []string{"/ui/", "/ui/nodes/fragment"} {
		t.Run(path, func(t *testing.T) {
			p := b.get(path)
			p.expect(t, http.StatusOK,
				`data-refresh-url="/ui/nodes/fragment" data-refresh-seconds="2"`,
				"3 of 5 up",
				`<strong>1 node(s) report errors.</strong>`, `<strong>1 node(s) report warnings:</strong>`,
				"Clock skew cannot kill a node: liveness is judged by the database clock.",
				"<th scope=\"col\">Reachability from node1</th>")
			rows := nodeRows(p.body)
			if len(rows) != 5 {
				t.Fatalf("%d node rows, want 5\n%s", len(rows), p.body)
			}
			tests := []struct {
				node    string
				want    []string
				notWant []string
			}{
				{"node1", []string{`<span class="tag">this node</span>`, `<td data-label="URL" class="node-url"><code>http://node1.example:8080</code></td>`,
					`<span class="badge node-state node-state-up">UP</span>`, `<span class="checkin">checked in 0.4 s ago</span>`,
					`<span class="badge sched sched-running">RUNNING</span>`, `id="scheduler-stop-node1"`, `action="/ui/nodes/node1/scheduler/stop"`,
					`<span class="muted">none</span>`, `<td data-label="Reachability" class="reach"><div><span class="muted">—</span>`},
					[]string{"scheduler-start-node1", "NOT CHECKING IN"}},
				{"node2", []string{"checked in 1.2 s ago", `<span class="badge sched sched-paused">PAUSED</span>`, `id="scheduler-start-node2"`,
					`<span class="problem problem-warn">WARNING: version 0.2.0 differs from node node1 (0.1.0)</span>`,
					`<span class="reach-ok">last OK 3.0 s ago</span>`, `has-warnings`},
					[]string{"scheduler-stop-node2", "this node"}},
				{"node3", []string{"checked in 42 s ago", `<span class="problem problem-error">ERROR: node id conflict</span>`,
					`<span class="badge sched sched-error">ERROR</span>`, `has-errors`,
					`<span class="reach-ok reach-stale">last OK 1m 0s ago</span>`,
					`<span class="reach-error">failing: peer node3: node unreachable: connection refused <span class="muted">(2.0 s ago)</span>`},
					[]string{"scheduler-stop-node3", "scheduler-start-node3"}},
				{"node4", []string{`<span class="badge node-state node-state-down">DOWN</span>`, "checked in 5m 0s ago", `<span class="muted">not called yet</span>`},
					[]string{"scheduler-stop-node4", "NOT CHECKING IN"}},
				{"node5", []string{`<span class="badge node-state node-state-up">UP</span> <span class="badge node-state node-state-silent"`, "NOT CHECKING IN", "checked in 15 s ago",
					`<span class="reach-ok">last OK 1.0 s ago</span>`, `<span class="reach-error reach-past">earlier error: peer node5: timed out <span class="muted">(1m 30s ago)</span>`},
					[]string{"scheduler-stop-node5"}},
			}
			for _, tt := range tests {
				row := rows[tt.node]
				for _, s := range tt.want {
					if !strings.Contains(row, s) {
						t.Errorf("row %s does not contain %q\n%s", tt.node, s, row)
					}
				}
				for _, s := range tt.notWant {
					if strings.Contains(row, s) {
						t.Errorf("row %s contains %q\n%s", tt.node, s, row)
					}
				}
			}
		})
	}
	t.Run("the columns match their headings", func(t *testing.T) {
		p := b.get("/ui/")
		var heads []string
		for _, m := range thRe.FindAllStringSubmatch(p.body[strings.Index(p.body, `<table class="list compact cluster-nodes">`):], -1) {
			heads = append(heads, m[1])
		}
		var labels []string
		for _, m := range dataLabelRe.FindAllStringSubmatch(nodeRows(p.body)["node2"], -1) {
			labels = append(labels, m[1])
		}
		want := []string{"Node", "URL", "State", "Version", "Scheduler", "Errors and warnings", "Reachability", "Actions"}
		if strings.Join(labels, "|") != strings.Join(want, "|") || len(heads) != len(want) ||
			!strings.HasPrefix(strings.Join(heads, "|"), "Node|URL|State, last check-in|Version|Scheduler|Errors and warnings|Reachability from node1|") {
			t.Errorf("headings %q, cells %q; want %q", heads, labels, want)
		}
	})
	t.Run("the fragment is only the node table", func(t *testing.T) {
		p := b.get("/ui/nodes/fragment")
		if !strings.HasPrefix(strings.TrimSpace(p.body), `<section id="nodes-live"`) || strings.Contains(p.body, "<html") || strings.Contains(p.body, "count-users") {
			t.Errorf("the fragment is not just the node table:\n%.300s", p.body)
		}
		p.expect(t, http.StatusOK, `name="csrf" value="`)
	})
	t.Run("the dashboard still shows this node and the repository", func(t *testing.T) {
		b.get("/ui/").expect(t, http.StatusOK, `<dd class="node-id">node1</dd>`, `<span class="stat-number" id="count-roles">2</span>`,
			`<a href="/ui/roles">`, `<span class="stat-number" id="count-reports">0</span>`, `href="/ui/" aria-current="page"`)
	})
}

func TestDashboardWithoutProblems(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) {
		o.deps = func(d *webui.Deps) {
			d.Nodes = func(context.Context) ([]appcluster.NodeView, error) {
				return []appcluster.NodeView{{Node: cluster.Node{ID: "node1", OperationalState: cluster.Up, SchedulerState: cluster.SchedulerRunning,
					LastCheckIn: time.Now()}, CheckInAge: 1500 * time.Millisecond, Alive: true}}, nil
			}
		}
	})
	b := e.browser(t)
	b.login("administrator", adminPassword)
	p := b.get("/ui/")
	p.expect(t, http.StatusOK, "1 of 1 up", "checked in 1.5 s ago")
	for _, s := range []string{"banner-errors", "banner-warnings", "Reachability from", "scheduler-stop-", `data-label="Actions"`} {
		if strings.Contains(p.body, s) {
			t.Errorf("a healthy node without peer data or scheduler controls shows %q", s)
		}
	}
}

func TestDashboardWhenNodesCannotBeRead(t *testing.T) {
	t.Parallel()
	f := &fakeCluster{err: errors.New("cluster manager not started")}
	e := setup(t, withCluster(f))
	b := e.browser(t)
	b.login("administrator", adminPassword)
	for _, path := range []string{"/ui/", "/ui/nodes/fragment"} {
		p := b.get(path)
		p.expect(t, http.StatusOK, "The node list cannot be read right now", `data-refresh-url="/ui/nodes/fragment"`)
		if strings.Contains(p.body, "cluster manager not started") {
			t.Errorf("%s shows the internal error", path)
		}
	}
	if !strings.Contains(e.log.String(), "cluster manager not started") {
		t.Error("the error is not in the node log")
	}
}

func TestDashboardWithoutCluster(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.login("administrator", adminPassword)
	p := b.get("/ui/")
	p.expect(t, http.StatusOK, `<dd class="node-id">node1</dd>`)
	if strings.Contains(p.body, "nodes-live") || strings.Contains(p.body, "data-refresh-url") {
		t.Error("a node without a cluster view shows a node table")
	}
	b.get("/ui/nodes/fragment").expect(t, http.StatusNotFound, "There is no page at /ui/nodes/fragment.")
}

func TestSchedulerButtons(t *testing.T) {
	t.Parallel()
	f := &fakeCluster{}
	e := setup(t, withCluster(f))
	b := e.browser(t)
	b.login("administrator", adminPassword)
	csrf := b.get("/ui/").field(t, csrfRe)

	tests := []struct {
		name, path string
		form       url.Values
		status     int
		location   string
		texts      []string
		call       string
	}{
		{name: "stop", path: "/ui/nodes/node1/scheduler/stop", form: url.Values{"csrf": {csrf}},
			status: http.StatusSeeOther, location: "/ui/?ok=scheduler-stopped", call: "stop node1"},
		{name: "start another node", path: "/ui/nodes/node2/scheduler/start", form: url.Values{"csrf": {csrf}},
			status: http.StatusSeeOther, location: "/ui/?ok=scheduler-started", call: "start node2"},
		{name: "unknown node", path: "/ui/nodes/ghost/scheduler/stop", form: url.Values{"csrf": {csrf}},
			status: http.StatusNotFound, texts: []string{`<strong>Error:</strong> There is no node &#34;ghost&#34;; it may have been removed.`, `id="nodes-live"`}},
		{name: "node does not answer", path: "/ui/nodes/node5/scheduler/start", form: url.Values{"csrf": {csrf}},
			status: http.StatusServiceUnavailable, texts: []string{"Node node5 did not answer, so its scheduler was not told to start; it may be down or unreachable from node node1."}},
		{name: "other failure", path: "/ui/nodes/node3/scheduler/stop", form: url.Values{"csrf": {csrf}},
			status: http.StatusInternalServerError, texts: []string{"The scheduler of node node3 could not be told to stop; see this node&#39;s log."}},
		{name: "without a CSRF token", path: "/ui/nodes/node1/scheduler/stop", form: url.Values{},
			status: http.StatusForbidden, texts: []string{"no valid security token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.called())
			p := b.post(tt.path, tt.form)
			if tt.location != "" {
				p.redirectsTo(t, tt.location)
			} else {
				p.expect(t, tt.status, append(tt.texts, `role="alert"`)...)
			}
			calls := f.called()
			switch {
			case tt.call == "" && len(calls) != before:
				t.Errorf("calls %v after a refused action", calls)
			case tt.call != "" && (len(calls) != before+1 || calls[len(calls)-1] != tt.call):
				t.Errorf("calls %v, want %q last", calls, tt.call)
			}
		})
	}
	b.get("/ui/?ok=scheduler-stopped").expect(t, http.StatusOK, "Scheduler stopped: the node starts no new task runs until it is started again.")
	if !strings.Contains(e.log.String(), "pq: connection reset") {
		t.Error("the failure is not in the node log")
	}
}

func TestReaderSeesNodesWithoutButtons(t *testing.T) {
	t.Parallel()
	f := &fakeCluster{}
	e := setup(t, withCluster(f))
	e.addUser(t, "rita", "Password1", e.readerOID)
	b := e.browser(t)
	b.login("rita", "Password1")
	p := b.get("/ui/")
	p.expect(t, http.StatusOK, `id="node-node1"`, "ERROR: node id conflict")
	if strings.Contains(p.body, "/scheduler/") {
		t.Error("a reader sees scheduler buttons")
	}
	csrf := p.field(t, csrfRe)
	b.post("/ui/nodes/node1/scheduler/stop", url.Values{"csrf": {csrf}}).expect(t, http.StatusForbidden, "You are not allowed to do this.")
	if calls := f.called(); len(calls) != 0 {
		t.Errorf("a reader's POST reached the scheduler: %v", calls)
	}

	nobody := e.browser(t)
	e.addUser(t, "nobody", "Password1")
	nobody.login("nobody", "Password1")
	nobody.get("/ui/nodes/fragment").expect(t, http.StatusForbidden)
}
