package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"cadre/domain/cluster"
	"cadre/interfaces/webui"
)

// overrides records urlOverride changes the dashboard asks for.
type overrides struct {
	mu  sync.Mutex
	set map[string]string
}

func (o *overrides) setURLOverride(_ context.Context, nodeID, override string) error {
	if nodeID == "ghost" {
		return fmt.Errorf("%w: %s", cluster.ErrNotFound, nodeID)
	}
	if err := cluster.CheckURLOverride(override); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.set[nodeID] = override
	return nil
}

func (o *overrides) get(nodeID string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.set[nodeID]
	return v, ok
}

func TestDashboardURLOverride(t *testing.T) {
	t.Parallel()
	f, o := &fakeCluster{}, &overrides{set: map[string]string{}}
	e := setup(t, func(opt *options) {
		withCluster(f)(opt)
		cluster := opt.deps
		opt.deps = func(d *webui.Deps) {
			cluster(d)
			d.SetURLOverride = o.setURLOverride
		}
	})
	b := e.browser(t)
	b.login("administrator", adminPassword)
	p := b.get("/ui/")
	p.expect(t, http.StatusOK, `id="url-override"`, `<option value="node3">node3</option>`, `action="/ui/nodes/url-override"`)
	csrf := p.field(t, csrfRe)

	b.post("/ui/nodes/url-override", url.Values{"csrf": {csrf}, "node": {"node2"}, "urlOverride": {"https://node2.example:8443/midpoint"}, "action": {"set"}}).
		redirectsTo(t, "/ui/?ok=url-override-set")
	if v, _ := o.get("node2"); v != "https://node2.example:8443/midpoint" {
		t.Fatalf("node2's override = %q", v)
	}
	b.post("/ui/nodes/url-override", url.Values{"csrf": {csrf}, "node": {"node2"}, "urlOverride": {"ignored"}, "action": {"clear"}}).
		redirectsTo(t, "/ui/?ok=url-override-cleared")
	if v, ok := o.get("node2"); !ok || v != "" {
		t.Fatalf("node2's override after clear = %q, %v", v, ok)
	}
	b.post("/ui/nodes/url-override", url.Values{"csrf": {csrf}, "node": {"node1"}, "urlOverride": {"node1:8080"}, "action": {"set"}}).
		expect(t, http.StatusUnprocessableEntity, "is not an absolute http or https URL", `role="alert"`)
	b.post("/ui/nodes/url-override", url.Values{"csrf": {csrf}, "node": {"ghost"}, "urlOverride": {"http://x/"}, "action": {"set"}}).
		expect(t, http.StatusNotFound, "There is no node &#34;ghost&#34;")
	b.post("/ui/nodes/url-override", url.Values{"node": {"node1"}, "urlOverride": {"http://x/"}}).
		expect(t, http.StatusForbidden, "no valid security token")
	if _, ok := o.get("node1"); ok {
		t.Error("a refused request changed node1's override")
	}
}
