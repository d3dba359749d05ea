package cluster_test

import (
	"errors"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"cadre/apiclient"
	"cadre/db/dbtest"
	"cadre/node/proctest"
	"cadre/node/proctest/faultproxy"
)

// behindProxy makes a fresh PostgreSQL database and a fault proxy in front
// of its server, and returns the proxy with a URL that reaches the database
// through it.
func behindProxy(t *testing.T) (*faultproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(dbtest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	u.Host = p.Addr()
	return p, u.String()
}

// waitArgs are a clustered node's arguments on dbURL with a nodeTimeout
// longer than the outages below, so that the node does not judge itself
// dead when its database comes back (that is the repair pass's case).
func waitArgs(dbURL string, extra ...string) []string {
	return append([]string{
		"-Dmidpoint.repository.jdbcUrl=" + dbURL,
		"-Dmidpoint.repository.maxPoolSize=4",
		"-Dmidpoint.taskManager.clustered=true",
		"-Dmidpoint.taskManager.localNodeClusteringEnabled=true",
		"-Dmidpoint.taskManager.nodeRegistrationInterval=500ms",
		"-Dmidpoint.taskManager.nodeTimeout=10s",
		"-Dmidpoint.administrator.initialPassword=" + proctest.AdminPassword,
	}, extra...)
}

// readyz returns the status and body of GET /readyz, anonymously.
func readyz(t *testing.T, p *proctest.Proc) (int, map[string]any) {
	t.Helper()
	return proctest.Client{Base: p.URL}.Do(t, http.MethodGet, "/readyz", nil)
}

// runNoop creates a small bucketed noop task on p and waits for SUCCESS.
func runNoop(t *testing.T, p *proctest.Proc) {
	t.Helper()
	params, perNode := map[string]any{"itemsPerBucket": 2}, 2
	oid := p.Admin().CreateTask(t, apiclient.TaskCreate{Name: "after the database", Handler: "noop", Params: &params,
		Bucketing: apiclient.NumericBucketing(0, 20, 1), Workers: &apiclient.Workers{PerNode: &perNode}}).Oid
	got := p.Admin().WaitTaskClosed(t, oid, 60*time.Second)
	if got.ResultStatus != apiclient.TaskResultStatusSUCCESS || got.Progress.BucketsComplete != 20 {
		t.Fatalf("task %s: %s with %d of 20 buckets complete, want SUCCESS with all", oid, got.ResultStatus, got.Progress.BucketsComplete)
	}
}

// TestWaitsForDatabase: a node started while its database refuses
// connections stays up, says why it is not ready without naming the
// database, and becomes ready by itself once the database accepts them.
func TestWaitsForDatabase(t *testing.T) {
	proxy, dbURL := behindProxy(t)
	proxy.Refuse()
	p := proctest.StartServing(t, "node1", waitArgs(dbURL)...)

	time.Sleep(1500 * time.Millisecond) // several attempts
	if !p.Alive() {
		t.Fatalf("the node exited while its database refused connections:\n%s", p.Log())
	}
	status, body := proctest.Client{Base: p.URL}.Do(t, http.MethodGet, "/healthz", nil)
	if status != http.StatusOK || body["instance"] == "" {
		t.Fatalf("/healthz while waiting: %d %v, want 200 with the instance", status, body)
	}
	status, body = readyz(t, p)
	reason, _ := body["reason"].(string)
	if status != http.StatusServiceUnavailable || !strings.Contains(reason, "waiting for the database") {
		t.Fatalf("/readyz while waiting: %d %v, want 503 waiting for the database", status, body)
	}
	for _, secret := range []string{proxy.Addr(), "postgres", "cadre_t_"} {
		if strings.Contains(reason, secret) {
			t.Errorf("/readyz tells anonymous callers %q: %v", secret, body)
		}
	}
	status, body = p.Admin().Do(t, http.MethodGet, "/api/v1/nodes", nil)
	if status != http.StatusServiceUnavailable || body["error"] != "unavailable" {
		t.Fatalf("the API while waiting: %d %v, want 503 unavailable", status, body)
	}
	if !strings.Contains(p.Log(), "database unreachable; waiting for it") {
		t.Errorf("the log shows no attempt:\n%s", p.Log())
	}

	accepted := time.Now()
	if err := proxy.Accept(); err != nil {
		t.Fatal(err)
	}
	proctest.WaitFor(t, "the node to become ready after the database accepts", 10*time.Second, func() bool {
		status, _ := readyz(t, p)
		return status == http.StatusOK
	})
	t.Logf("ready %v after the database accepted connections", time.Since(accepted).Round(10*time.Millisecond))
	runNoop(t, p)
}

// TestGivesUpOnDatabase: past repository/initializationFailTimeout a node
// whose database still refuses exits with status 3 and names the key.
func TestGivesUpOnDatabase(t *testing.T) {
	proxy, dbURL := behindProxy(t)
	proxy.Refuse()
	const bound = 2 * time.Second
	cmd := exec.Command(proctest.Binary(t), append([]string{"-Dmidpoint.home=" + t.TempDir(), "-Dserver.port=0", "-Dmidpoint.nodeId=node1",
		"-Dmidpoint.repository.initializationFailTimeout=" + bound.String()}, waitArgs(dbURL)...)...)
	started := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(started)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v; want status 3\n%s", err, out)
	}
	if took < bound || took > bound+10*time.Second {
		t.Errorf("exited after %v; want a little over %v", took, bound)
	}
	for _, want := range []string{"repository/initializationFailTimeout", "repository/jdbcUrl", proxy.Addr(), "database unreachable"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not name %q:\n%s", want, out)
		}
	}
	t.Logf("exited with status 3 after %v", took.Round(10*time.Millisecond))
}

// TestSurvivesDatabaseOutage: a running node whose database refuses and
// drops every connection for a while stays up, is not ready meanwhile, is
// ready again by itself once the database is back, and runs new work.
func TestSurvivesDatabaseOutage(t *testing.T) {
	proxy, dbURL := behindProxy(t)
	p := proctest.Start(t, "node1", waitArgs(dbURL)...)
	runNoop(t, p)

	proxy.Refuse()
	proxy.Reset()
	down := time.Now()
	proctest.WaitFor(t, "/readyz to say 503 while the database is away", 10*time.Second, func() bool {
		status, body := readyz(t, p)
		return status == http.StatusServiceUnavailable && body["reason"] == "database unreachable"
	})
	time.Sleep(5*time.Second - time.Since(down))
	if !p.Alive() {
		t.Fatalf("the node exited during the outage:\n%s", p.Log())
	}
	anon := proctest.Client{Base: p.URL}
	if status, _ := anon.Do(t, http.MethodGet, "/healthz", nil); status != http.StatusOK {
		t.Fatalf("/healthz during the outage: %d, want 200", status)
	}
	back := time.Now()
	if err := proxy.Accept(); err != nil {
		t.Fatal(err)
	}
	proctest.WaitFor(t, "/readyz to say 200 after the database is back", 20*time.Second, func() bool {
		status, _ := readyz(t, p)
		return status == http.StatusOK
	})
	t.Logf("ready again %v after the database accepted connections", time.Since(back).Round(10*time.Millisecond))
	runNoop(t, p)
	if !p.Alive() {
		t.Fatal("the node exited")
	}
}

// TestStopsWhileWaiting: SIGTERM ends a node that waits for its database at
// once, with status 0, as a supervisor stopping it expects.
func TestStopsWhileWaiting(t *testing.T) {
	proxy, dbURL := behindProxy(t)
	proxy.Refuse()
	p := proctest.StartServing(t, "node1", waitArgs(dbURL)...)
	time.Sleep(500 * time.Millisecond)
	started := time.Now()
	if err := p.Term(5 * time.Second); err != nil {
		t.Fatalf("SIGTERM while waiting: %v, want exit status 0\n%s", err, p.Log())
	}
	t.Logf("exited %v after SIGTERM", time.Since(started).Round(time.Millisecond))
}
