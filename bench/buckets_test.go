package bench

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// BenchmarkBucketPages is issue 20's costly request: one node on
// PostgreSQL beside a coordinator with 1,000,000 buckets (half of them
// COMPLETE, spread over its eight workers). It times a page of the bucket
// list (first, deep, largest) and the task list that shows the coordinator
// and its workers, and reads the node's RSS before and after. It fails only
// when the answers are wrong, never on speed.
func BenchmarkBucketPages(b *testing.B) {
	const buckets, workers, runs = 1_000_000, 8, 20
	c := startCluster(b, 1)
	node := c.nodes[0]
	api := newFastClient(node.URL)
	ctx := context.Background()

	// Each worker sleeps on its first bucket, so the task stays as set up below.
	var created struct{ OID string }
	if _, err := api.do(http.MethodPost, "/api/v1/tasks", map[string]any{
		"name": "million", "handler": "noop", "params": map[string]any{"delayMs": 600_000},
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": buckets, "bucketSize": 1}},
		"workers":   map[string]any{"perNode": workers},
	}, &created); err != nil {
		b.Fatal(err)
	}
	oid := created.OID
	var ws struct {
		Items []struct{ OID string }
	}
	pollUntil(b, "the coordinator's buckets and workers", 5*time.Minute, 500*time.Millisecond, func() bool {
		n, err := c.repo.BucketsCount(ctx, oid)
		if err != nil || n.Total() != buckets {
			return false
		}
		_, err = api.do(http.MethodGet, "/api/v1/tasks?parent="+oid, nil, &ws)
		return err == nil && len(ws.Items) == workers
	})
	// Half the buckets COMPLETE, dealt round the workers, in one statement.
	oids := make([]string, workers)
	for i, w := range ws.Items {
		oids[i] = w.OID
	}
	if err := c.d.WithContext(ctx).Exec(`UPDATE buckets SET state = 'COMPLETE', worker_oid = (?::text[])[1 + seq % ?], node_id = 'node1',
items_processed = 1, completions = 1, completed_at = now() WHERE task_oid = ? AND seq % 2 = 0`,
		pgArray(oids), workers, oid).Error; err != nil {
		b.Fatal(err)
	}
	if err := c.d.WithContext(ctx).Exec(`ANALYZE buckets`).Error; err != nil {
		b.Fatal(err)
	}

	type listed struct {
		Items []struct {
			Role     string
			Progress struct{ BucketsComplete, BucketsTotal int64 }
		}
	}
	// A summary this large is kept a few seconds (docs/http-api.md): wait
	// until the list shows the completions made behind the node's back.
	pollUntil(b, "the task list to show the completed buckets", time.Minute, 200*time.Millisecond, func() bool {
		var l listed
		if _, err := api.do(http.MethodGet, "/api/v1/tasks?limit=50", nil, &l); err != nil {
			return false
		}
		for _, t := range l.Items {
			if t.Role == "coordinator" {
				return t.Progress.BucketsComplete == buckets/2
			}
		}
		return false
	})
	// What one read of the coordinator's summary costs (a cold list, or one
	// background renewal).
	start := time.Now()
	if _, _, err := c.repo.BucketsSummary(ctx, oid); err != nil {
		b.Fatal(err)
	}
	summary := ms(time.Since(start))

	rssBefore, err := rssMiB(node.Pid())
	if err != nil {
		b.Fatal(err)
	}
	type page struct {
		Items []struct{ Seq int64 }
		Next  *string
	}
	timed := func(what, path string, check func(page) error) float64 {
		var took []float64
		for range runs {
			var p page
			start := time.Now()
			if _, err := api.do(http.MethodGet, path, nil, &p); err != nil {
				b.Fatalf("%s: %v", what, err)
			}
			took = append(took, ms(time.Since(start)))
			if err := check(p); err != nil {
				b.Fatalf("%s: %v", what, err)
			}
		}
		return median(took)
	}
	first := timed("first page", "/api/v1/tasks/"+oid+"/buckets", func(p page) error {
		if len(p.Items) != 100 || p.Items[0].Seq != 1 || p.Next == nil || *p.Next != "100" {
			return fmt.Errorf("want seqs 1…100 and next 100, got %d items, next %v", len(p.Items), p.Next)
		}
		return nil
	})
	largest := timed("a page of 1000", "/api/v1/tasks/"+oid+"/buckets?limit=1000&after=500000", func(p page) error {
		if len(p.Items) != 1000 || p.Items[0].Seq != 500_001 || p.Next == nil || *p.Next != "501000" {
			return fmt.Errorf("want seqs 500001…501000, got %d items, next %v", len(p.Items), p.Next)
		}
		return nil
	})
	last := timed("the last page", "/api/v1/tasks/"+oid+"/buckets?after="+strconv.Itoa(buckets-10), func(p page) error {
		if len(p.Items) != 10 || p.Next != nil {
			return fmt.Errorf("want the last 10 buckets and no next, got %d items, next %v", len(p.Items), p.Next)
		}
		return nil
	})
	list := timed("the task list", "/api/v1/tasks?limit=50", func(p page) error {
		if len(p.Items) < 1+workers {
			return fmt.Errorf("want the coordinator and %d workers at least, got %d tasks", workers, len(p.Items))
		}
		return nil
	})
	var all listed
	if _, err := api.do(http.MethodGet, "/api/v1/tasks?limit=50", nil, &all); err != nil {
		b.Fatal(err)
	}
	var byWorkers int64
	for _, t := range all.Items {
		switch {
		case t.Role == "coordinator" && (t.Progress.BucketsTotal != buckets || t.Progress.BucketsComplete != buckets/2):
			b.Fatalf("coordinator progress %+v, want %d of %d", t.Progress, buckets/2, buckets)
		case t.Role == "worker":
			byWorkers += t.Progress.BucketsComplete
		}
	}
	if byWorkers != buckets/2 {
		b.Fatalf("the workers completed %d buckets together, want %d", byWorkers, buckets/2)
	}
	rssAfter, err := rssMiB(node.Pid())
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("cadre bucket-pages database=postgres buckets=%d runs=%d first_page_ms_median=%.1f page1000_ms_median=%.1f last_page_ms_median=%.1f task_list_ms_median=%.1f summary_query_ms=%.1f rss_mib_before=%.1f rss_mib_after=%.1f\n",
		buckets, runs, first, largest, last, list, summary, rssBefore, rssAfter)
	b.ReportMetric(first, "page_ms")
	b.ReportMetric(largest, "page1000_ms")
	b.ReportMetric(list, "task_list_ms")
	b.ReportMetric(summary, "summary_query_ms")
	b.ReportMetric(rssAfter-rssBefore, "rss_growth_MiB")
}

// pgArray is a PostgreSQL text array literal of plain values (OIDs).
func pgArray(vs []string) string {
	out := "{"
	for i, v := range vs {
		if i > 0 {
			out += ","
		}
		out += `"` + v + `"`
	}
	return out + "}"
}
