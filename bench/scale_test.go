package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cadre/domain/task"
)

// BenchmarkScale runs 30 nodes at the default settings (check-in every 2 s,
// nodeTimeout 10 s, the default pool) against one PostgreSQL database and
// lets them finish a 20,000-bucket no-op task. It prints the connections an
// idle node holds (from pg_stat_activity, by each node's application_name),
// the most connections the cluster held at once during the run, against the
// server's max_connections, and the task's result: the connection budget of
// docs/connections.md, measured.
func BenchmarkScale(b *testing.B) {
	const nodes, buckets, itemsPerBucket = 30, 20_000, 1
	c := startCluster(b, nodes,
		"-Dmidpoint.taskManager.nodeRegistrationInterval=2s", "-Dmidpoint.taskManager.nodeTimeout=10s")
	ctx := context.Background()
	time.Sleep(5 * time.Second) // two check-ins: pools settle to their idle size
	idle := c.connectionsPerNode(b)
	maxIdle := 0
	for _, n := range idle {
		maxIdle = max(maxIdle, n)
	}
	var maxConns int
	if err := c.d.DB.Raw("SELECT current_setting('max_connections')::int").Scan(&maxConns).Error; err != nil {
		b.Fatal(err)
	}

	var peak int
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			total := 0
			for _, n := range c.connectionsPerNode(b) {
				total += n
			}
			mu.Lock()
			peak = max(peak, total)
			mu.Unlock()
		}
	}()
	start := time.Now()
	oid := c.createNoop(b, buckets, itemsPerBucket, 0, 4)
	c.waitClosed(b, oid, 10*time.Minute)
	seconds := time.Since(start).Seconds()
	close(done)
	c.assertExactlyOnce(b, oid, buckets, itemsPerBucket)
	t, err := c.repo.TasksGet(ctx, oid)
	if err != nil {
		b.Fatal(err)
	}
	if t.Result != task.Success {
		b.Fatalf("task ended %s, want SUCCESS", t.Result)
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("cadre scale nodes=%d settings=default buckets=%d result=%s seconds=%.1f idle_connections_per_node_max=%d peak_connections=%d max_connections=%d\n",
		nodes, buckets, t.Result, seconds, maxIdle, peak, maxConns)
}

// connectionsPerNode counts the database connections of each node of the
// cluster, by the application_name every node gives its connections
// ("cadre pid=N nodeId").
func (c *benchCluster) connectionsPerNode(tb testing.TB) map[string]int {
	tb.Helper()
	var rows []struct {
		App string
		N   int
	}
	err := c.d.DB.Raw(`SELECT application_name AS app, count(*) AS n FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'cadre %' GROUP BY application_name`).Scan(&rows).Error
	if err != nil {
		tb.Fatalf("count connections: %v", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.App[strings.LastIndexByte(r.App, ' ')+1:]] += r.N
	}
	return out
}
