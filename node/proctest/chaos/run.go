package chaos

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"cadre/domain/object"
	"cadre/domain/task"
	"cadre/node/proctest"
)

// Workload is the task a run injects its fault into.
type Workload struct {
	// Import runs the import handler over a CSV of Buckets × Items rows
	// (one bucket per Items rows); otherwise a no-op task of Buckets
	// buckets of Items items of DelayMs each.
	Import                           bool
	Buckets, Items, DelayMs, PerNode int
}

// Name is "import" or "noop".
func (w Workload) Name() string {
	if w.Import {
		return "import"
	}
	return "noop"
}

// Create starts the workload through node1's API and returns the task's oid.
func (c *Cluster) Create(w Workload) string {
	c.tb.Helper()
	body := map[string]any{
		"name": w.Name(), "handler": w.Name(),
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": w.Buckets * w.Items, "bucketSize": w.Items}},
		"workers":   map[string]any{"perNode": w.PerNode},
	}
	if w.Import {
		var b strings.Builder
		b.WriteString("name,fullName,emailAddress,enabled\n")
		for i := range w.Buckets * w.Items {
			fmt.Fprintf(&b, "imp%06d,Imported %d,imp%06d@example.com,true\n", i, i, i)
		}
		path := filepath.Join(c.Resources, "hr.csv")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			c.tb.Fatal(err)
		}
		body["params"] = map[string]any{"resource": path}
	} else {
		body["params"] = map[string]any{"itemsPerBucket": w.Items, "delayMs": w.DelayMs}
		body["bucketing"] = map[string]any{"numeric": map[string]any{"from": 0, "to": w.Buckets, "bucketSize": 1}}
	}
	status, out := c.Nodes[0].Admin().Do(c.tb, "POST", "/api/v1/tasks", body)
	if status != http.StatusCreated {
		c.tb.Fatalf("create %s task: %d %v", w.Name(), status, out)
	}
	return out["oid"].(string)
}

// Case is one run: a fault injected into a workload.
type Case struct {
	Fault    Fault
	Workload Workload
	// InjectAt is how many buckets must be COMPLETE before the fault.
	InjectAt int
	// CloseWithin is how long after the fault ends the run waits for the
	// task to close.
	CloseWithin time.Duration
}

// Result is what a run measured. Durations are from the end of the fault.
type Result struct {
	Fault, Workload string
	// FaultTook is from the injection to the end of the fault.
	FaultTook time.Duration
	// Resumed is when the first bucket completion after the fault was
	// stamped (the nodes' own stamps, same host); -1 when none was.
	Resumed time.Duration
	// Closed is when the task was seen CLOSED; -1 when it was not within
	// CloseWithin.
	Closed time.Duration
	// Task is the task as the database had it at the end.
	Task *task.Task
	// Summary counts the buckets by state (and the coordinator's state) at
	// the end, for a failure message.
	Summary string
	// Lost are buckets missing or not COMPLETE at the end; Doubled are
	// completions beyond the first.
	Buckets, Lost, Doubled    int
	ItemsProcessed, ItemsWant int64
	Users, UsersWant          int64 // import only
	// MissingUsers names, for an import, the buckets whose rows have no
	// user, with the bucket's state: "17 COMPLETE (20 rows)".
	MissingUsers   []string
	Exited         []string
	LiveAgain      bool // every node live and scheduling again after the fault
	Repairs        map[string]float64
	RepairsMissing []string // nodes whose /metrics has no cadre_repairs_total family
}

// Recovery is the chaos benchmark's recovery time: from the end of the
// fault until bucket progress resumed, or until the task closed when no
// bucket completed after the fault; -1 when neither happened.
func (r Result) Recovery() time.Duration {
	if r.Resumed >= 0 {
		return r.Resumed
	}
	return r.Closed
}

// Run starts the cluster the fault needs, runs the workload, injects the
// fault once InjectAt buckets are complete, and measures the recovery. It
// fails tb only when the harness itself cannot do its job (no cluster, a
// task that finished before the fault ended); what the nodes did is in the
// Result for the caller to judge.
func Run(tb testing.TB, k Case) Result {
	tb.Helper()
	c := Start(tb, k.Fault.Options)
	tb.Cleanup(func() {
		if tb.Failed() {
			c.logProblems(tb)
		}
	})
	oid := c.Create(k.Workload)
	proctest.WaitFor(tb, fmt.Sprintf("%d complete buckets before the fault", k.InjectAt), 2*time.Minute, func() bool {
		return c.Complete(oid) >= k.InjectAt
	})
	injected := time.Now()
	tb.Logf("%s: injecting at %d complete buckets", k.Fault.Name, c.Complete(oid))
	k.Fault.Inject(tb, c)
	end := time.Now()
	r := Result{Fault: k.Fault.Name, Workload: k.Workload.Name(), FaultTook: end.Sub(injected), Resumed: -1, Closed: -1}
	if t := c.Task(oid); t != nil && t.State == task.Closed {
		tb.Fatalf("%s: the task closed before the fault ended (%d buckets): the run measures nothing; make it longer", k.Fault.Name, k.Workload.Buckets)
	}
	tb.Logf("%s: fault ended after %s at %d complete buckets", k.Fault.Name, r.FaultTook.Round(time.Millisecond), c.Complete(oid))

	deadline := end.Add(k.CloseWithin)
	for time.Now().Before(deadline) {
		if t := c.Task(oid); t != nil && t.State == task.Closed {
			r.Closed = time.Since(end)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every node back: live and scheduling, judged by the database.
	for ; time.Now().Before(end.Add(k.CloseWithin + 10*time.Second)); time.Sleep(100 * time.Millisecond) {
		if c.LiveNodes() == len(c.Nodes) {
			r.LiveAgain = true
			break
		}
	}

	r.Task = c.Task(oid)
	c.count(&r, oid, end, k.Workload)
	r.Exited = c.Exited()
	r.Repairs, r.RepairsMissing = c.repairs(tb)
	if k.Workload.Import {
		r.UsersWant = int64(k.Workload.Buckets*k.Workload.Items) + 1 // + administrator
		if n, err := c.Repo.Count(context.Background(), object.TypeUser); err == nil {
			r.Users = n
		}
		if r.Users != r.UsersWant {
			r.MissingUsers = c.missingUsers(oid)
		}
	}
	return r
}

// Ids, addresses and times that make otherwise equal log lines differ.
var (
	logTime  = regexp.MustCompile(`^time=\S+ `)
	logNoise = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(@\d+)?|127\.0\.0\.1:\d+|cadre_t_[0-9a-f]+|\d{4}-\d\d-\d\dT[0-9:.]+Z|\b\d+(\.\d+)?(ms|s)\b|\bline=\d+|imp\d{6}`)
)

// maxProblems bounds the kinds of warnings logProblems shows per node.
const maxProblems = 40

// logProblems logs every node's warnings and errors over the whole run,
// equal ones counted once: the tail proctest shows misses the fault.
func (c *Cluster) logProblems(tb testing.TB) {
	for _, p := range c.Nodes {
		counts := map[string]int{}
		var order []string
		for _, line := range strings.Split(p.Log(), "\n") {
			if !strings.Contains(line, "level=WARN") && !strings.Contains(line, "level=ERROR") {
				continue
			}
			line = logNoise.ReplaceAllString(logTime.ReplaceAllString(line, ""), "…")
			if len(line) > 400 {
				line = line[:400] + "…"
			}
			if counts[line] == 0 {
				order = append(order, line)
			}
			counts[line]++
		}
		var b strings.Builder
		for i, line := range order {
			if i == maxProblems {
				fmt.Fprintf(&b, "(%d more kinds)\n", len(order)-i)
				break
			}
			fmt.Fprintf(&b, "%5d× %s\n", counts[line], line)
		}
		tb.Logf("--- %s: warnings and errors of the whole run (ids and times elided) ---\n%s", p.NodeID, b.String())
	}
}

// missingUsers lists the buckets of an import whose rows have no user.
func (c *Cluster) missingUsers(oid string) []string {
	var names []string
	if err := c.DB.Raw("SELECT name FROM objects WHERE type = ? AND name LIKE 'imp%'", string(object.TypeUser)).Scan(&names).Error; err != nil {
		return []string{fmt.Sprintf("(read users: %v)", err)}
	}
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	var out []string
	for _, b := range c.Buckets(oid) {
		if b.Content.From == nil || b.Content.To == nil {
			continue
		}
		missing := 0
		for i := *b.Content.From; i < *b.Content.To; i++ {
			if !have[fmt.Sprintf("imp%06d", i)] {
				missing++
			}
		}
		if missing > 0 {
			out = append(out, fmt.Sprintf("%d %s (%d rows)", b.Seq, b.State, missing))
		}
	}
	return out
}

// count fills in the bucket figures of r.
func (c *Cluster) count(r *Result, oid string, faultEnd time.Time, w Workload) {
	completions, err := c.Repo.BucketCompletions(context.Background(), oid)
	if err != nil {
		r.Summary = fmt.Sprintf("(read completions: %v)", err)
		return
	}
	states := map[task.BucketState]int{}
	var first time.Time
	bs := c.Buckets(oid)
	for _, b := range bs {
		states[b.State]++
		if b.State != task.BucketComplete {
			r.Lost++
		}
		if n := completions[b.Seq]; n > 1 {
			r.Doubled += int(n - 1)
		}
		if b.CompletedAt != nil && b.CompletedAt.After(faultEnd) && (first.IsZero() || b.CompletedAt.Before(first)) {
			first = *b.CompletedAt
		}
	}
	r.Buckets = len(bs)
	if len(bs) < w.Buckets {
		r.Lost += w.Buckets - len(bs)
	}
	if !first.IsZero() {
		r.Resumed = first.Sub(faultEnd)
	}
	r.ItemsWant = int64(w.Buckets * w.Items)
	if r.Task != nil {
		r.ItemsProcessed = r.Task.Progress.ItemsProcessed
	}
	var parts []string
	for s, n := range states {
		parts = append(parts, fmt.Sprintf("%s=%d", s, n))
	}
	sort.Strings(parts)
	if r.Task != nil {
		parts = append(parts, fmt.Sprintf("task %s/%s", r.Task.State, r.Task.Result))
	}
	r.Summary = strings.Join(parts, " ")
}

// repairs scrapes cadre_repairs_total from every node's /metrics, summed
// over the nodes by kind, and names the nodes that do not export it.
func (c *Cluster) repairs(tb testing.TB) (map[string]float64, []string) {
	total := map[string]float64{}
	var missing []string
	for _, p := range c.Nodes {
		resp := p.Admin().Request(tb, "GET", "/metrics", nil)
		if resp.Err != nil || resp.Status != http.StatusOK {
			missing = append(missing, p.NodeID)
			continue
		}
		counts, found := ParseRepairs(resp.Body)
		for kind, v := range counts {
			total[kind] += v
		}
		if !found {
			missing = append(missing, p.NodeID)
		}
	}
	return total, missing
}

// ParseRepairs reads cadre_repairs_total{kind} from a Prometheus text
// exposition, by kind; found says whether the family is there at all (a
// TYPE line or a sample).
func ParseRepairs(body []byte) (byKind map[string]float64, found bool) {
	byKind = map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE cadre_repairs_total ") {
			found = true
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok || (name != "cadre_repairs_total" && !strings.HasPrefix(name, "cadre_repairs_total{")) {
			continue
		}
		found = true
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		kind := "?"
		if _, rest, ok := strings.Cut(name, `kind="`); ok {
			kind, _, _ = strings.Cut(rest, `"`)
		}
		byKind[kind] += v
	}
	return byKind, found
}

// RepairString is the repairs as kind=n pairs, sorted; "0" when none.
func (r Result) RepairString() string {
	var parts []string
	for k, v := range r.Repairs {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%g", k, v))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
