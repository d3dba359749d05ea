package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"cadre/domain/task"
)

// BenchmarkSQLCost measures what one no-op bucket costs the database on three
// PostgreSQL nodes (4 workers each, 20,000 buckets): statements, from the
// nodes' own counters (cadre_db_statements_total, everything they sent,
// check-ins and polls included), and commits, from pg_stat_database. The
// nodes' background work — check-ins, scheduler polls, liveness probes — is
// measured over idle windows before and after the run and subtracted for the
// steady-state figures. PostgreSQL publishes a backend's counters up to ten
// seconds late, so every reading comes after a wait of 11 s.
func BenchmarkSQLCost(b *testing.B) {
	const buckets = 20000
	c := startCluster(b, 3)
	defer c.stop()
	ctx := context.Background()
	flush := 11 * time.Second

	read := func() (statements, commits float64, at time.Time) {
		for _, p := range c.nodes {
			statements += scrape(b, p.URL, "cadre_db_statements_total")
		}
		var n int64
		if err := c.d.WithContext(ctx).Raw("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&n).Error; err != nil {
			b.Fatal(err)
		}
		return statements, float64(n), time.Now()
	}

	time.Sleep(flush)
	sA, cA, tA := read()
	time.Sleep(flush) // idle window before the run
	s0, c0, t0 := read()
	start := time.Now()
	oid := c.createNoop(b, buckets, 1, 0, 4)
	// Poll slowly: the benchmark's own reads are commits too.
	pollUntil(b, "the task to close", 5*time.Minute, 200*time.Millisecond, func() bool {
		t, err := c.repo.TasksGet(ctx, oid)
		return err == nil && t.State == task.Closed
	})
	run := time.Since(start)
	time.Sleep(flush)
	s1, c1, t1 := read()
	time.Sleep(flush) // idle window after the run
	s2, c2, t2 := read()

	idle := t0.Sub(tA).Seconds() + t2.Sub(t1).Seconds()
	bgStatements, bgCommits := ((s0-sA)+(s2-s1))/idle, ((c0-cA)+(c2-c1))/idle
	window := t1.Sub(t0).Seconds()
	stmts, commits := s1-s0, c1-c0
	netStmts, netCommits := stmts-bgStatements*window, commits-bgCommits*window
	fmt.Printf("cadre sql-cost nodes=3 buckets=%d run_s=%.2f statements_per_bucket=%.3f commits_per_bucket=%.3f steady_statements_per_bucket=%.3f steady_commits_per_bucket=%.3f background_statements_per_s=%.1f background_commits_per_s=%.1f\n",
		buckets, run.Seconds(), stmts/buckets, commits/buckets, netStmts/buckets, netCommits/buckets, bgStatements, bgCommits)
	b.ReportMetric(netStmts/buckets, "statements/bucket")
	b.ReportMetric(netCommits/buckets, "commits/bucket")
}

// scrape sums the samples of a metric on a node's /metrics.
func scrape(tb testing.TB, base, name string) float64 {
	tb.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		tb.Fatalf("scrape %s: %v", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("scrape %s: %s", base, resp.Status)
	}
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}
