// Package chaos is the harness of the database fault tests (tests/chaos)
// and of the chaos benchmark (bench): three real cadre nodes reach
// PostgreSQL through a fault proxy (or through a primary and a streaming
// standby for the failover), a bucketed task runs, a fault is injected and
// healed, and the run is measured: when bucket progress resumed, when the
// task closed, whether any bucket was lost or completed twice, whether a
// node process exited, and what the nodes repaired.
//
// The test reads the database directly, never through the proxy, so its
// own reads see the truth while the nodes suffer the fault.
package chaos

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
	"cadre/node/proctest"
	"cadre/node/proctest/faultproxy"
)

// Cadre's default cluster timings (DESIGN §2), for the faults that must be
// judged against them; the other cases run at proctest's short timings.
const (
	DefaultInterval = 2 * time.Second
	DefaultTimeout  = 10 * time.Second
)

// Options describe the cluster of one run.
type Options struct {
	Nodes int // default 3
	// DefaultTimings runs the nodes at nodeRegistrationInterval 2 s and
	// nodeTimeout 10 s instead of proctest's short test timings.
	DefaultTimings bool
	// SeparateJobStore gives the nodes a second database for the job store
	// (taskManager/jdbcUrl) behind a second proxy, JobProxy.
	SeparateJobStore bool
	// Replica puts the nodes on a primary and a streaming standby (see
	// Replicated) instead of the shared server behind a proxy.
	Replica bool
}

// Cluster is the nodes of one run and the test's direct view of their
// database.
type Cluster struct {
	tb testing.TB
	// Proxy stands between the nodes and their repository database; nil
	// with Options.Replica.
	Proxy *faultproxy.Proxy
	// JobProxy stands between the nodes and their separate job-store
	// database; nil without Options.SeparateJobStore.
	JobProxy *faultproxy.Proxy
	// Replica is the primary and standby of Options.Replica.
	Replica *Replicated
	// Repo and DB read the repository directly (not through the proxy).
	Repo  *gormrepo.Repo
	DB    *db.DB
	Nodes []*proctest.Proc
	// Resources is a directory the nodes may read CSV resources from.
	Resources string
	// Interval and Timeout are the nodes' nodeRegistrationInterval and
	// nodeTimeout.
	Interval, Timeout time.Duration
}

// Start makes fresh databases, the proxies and the nodes (node1…nodeN), and
// waits until every node is live and scheduling. Everything goes away when
// tb ends.
func Start(tb testing.TB, o Options) *Cluster {
	tb.Helper()
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	c := &Cluster{tb: tb, Resources: tb.TempDir(), Interval: proctest.Interval, Timeout: proctest.Timeout}
	var direct, nodeURL string
	if o.Replica {
		c.Replica = NewReplicated(tb)
		direct, nodeURL = c.Replica.URL(), c.Replica.URL()
	} else {
		direct = dbtest.Postgres(tb) // before the processes: they must die before the drop
		c.Proxy, nodeURL = proxyTo(tb, direct)
	}
	d, err := db.Open(context.Background(), db.Options{URL: direct, MaxPoolSize: 2})
	if err != nil {
		tb.Fatalf("open %s: %v", direct, err)
	}
	tb.Cleanup(func() { d.Close() })
	c.Repo, c.DB = gormrepo.New(d), d

	args := proctest.ClusterArgs(nodeURL)
	if o.DefaultTimings {
		args = slicesWithout(args, "nodeRegistrationInterval", "nodeTimeout")
		c.Interval, c.Timeout = DefaultInterval, DefaultTimeout
	}
	args = append(args,
		"-Dmidpoint.resources.allowedDirectories="+c.Resources)
	if o.SeparateJobStore {
		jobDirect := dbtest.Postgres(tb)
		var jobURL string
		c.JobProxy, jobURL = proxyTo(tb, jobDirect)
		args = append(args, "-Dmidpoint.taskManager.jdbcUrl="+jobURL)
	}
	for i := 1; i <= o.Nodes; i++ {
		c.Nodes = append(c.Nodes, proctest.Start(tb, fmt.Sprintf("node%d", i), args...))
	}
	proctest.WaitFor(tb, fmt.Sprintf("%d live nodes", o.Nodes), 30*time.Second, func() bool { return c.LiveNodes() == o.Nodes })
	return c
}

// proxyTo starts a fault proxy in front of the server of the postgres://
// URL direct and returns it with the URL that reaches the same database
// through it.
func proxyTo(tb testing.TB, direct string) (*faultproxy.Proxy, string) {
	tb.Helper()
	u, err := url.Parse(direct)
	if err != nil {
		tb.Fatalf("database URL %q: %v", direct, err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close) // after the nodes are killed: cleanups run last-in first-out
	u.Host = p.Addr()
	return p, u.String()
}

func slicesWithout(args []string, keys ...string) []string {
	var out []string
next:
	for _, a := range args {
		for _, k := range keys {
			if strings.Contains(a, k) {
				continue next
			}
		}
		out = append(out, a)
	}
	return out
}

// LiveNodes is how many node rows are live and scheduling; -1 when the
// database cannot be read.
func (c *Cluster) LiveNodes() int {
	ctx := context.Background()
	nodes, err := c.Repo.NodesList(ctx)
	if err != nil {
		return -1
	}
	now, err := c.Repo.Now(ctx)
	if err != nil {
		return -1
	}
	live := 0
	for _, n := range nodes {
		if n.Live(now, c.Timeout) && n.SchedulerState == "RUNNING" {
			live++
		}
	}
	return live
}

// Buckets are the buckets of task oid; nil when the database cannot be read.
func (c *Cluster) Buckets(oid string) []task.Bucket {
	bs, err := c.Repo.BucketsList(context.Background(), oid)
	if err != nil {
		return nil
	}
	return bs
}

// Complete is how many buckets of oid are COMPLETE; -1 when the database
// cannot be read.
func (c *Cluster) Complete(oid string) int {
	bs, err := c.Repo.BucketsList(context.Background(), oid)
	if err != nil {
		return -1
	}
	n := 0
	for _, b := range bs {
		if b.State == task.BucketComplete {
			n++
		}
	}
	return n
}

// Task is task oid as the database has it; nil when it cannot be read.
func (c *Cluster) Task(oid string) *task.Task {
	t, err := c.Repo.TasksGet(context.Background(), oid)
	if err != nil {
		return nil
	}
	return t
}

// Exited is the nodes whose process has exited.
func (c *Cluster) Exited() []string {
	var out []string
	for _, p := range c.Nodes {
		if !p.Alive() {
			out = append(out, p.NodeID)
		}
	}
	return out
}
