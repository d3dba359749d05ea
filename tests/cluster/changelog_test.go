package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	domcluster "cadre/domain/cluster"
	"cadre/domain/object"
	"cadre/node/proctest"
)

// session is a browser-like web session on one node: cookie and CSRF token.
type session struct {
	base string
	hc   *http.Client
	csrf string
}

func openSession(t *testing.T, base, user, pass string) *session {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := hc.Post(base+"/api/v1/session", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pass)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		CSRFToken string `json:"csrfToken"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login %s on %s: %d %v", user, base, resp.StatusCode, err)
	}
	return &session{base: base, hc: hc, csrf: out.CSRFToken}
}

// do sends a request in the session and returns the status and the error code of a refusal.
func (s *session) do(t *testing.T, method, path string, body any) (int, string) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", s.csrf)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Error
}

// TestRevokedRightsHoldOnANodeNoPushReaches: with the intra-cluster URL
// pattern pointing every peer call at a path that does not exist, a live
// session on node3 loses what node1 revokes within the change log's tick
// (issue 21: a second; asserted with room for a loaded machine): a
// disabled user gets 401, a user whose role was removed and a user whose
// role lost its authorization get 403 on a write the role allowed.
func TestRevokedRightsHoldOnANodeNoPushReaches(t *testing.T) {
	c := startCluster(t, 3)
	admin := c.admin(0)
	roleOID := func(name string, auths ...string) string {
		s, out := admin.Do(t, "POST", "/api/v1/objects/roles", map[string]any{"name": name, "authorizations": auths})
		if s != 201 {
			t.Fatalf("add role %s: %d %v", name, s, out)
		}
		return out["oid"].(string)
	}
	writers := roleOID("Writers", object.AuthSuperuser)
	editors := roleOID("Editors", object.AuthSuperuser)
	readers := roleOID("Readers2", object.AuthReader)
	users := map[string]string{}
	for name, role := range map[string]string{"gone": writers, "demoted": writers, "editor": editors, "target": readers} {
		s, out := admin.Do(t, "POST", "/api/v1/objects/users", map[string]any{"name": name, "password": "Operator1!", "roles": []string{role}})
		if s != 201 {
			t.Fatalf("add user %s: %d %v", name, s, out)
		}
		users[name] = out["oid"].(string)
	}

	s, out := admin.Do(t, "PATCH", sysConfigPath, map[string]any{"infrastructure": map[string]string{"intraClusterHttpUrlPattern": "http://$host:$port/nowhere"}})
	if s != 200 {
		t.Fatalf("break the URL pattern: %d %v", s, out)
	}
	for _, p := range c.nodes {
		proctest.WaitFor(t, p.NodeID+"'s row to carry the broken URL", 15*time.Second, func() bool {
			u, _ := nodeField(t, c.nodes[0], p.NodeID, "url").(string)
			return strings.HasSuffix(u, "/nowhere")
		})
	}
	waitWarm() // node3 caches principals again, so only an invalidation can end them
	node3 := c.nodes[2]
	write := func(ss *session, i int) (int, string) {
		return ss.do(t, "PATCH", "/api/v1/objects/users/"+users["target"], map[string]any{"fullName": fmt.Sprintf("Target %d", i)})
	}

	cases := []struct {
		name, user string
		revoke     func()
		check      func(*session, int) (int, string)
		want       int
	}{
		{"disabled user", "gone", func() {
			if s, out := admin.Do(t, "PATCH", "/api/v1/objects/users/"+users["gone"], map[string]any{"enabled": false}); s != 200 {
				t.Fatalf("disable: %d %v", s, out)
			}
		}, func(ss *session, _ int) (int, string) { return ss.do(t, "GET", "/api/v1/objects/users?limit=1", nil) }, 401},
		{"removed role", "demoted", func() {
			if s, out := admin.Do(t, "PATCH", "/api/v1/objects/users/"+users["demoted"], map[string]any{"roles": []string{readers}}); s != 200 {
				t.Fatalf("replace the role: %d %v", s, out)
			}
		}, write, 403},
		{"changed authorization", "editor", func() {
			if s, out := admin.Do(t, "PATCH", "/api/v1/objects/roles/"+editors, map[string]any{"authorizations": []string{object.AuthReader}}); s != 200 {
				t.Fatalf("change the role's authorizations: %d %v", s, out)
			}
		}, write, 403},
	}
	for _, tc := range cases {
		ss := openSession(t, node3.URL, tc.user, "Operator1!")
		for i := range 3 { // node3 now holds the principal in its cache
			if s, code := write(ss, i); s != 200 {
				t.Fatalf("%s: a write on node3 before the change: %d %s", tc.name, s, code)
			}
		}
		tc.revoke()
		revoked := time.Now()
		var s int
		var code string
		for time.Since(revoked) < 10*time.Second {
			if s, code = tc.check(ss, 100); s == tc.want {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(revoked)
		t.Logf("%s: node3 answered %d (%s) %s after node1 made the change", tc.name, s, code, took.Round(time.Millisecond))
		if s != tc.want || code == "csrf" {
			t.Fatalf("%s: node3 still answers %d %s 10 s after the change on node1; want %d", tc.name, s, code, tc.want)
		}
		if took > 3*time.Second {
			t.Errorf("%s: took %s to hold on node3; the bound is the change log's tick (a second with room for load)", tc.name, took)
		}
	}
	proctest.WaitFor(t, "the activity to show node3 caught up from the change log", 40*time.Second, func() bool {
		events, err := c.repo.EventsList(context.Background(), 100)
		if err != nil {
			return false
		}
		for _, e := range events {
			if e.Kind == domcluster.EventCaughtUp && e.Node == "node3" {
				return true
			}
		}
		return false
	})
}

// TestReadYourWritesAcrossNodes: a write answers with X-Cadre-Change; a
// read on another node that sends it back as X-Cadre-After-Change sees
// the write even when no push reaches that node (it waits for its change
// log tick), where a read without it may still be served from the cache.
func TestReadYourWritesAcrossNodes(t *testing.T) {
	c := startCluster(t, 2)
	admin1, admin2 := c.admin(0), c.nodes[1].Admin()
	if s, out := admin1.Do(t, "PATCH", sysConfigPath, map[string]any{"infrastructure": map[string]string{"intraClusterHttpUrlPattern": "http://$host:$port/nowhere"}}); s != 200 {
		t.Fatalf("break the URL pattern: %d %v", s, out)
	}
	for _, p := range c.nodes {
		proctest.WaitFor(t, p.NodeID+"'s row to carry the broken URL", 15*time.Second, func() bool {
			u, _ := nodeField(t, c.nodes[0], p.NodeID, "url").(string)
			return strings.HasSuffix(u, "/nowhere")
		})
	}
	waitWarm()
	stale := 0
	var last int64
	for i := range 20 {
		subscription(t, c.nodes[1]) // node2 caches the system configuration
		want := fmt.Sprintf("ryw-%d", i)
		w := admin1.Request(t, "PATCH", sysConfigPath, map[string]any{"deploymentInformation": map[string]any{"subscriptionIdentifier": want}})
		seq, err := strconv.ParseInt(w.Header.Get("X-Cadre-Change"), 10, 64)
		if w.Status != 200 || err != nil || seq <= last {
			t.Fatalf("write %d on node1: %d, X-Cadre-Change %q after %d", i, w.Status, w.Header.Get("X-Cadre-Change"), last)
		}
		last = seq
		r := admin2.Request(t, "GET", sysConfigPath, nil, "X-Cadre-After-Change", strconv.FormatInt(seq, 10))
		var out struct {
			DeploymentInformation struct {
				SubscriptionIdentifier string `json:"subscriptionIdentifier"`
			} `json:"deploymentInformation"`
		}
		if err := json.Unmarshal(r.Body, &out); err != nil || r.Status != 200 {
			t.Fatalf("read %d on node2: %d %v", i, r.Status, err)
		}
		if got := out.DeploymentInformation.SubscriptionIdentifier; got != want {
			stale++
			t.Errorf("read %d on node2 with X-Cadre-After-Change %d: %q, want %q", i, seq, got, want)
		}
	}
	t.Logf("%d stale reads of 20 with the header, no push reaching node2", stale)
}
