package cluster_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/node/proctest"
)

var repairsRe = regexp.MustCompile(`(?m)^cadre_repairs_total\{[^}]*kind="([^"]+)"[^}]*\} (\S+)$`)

// TestDatabaseAwayLongerThanNodeTimeout: in the middle of a three-node
// bucketed run the database refuses every new connection and every
// existing one is terminated, again and again, for 17 s: longer than the
// nodeTimeout, so the nodes judge each other dead when it returns, and
// longer than the 15 s a store error not known to be transient is retried,
// so only the transient classification keeps the workers going. The task
// must still end SUCCESS with every bucket completed exactly once, with no
// worker ended FATAL_ERROR, no operator action and no node process exiting.
func TestDatabaseAwayLongerThanNodeTimeout(t *testing.T) {
	c := startCluster(t, 3)
	const buckets, items = 400, 5
	oid := c.createNoop(buckets, items, 8, 2)
	proctest.WaitFor(t, "some progress", 60*time.Second, func() bool { return c.complete(oid) >= 40 })

	u, err := url.Parse(c.url)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	server, err := db.Open(context.Background(), db.Options{URL: dbtest.PostgresAdminURL(), MaxPoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	allow := func(yes bool) {
		v := "false"
		if yes {
			v = "true"
		}
		if err := server.Exec("ALTER DATABASE " + dbName + " ALLOW_CONNECTIONS " + v).Error; err != nil {
			t.Fatal(err)
		}
	}
	const outage = 17 * time.Second
	allow(false)
	defer allow(true)
	start := time.Now()
	rounds := 0
	for time.Since(start) < outage {
		if err := server.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()", dbName).Error; err != nil {
			t.Fatal(err)
		}
		rounds++
		time.Sleep(200 * time.Millisecond)
	}
	allow(true)
	t.Logf("database away for %s (%d rounds of terminations), nodeTimeout %s", time.Since(start).Round(time.Millisecond), rounds, timeout)
	// The test's own pool lost its connections too: let it find that out.
	proctest.WaitFor(t, "the test's pool to reconnect", 10*time.Second, func() bool { return c.db.Ping(context.Background()) == nil })

	got := c.waitClosed(oid, 90*time.Second)
	if got.Result != "SUCCESS" {
		t.Fatalf("task ended %s (%s), want SUCCESS", got.Result, got.Message)
	}
	c.assertExactlyOnce(oid, buckets, items)
	workers, _, err := c.repo.TasksList(context.Background(), taskmanager.TaskFilter{Parent: oid, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		if w.Result == task.FatalError {
			t.Errorf("worker %s ended FATAL_ERROR on the outage: %s", w.Name, w.Message)
		}
	}
	for _, p := range c.nodes {
		if !p.Alive() {
			t.Errorf("%s exited during the outage", p.NodeID)
		}
		for _, m := range repairsRe.FindAllSubmatch(p.Admin().Request(t, "GET", "/metrics", nil).Body, -1) {
			t.Logf("%s repaired %s: %s", p.NodeID, m[1], m[2])
		}
	}
}
