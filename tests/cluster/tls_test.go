package cluster_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"cadre/domain/object"
	"cadre/node/proctest"
)

// TestHTTPSUnderContextPath: three nodes serve HTTPS under /midpoint
// (-Dserver.servlet.context-path, Spring Boot's PEM keys) and find each
// other through the seed's URL pattern with the port added for one host,
// https://$host:$port/midpoint: their rows carry those URLs, signed peer
// calls go through them (verified against the trusted test CA), a bucketed
// task runs to the end exactly once, and the web UI, API, static files,
// redirects and the session cookie all live under the prefix.
func TestHTTPSUnderContextPath(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	ca, cert, key := proctest.TLSFiles(t, host)
	c := startClusterWith(t)
	c.args = append(clusterArgs(c.url), "-Dserver.servlet.context-path=/midpoint",
		"-Dserver.ssl.certificate="+cert, "-Dserver.ssl.certificate-private-key="+key, "-Dserver.ssl.trust-certificate="+ca)
	node1 := proctest.Start(t, "node1", c.args...)
	if !strings.HasPrefix(node1.URL, "https://") || !strings.HasSuffix(node1.URL, "/midpoint") {
		t.Fatalf("node1 serves at %s", node1.URL)
	}
	const pattern = "https://$host:$port/midpoint"
	status, out := node1.Admin().Do(t, "PATCH", "/api/v1/objects/systemConfiguration/"+object.SystemConfigurationOID,
		map[string]any{"infrastructure": map[string]string{"intraClusterHttpUrlPattern": pattern}})
	if status != 200 {
		t.Fatalf("set the URL pattern: %d %v", status, out)
	}
	c.nodes = []*proctest.Proc{node1, proctest.Start(t, "node2", c.args...), proctest.Start(t, "node3", c.args...)}
	c.waitLive(3)
	for _, p := range c.nodes {
		want := fmt.Sprintf("https://%s:%d/midpoint", host, p.Port)
		proctest.WaitFor(t, p.NodeID+"'s row to carry "+want, 15*time.Second, func() bool {
			return nodeField(t, node1, p.NodeID, "url") == want
		})
	}

	// Signed peer calls over https under the prefix: node1 switches node3's scheduler.
	for _, action := range []string{"stop", "start"} {
		status, out := node1.Admin().Do(t, "POST", "/api/v1/nodes/node3/scheduler/"+action, nil)
		if status != 200 {
			t.Fatalf("%s node3's scheduler through node1: %d %v", action, status, out)
		}
	}
	oid := c.createNoop(60, 2, 5, 1)
	c.waitClosed(oid, 60*time.Second)
	c.assertExactlyOnce(oid, 60, 2)

	// Web UI, static files and redirects under the prefix; nothing at the root.
	web := proctest.Client{Base: node1.URL, HTTP: node1.Admin().HTTP}
	if r := web.Request(t, "GET", "/ui/", nil); r.Status != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/midpoint/ui/login") {
		t.Fatalf("GET /midpoint/ui/: %d Location %q; want a redirect to /midpoint/ui/login", r.Status, r.Header.Get("Location"))
	}
	login := web.Request(t, "GET", "/ui/login", nil)
	if login.Status != 200 || !strings.Contains(string(login.Body), `href="/midpoint/static/cadre.css"`) || !strings.Contains(string(login.Body), `action="/midpoint/ui/login"`) {
		t.Fatalf("login page: %d, links not under /midpoint:\n%s", login.Status, login.Body)
	}
	if r := web.Request(t, "GET", "/static/cadre.css", nil); r.Status != 200 {
		t.Fatalf("GET /midpoint/static/cadre.css: %d", r.Status)
	}
	r := web.Request(t, "POST", "/api/v1/session", map[string]string{"username": proctest.AdminUser, "password": proctest.AdminPassword})
	if r.Status != 200 || !strings.Contains(r.Header.Get("Set-Cookie"), "Path=/midpoint/") || !strings.Contains(r.Header.Get("Set-Cookie"), "Secure") {
		t.Fatalf("log in: %d Set-Cookie %q; want a secure cookie for /midpoint/", r.Status, r.Header.Get("Set-Cookie"))
	}
	root := proctest.Client{Base: strings.TrimSuffix(node1.URL, "/midpoint"), HTTP: web.HTTP}
	if r := root.Request(t, "GET", "/readyz", nil); r.Status != 404 {
		t.Fatalf("GET /readyz outside the context path: %d; want 404", r.Status)
	}
	plain := proctest.Client{Base: strings.Replace(node1.URL, "https://", "http://", 1)}
	if r := plain.Request(t, "GET", "/readyz", nil); r.Status == 200 {
		t.Fatal("the node answered plain http")
	}
}
