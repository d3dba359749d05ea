package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
	"cadre/node/proctest"
)

// failoverSettings are the cluster timings a failover benchmark runs at.
type failoverSettings struct {
	name              string
	interval, timeout time.Duration
	args              []string // timing arguments; none = Cadre's defaults
}

var (
	fastSettings = failoverSettings{name: "fast", interval: interval, timeout: nodeTimeout, args: []string{
		"-Dmidpoint.taskManager.nodeRegistrationInterval=" + interval.String(),
		"-Dmidpoint.taskManager.nodeTimeout=" + nodeTimeout.String(),
	}}
	// defaultSettings are DESIGN §2's defaults: check-in every 2 s, nodeTimeout 10 s.
	defaultSettings = failoverSettings{name: "default", interval: 2 * time.Second, timeout: 10 * time.Second}
)

// startClusterAt starts n clustered nodes at settings s on a fresh
// PostgreSQL database and waits until all are live and scheduling.
func startClusterAt(tb testing.TB, n int, s failoverSettings) *benchCluster {
	tb.Helper()
	url := dbtest.Postgres(tb)
	d, err := db.Open(context.Background(), db.Options{URL: url, MaxPoolSize: 4})
	if err != nil {
		tb.Fatalf("open %s: %v", url, err)
	}
	tb.Cleanup(func() { d.Close() })
	c := &benchCluster{url: url, d: d, repo: gormrepo.New(d)}
	var args []string
	for _, a := range proctest.ClusterArgs(url) {
		if !strings.Contains(a, "nodeRegistrationInterval") && !strings.Contains(a, "nodeTimeout") {
			args = append(args, a)
		}
	}
	args = append(args, s.args...)
	for i := 1; i <= n; i++ {
		c.nodes = append(c.nodes, proctest.Start(tb, fmt.Sprintf("node%d", i), args...))
	}
	pollUntil(tb, fmt.Sprintf("%d live nodes", n), 30*time.Second, 50*time.Millisecond, func() bool {
		return c.liveNodes() == n
	})
	return c
}

// holdingNow polls until node holds a bucket of oid and returns what it
// holds. It is read just before the node is killed or stopped: at the
// default settings its work may be recovered before a read afterwards.
func (c *benchCluster) holdingNow(tb testing.TB, oid, node string) map[int64]bool {
	tb.Helper()
	held := map[int64]bool{}
	pollUntil(tb, node+" to hold a bucket", time.Minute, 5*time.Millisecond, func() bool {
		for _, bk := range c.buckets(tb, oid) {
			if bk.State == task.BucketDelegated && bk.Node == node {
				held[bk.Seq] = true
			}
		}
		return len(held) > 0
	})
	return held
}

// reclaimed waits until every bucket of held is COMPLETE and returns when
// the first of them was claimed by another node and when the last completed
// there (the nodes' own stamps), and how many were handed over. A bucket the
// victim completed itself just before it stopped counts as its own.
func (c *benchCluster) reclaimed(tb testing.TB, oid, victim string, held map[int64]bool) (first, last time.Time, moved int) {
	tb.Helper()
	pollUntil(tb, victim+"'s buckets to complete elsewhere", 2*time.Minute, 10*time.Millisecond, func() bool {
		first, last, moved = time.Time{}, time.Time{}, 0
		for _, bk := range c.buckets(tb, oid) {
			if !held[bk.Seq] {
				continue
			}
			if bk.State != task.BucketComplete {
				return false
			}
			if bk.Node == victim {
				continue
			}
			moved++
			if bk.ClaimedAt != nil && (first.IsZero() || bk.ClaimedAt.Before(first)) {
				first = *bk.ClaimedAt
			}
			if bk.CompletedAt != nil && bk.CompletedAt.After(last) {
				last = *bk.CompletedAt
			}
		}
		return true
	})
	return first, last, moved
}

// BenchmarkFailover kills -9 one of three nodes a quarter of the way through
// a no-op task (600 buckets of 5 items of 10 ms, 2 workers per node), once at
// the short test timings and once at Cadre's defaults, and measures from the
// kill when the first bucket the dead node held is claimed by another node
// (reclaim_s) and when every one of them is COMPLETE elsewhere
// (all_reclaimed_s); total_s is task creation to CLOSED. Claim and
// completion times are the nodes' own stamps on the buckets (same host),
// so the figures do not depend on this benchmark's polling. On PostgreSQL
// the dead node's liveness lock tells the others at once, so neither figure
// waits for nodeTimeout. Every bucket must complete exactly once.
func BenchmarkFailover(b *testing.B) {
	for _, s := range []failoverSettings{fastSettings, defaultSettings} {
		b.Run("settings="+s.name, func(b *testing.B) {
			const buckets, items, delayMs, perNode = 600, 5, 10, 2
			c := startClusterAt(b, 3, s)
			created := time.Now()
			oid := c.createNoop(b, buckets, items, delayMs, perNode)
			pollUntil(b, "a quarter of the buckets to complete", 2*time.Minute, 10*time.Millisecond, func() bool {
				return completeCount(c.buckets(b, oid)) >= buckets/4
			})
			victim := c.nodes[1]
			held := c.holdingNow(b, oid, victim.NodeID)
			killedAt := time.Now()
			victim.Kill()
			for _, bk := range c.buckets(b, oid) { // a bucket claimed between the read and the kill
				if bk.State == task.BucketDelegated && bk.Node == victim.NodeID {
					held[bk.Seq] = true
				}
			}
			first, last, moved := c.reclaimed(b, oid, victim.NodeID, held)
			if moved == 0 {
				b.Fatalf("%s finished every bucket it held before it died; the benchmark measures nothing", victim.NodeID)
			}
			c.waitClosed(b, oid, 2*time.Minute)
			total := time.Since(created)
			perNodeDone := c.assertExactlyOnce(b, oid, buckets, items)
			reclaim, allDone := first.Sub(killedAt).Seconds(), last.Sub(killedAt).Seconds()
			fmt.Printf("cadre failover settings=%s nodes=3 nodeTimeout=%s interval=%s held=%d reclaim_s=%.2f all_reclaimed_s=%.2f total_s=%.2f share=%s\n",
				s.name, s.timeout, s.interval, moved, reclaim, allDone, total.Seconds(), shareString(perNodeDone))
			b.ReportMetric(reclaim, "reclaim_s")
			b.ReportMetric(allDone, "all_reclaimed_s")
			b.ReportMetric(total.Seconds(), "total_s")
		})
	}
}

// BenchmarkFailoverHang stops one of three nodes with SIGSTOP (a hang: the
// process and its database session live on, so its liveness lock stays
// held) at Cadre's default settings, and measures when its row turns DOWN
// (down_s) and when the first bucket it held is claimed elsewhere
// (reclaim_s). Its lease decides, so the limit is nodeTimeout + interval.
func BenchmarkFailoverHang(b *testing.B) {
	s := defaultSettings
	const buckets, items, delayMs, perNode = 300, 5, 10, 2
	c := startClusterAt(b, 3, s)
	oid := c.createNoop(b, buckets, items, delayMs, perNode)
	pollUntil(b, "some buckets to complete", 2*time.Minute, 10*time.Millisecond, func() bool {
		return completeCount(c.buckets(b, oid)) >= buckets/10
	})
	victim := c.nodes[1]
	c.holdingNow(b, oid, victim.NodeID)
	stoppedAt := time.Now()
	victim.Stop()
	// A stopped process changes nothing, but a statement it sent just before
	// may still commit: let it land, then read what it holds.
	time.Sleep(300 * time.Millisecond)
	held := map[int64]bool{}
	for _, bk := range c.buckets(b, oid) {
		if bk.State == task.BucketDelegated && bk.Node == victim.NodeID {
			held[bk.Seq] = true
		}
	}
	var down time.Duration
	pollUntil(b, victim.NodeID+" to be declared dead", 3*s.timeout, 10*time.Millisecond, func() bool {
		n, err := c.repo.NodesGet(context.Background(), victim.NodeID)
		down = time.Since(stoppedAt)
		return err == nil && n.OperationalState == "DOWN"
	})
	first, _, moved := c.reclaimed(b, oid, victim.NodeID, held)
	victim.Cont()
	c.waitClosed(b, oid, 2*time.Minute)
	c.assertExactlyOnce(b, oid, buckets, items)
	reclaim := 0.0
	if moved > 0 {
		reclaim = first.Sub(stoppedAt).Seconds()
	}
	fmt.Printf("cadre failover-hang settings=%s nodes=3 nodeTimeout=%s interval=%s held=%d down_s=%.2f reclaim_s=%.2f limit_s=%.0f\n",
		s.name, s.timeout, s.interval, moved, down.Seconds(), reclaim, (s.timeout + s.interval).Seconds())
	b.ReportMetric(down.Seconds(), "down_s")
	b.ReportMetric(reclaim, "reclaim_s")
}
