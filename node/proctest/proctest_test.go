package proctest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// setup starts one node on SQLite in its home (the default repository).
func setup(t *testing.T, nodeID string) *Proc {
	t.Helper()
	return Start(t, nodeID, "-Dmidpoint.administrator.initialPassword="+AdminPassword)
}

func TestNodeServesAndTerminatesGracefully(t *testing.T) {
	t.Parallel()
	p := setup(t, "solo")

	if status, out := (Client{Base: p.URL}).Do(t, "GET", "/readyz", nil); status != http.StatusOK || out["node"] != "solo" {
		t.Fatalf("GET /readyz = %d %v, want 200 from node solo", status, out)
	}
	assertAdminSeesUsers(t, p)
	if status, _ := (Client{Base: p.URL}).Do(t, "GET", "/api/v1/objects/users", nil); status != http.StatusUnauthorized {
		t.Errorf("anonymous GET users = %d, want 401", status)
	}

	if err := p.Term(10 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v, want exit status 0 within 10s", err)
	}
	if p.Alive() {
		t.Fatal("alive after Term")
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("Exited() not closed after Term")
	}

	// Same port, home (database) and arguments: the administrator created on
	// the first start still logs in.
	old := p.Exited()
	p.Restart(t)
	if !p.Alive() || p.Exited() == old {
		t.Fatal("Restart did not start a new run")
	}
	assertAdminSeesUsers(t, p)
	if n := strings.Count(p.Log(), "=== proctest"); n != 1 {
		t.Errorf("log has %d restart markers, want 1", n)
	}
	if err := p.Term(10 * time.Second); err != nil {
		t.Fatalf("SIGTERM after restart: %v", err)
	}
}

func TestStoppedNodeDoesNotAnswerUntilContinued(t *testing.T) {
	t.Parallel()
	p := setup(t, "sleeper")

	p.Stop()
	quick := &http.Client{Timeout: time.Second}
	if resp, err := quick.Get(p.URL + "/readyz"); err == nil {
		resp.Body.Close()
		t.Fatalf("stopped node answered /readyz with %d", resp.StatusCode)
	}
	if !p.Alive() {
		t.Fatal("a stopped node must still be alive")
	}

	p.Cont()
	WaitFor(t, "/readyz after SIGCONT", 5*time.Second, func() bool {
		status, _ := (Client{Base: p.URL}).Do(t, "GET", "/readyz", nil)
		return status == http.StatusOK
	})

	p.Kill()
	select {
	case <-p.Exited():
	default:
		t.Fatal("Exited() not closed after Kill")
	}
	if status, out := p.Admin().Do(t, "GET", "/readyz", nil); status != 0 || out["error"] != "transport" {
		t.Errorf("killed node: GET /readyz = %d %v, want a transport error", status, out)
	}
}

func assertAdminSeesUsers(t *testing.T, p *Proc) {
	t.Helper()
	status, out := p.Admin().Do(t, "GET", "/api/v1/objects/users", nil)
	if status != http.StatusOK {
		t.Fatalf("admin GET users = %d %v, want 200", status, out)
	}
	items, _ := out["items"].([]any)
	for _, it := range items {
		if u, _ := it.(map[string]any); u["name"] == AdminUser {
			return
		}
	}
	t.Fatalf("users %v do not include %s", out, AdminUser)
}
