package cluster_test

import (
	"strings"
	"testing"
	"time"

	"cadre/node/proctest"
)

// nodeField returns field of nodeID as seen by p's GET /api/v1/nodes.
func nodeField(t *testing.T, p *proctest.Proc, nodeID, field string) any {
	t.Helper()
	status, out := p.Admin().Do(t, "GET", "/api/v1/nodes", nil)
	if status != 200 {
		t.Fatalf("GET /api/v1/nodes: %d %v", status, out)
	}
	for _, it := range out["items"].([]any) {
		if n := it.(map[string]any); n["nodeId"] == nodeID {
			return n[field]
		}
	}
	return nil
}

// TestURLOverrideSetAndCleared: an administrator sets node2's urlOverride
// through node1's API; node2 takes it as its intra-cluster URL at its next
// check-in, peer calls use it, and clearing it brings the computed URL back.
func TestURLOverrideSetAndCleared(t *testing.T) {
	c := startCluster(t, 2)
	node1, node2 := c.nodes[0], c.nodes[1]
	computed := nodeField(t, node1, "node2", "url").(string)
	override := node2.URL + "/" // reachable, and unlike the computed http://<hostname>:<port>

	status, out := node1.Admin().Do(t, "PATCH", "/api/v1/nodes/node2", map[string]any{"urlOverride": override})
	if status != 200 || out["urlOverride"] != override {
		t.Fatalf("PATCH urlOverride: %d %v", status, out)
	}
	want := strings.TrimSuffix(override, "/")
	proctest.WaitFor(t, "node2 to follow its urlOverride", 10*time.Second, func() bool {
		return nodeField(t, node1, "node2", "url") == want
	})
	// A peer call from node1 reaches node2 at the override.
	if status, out := node1.Admin().Do(t, "POST", "/api/v1/nodes/node2/scheduler/stop", nil); status != 200 || out["schedulerState"] != "PAUSED" {
		t.Fatalf("stop node2's scheduler through node1: %d %v", status, out)
	}
	if status, out := node1.Admin().Do(t, "POST", "/api/v1/nodes/node2/scheduler/start", nil); status != 200 {
		t.Fatalf("start node2's scheduler through node1: %d %v", status, out)
	}

	for _, bad := range []struct {
		path string
		body any
		want int
	}{
		{"/api/v1/nodes/node2", map[string]any{"urlOverride": "node2:8080"}, 422},
		{"/api/v1/nodes/node2", map[string]any{"urlOverride": "ftp://node2/"}, 422},
		{"/api/v1/nodes/node2", map[string]any{}, 400},
		{"/api/v1/nodes/node2", map[string]any{"url": "http://x/"}, 400},
		{"/api/v1/nodes/nosuch", map[string]any{"urlOverride": "http://x/"}, 404},
	} {
		if status, out := node1.Admin().Do(t, "PATCH", bad.path, bad.body); status != bad.want {
			t.Errorf("PATCH %s %v: %d %v; want %d", bad.path, bad.body, status, out, bad.want)
		}
	}

	status, out = node2.Admin().Do(t, "PATCH", "/api/v1/nodes/node2", map[string]any{"urlOverride": nil})
	if status != 200 || out["urlOverride"] != "" {
		t.Fatalf("clear urlOverride: %d %v", status, out)
	}
	proctest.WaitFor(t, "node2's computed URL to come back", 10*time.Second, func() bool {
		return nodeField(t, node1, "node2", "url") == computed
	})
}
