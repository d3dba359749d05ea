package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/node/proctest"
)

// Cadre's defaults (DESIGN §2), which these tests run at unless they say otherwise.
const (
	defaultInterval = 2 * time.Second
	defaultTimeout  = 10 * time.Second
)

// defaultTimingArgs are clusterArgs without the short test timings: the
// nodes run at the default nodeRegistrationInterval and nodeTimeout.
func defaultTimingArgs(dbURL string) []string {
	var out []string
	for _, a := range clusterArgs(dbURL) {
		if !strings.Contains(a, "nodeRegistrationInterval") && !strings.Contains(a, "nodeTimeout") {
			out = append(out, a)
		}
	}
	return out
}

// startClusterWith starts one node per argument list (node1…nodeN) on a
// fresh PostgreSQL database.
func startClusterWith(t *testing.T, args ...func(url string) []string) *cluster {
	t.Helper()
	c := newCluster(t, defaultTimingArgs)
	for i, a := range args {
		c.nodes = append(c.nodes, proctest.Start(t, fmt.Sprintf("node%d", i+1), a(c.url)...))
	}
	if len(args) > 0 {
		proctest.WaitFor(t, fmt.Sprintf("%d live nodes", len(args)), 30*time.Second, func() bool { return c.liveNodes() == len(args) })
	}
	return c
}

func atDefaults(url string) []string { return defaultTimingArgs(url) }

// holding waits until node holds a bucket and returns what it holds. Read
// just before a kill: the dead node's work may be recovered before a read
// after the kill could see it.
func (c *cluster) holding(oid, node string) map[int64]bool {
	c.t.Helper()
	held := map[int64]bool{}
	proctest.WaitFor(c.t, node+" to hold a bucket", 30*time.Second, func() bool {
		for _, b := range c.buckets(oid) {
			if b.State == task.BucketDelegated && b.Node == node {
				held[b.Seq] = true
			}
		}
		return len(held) > 0
	})
	return held
}

// addHeld adds what node holds now to held: read again right after a kill,
// it catches a bucket claimed between the first read and the kill.
func (c *cluster) addHeld(held map[int64]bool, oid, node string) {
	for _, b := range c.buckets(oid) {
		if b.State == task.BucketDelegated && b.Node == node {
			held[b.Seq] = true
		}
	}
}

// firstReclaim is when the first of held was claimed by another node, by
// the claiming node's own stamp; zero while none is.
func (c *cluster) firstReclaim(oid, dead string, held map[int64]bool) time.Time {
	var first time.Time
	for _, b := range c.buckets(oid) {
		if !held[b.Seq] || b.Node == dead || b.State == task.BucketReady || b.ClaimedAt == nil {
			continue
		}
		if first.IsZero() || b.ClaimedAt.Before(first) {
			first = *b.ClaimedAt
		}
	}
	return first
}

// TestKillNineNoticedAtOnceAtDefaults: at the default settings (check-in
// every 2 s, nodeTimeout 10 s) a node killed with -9 on PostgreSQL is
// declared dead because the database released its liveness lock and its URL
// refuses connections, and its buckets are claimed elsewhere long before
// nodeTimeout (the target is under a second; make bench measures it).
func TestKillNineNoticedAtOnceAtDefaults(t *testing.T) {
	c := startClusterWith(t, atDefaults, atDefaults, atDefaults)
	const buckets, items = 300, 5
	oid := c.createNoop(buckets, items, 10, 2)
	proctest.WaitFor(t, "a quarter of the buckets", 60*time.Second, func() bool { return c.complete(oid) >= buckets/4 })
	victim := c.nodes[1]
	held := c.holding(oid, victim.NodeID)
	killedAt := time.Now()
	victim.Kill()
	c.addHeld(held, oid, victim.NodeID)
	var first time.Time
	proctest.WaitFor(t, "the killed node's buckets to be claimed elsewhere", 30*time.Second, func() bool {
		first = c.firstReclaim(oid, victim.NodeID, held)
		return !first.IsZero()
	})
	reclaim := first.Sub(killedAt)
	t.Logf("kill -9 → first re-claim of its %d buckets: %s (nodeTimeout %s, interval %s)", len(held), reclaim.Round(time.Millisecond), defaultTimeout, defaultInterval)
	// Far below nodeTimeout, so it cannot have been the timeout; the exact
	// figure depends on this shared machine's load.
	if reclaim > defaultTimeout/2 {
		t.Errorf("re-claim took %s; the liveness lock should have told the peers long before nodeTimeout (%s)", reclaim, defaultTimeout)
	}
	found := false
	for _, p := range []*proctest.Proc{c.nodes[0], c.nodes[2]} {
		found = found || strings.Contains(p.Log(), "liveness lock released")
	}
	if !found {
		t.Error("no survivor logged that the dead node's liveness lock was released")
	}
	c.waitClosed(oid, 90*time.Second)
	c.assertExactlyOnce(oid, buckets, items)
}

// TestDroppedLockConnectionKillsNobody: terminating the backends that hold
// the nodes' liveness locks (as a database restart or an administrator
// would) frees every lock, but the nodes still answer, so nobody is declared
// dead; each node takes its lock again at once.
func TestDroppedLockConnectionKillsNobody(t *testing.T) {
	c := startClusterWith(t, atDefaults, atDefaults, atDefaults)
	const buckets, items = 200, 5
	oid := c.createNoop(buckets, items, 10, 2)
	admin, err := db.Open(context.Background(), db.Options{URL: dbtest.PostgresAdminURL(), MaxPoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	dbName := c.url[strings.LastIndex(c.url, "/")+1:]
	if i := strings.IndexByte(dbName, '?'); i >= 0 {
		dbName = dbName[:i]
	}
	heldLocks := func() int {
		var n int
		if err := admin.Raw(`SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			WHERE d.datname = ? AND l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
			AND l.pid IN (SELECT pid FROM pg_stat_activity WHERE state = 'idle')`, dbName).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	proctest.WaitFor(t, "three held liveness locks", 20*time.Second, func() bool { return heldLocks() == 3 })
	for round := range 3 {
		var cut int
		if err := admin.Raw(`SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			WHERE d.datname = ? AND l.locktype = 'advisory' AND l.granted AND l.objsubid = 1`, dbName).Scan(&cut).Error; err != nil {
			t.Fatal(err)
		}
		if cut < 3 {
			t.Fatalf("round %d: terminated %d lock holders, want 3", round, cut)
		}
		proctest.WaitFor(t, "every node to take its lock again", 20*time.Second, func() bool { return heldLocks() == 3 })
		time.Sleep(2 * defaultInterval) // every peer probes several times meanwhile
	}
	c.waitClosed(oid, 90*time.Second)
	c.assertExactlyOnce(oid, buckets, items)
	for _, p := range c.nodes {
		log := p.Log()
		if strings.Contains(log, "node is dead") || strings.Contains(log, "recovered work of a dead node") {
			t.Errorf("%s declared a live node dead after its lock connection dropped", p.NodeID)
		}
		if !strings.Contains(log, "liveness lock re-taken") {
			t.Errorf("%s did not log that it re-took its liveness lock", p.NodeID)
		}
	}
	if live := c.liveNodes(); live != 3 {
		t.Fatalf("%d live nodes after the lock connections dropped; want 3", live)
	}
}

// TestHungNodeWaitsForItsLease: a node stopped with SIGSTOP keeps its
// session, so its lock stays held; it is declared dead by its lease only:
// not before nodeTimeout, and within nodeTimeout + interval (plus polling).
func TestHungNodeWaitsForItsLease(t *testing.T) {
	c := startCluster(t, 3)
	hung := c.nodes[2]
	stoppedAt := time.Now()
	hung.Stop()
	defer hung.Cont()
	var downAfter time.Duration
	proctest.WaitFor(t, "the hung node to be declared dead", 3*timeout, func() bool {
		n, err := c.repo.NodesGet(context.Background(), hung.NodeID)
		downAfter = time.Since(stoppedAt)
		return err == nil && n.OperationalState == "DOWN"
	})
	t.Logf("SIGSTOP → DOWN after %s (nodeTimeout %s, interval %s)", downAfter.Round(time.Millisecond), timeout, interval)
	if downAfter < timeout-interval {
		t.Errorf("declared dead after %s, before its nodeTimeout %s: the held lock should have kept it alive", downAfter, timeout)
	}
	if limit := timeout + interval + 500*time.Millisecond; downAfter > limit {
		t.Errorf("declared dead after %s; want at most nodeTimeout + interval (+ 500 ms polling) = %s", downAfter, limit)
	}
}

// TestMidPointSecondsAndLeases: plain numbers are midPoint's seconds, and
// each node is judged by the nodeTimeout in its own row. node1 checks in
// every 5 s with nodeTimeout 20 (seconds, as a midPoint configuration
// writes them); node2 checks in every 500 ms with nodeTimeout 2 s. node2
// must not declare node1 dead although node1 is silent longer than 2 s.
func TestMidPointSecondsAndLeases(t *testing.T) {
	slow := func(url string) []string {
		return append(defaultTimingArgs(url), "-Dmidpoint.taskManager.nodeRegistrationInterval=5", "-Dmidpoint.taskManager.nodeTimeout=20")
	}
	fast := func(url string) []string {
		return append(defaultTimingArgs(url), "-Dmidpoint.taskManager.nodeRegistrationInterval=500ms", "-Dmidpoint.taskManager.nodeTimeout=2")
	}
	c := startClusterWith(t, slow, fast)
	n1, err := c.repo.NodesGet(context.Background(), "node1")
	if err != nil || n1.Timeout != 20*time.Second {
		t.Fatalf("node1's row: %+v, %v; want its own nodeTimeout 20s", n1, err)
	}
	deadline := time.Now().Add(12 * time.Second) // more than two of node1's intervals
	sawSilence := false
	for time.Now().Before(deadline) {
		n1, err := c.repo.NodesGet(context.Background(), "node1")
		if err != nil {
			t.Fatal(err)
		}
		now, _ := c.repo.Now(context.Background())
		sawSilence = sawSilence || now.Sub(n1.LastCheckIn) > 3*time.Second
		if n1.OperationalState == "DOWN" {
			t.Fatal("node2 declared node1 dead by its own 2 s timeout; node1's lease is 20 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !sawSilence {
		t.Fatal("node1 never stayed silent longer than 3 s: it did not read nodeRegistrationInterval=5 as seconds")
	}
	if strings.Contains(c.nodes[1].Log(), "node is dead") {
		t.Error("node2 logged a dead node")
	}
}

// TestImpossibleTimingsStopStartup: zero, negative and overflowing values
// and a timeout not above the interval stop the binary with exit status 2
// and a line naming the key.
func TestImpossibleTimingsStopStartup(t *testing.T) {
	bin := proctest.Binary(t)
	tests := []struct {
		args []string
		key  string
	}{
		{[]string{"-Dmidpoint.taskManager.nodeTimeout=0"}, "taskManager/nodeTimeout"},
		{[]string{"-Dmidpoint.taskManager.nodeRegistrationInterval=-1"}, "taskManager/nodeRegistrationInterval"},
		{[]string{"-Dmidpoint.taskManager.nodeTimeout=99999999999999999999"}, "taskManager/nodeTimeout"},
		{[]string{"-Dmidpoint.taskManager.nodeRegistrationInterval=30"}, "taskManager/nodeTimeout"}, // 30 s ≥ default 10 s
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"-Dmidpoint.home=" + t.TempDir()}, tt.args...)...)
			out, err := cmd.CombinedOutput()
			ee, ok := errors.AsType[*exec.ExitError](err)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v; want status 2\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.key) {
				t.Fatalf("output does not name %s:\n%s", tt.key, out)
			}
		})
	}
}
