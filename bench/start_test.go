package bench

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"cadre/domain/task"
)

// BenchmarkStartLatency measures, on three PostgreSQL nodes, the time from
// the API call that starts a bucketed task — POST /api/v1/tasks, or run-now
// of the same task once it has closed — to its first bucket claimed on any
// node. The first claim is the earliest claimed_at stamp on the task's
// buckets, read after the task closes (nodes and benchmark share the host's
// clock), so polling does not colour the figure.
func BenchmarkStartLatency(b *testing.B) {
	const rounds, buckets = 20, 24
	c := startCluster(b, 3)
	defer c.stop()
	var created, reran []float64
	for i := range rounds {
		start := time.Now()
		oid := c.createNoop(b, buckets, 1, 0, 4)
		c.waitClosed(b, oid, time.Minute)
		created = append(created, ms(c.firstClaim(b, oid).Sub(start)))

		start = time.Now()
		if status, out := c.nodes[i%len(c.nodes)].Admin().Do(b, "POST", "/api/v1/tasks/"+oid+"/run-now", nil); status != http.StatusOK {
			b.Fatalf("run-now: %d %v", status, out)
		}
		c.waitClosed(b, oid, time.Minute)
		reran = append(reran, ms(c.firstClaim(b, oid).Sub(start)))
	}
	for _, r := range []struct {
		how string
		ms  []float64
	}{{"create", created}, {"run-now", reran}} {
		fmt.Printf("cadre start-latency nodes=3 via=%s runs=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
			r.how, len(r.ms), percentile(r.ms, 50), percentile(r.ms, 99), percentile(r.ms, 100))
	}
	b.ReportMetric(percentile(created, 50), "create_p50_ms")
	b.ReportMetric(percentile(reran, 50), "runnow_p50_ms")
}

// firstClaim is the earliest claim stamp on a task's buckets.
func (c *benchCluster) firstClaim(tb testing.TB, oid string) time.Time {
	tb.Helper()
	var first time.Time
	for _, bk := range c.buckets(tb, oid) {
		if bk.State != task.BucketComplete || bk.ClaimedAt == nil {
			tb.Fatalf("bucket %d of a closed task is %s (claimed at %v)", bk.Seq, bk.State, bk.ClaimedAt)
		}
		if first.IsZero() || bk.ClaimedAt.Before(first) {
			first = *bk.ClaimedAt
		}
	}
	return first
}
