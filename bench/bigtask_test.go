package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"cadre/domain/cluster"
	"cadre/domain/task"
)

// BenchmarkMillionBuckets creates a no-op task of 1,000,000 buckets (one
// item each, 4 workers per node) on three nodes at Cadre's default timings
// and pool (check-in every 2 s, nodeTimeout 10 s, maxPoolSize 2) and
// watches every node's check-in age, by the database clock, from the
// creation until one nodeTimeout after the coordinator has created its
// buckets and parked. create_s is the time to that point; max_checkin_age_s
// is the oldest check-in seen on any node (a node is declared dead past
// nodeTimeout). Writing a million buckets holds a pool connection for
// seconds and the workers' claims hold the other, so a check-in that waited
// for the pool would come late; check-ins run on each node's session
// connection instead (docs/connections.md). A node declared dead fails the
// benchmark.
func BenchmarkMillionBuckets(b *testing.B) {
	const buckets, perNode = 1_000_000, 4
	c := startClusterAt(b, 3, defaultSettings)
	defer c.stop()
	ctx := context.Background()
	start := time.Now()
	oid := c.createNoop(b, buckets, 1, 0, perNode)
	var created time.Duration
	maxAge := map[string]time.Duration{}
	for created == 0 || time.Since(start) < created+defaultSettings.timeout {
		if created == 0 && time.Since(start) > 5*time.Minute {
			b.Fatalf("the coordinator did not create its %d buckets within 5 minutes", buckets)
		}
		nodes, err := c.repo.NodesList(ctx)
		now, err2 := c.repo.Now(ctx)
		if err == nil && err2 == nil {
			for _, n := range nodes {
				if n.OperationalState == cluster.Down {
					b.Errorf("%s was declared dead (last check-in %s before the database's now)", n.ID, now.Sub(n.LastCheckIn).Round(time.Millisecond))
				}
				maxAge[n.ID] = max(maxAge[n.ID], now.Sub(n.LastCheckIn))
			}
		}
		if created == 0 {
			if t, err := c.repo.TasksGet(ctx, oid); err == nil && t.State == task.Waiting {
				created = time.Since(start)
			}
		}
		if b.Failed() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	var oldest time.Duration
	var ages []string
	for _, p := range c.nodes {
		if strings.Contains(p.Log(), "node is dead") {
			b.Errorf("%s declared a node dead", p.NodeID)
		}
		oldest = max(oldest, maxAge[p.NodeID])
		ages = append(ages, fmt.Sprintf("%s:%.1fs", p.NodeID, maxAge[p.NodeID].Seconds()))
	}
	complete, err := c.repo.BucketsCount(ctx, oid)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("cadre million-buckets nodes=3 buckets=%d create_s=%.1f max_checkin_age_s=%.1f node_timeout_s=%.0f ages=%s complete=%d dead=0\n",
		buckets, created.Seconds(), oldest.Seconds(), defaultSettings.timeout.Seconds(), strings.Join(ages, ","), complete.Complete)
	b.ReportMetric(created.Seconds(), "create_s")
	b.ReportMetric(oldest.Seconds(), "max_checkin_age_s")
}
