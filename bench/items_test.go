package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cadre/domain/object"
)

// BenchmarkItems measures real handlers at two sizes, on 1 and 3 PostgreSQL
// nodes (4 workers each): an import of N CSV rows (N/100 rows a bucket) into
// an empty repository, then a recompute of the N users (OID-prefix buckets of
// depth 2) that changes every one of them, then — after 1 % of the users
// were edited — a recompute in which most users are unchanged. Each line
// gives the seconds and items per second; the last lines give the ratio of
// the 100k time to the 10k time, which is 10 when cost grows linearly.
func BenchmarkItems(b *testing.B) {
	sizes := []int{10_000, 100_000}
	type key struct {
		op    string
		nodes int
		n     int
	}
	secs := map[key]float64{}
	for _, nodes := range []int{1, 3} {
		for _, n := range sizes {
			dir := b.TempDir()
			c := startCluster(b, nodes, "-Dmidpoint.resources.allowedDirectories="+dir)
			path := filepath.Join(dir, fmt.Sprintf("users-%d.csv", n))
			writeUsersCSV(b, path, n)

			run := func(op string, body map[string]any) {
				secs[key{op, nodes, n}] = c.runItems(b, op, n, body, 10*time.Minute)
			}
			run("import", importTask(path, n, n/100))
			run("recompute-all-changed", recomputeTask())
			editSome(b, c, n/100)
			run("recompute-1pct-changed", recomputeTask())
			c.stop()
		}
	}
	for _, nodes := range []int{1, 3} {
		for _, op := range []string{"import", "recompute-all-changed", "recompute-1pct-changed"} {
			small, large := secs[key{op, nodes, sizes[0]}], secs[key{op, nodes, sizes[1]}]
			fmt.Printf("cadre items-scaling op=%s nodes=%d ratio_100k_to_10k=%.1f (10 = linear)\n", op, nodes, large/small)
		}
	}
}

// runItems creates a task through node1's API, waits until it is closed and
// prints the seconds it took as a `cadre items` line.
func (c *benchCluster) runItems(tb testing.TB, op string, n int, body map[string]any, within time.Duration) float64 {
	tb.Helper()
	start := time.Now()
	status, out := c.nodes[0].Admin().Do(tb, "POST", "/api/v1/tasks", body)
	if status != http.StatusCreated {
		tb.Fatalf("create %s task: %d %v", op, status, out)
	}
	oid, _ := out["oid"].(string)
	c.waitClosed(tb, oid, within)
	s := time.Since(start).Seconds()
	fmt.Printf("cadre items op=%s nodes=%d n=%d seconds=%.2f items_per_s=%.0f\n", op, len(c.nodes), n, s, float64(n)/s)
	return s
}

// importTask imports the n rows of the CSV file at path, bucketSize rows a
// bucket, 4 workers a node.
func importTask(path string, n, bucketSize int) map[string]any {
	return map[string]any{"name": "import", "handler": "import", "params": map[string]any{"resource": path},
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": n, "bucketSize": bucketSize}},
		"workers":   map[string]any{"perNode": 4}}
}

// recomputeTask recomputes every user in 256 OID-prefix buckets (depth 2),
// 4 workers a node.
func recomputeTask() map[string]any {
	return map[string]any{"name": "recompute", "handler": "recompute",
		"bucketing": map[string]any{"oidPrefix": map[string]any{"depth": 2}}, "workers": map[string]any{"perNode": 4}}
}

// writeUsersCSV writes a resource of n users.
func writeUsersCSV(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "name,fullName,emailAddress,enabled")
	for i := range n {
		fmt.Fprintf(w, "user%06d,User Number %d,user%06d@example.com,true\n", i, i, i)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// editSome changes the full name of k users straight in the repository, so
// that a recompute after it has k users to change and the rest unchanged.
func editSome(tb testing.TB, c *benchCluster, k int) {
	tb.Helper()
	ctx := context.Background()
	objs, err := c.repo.ListByOID(ctx, object.OIDRange{Type: object.TypeUser, Limit: k})
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range objs {
		if u, ok := o.(*object.User); ok {
			u.FullName = "Edited " + u.FullName
		}
	}
	if _, err := c.repo.WriteMany(ctx, objs, time.Now()); err != nil {
		tb.Fatal(err)
	}
}
