package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cadre/db/dbtest"
)

// BenchmarkCompare measures, in the same run and on the same PostgreSQL,
// Cadre's no-op buckets per second and River's no-op jobs per second
// (github.com/riverqueue/river, built from its own module in bench/river, so
// Cadre's go.mod never depends on it):
//
//   - Cadre: 10,000 buckets of one item without delay on a fresh cluster of
//     1 or 3 nodes, 4 workers per node, from task creation to CLOSED (as
//     BenchmarkThroughput).
//   - River: 10,000 jobs inserted before the clients start, then 1 or 3
//     client processes of 100 workers each, from the first client's start to
//     all jobs completed in river_job; at River's defaults (FetchCooldown
//     100 ms, FetchPollInterval 1 s) and at its fastest fetch settings (both
//     1 ms, River's minimum). See bench/river/cmd/riverbench.
//
// Each of five runs measures all three, in a rotating order, each on a
// fresh database; the line reports the medians and the ratios Cadre/River
// (above 1 means Cadre is faster). It skips only when PostgreSQL is
// unreachable.
func BenchmarkCompare(b *testing.B) {
	const jobs, runs, perNode, riverWorkers = 10000, 5, 4, 100
	_ = dbtest.Postgres(b) // skips (or fails, under CADRE_REQUIRE_POSTGRES=1) before building anything
	riverBin := buildRiverBench(b)
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			// Each returns the rate of one run and what to log about it.
			measure := map[string]func() (float64, string){
				"cadre": func() (float64, string) {
					seconds, share := cadreNoopRun(b, n, jobs, perNode)
					return jobs / seconds, "share=" + share
				},
				"river_defaults": func() (float64, string) { return riverNoopRun(b, riverBin, n, riverWorkers, jobs, "defaults") },
				"river_fast":     func() (float64, string) { return riverNoopRun(b, riverBin, n, riverWorkers, jobs, "fast") },
			}
			order := []string{"cadre", "river_defaults", "river_fast"}
			rates := map[string][]float64{}
			notes := map[string][]string{}
			for r := range runs {
				for i := range order {
					name := order[(i+r)%len(order)]
					rate, note := measure[name]()
					rates[name] = append(rates[name], rate)
					notes[name] = append(notes[name], fmt.Sprintf("%.0f/s %s", rate, note))
				}
			}
			for _, name := range order { // one line each: a benchmark's log is cut after 10 lines
				b.Logf("%s runs: %s", name, strings.Join(notes[name], "; "))
			}
			cadre, defaults, fast := median(rates["cadre"]), median(rates["river_defaults"]), median(rates["river_fast"])
			fmt.Printf("cadre compare nodes=%d jobs=%d runs=%d cadre_workers_per_node=%d river_workers_per_proc=%d cadre_per_s=%.0f river_defaults_per_s=%.0f river_fast_per_s=%.0f ratio_defaults=%.2f ratio_fast=%.2f\n",
				n, jobs, runs, perNode, riverWorkers, cadre, defaults, fast, cadre/defaults, cadre/fast)
			b.ReportMetric(cadre, "cadre/s")
			b.ReportMetric(defaults, "river_defaults/s")
			b.ReportMetric(fast, "river_fast/s")
		})
	}
}

// cadreNoopRun runs one no-op task of `buckets` one-item buckets on a fresh
// cluster of n nodes with perNode workers each, checks that every bucket
// completed exactly once, and returns the seconds from task creation to
// CLOSED with the nodes' shares.
func cadreNoopRun(b *testing.B, n, buckets, perNode int) (float64, string) {
	b.Helper()
	c := startCluster(b, n)
	defer c.stop()
	start := time.Now()
	oid := c.createNoop(b, buckets, 1, 0, perNode)
	c.waitClosed(b, oid, 5*time.Minute)
	seconds := time.Since(start).Seconds()
	return seconds, shareString(c.assertExactlyOnce(b, oid, buckets, 1))
}

// buildRiverBench compiles bench/river/cmd/riverbench with the go command,
// inside its own module, into a temporary directory.
func buildRiverBench(b *testing.B) string {
	b.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("the compare benchmark builds bench/river with the go command: %v", err)
	}
	bin := filepath.Join(b.TempDir(), "riverbench")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "build", "-buildvcs=false", "-o", bin, "./cmd/riverbench")
	cmd.Dir = "river" // the nested module; go test runs in bench/
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build bench/river/cmd/riverbench: %v\n%s", err, out)
	}
	return bin
}

// riverNoopRun runs riverbench once on a fresh database: `jobs` no-op jobs,
// procs client processes of `workers` workers, in the given mode. It returns
// jobs per second and riverbench's share and retried fields.
func riverNoopRun(b *testing.B, bin string, procs, workers, jobs int, mode string) (float64, string) {
	b.Helper()
	url := dbtest.Postgres(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-dsn", url, "-jobs", strconv.Itoa(jobs), "-procs", strconv.Itoa(procs),
		"-workers", strconv.Itoa(workers), "-mode", mode, "-deadline", "5m")
	cmd.Env = childEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("riverbench -procs %d -mode %s: %v\n%s%s", procs, mode, err, out, stderr.String())
	}
	line := strings.TrimSpace(string(out))
	if !strings.HasPrefix(line, "river noop ") {
		b.Fatalf("riverbench printed %q; want one `river noop …` line", line)
	}
	seconds := 0.0
	var note []string
	for field := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(field, "seconds="); ok {
			seconds, err = strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("riverbench line %q: %v", line, err)
			}
		}
		if strings.HasPrefix(field, "share=") || strings.HasPrefix(field, "retried=") {
			note = append(note, field)
		}
	}
	if seconds <= 0 {
		b.Fatalf("riverbench line %q has no seconds", line)
	}
	return float64(jobs) / seconds, strings.Join(note, " ")
}
