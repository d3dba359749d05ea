package node_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/task"
	"cadre/node/nodetest"
)

// BenchmarkNoopBuckets measures no-op buckets per second on one in-process
// node, on SQLite and on PostgreSQL: 2,000 buckets of one item, 4 workers.
func BenchmarkNoopBuckets(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgresql"} {
		b.Run(dialect, func(b *testing.B) {
			n := nodetest.Start(b, dialect)
			const buckets = 2000
			var total time.Duration
			for range b.N {
				start := time.Now()
				created, err := n.Tasks.Create(context.Background(), taskmanager.CreateTask{Name: "bench", Handler: "noop",
					Params:    map[string]any{"itemsPerBucket": float64(1)},
					Bucketing: &task.Bucketing{Numeric: &task.Numeric{From: 0, To: buckets, BucketSize: 1}},
					Workers:   &task.Workers{Total: 4}})
				if err != nil {
					b.Fatal(err)
				}
				for {
					got, err := n.Tasks.Get(context.Background(), created.OID)
					if err != nil {
						b.Fatal(err)
					}
					if got.State == task.Closed {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				total += time.Since(start)
			}
			rate := float64(buckets*b.N) / total.Seconds()
			b.ReportMetric(rate, "buckets/s")
			fmt.Printf("cadre noop-buckets database=%s nodes=1 buckets=%d buckets_per_s=%.0f\n", dialect, buckets, rate)
		})
	}
}
