// Package cluster_test runs real cadre processes against PostgreSQL and
// checks what DESIGN §3 and §5 promise: work spreads over nodes, and killing,
// pausing or stopping a node loses no bucket and completes none twice.
package cluster_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"cadre/apiclient"
	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
	"cadre/node/proctest"
)

// Short timings so tests run in seconds (DESIGN §9: make cluster uses the same).
const (
	interval = proctest.Interval
	timeout  = proctest.Timeout
)

type cluster struct {
	t     *testing.T
	url   string
	repo  *gormrepo.Repo
	db    *db.DB
	nodes []*proctest.Proc
	args  []string
}

func clusterArgs(dbURL string) []string { return proctest.ClusterArgs(dbURL) }

// newCluster makes a cluster on a fresh PostgreSQL database, with the
// test's own connection to it and no node yet; args(url) are the nodes'
// common arguments.
func newCluster(t *testing.T, args func(url string) []string) *cluster {
	t.Helper()
	url := dbtest.Postgres(t)
	d, err := db.Open(context.Background(), db.Options{URL: url, MaxPoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &cluster{t: t, url: url, repo: gormrepo.New(d), db: d, args: args(url)}
}

// startCluster starts n clustered nodes (node1…nodeN) on a fresh PostgreSQL database.
func startCluster(t *testing.T, n int, extra ...string) *cluster {
	t.Helper()
	c := newCluster(t, func(url string) []string { return append(clusterArgs(url), extra...) })
	for i := 1; i <= n; i++ {
		c.nodes = append(c.nodes, proctest.Start(t, fmt.Sprintf("node%d", i), c.args...))
	}
	c.waitLive(n)
	return c
}

// waitLive waits until n nodes are up and scheduling, as node1 sees them.
func (c *cluster) waitLive(n int) {
	c.t.Helper()
	proctest.WaitFor(c.t, fmt.Sprintf("%d live nodes", n), 10*time.Second, func() bool {
		return c.liveNodes() == n
	})
}

func (c *cluster) liveNodes() int {
	nodes, err := c.repo.NodesList(context.Background())
	if err != nil {
		return -1
	}
	now, _ := c.repo.Now(context.Background())
	live := 0
	for _, n := range nodes {
		if n.Live(now, timeout) && n.SchedulerState == "RUNNING" {
			live++
		}
	}
	return live
}

func (c *cluster) admin(i int) proctest.Client { return c.nodes[i].Admin() }

// createNoop creates a bucketed noop task through node1's API.
func (c *cluster) createNoop(buckets, items, delayMs, perNode int) string {
	c.t.Helper()
	params := map[string]any{"itemsPerBucket": items, "delayMs": delayMs}
	return c.admin(0).CreateTask(c.t, apiclient.TaskCreate{Name: "noop", Handler: "noop", Params: &params,
		Bucketing: apiclient.NumericBucketing(0, int64(buckets), 1), Workers: &apiclient.Workers{PerNode: &perNode}}).Oid
}

func (c *cluster) buckets(oid string) []task.Bucket {
	c.t.Helper()
	bs, err := c.repo.BucketsList(context.Background(), oid)
	if err != nil {
		c.t.Fatal(err)
	}
	return bs
}

func (c *cluster) complete(oid string) int {
	n := 0
	for _, b := range c.buckets(oid) {
		if b.State == task.BucketComplete {
			n++
		}
	}
	return n
}

func (c *cluster) waitClosed(oid string, within time.Duration) *task.Task {
	c.t.Helper()
	var got *task.Task
	proctest.WaitFor(c.t, "task "+oid+" to close", within, func() bool {
		var err error
		got, err = c.repo.TasksGet(context.Background(), oid)
		return err == nil && got.State == task.Closed
	})
	return got
}

// assertExactlyOnce checks every bucket is COMPLETE and completed once, and
// that the coordinator counted every item.
func (c *cluster) assertExactlyOnce(oid string, buckets, items int) map[string]int {
	c.t.Helper()
	completions, err := c.repo.BucketCompletions(context.Background(), oid)
	if err != nil {
		c.t.Fatal(err)
	}
	perNode := map[string]int{}
	for _, b := range c.buckets(oid) {
		if b.State != task.BucketComplete || completions[b.Seq] != 1 {
			c.t.Fatalf("bucket %d: state %s, completed %d times", b.Seq, b.State, completions[b.Seq])
		}
		perNode[b.Node]++
	}
	if len(completions) != buckets {
		c.t.Fatalf("want %d buckets, got %d", buckets, len(completions))
	}
	coord, err := c.repo.TasksGet(context.Background(), oid)
	if err != nil {
		c.t.Fatal(err)
	}
	if coord.Progress.ItemsProcessed != int64(buckets*items) {
		c.t.Fatalf("coordinator counted %d items, want %d", coord.Progress.ItemsProcessed, buckets*items)
	}
	return perNode
}

var fencedRe = regexp.MustCompile(`(?m)^cadre_buckets_fenced_total\{[^}]*\} (\S+)$`)

func fenced(t *testing.T, p *proctest.Proc) float64 {
	r := p.Admin().Request(t, "GET", "/metrics", nil)
	m := fencedRe.FindSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no cadre_buckets_fenced_total on %s", p.NodeID)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func TestSpreadOverThreeNodes(t *testing.T) {
	c := startCluster(t, 3)
	const buckets, items = 600, 5
	oid := c.createNoop(buckets, items, 4, 2)
	c.waitClosed(oid, 90*time.Second)
	perNode := c.assertExactlyOnce(oid, buckets, items)
	for _, p := range c.nodes {
		share := float64(perNode[p.NodeID]) / buckets
		t.Logf("%s completed %d buckets (%.0f%%)", p.NodeID, perNode[p.NodeID], 100*share)
		if share < 0.20 || share > 0.46 {
			t.Errorf("%s completed %.0f%% of the buckets; want 20%%–46%%", p.NodeID, 100*share)
		}
	}
}

func TestKillNineMidTask(t *testing.T) {
	c := startCluster(t, 3)
	const buckets, items = 300, 5
	oid := c.createNoop(buckets, items, 10, 2)
	proctest.WaitFor(t, "a quarter of the buckets", 60*time.Second, func() bool { return c.complete(oid) >= buckets/4 })
	victim := c.nodes[1]
	// Read what it holds before the kill: its liveness lock tells the others
	// at once, so its work may be recovered before a read afterwards.
	held := c.holding(oid, victim.NodeID)
	victim.Kill()
	killedAt := time.Now()
	c.addHeld(held, oid, victim.NodeID)
	var reclaimed time.Duration
	proctest.WaitFor(t, "the killed node's buckets to be claimed elsewhere", 30*time.Second, func() bool {
		for _, b := range c.buckets(oid) {
			if held[b.Seq] && b.Node != victim.NodeID && b.State != task.BucketReady {
				reclaimed = time.Since(killedAt)
				return true
			}
		}
		return false
	})
	t.Logf("kill -9 → first re-claim of the dead node's buckets: %s (nodeTimeout %s, interval %s)", reclaimed.Round(time.Millisecond), timeout, interval)
	if limit := timeout + 2*interval; reclaimed > limit+250*time.Millisecond { // 250 ms: this test's own polling
		t.Errorf("re-claim took %s; want at most nodeTimeout + 2 × nodeRegistrationInterval = %s", reclaimed, limit)
	}
	c.waitClosed(oid, 90*time.Second)
	c.assertExactlyOnce(oid, buckets, items)
}

func TestPausedNodeIsFenced(t *testing.T) {
	c := startCluster(t, 3)
	// Long items, so the paused node is surely inside a bucket when stopped.
	const buckets, items = 30, 1
	oid := c.createNoop(buckets, items, 1500, 1)
	zombie := c.nodes[2]
	proctest.WaitFor(t, "the zombie to hold a bucket", 30*time.Second, func() bool {
		for _, b := range c.buckets(oid) {
			if b.State == task.BucketDelegated && b.Node == zombie.NodeID {
				return true
			}
		}
		return false
	})
	time.Sleep(200 * time.Millisecond)
	zombie.Stop()
	proctest.WaitFor(t, "the others to take the zombie's bucket", 30*time.Second, func() bool {
		for _, b := range c.buckets(oid) {
			if b.State == task.BucketDelegated && b.Node == zombie.NodeID {
				return false
			}
		}
		return true
	})
	time.Sleep(timeout) // and some more: well past nodeTimeout
	zombie.Cont()
	c.waitClosed(oid, 90*time.Second)
	c.assertExactlyOnce(oid, buckets, items)
	proctest.WaitFor(t, "the zombie to answer again", 10*time.Second, func() bool {
		status, _ := zombie.Admin().Do(t, "GET", "/healthz", nil)
		return status == 200
	})
	if f := fenced(t, zombie); f < 1 {
		t.Fatalf("the zombie's late completion was not fenced (cadre_buckets_fenced_total = %v)", f)
	}
	if !strings.Contains(zombie.Log(), "fenced") {
		t.Error("the zombie's log does not say its completion was fenced")
	}
}

func TestRollingRestartLosesNothing(t *testing.T) {
	c := startCluster(t, 3)
	const buckets, items = 300, 5
	oid := c.createNoop(buckets, items, 8, 2)
	for _, p := range c.nodes {
		proctest.WaitFor(t, "progress before restarting "+p.NodeID, 60*time.Second, func() bool { return c.complete(oid) > 0 })
		start := time.Now()
		if err := p.Term(15 * time.Second); err != nil {
			t.Fatalf("SIGTERM %s: %v", p.NodeID, err)
		}
		stopped := time.Since(start)
		for _, b := range c.buckets(oid) {
			if b.State == task.BucketDelegated && b.Node == p.NodeID {
				t.Fatalf("%s exited still holding bucket %d", p.NodeID, b.Seq)
			}
		}
		n, err := c.repo.NodesGet(context.Background(), p.NodeID)
		if err != nil || n.OperationalState != "DOWN" {
			t.Fatalf("%s after SIGTERM: %+v %v; want DOWN", p.NodeID, n, err)
		}
		t.Logf("%s drained and stopped in %s", p.NodeID, stopped.Round(time.Millisecond))
		p.Restart(t)
	}
	c.waitClosed(oid, 90*time.Second)
	c.assertExactlyOnce(oid, buckets, items)
}

func TestDatabaseConnectionsCut(t *testing.T) {
	c := startCluster(t, 3)
	const buckets, items = 300, 5
	oid := c.createNoop(buckets, items, 8, 2)
	proctest.WaitFor(t, "some progress", 60*time.Second, func() bool { return c.complete(oid) >= 30 })
	dbName := c.url[strings.LastIndex(c.url, "/")+1:]
	if i := strings.IndexByte(dbName, '?'); i >= 0 {
		dbName = dbName[:i]
	}
	admin, err := db.Open(context.Background(), db.Options{URL: dbtest.PostgresAdminURL(), MaxPoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for range 3 {
		var cut int
		if err := admin.Raw("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()", dbName).Scan(&cut).Error; err != nil {
			t.Fatal(err)
		}
		t.Logf("terminated %d backends", cut)
		time.Sleep(700 * time.Millisecond)
	}
	c.waitClosed(oid, 90*time.Second)
	c.assertExactlyOnce(oid, buckets, items)
}
