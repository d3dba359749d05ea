package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/cluster"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
	"cadre/node/proctest"
)

// Cluster timings of every benchmark cluster, as in tests/cluster and
// `make cluster`.
const (
	interval    = proctest.Interval // taskManager.nodeRegistrationInterval
	nodeTimeout = proctest.Timeout  // taskManager.nodeTimeout
)

// benchCluster is n real cadre processes on one fresh PostgreSQL database,
// with a direct repository connection for reading buckets and tasks.
type benchCluster struct {
	url   string
	d     *db.DB
	repo  *gormrepo.Repo
	nodes []*proctest.Proc
}

// startCluster starts n clustered nodes (node1…nodeN), with extra arguments
// if any, on a fresh PostgreSQL database and waits until all of them are live
// and scheduling. The nodes
// and the database go away when tb ends, or earlier with stop.
func startCluster(tb testing.TB, n int, extra ...string) *benchCluster {
	tb.Helper()
	url := dbtest.Postgres(tb) // before the processes: they must die before the drop
	d, err := db.Open(context.Background(), db.Options{URL: url, MaxPoolSize: 4})
	if err != nil {
		tb.Fatalf("open %s: %v", url, err)
	}
	tb.Cleanup(func() { d.Close() })
	c := &benchCluster{url: url, d: d, repo: gormrepo.New(d)}
	args := append(proctest.ClusterArgs(url), extra...)
	for i := 1; i <= n; i++ {
		c.nodes = append(c.nodes, proctest.Start(tb, fmt.Sprintf("node%d", i), args...))
	}
	pollUntil(tb, fmt.Sprintf("%d live nodes", n), 20*time.Second, 50*time.Millisecond, func() bool {
		return c.liveNodes() == n
	})
	return c
}

// stop kills every node and closes the repository connection; the database
// itself is dropped when tb ends.
func (c *benchCluster) stop() {
	for _, p := range c.nodes {
		p.Kill()
	}
	c.d.Close()
}

func (c *benchCluster) liveNodes() int {
	ctx := context.Background()
	nodes, err := c.repo.NodesList(ctx)
	if err != nil {
		return -1
	}
	now, err := c.repo.Now(ctx)
	if err != nil {
		return -1
	}
	live := 0
	for _, n := range nodes {
		if n.Live(now, nodeTimeout) && n.SchedulerState == cluster.SchedulerRunning {
			live++
		}
	}
	return live
}

// createNoop creates, through node1's API, a noop task of `buckets` numeric
// buckets of one number each, itemsPerBucket items of delayMs each, run by
// perNode workers on every node.
func (c *benchCluster) createNoop(tb testing.TB, buckets, itemsPerBucket, delayMs, perNode int) string {
	tb.Helper()
	status, out := c.nodes[0].Admin().Do(tb, "POST", "/api/v1/tasks", map[string]any{
		"name": "bench-noop", "handler": "noop",
		"params":    map[string]any{"itemsPerBucket": itemsPerBucket, "delayMs": delayMs},
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": buckets, "bucketSize": 1}},
		"workers":   map[string]any{"perNode": perNode},
	})
	if status != http.StatusCreated {
		tb.Fatalf("create noop task: %d %v", status, out)
	}
	oid, _ := out["oid"].(string)
	if oid == "" {
		tb.Fatalf("create noop task: no oid in %v", out)
	}
	return oid
}

// buckets reads a task's buckets straight from the database.
func (c *benchCluster) buckets(tb testing.TB, oid string) []task.Bucket {
	tb.Helper()
	bs, err := c.repo.BucketsList(context.Background(), oid)
	if err != nil {
		tb.Fatalf("list buckets of %s: %v", oid, err)
	}
	return bs
}

// completeCount is the number of COMPLETE buckets of a task.
func completeCount(bs []task.Bucket) int {
	n := 0
	for _, b := range bs {
		if b.State == task.BucketComplete {
			n++
		}
	}
	return n
}

// waitClosed polls the task every 10 ms until it is CLOSED and returns when
// it saw that; a task not closed within `within` fails the benchmark.
func (c *benchCluster) waitClosed(tb testing.TB, oid string, within time.Duration) {
	tb.Helper()
	pollUntil(tb, "task "+oid+" to close", within, 10*time.Millisecond, func() bool {
		t, err := c.repo.TasksGet(context.Background(), oid)
		return err == nil && t.State == task.Closed
	})
}

// assertExactlyOnce fails unless every one of `buckets` buckets is COMPLETE,
// completed exactly once, and the coordinator counted every item. It returns
// how many buckets each node completed.
func (c *benchCluster) assertExactlyOnce(tb testing.TB, oid string, buckets, itemsPerBucket int) map[string]int {
	tb.Helper()
	ctx := context.Background()
	completions, err := c.repo.BucketCompletions(ctx, oid)
	if err != nil {
		tb.Fatalf("bucket completions of %s: %v", oid, err)
	}
	perNode := map[string]int{}
	bs := c.buckets(tb, oid)
	for _, b := range bs {
		if b.State != task.BucketComplete || completions[b.Seq] != 1 {
			tb.Fatalf("bucket %d: state %s, completed %d times; want COMPLETE once", b.Seq, b.State, completions[b.Seq])
		}
		perNode[b.Node]++
	}
	if len(bs) != buckets || len(completions) != buckets {
		tb.Fatalf("task %s has %d buckets (%d completed); want %d", oid, len(bs), len(completions), buckets)
	}
	coord, err := c.repo.TasksGet(ctx, oid)
	if err != nil {
		tb.Fatalf("read task %s: %v", oid, err)
	}
	if want := int64(buckets * itemsPerBucket); coord.Progress.ItemsProcessed != want {
		tb.Fatalf("coordinator counted %d items; want %d", coord.Progress.ItemsProcessed, want)
	}
	return perNode
}

// shareString formats the per-node share of completed buckets as
// node1:34%,node2:33%,… in node-id order.
func shareString(perNode map[string]int) string {
	total := 0
	ids := make([]string, 0, len(perNode))
	for id, n := range perNode {
		ids = append(ids, id)
		total += n
	}
	sort.Strings(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%s:%.0f%%", id, 100*float64(perNode[id])/float64(total)))
	}
	return strings.Join(parts, ",")
}

// pollUntil calls cond every `every`, starting at once, until it returns
// true; when `within` passes first the benchmark fails.
func pollUntil(tb testing.TB, what string, within, every time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(every)
	}
}

// median returns the middle value (the mean of the two middle ones for an
// even count); NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of xs;
// NaN for none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fastClient calls a node with keep-alive connections, for polling every few
// milliseconds (proctest.Client opens a new connection per request). It
// authenticates as the administrator with HTTP Basic.
type fastClient struct {
	base string
	hc   *http.Client
}

func newFastClient(base string) fastClient {
	return fastClient{base: strings.TrimRight(base, "/"), hc: &http.Client{
		Timeout:   proctest.RequestTimeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
	}}
}

// do sends a JSON request and decodes the JSON object answered into out
// (when out is not nil). It returns the status, or an error when no answer
// arrived or the answer was not JSON.
func (f fastClient) do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(proctest.AdminUser, proctest.AdminPassword)
	resp, err := f.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s %s: %w: %s", method, path, err, data)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	return resp.StatusCode, nil
}

// childEnv is this process's environment without the variables that would
// configure a node behind the benchmark's back.
func childEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MIDPOINT_HOME=") || strings.HasPrefix(kv, "MP_SET_")
	})
}

// rssMiB reads the resident set size of a process from /proc/<pid>/status,
// in MiB.
func rssMiB(pid int) (float64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read status of %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS line %q: %w", line, err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
