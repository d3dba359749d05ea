package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// largeEnv turns the million-user benchmarks on; `make bench-large` sets it.
// They take many minutes and a few GB of database, so `make bench` (-bench .)
// skips them.
const largeEnv = "CADRE_BENCH_LARGE"

// BenchmarkLarge runs the items scenarios at 100,000 and at 1,000,000 users
// on three PostgreSQL nodes at their default settings (4 workers a node,
// imports in buckets of 500 rows, recomputes in 256 OID-prefix buckets):
// import, recompute with every user changed, recompute with nothing changed
// (which must write no user: checked), each with the largest resident set
// of a node while it ran, then the ratio of the 1M time to the 100k time (10
// is linear). At 1M users it then measures the object API on node1: p50
// and p99 of 100 requests each for an exact name, the first page, the page
// after user 990,000 by cursor and a substring search.
func BenchmarkLarge(b *testing.B) {
	if os.Getenv(largeEnv) == "" {
		b.Skip("a million users take minutes; set " + largeEnv + "=1 (make bench-large)")
	}
	if runtime.GOOS != "linux" {
		b.Skip("reads node RSS from /proc")
	}
	ops := []string{"import", "recompute-all-changed", "recompute-nothing-changed"}
	secs := map[int]map[string]float64{}
	for _, n := range []int{100_000, 1_000_000} {
		dir := b.TempDir()
		c := startCluster(b, 3, "-Dmidpoint.resources.allowedDirectories="+dir)
		path := filepath.Join(dir, fmt.Sprintf("users-%d.csv", n))
		writeUsersCSV(b, path, n)
		secs[n] = map[string]float64{}
		within := 30 * time.Minute
		for _, op := range ops {
			task := recomputeTask()
			if op == "import" {
				task = importTask(path, n, 500)
			}
			before := c.userWrites(b)
			stop := c.sampleRSS()
			secs[n][op] = c.runItems(b, op, n, task, within)
			rss := stop()
			after := c.userWrites(b)
			if op == "recompute-nothing-changed" && after != before {
				b.Fatalf("a recompute that changed nothing wrote users: versions %+v before, %+v after", before, after)
			}
			fmt.Printf("cadre items-rss op=%s nodes=3 n=%d max_node_rss_mib=%.0f\n", op, n, rss)
		}
		if n == 1_000_000 {
			c.apiLatency(b, n)
		}
		c.stop()
	}
	for _, op := range ops {
		fmt.Printf("cadre items-scaling op=%s nodes=3 ratio_1m_to_100k=%.1f (10 = linear)\n", op, secs[1_000_000][op]/secs[100_000][op])
	}
}

// userVersions sums up the users' versions and their latest modification:
// equal before and after a run when it wrote no user.
type userVersions struct {
	Users    int64
	Versions int64
	Latest   string
}

func (c *benchCluster) userWrites(tb testing.TB) userVersions {
	tb.Helper()
	var v userVersions
	err := c.d.WithContext(context.Background()).Raw(
		"SELECT count(*) AS users, coalesce(sum(version), 0) AS versions, coalesce(max(modified_at)::text, '') AS latest FROM objects WHERE type = 'users'").
		Scan(&v).Error
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// sampleRSS reads every node's resident set every 100 ms until the function
// it returns is called, which answers the largest reading in MiB.
func (c *benchCluster) sampleRSS() func() float64 {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak float64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, p := range c.nodes {
				if mib, err := rssMiB(p.Pid()); err == nil {
					peak = max(peak, mib)
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// apiLatency times 100 requests of each case against node1 and prints p50
// and p99 of each as a `cadre api-latency` line. A failed request fails the
// benchmark: a fast error is no figure.
func (c *benchCluster) apiLatency(b *testing.B, n int) {
	client := newFastClient(c.nodes[0].URL)
	rng := rand.New(rand.NewPCG(1, 2))
	name := func(i int) string { return fmt.Sprintf("user%06d", i) }
	// The cursor of the page after user 990,000: the API hands out the last
	// name of a page, base64url-encoded (interfaces/httpapi/cursor.go), so
	// the benchmark makes it rather than walking 990,000 users to it.
	cursor := base64.RawURLEncoding.EncodeToString([]byte(name(990_000 - 1)))
	cases := []struct {
		name string
		path func() string
		want func(items []any) bool
	}{
		{"exact-name", func() string { return "/api/v1/objects/users?name=" + name(rng.IntN(n)) },
			func(items []any) bool { return len(items) == 1 }},
		{"first-page", func() string { return "/api/v1/objects/users?limit=50" },
			func(items []any) bool { return len(items) == 50 }},
		{"cursor-page-990000", func() string { return "/api/v1/objects/users?limit=50&after=" + cursor },
			func(items []any) bool { return len(items) == 50 }},
		// Five digits of a name: about ten users match, out of a million.
		{"substring", func() string {
			return "/api/v1/objects/users?limit=50&nameContains=" + url.QueryEscape(fmt.Sprintf("%05d", rng.IntN(100_000)))
		}, func(items []any) bool { return len(items) >= 1 }},
	}
	for _, cs := range cases {
		var took []float64
		for range 100 {
			path := cs.path()
			var out struct {
				Items []any `json:"items"`
			}
			start := time.Now()
			status, err := client.do("GET", path, nil, &out)
			d := time.Since(start)
			if err != nil || status != http.StatusOK || !cs.want(out.Items) {
				b.Fatalf("GET %s: %d %v, %d items", path, status, err, len(out.Items))
			}
			took = append(took, ms(d))
		}
		fmt.Printf("cadre api-latency users=%d case=%s p50_ms=%.1f p99_ms=%.1f\n", n, cs.name, percentile(took, 50), percentile(took, 99))
	}
}
