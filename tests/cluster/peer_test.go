package cluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"cadre/domain/object"
	"cadre/infrastructure/peer"
	"cadre/node/proctest"
)

// waitWarm waits until freshly started nodes cache again: a node caches
// nothing for its first three check-in intervals (until every peer lists
// it), and these tests must prove the invalidation, not that warm-up.
func waitWarm() { time.Sleep(4 * interval) }

const sysConfigPath = "/api/v1/objects/systemConfiguration/" + object.SystemConfigurationOID

// subscription reads the system configuration's subscription identifier
// through a node's API, which serves it from the node's global cache.
func subscription(t *testing.T, p *proctest.Proc) string {
	t.Helper()
	status, out := p.Admin().Do(t, "GET", sysConfigPath, nil)
	if status != 200 {
		t.Fatalf("read system configuration on %s: %d %v", p.NodeID, status, out)
	}
	info, _ := out["deploymentInformation"].(map[string]any)
	s, _ := info["subscriptionIdentifier"].(string)
	return s
}

func TestCacheInvalidationReachesPeers(t *testing.T) {
	c := startCluster(t, 3)
	waitWarm()
	for _, p := range c.nodes { // prime every node's global cache
		subscription(t, p)
	}
	for i := range 5 {
		want := fmt.Sprintf("sub-%d", i)
		status, out := c.admin(0).Do(t, "PATCH", sysConfigPath, map[string]any{"deploymentInformation": map[string]any{"subscriptionIdentifier": want}})
		if status != 200 {
			t.Fatalf("modify on node1: %d %v", status, out)
		}
		changed := time.Now()
		for _, p := range c.nodes[1:] {
			proctest.WaitFor(t, p.NodeID+" to see the change", 5*time.Second, func() bool { return subscription(t, p) == want })
		}
		if took := time.Since(changed); took > 2*time.Second {
			t.Errorf("change %d took %s to reach the peers' caches (the TTL is 60 s: the invalidation did not arrive)", i, took)
		}
	}
}

// login opens a web session on a node and returns a client holding its cookie.
func login(t *testing.T, base, user, pass string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := hc.Post(base+"/api/v1/session", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pass)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login %s on %s: %d", user, base, resp.StatusCode)
	}
	return hc
}

func get(t *testing.T, hc *http.Client, url string) int {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDisabledUserIsLoggedOutEverywhere(t *testing.T) {
	c := startCluster(t, 2)
	status, roles := c.admin(0).Do(t, "GET", "/api/v1/objects/roles?name=superuser", nil)
	if status != 200 {
		t.Fatal(roles)
	}
	role := roles["items"].([]any)[0].(map[string]any)["oid"].(string)
	status, user := c.admin(0).Do(t, "POST", "/api/v1/objects/users", map[string]any{"name": "ops", "password": "Operator1!", "roles": []string{role}})
	if status != 201 {
		t.Fatal(user)
	}
	waitWarm()
	onNode2 := login(t, c.nodes[1].URL, "ops", "Operator1!")
	for range 3 { // warm node2's principal cache
		if s := get(t, onNode2, c.nodes[1].URL+"/api/v1/objects/users"); s != 200 {
			t.Fatalf("ops on node2 before disabling: %d", s)
		}
	}
	if s, out := c.admin(0).Do(t, "PATCH", "/api/v1/objects/users/"+user["oid"].(string), map[string]any{"enabled": false}); s != 200 {
		t.Fatalf("disable on node1: %d %v", s, out)
	}
	if s := get(t, onNode2, c.nodes[1].URL+"/api/v1/objects/users"); s != 401 {
		t.Fatalf("ops on node2 right after being disabled on node1: %d; want 401", s)
	}
}

func TestReportRedirectAndProxy(t *testing.T) {
	c := startCluster(t, 1)
	proxy := proctest.Start(t, "node2", append(c.args, "-Dmidpoint.reports.download=proxy")...)
	c.nodes = append(c.nodes, proxy)
	redirector := proctest.Start(t, "node3", c.args...)
	c.nodes = append(c.nodes, redirector)
	c.waitLive(3)
	status, out := c.admin(0).Do(t, "POST", "/api/v1/tasks", map[string]any{"name": "report on node1", "handler": "report",
		"params": map[string]any{"name": "Everyone"}, "executionGroup": "node1"})
	if status != 201 {
		t.Fatalf("create report task: %d %v", status, out)
	}
	c.waitClosed(out["oid"].(string), 30*time.Second)
	report, err := c.repo.GetByName(context.Background(), object.TypeReport, "Everyone")
	if err != nil {
		t.Fatal(err)
	}
	if report.(*object.Report).Node != "node1" {
		t.Fatalf("report made on %s, want node1", report.(*object.Report).Node)
	}
	path := "/api/v1/reports/" + report.ObjectMeta().OID + "/download"

	r := redirector.Admin().Request(t, "GET", path, nil)
	if r.Status != http.StatusTemporaryRedirect || !strings.HasSuffix(r.Header.Get("Location"), path) {
		t.Fatalf("download on node3: %d Location %q; want 307 to node1", r.Status, r.Header.Get("Location"))
	}
	node1, _ := c.repo.NodesGet(context.Background(), "node1")
	if !strings.HasPrefix(r.Header.Get("Location"), node1.URL) {
		t.Fatalf("redirect to %q, want node1's intra-cluster URL %s", r.Header.Get("Location"), node1.URL)
	}
	r = proxy.Admin().Request(t, "GET", path, nil)
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), "name,") || r.Header.Get("X-Served-By") != "node2" {
		t.Fatalf("proxied download on node2: %d served by %s: %.80q", r.Status, r.Header.Get("X-Served-By"), r.Body)
	}
	c.nodes[0].Kill()
	proctest.WaitFor(t, "node1 to be seen dead", 10*time.Second, func() bool {
		return redirector.Admin().Request(t, "GET", path, nil).Status == http.StatusServiceUnavailable
	})
	if r := proxy.Admin().Request(t, "GET", path, nil); r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "node-down") {
		t.Fatalf("download of a report on a dead node: %d %s; want 503 node-down", r.Status, r.Body)
	}
}

func TestForgedPeerCallsAreRefused(t *testing.T) {
	c := startCluster(t, 2)
	node1, err := c.repo.NodesGet(context.Background(), "node1")
	if err != nil || node1.Secret == "" {
		t.Fatalf("node1 row: %+v %v", node1, err)
	}
	target := c.nodes[1].URL + peer.BasePath + peer.EndpointStatus
	send := func(req *http.Request) (int, string) {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	signed := func(nodeID, secret string, at time.Time) *http.Request {
		req, _ := http.NewRequest("GET", target, nil)
		peer.Sign(req, nodeID, "node2", secret, nil, at)
		return req
	}
	// A call signed for node2, captured and sent to node1 instead.
	elsewhere := signed("node1", node1.Secret, time.Now())
	elsewhere.URL, _ = url.Parse(c.nodes[0].URL + peer.BasePath + peer.EndpointStatus)
	good := signed("node1", node1.Secret, time.Now())
	if s, body := send(good); s != 200 {
		t.Fatalf("a well-signed call: %d %s", s, body)
	}
	for _, tc := range []struct {
		name   string
		req    *http.Request
		reason string
	}{
		{"unsigned", func() *http.Request { r, _ := http.NewRequest("GET", target, nil); return r }(), "unsigned"},
		{"forged", signed("node1", "not-the-secret", time.Now()), "bad signature"},
		{"unknown node", signed("node9", node1.Secret, time.Now()), "unknown node"},
		{"stale", signed("node1", node1.Secret, time.Now().Add(-2*time.Minute)), "stale timestamp"},
		{"replayed", good.Clone(context.Background()), "replayed"},
		{"replayed to another node", elsewhere, "signed for node node2, not this node node1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, body := send(tc.req)
			if s != http.StatusUnauthorized || !strings.Contains(body, tc.reason) {
				t.Fatalf("want 401 %q, got %d %s", tc.reason, s, body)
			}
		})
	}
	if !strings.Contains(c.nodes[1].Log(), "replayed") {
		t.Error("node2's log does not say which check refused the replay")
	}
}

func TestSchedulerStopReachesTheNamedNode(t *testing.T) {
	c := startCluster(t, 2)
	state := func() string {
		n, err := c.repo.NodesGet(context.Background(), "node2")
		if err != nil {
			t.Fatal(err)
		}
		return string(n.SchedulerState)
	}
	if s, out := c.admin(0).Do(t, "POST", "/api/v1/nodes/node2/scheduler/stop", nil); s != 200 {
		t.Fatalf("stop node2's scheduler through node1: %d %v", s, out)
	}
	proctest.WaitFor(t, "node2 to be PAUSED", 5*time.Second, func() bool { return state() == "PAUSED" })
	oid := c.createNoop(20, 1, 0, 2)
	c.waitClosed(oid, 30*time.Second)
	for _, b := range c.buckets(oid) {
		if b.Node != "node1" {
			t.Fatalf("bucket %d ran on %s while node2's scheduler was stopped", b.Seq, b.Node)
		}
	}
	if s, out := c.admin(0).Do(t, "POST", "/api/v1/nodes/node2/scheduler/start", nil); s != 200 {
		t.Fatalf("start node2's scheduler through node1: %d %v", s, out)
	}
	proctest.WaitFor(t, "node2 to be RUNNING", 5*time.Second, func() bool { return state() == "RUNNING" })
	if s, _ := c.admin(0).Do(t, "POST", "/api/v1/nodes/node9/scheduler/stop", nil); s != 404 {
		t.Fatalf("unknown node: %d, want 404", s)
	}
}
