package bench

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"cadre/domain/object"
	"cadre/node/proctest"
)

// BenchmarkThroughput measures no-op buckets per second on 1, 2 and 3 nodes
// (processes) on PostgreSQL: 3,000 buckets of one item without delay, 4
// workers per node, from task creation to CLOSED. Each node count runs 3
// times, each on a fresh database and cluster, and reports the median run.
func BenchmarkThroughput(b *testing.B) {
	const buckets, runs, perNode = 3000, 3, 4
	for n := 1; n <= 3; n++ {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			type result struct {
				seconds float64
				perNode map[string]int
			}
			var results []result
			for range runs {
				c := startCluster(b, n)
				start := time.Now()
				oid := c.createNoop(b, buckets, 1, 0, perNode)
				c.waitClosed(b, oid, 5*time.Minute)
				seconds := time.Since(start).Seconds()
				perNodeDone := c.assertExactlyOnce(b, oid, buckets, 1)
				c.stop()
				results = append(results, result{seconds, perNodeDone})
			}
			sort.Slice(results, func(i, j int) bool { return results[i].seconds < results[j].seconds })
			med := results[len(results)/2] // runs is odd: the true median, with its own share
			rate := buckets / med.seconds
			fmt.Printf("cadre throughput nodes=%d buckets=%d runs=%d median seconds=%.2f buckets_per_s=%.0f share=%s\n",
				n, buckets, runs, med.seconds, rate, shareString(med.perNode))
			b.ReportMetric(rate, "buckets/s")
			b.ReportMetric(med.seconds, "s")
		})
	}
}

// BenchmarkPrecision runs five cron tasks firing every second (noop, one
// item, no bucketing) on one SQLite node for 20 s and measures how late each
// run starts. Cron fires on whole seconds, so the lateness of a run is its
// lastRunStart minus that time truncated to the second (a run more than a
// second late would wrap; missed counts runs the 100 ms polling never saw).
func BenchmarkPrecision(b *testing.B) {
	const tasks, window, every = 5, 20 * time.Second, 100 * time.Millisecond
	p := proctest.Start(b, "", "-Dmidpoint.administrator.initialPassword="+proctest.AdminPassword)
	fc := newFastClient(p.URL)
	var oids []string
	for i := range tasks {
		var out struct {
			OID string `json:"oid"`
		}
		if _, err := fc.do("POST", "/api/v1/tasks", map[string]any{
			"name": fmt.Sprintf("tick-%d", i), "handler": "noop",
			"params":   map[string]any{"items": 1},
			"schedule": map[string]any{"cron": "*/1 * * * * *"},
		}, &out); err != nil || out.OID == "" {
			b.Fatalf("create cron task: %v (oid %q)", err, out.OID)
		}
		oids = append(oids, out.OID)
	}

	type taskView struct {
		LastRunStart *time.Time `json:"lastRunStart"`
		RunCount     int64      `json:"runCount"`
	}
	starts := make([]map[int64]time.Time, tasks) // per task, by UnixNano
	runCounts := make([]int64, tasks)
	for i := range starts {
		starts[i] = map[int64]time.Time{}
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for end := time.Now().Add(window); time.Now().Before(end); <-tick.C {
		for i, oid := range oids {
			var v taskView
			if _, err := fc.do("GET", "/api/v1/tasks/"+oid, nil, &v); err != nil {
				b.Fatalf("read task %s: %v", oid, err)
			}
			if v.LastRunStart != nil {
				starts[i][v.LastRunStart.UnixNano()] = *v.LastRunStart
			}
			runCounts[i] = v.RunCount
		}
	}

	var late []float64
	var ran int64
	for i := range starts {
		for _, s := range starts[i] {
			late = append(late, ms(s.Sub(s.Truncate(time.Second))))
		}
		ran += runCounts[i]
	}
	if len(late) == 0 {
		b.Fatalf("no cron run started in %v", window)
	}
	p50, p99, worst := percentile(late, 50), percentile(late, 99), slices.Max(late)
	fmt.Printf("cadre precision tasks=%d seconds=%.0f runs=%d missed=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
		tasks, window.Seconds(), len(late), ran-int64(len(late)), p50, p99, worst)
	b.ReportMetric(p50, "p50_ms")
	b.ReportMetric(p99, "p99_ms")
	b.ReportMetric(worst, "max_ms")
}

// BenchmarkInvalidation modifies the system configuration's
// infrastructure.intraClusterHttpUrlPattern on node1 100 times and measures,
// for node2 and node3 each, the time from the PATCH answer to a GET on that
// node showing the new value (polled every 2 ms on both peers at once). The
// values alternate between two spellings of the default URL, so the
// intra-cluster URLs the invalidations travel by stay valid.
func BenchmarkInvalidation(b *testing.B) {
	const changes, every, within = 100, 2 * time.Millisecond, 10 * time.Second
	path := "/api/v1/objects/systemConfiguration/" + object.SystemConfigurationOID
	spellings := [2]string{"http://$host:$port/$path", "http://$host:$port/$path/"}

	c := startCluster(b, 3)
	clients := make([]fastClient, len(c.nodes))
	for i, p := range c.nodes {
		clients[i] = newFastClient(p.URL)
	}
	read := func(fc fastClient) (string, error) {
		var out struct {
			Infrastructure struct {
				Pattern string `json:"intraClusterHttpUrlPattern"`
			} `json:"infrastructure"`
		}
		_, err := fc.do("GET", path, nil, &out)
		return out.Infrastructure.Pattern, err
	}
	current := ""
	for _, fc := range clients { // prime every node's global cache
		v, err := read(fc)
		if err != nil {
			b.Fatalf("read system configuration: %v", err)
		}
		current = v
	}

	var took []float64
	for i := range changes {
		want := spellings[i%2]
		if want == current {
			want = spellings[(i+1)%2]
		}
		if _, err := clients[0].do("PATCH", path, map[string]any{"infrastructure": map[string]any{"intraClusterHttpUrlPattern": want}}, nil); err != nil {
			b.Fatalf("change %d on node1: %v", i, err)
		}
		changed := time.Now()
		current = want
		type seen struct {
			after time.Duration
			err   error
		}
		results := make(chan seen, len(clients)-1)
		for j, fc := range clients[1:] {
			go func() {
				for {
					v, err := read(fc)
					after := time.Since(changed)
					switch {
					case err != nil:
						results <- seen{err: fmt.Errorf("%s: %w", c.nodes[j+1].NodeID, err)}
						return
					case v == want:
						results <- seen{after: after}
						return
					case after > within:
						results <- seen{err: fmt.Errorf("%s still shows %q %v after the change (the invalidation did not arrive)", c.nodes[j+1].NodeID, v, within)}
						return
					}
					time.Sleep(every)
				}
			}()
		}
		var errs []error
		for range len(clients) - 1 {
			r := <-results
			errs = append(errs, r.err)
			if r.err == nil {
				took = append(took, ms(r.after))
			}
		}
		if err := errors.Join(errs...); err != nil {
			b.Fatalf("change %d: %v", i, err)
		}
	}
	p50, p99, worst := percentile(took, 50), percentile(took, 99), slices.Max(took)
	fmt.Printf("cadre invalidation nodes=3 changes=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", changes, p50, p99, worst)
	b.ReportMetric(p50, "p50_ms")
	b.ReportMetric(p99, "p99_ms")
	b.ReportMetric(worst, "max_ms")
}

// BenchmarkFootprint starts one SQLite node in a fresh home five times and
// measures the time from exec to the first GET /readyz 200 (polled every
// 5 ms) and the resident set size (VmRSS) after it has been ready and idle
// for 3 s. It reports the medians.
func BenchmarkFootprint(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("footprint reads /proc/<pid>/status; Linux only")
	}
	const runs, every, idle, within = 5, 5 * time.Millisecond, 3 * time.Second, 30 * time.Second
	bin := proctest.Binary(b) // built before any timing
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var startups, rss []float64
	for i := range runs {
		home := filepath.Join(b.TempDir(), "home")
		if err := os.Mkdir(home, 0o755); err != nil {
			b.Fatal(err)
		}
		logPath := filepath.Join(filepath.Dir(home), "cadre.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			b.Fatal(err)
		}
		port := strconv.Itoa(proctest.FreePort(b))
		url := "http://127.0.0.1:" + port
		cmd := exec.Command(bin, "-Dmidpoint.home="+home, "-Dserver.port="+port,
			"-Dmidpoint.administrator.initialPassword="+proctest.AdminPassword)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = home, childEnv(), logFile, logFile
		cmd.SysProcAttr = sysProcAttr()

		start := time.Now()
		if err := cmd.Start(); err != nil {
			logFile.Close()
			b.Fatalf("exec %s: %v", bin, err)
		}
		logFile.Close() // the child has its own copy
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		b.Cleanup(stop) // a second stop finds the process reaped and returns

		ready := func() bool {
			resp, err := probe.Get(url + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
		for !ready() {
			select {
			case <-exited:
				b.Fatalf("run %d: node exited before it was ready; log:\n%s", i+1, tail(logPath, 40))
			default:
			}
			if time.Since(start) > within {
				b.Fatalf("run %d: GET /readyz not 200 after %v; log:\n%s", i+1, within, tail(logPath, 40))
			}
			time.Sleep(every)
		}
		startups = append(startups, ms(time.Since(start)))

		time.Sleep(idle)
		mib, err := rssMiB(cmd.Process.Pid)
		if err != nil {
			b.Fatalf("run %d: %v", i+1, err)
		}
		select {
		case <-exited:
			b.Fatalf("run %d: node exited while idle; log:\n%s", i+1, tail(logPath, 40))
		default:
		}
		rss = append(rss, mib)
		stop()
	}
	startup, mem := median(startups), median(rss)
	fmt.Printf("cadre footprint database=sqlite runs=%d startup_ms_median=%.0f rss_mib_median=%.1f\n", runs, startup, mem)
	b.ReportMetric(startup, "startup_ms")
	b.ReportMetric(mem, "rss_MiB")
}

// tail returns the last n lines of a file, for failure messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
