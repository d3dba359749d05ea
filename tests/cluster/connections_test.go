package cluster_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"cadre/db"
	"cadre/db/dbtest"
	"cadre/node/proctest"
)

// backendsOf counts the PostgreSQL connections of node p (by the
// application_name its connections carry: "cadre pid=<pid> <node>").
func backendsOf(t *testing.T, admin *db.DB, p *proctest.Proc) int {
	t.Helper()
	var n int
	if err := admin.Raw("SELECT count(*) FROM pg_stat_activity WHERE application_name = ?",
		fmt.Sprintf("cadre pid=%d %s", p.Pid(), p.NodeID)).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

var connectionsRe = regexp.MustCompile(`(?m)^cadre_db_connections\{[^}]*pool="([^"]+)",state="([^"]+)"\} (\S+)$`)

// connectionMetrics reads cadre_db_connections{pool,state} from p's /metrics.
func connectionMetrics(t *testing.T, p *proctest.Proc) map[string]float64 {
	t.Helper()
	r := p.Admin().Request(t, "GET", "/metrics", nil)
	out := map[string]float64{}
	for _, m := range connectionsRe.FindAllSubmatch(r.Body, -1) {
		v, err := strconv.ParseFloat(string(m[3]), 64)
		if err != nil {
			t.Fatal(err)
		}
		out[string(m[1])+"/"+string(m[2])] = v
	}
	return out
}

// TestConnectionBudget: at the default pool, each of three nodes holds at
// most 3 PostgreSQL connections (a pool of 2 and its one session connection
// for liveness lock, LISTEN and check-ins) while it runs a bucketed task and
// when idle, and reports them in cadre_db_connections.
func TestConnectionBudget(t *testing.T) {
	c := startCluster(t, 3) // no maxPoolSize: the default
	admin, err := db.Open(context.Background(), db.Options{URL: dbtest.PostgresAdminURL(), MaxPoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const buckets, items = 600, 1
	oid := c.createNoop(buckets, items, 2, 4)
	most := map[string]int{}
	deadline := time.Now().Add(60 * time.Second)
	for c.complete(oid) < buckets && time.Now().Before(deadline) {
		for _, p := range c.nodes {
			most[p.NodeID] = max(most[p.NodeID], backendsOf(t, admin, p))
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.waitClosed(oid, 30*time.Second)
	c.assertExactlyOnce(oid, buckets, items)
	time.Sleep(3 * interval) // idle now
	for _, p := range c.nodes {
		idle := backendsOf(t, admin, p)
		t.Logf("%s: at most %d connections while running, %d idle", p.NodeID, most[p.NodeID], idle)
		if most[p.NodeID] > 3 || idle > 3 {
			t.Errorf("%s held %d connections while running and %d idle; the budget is 3 (pool 2 + session 1)", p.NodeID, most[p.NodeID], idle)
		}
		if most[p.NodeID] < 2 {
			t.Errorf("%s: at most %d connections seen while running; the count does not see the node", p.NodeID, most[p.NodeID])
		}
		m := connectionMetrics(t, p)
		if m["session/in_use"] != 1 {
			t.Errorf("%s: cadre_db_connections session in_use = %v, want 1 (metrics %v)", p.NodeID, m["session/in_use"], m)
		}
		if pool := m["repository/in_use"] + m["repository/idle"]; pool < 1 || pool > 2 {
			t.Errorf("%s: cadre_db_connections repository in_use+idle = %v, want 1–2 (metrics %v)", p.NodeID, pool, m)
		}
	}
}
