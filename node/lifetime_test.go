package node_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"cadre/app/repository"
	"cadre/db/dbtest"
	"cadre/domain/cluster"
	"cadre/domain/object"
	"cadre/infrastructure/config"
	"cadre/node"
	"cadre/node/nodetest"
)

// TestStopEndsEveryGoroutine: a clustered node whose peer never answers
// (its cache invalidations, session invalidations and status probes hang)
// stops without leaving one goroutine of its own behind: Stop cancels the
// peer calls in flight and waits for them before it closes the databases,
// and closes the connections it keeps alive to a peer that does answer.
func TestStopEndsEveryGoroutine(t *testing.T) {
	url := dbtest.Postgres(t)
	before := goroutineIDs()

	called := make(chan string, 100)
	abandoned := make(chan struct{}, 100)
	testDone := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body, so the server notices when the caller hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		called <- r.URL.Path
		select { // answers nothing until the caller gives up
		case <-r.Context().Done():
			abandoned <- struct{}{}
		case <-testDone:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(testDone) }) // runs first: frees a handler the test failed to see abandoned
	answered := make(chan string, 100)
	quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answered <- r.URL.Path
		w.WriteHeader(http.StatusNoContent) // the client keeps the connection alive
	}))
	t.Cleanup(quick.Close)

	n := newNode(t, url, "-Dmidpoint.taskManager.clustered=true", "-Dmidpoint.taskManager.localNodeClusteringEnabled=true", "-Dmidpoint.nodeId=node1")
	ctx := context.Background()
	if err := n.Start(ctx); err != nil {
		t.Fatalf("start node: %v", err)
	}
	// A live peer row whose URL hangs: it checks in once, with a lease long
	// enough to stay alive for the whole test.
	for id, url := range map[string]string{"slowpeer": slow.URL, "quickpeer": quick.URL} {
		peerRow := &cluster.Node{ID: id, InternalID: id + "-instance", URL: url, Clustered: true, Version: node.Version,
			OperationalState: cluster.Up, SchedulerState: cluster.SchedulerRunning, Timeout: time.Hour}
		if err := n.Store.NodesRegister(ctx, peerRow, func(*cluster.Node, []*cluster.Node, time.Time) error { return nil }); err != nil {
			t.Fatalf("register peer %s: %v", id, err)
		}
	}
	// A cached object changes: its invalidation goes to the peer in the background.
	if _, err := n.Repo.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeSystemConfiguration, OID: object.SystemConfigurationOID,
		Apply: func(o object.Object) error {
			o.(*object.SystemConfiguration).DeploymentInformation.SubscriptionIdentifier = "lifetime-test"
			return nil
		}}); err != nil {
		t.Fatalf("modify system configuration: %v", err)
	}
	waitForCall(t, called, "/internal/cluster/cache/invalidate")
	waitForCall(t, answered, "/internal/cluster/cache/invalidate")

	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second) // a hang guard only
	defer cancel()
	if err := n.Stop(stopCtx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	// Right after Stop, a goroutine of the node may at most be returning
	// (runnable); none may still wait for anything.
	for _, g := range nodeGoroutines(before) {
		if !strings.Contains(g, " [runnable]:") && !strings.Contains(g, " [running]:") {
			t.Fatalf("a goroutine of the node outlived Stop:\n\n%s", g)
		}
	}
	waitFor(t, "the node's returning goroutines to end", 10*time.Second, func() bool { return len(nodeGoroutines(before)) == 0 })
	// Kept-alive client connections would otherwise read on for 90 s.
	waitFor(t, "the node's connections to its peers to close", 10*time.Second, func() bool { return len(peerConnGoroutines(before)) == 0 })
	select {
	case <-abandoned:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow peer's request was never abandoned")
	}
}

// newNode builds a node on url that the test starts and stops itself.
func newNode(t *testing.T, url string, extra ...string) *node.Node {
	t.Helper()
	args := append([]string{
		"-Dmidpoint.home=" + t.TempDir(),
		"-Dmidpoint.repository.jdbcUrl=" + url,
		"-Dmidpoint.administrator.initialPassword=" + nodetest.AdminPassword,
		"-Dserver.port=0",
		"-Dmidpoint.taskManager.nodeRegistrationInterval=200ms",
		"-Dmidpoint.taskManager.nodeTimeout=2s",
	}, extra...)
	cfg, err := config.Load(args, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	n, err := node.New(context.Background(), cfg, node.NewLogger(io.Discard, cfg))
	if err != nil {
		t.Fatalf("new node: %v", err)
	}
	return n
}

func waitForCall(t *testing.T, called <-chan string, path string) {
	t.Helper()
	deadline := time.After(30 * time.Second) // a hang guard only
	for {
		select {
		case p := <-called:
			if p == path {
				return
			}
		case <-deadline:
			t.Fatalf("the peer never received %s", path)
		}
	}
}

// peerConnGoroutines lists the goroutines, not in before, that serve an
// HTTP client connection (the test itself makes none).
func peerConnGoroutines(before map[string]bool) []string {
	var left []string
	for id, stack := range goroutineStacks() {
		if !before[id] && strings.Contains(stack, "net/http.(*persistConn)") {
			left = append(left, stack)
		}
	}
	return left
}

var goroutineHeader = regexp.MustCompile(`^goroutine (\d+) `)

// goroutineStacks returns every goroutine's stack by goroutine id.
func goroutineStacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if m := goroutineHeader.FindStringSubmatch(g); m != nil {
			out[m[1]] = g
		}
	}
	return out
}

func goroutineIDs() map[string]bool {
	ids := map[string]bool{}
	for id := range goroutineStacks() {
		ids[id] = true
	}
	return ids
}

// nodeGoroutines lists the goroutines, not in before, that run Cadre code
// other than this test's own (the slow peer's handler).
func nodeGoroutines(before map[string]bool) []string {
	var left []string
	for id, stack := range goroutineStacks() {
		if before[id] {
			continue
		}
		for _, line := range strings.Split(stack, "\n") {
			if strings.HasPrefix(line, "cadre/") && !strings.HasPrefix(line, "cadre/node_test.") {
				left = append(left, stack)
				break
			}
		}
	}
	return left
}
