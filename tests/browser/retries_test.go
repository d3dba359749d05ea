package browser_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cadre/apiclient"
	"cadre/db/dbtest"
	"cadre/node/proctest"
)

// TestRetriesAndCheckpointsOnTaskPage is an operator reading a task page
// on a two-node cluster while a task's work fails and is retried, and while
// a node dies in the middle of a bucket: the page shows, without a reload,
// each retried bucket's attempts and the error of its failed attempt, a
// standalone run's attempts, and a bucket taken over from the dead node
// resuming from the checkpoint that node wrote.
func TestRetriesAndCheckpointsOnTaskPage(t *testing.T) {
	exe := chromium(t)
	url := dbtest.Postgres(t) // before the processes: cleanups run in reverse
	var nodes []*proctest.Proc
	for i := 1; i <= 2; i++ {
		nodes = append(nodes, proctest.Start(t, fmt.Sprintf("node%d", i), clusterArgs(url)...))
	}
	proctest.WaitFor(t, "two live nodes", 15*time.Second, func() bool {
		status, out := nodes[0].Admin().Do(t, http.MethodGet, "/api/v1/nodes", nil)
		items, _ := out["items"].([]any)
		return status == http.StatusOK && len(items) == 2
	})
	b := newTab(t, exe)
	b.do("open the login page", chromedp.Navigate(nodes[0].URL+"/ui/login"))
	b.do("log in",
		chromedp.SendKeys(chromedp.ID("username"), proctest.AdminUser),
		chromedp.SendKeys(chromedp.ID("password"), proctest.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/ui/login"] button[type="submit"]`)))
	b.waitJS("the dashboard", `location.pathname === "/ui/" && !!document.querySelector("#nodes-live")`, 10*time.Second)

	// The subtests share the cluster and the tab; the last one kills a node.
	t.Run("retried buckets", func(t *testing.T) { retriedBucketsOnPage(t, b.in(t), nodes[0]) })
	t.Run("retried standalone run", func(t *testing.T) { retriedRunOnPage(t, b.in(t), nodes[0]) })
	t.Run("bucket resumed from a dead node's checkpoint", func(t *testing.T) { resumedBucketOnPage(t, b.in(t), nodes) })
}

// in is the same tab failing the subtest t, not its parent: a subtest must
// not end its parent's goroutine.
func (b *tab) in(t *testing.T) *tab {
	return &tab{t: t, ctx: b.ctx, downloads: b.downloads}
}

// createTask creates a task through node's API and returns its OID.
func createTask(t *testing.T, node *proctest.Proc, in map[string]any) string {
	t.Helper()
	status, out := node.Admin().Do(t, http.MethodPost, "/api/v1/tasks", in)
	if status != http.StatusCreated {
		t.Fatalf("create %v: %d %v", in["name"], status, out)
	}
	return out["oid"].(string)
}

// resumeOnPage opens a SUSPENDED task's page and resumes it with the page's
// button, so the page is open before any of the task's work has run; it
// fails if the page it comes back to is not refreshing itself.
func resumeOnPage(b *tab, node *proctest.Proc, oid string) {
	b.t.Helper()
	b.do("open the task page", chromedp.Navigate(node.URL+"/ui/tasks/"+oid))
	b.waitJS("the suspended task's Resume button", `!!document.querySelector("#action-resume")`, 10*time.Second)
	b.do("resume the task", chromedp.Click(chromedp.ID("action-resume")))
	b.waitJS("the task page again, refreshing itself", `location.pathname === "/ui/tasks/`+oid+`" &&
		!!document.querySelector("#task-live[data-refresh-url]")`, 10*time.Second)
	if state := eval[string](b, `(window.cadreNoReload = true, document.querySelector("#task-live").dataset.state)`); state == "CLOSED" {
		b.t.Fatalf("the task is %s when its page comes back from Resume; nothing is left to watch", state)
	}
}

// retriedBucketsOnPage: six buckets that each fail their first attempt
// end SUCCESS on the page, every bucket listed with attempts 2 and the
// error of its first attempt, all without a reload.
func retriedBucketsOnPage(t *testing.T, b *tab, node *proctest.Proc) {
	const buckets, items = 6, 5
	oid := createTask(t, node, map[string]any{
		"name": "retried noop", "handler": "noop", "suspended": true,
		"params":    map[string]any{"itemsPerBucket": items, "delayMs": 100, "failFirstAttempts": 1},
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": buckets, "bucketSize": 1}},
		"workers":   map[string]any{"perNode": 1},
		"retry":     map[string]any{"maxAttempts": 2, "backoffMs": 200},
	})
	resumeOnPage(b, node, oid)
	b.waitJS("the task CLOSED with SUCCESS, without a reload", `document.querySelector("#task-live").dataset.state === "CLOSED" &&
		!!document.querySelector("#task-live .result-success") && window.cadreNoReload === true`, 30*time.Second)

	rows := eval[[]map[string]string](b, `[...document.querySelectorAll("#task-live table.buckets-eventful tr.bucket-row")].map(r => ({
		seq: r.dataset.seq,
		attempts: r.querySelector(".attempts").innerText.trim(),
		lastError: r.querySelector(".last-error").innerText.trim(),
	}))`)
	if len(rows) != buckets {
		t.Fatalf("the page lists %d retried buckets, want all %d: %v", len(rows), buckets, rows)
	}
	for _, r := range rows {
		if r["attempts"] != "2" || r["lastError"] != "noop fails attempt 1 of the first 1 (failFirstAttempts)" {
			t.Errorf("bucket %s shows attempts %q, last error %q; want 2 and the first attempt's error", r["seq"], r["attempts"], r["lastError"])
		}
	}
	if got := eval[string](b, `document.querySelector("#task-live .progress").innerText.trim()`); got != strconv.Itoa(buckets*items)+" items processed" {
		t.Errorf("the page shows progress %q, want %d items and no errors", got, buckets*items)
	}
	eval[bool](b, `(document.querySelector("#buckets-heading").scrollIntoView({block: "start"}), true)`)
	b.screenshot("task-retried-buckets.png", false)
}

// retriedRunOnPage: a run without buckets that fails once shows its
// attempts against its maximum and the first attempt's error, and ends
// SUCCESS.
func retriedRunOnPage(t *testing.T, b *tab, node *proctest.Proc) {
	oid := createTask(t, node, map[string]any{
		"name": "retried run", "handler": "noop", "suspended": true,
		"params": map[string]any{"items": 5, "delayMs": 200, "failFirstAttempts": 1},
		"retry":  map[string]any{"maxAttempts": 2, "backoffMs": 200},
	})
	resumeOnPage(b, node, oid)
	b.waitJS("the run CLOSED with SUCCESS, without a reload", `document.querySelector("#task-live").dataset.state === "CLOSED" &&
		!!document.querySelector("#task-live .result-success") && window.cadreNoReload === true`, 30*time.Second)
	attempts := eval[string](b, `(document.querySelector("#task-live .attempts") || {innerText: ""}).innerText.trim()`)
	if want := "2 of 2 last error: noop fails attempt 1 of the first 1 (failFirstAttempts)"; attempts != want {
		t.Errorf("the run's attempts read %q, want %q", attempts, want)
	}
	if got := eval[string](b, `document.querySelector("#task-live .progress").innerText.trim()`); got != "5 items processed" {
		t.Errorf("the run's progress reads %q, want 5 items", got)
	}
}

// resumedBucketOnPage: one slow bucket checkpoints every 10 items; its node
// is killed -9 once a checkpoint is past the start, and the page on the
// other node shows the bucket resumed there from that checkpoint, and the
// task ending with every item counted once.
func resumedBucketOnPage(t *testing.T, b *tab, nodes []*proctest.Proc) {
	const items, every = 200, 10
	oid := createTask(t, nodes[0], map[string]any{
		"name": "checkpointing noop", "handler": "noop",
		"params":    map[string]any{"itemsPerBucket": items, "delayMs": 20, "checkpointEvery": every},
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": 1, "bucketSize": 1}},
		"workers":   map[string]any{"perNode": 1},
	})
	var held apiclient.Bucket
	proctest.WaitFor(t, "the bucket checkpointed past its start", 30*time.Second, func() bool {
		r, err := nodes[0].Admin().API(t).ListBucketsWithResponse(context.Background(), oid, nil)
		if err != nil || r.JSON200 == nil || len(r.JSON200.Items) != 1 {
			return false
		}
		held = r.JSON200.Items[0]
		return held.State == apiclient.BucketStateDELEGATED && held.Checkpoint != nil && held.Checkpoint.Items > 0
	})
	var victim, survivor *proctest.Proc
	for _, n := range nodes {
		if n.NodeID == held.Node {
			victim = n
		} else {
			survivor = n
		}
	}
	if victim == nil {
		t.Fatalf("the bucket is held by %q, not one of the cluster's nodes", held.Node)
	}
	victim.Kill()
	t.Logf("killed %s holding the bucket at its checkpoint of %d items", victim.NodeID, held.Checkpoint.Items)

	// The session is the cluster's, so the page opens on the survivor as is.
	b.do("open the task page on "+survivor.NodeID, chromedp.Navigate(survivor.URL+"/ui/tasks/"+oid))
	b.waitJS("the task page", `!!document.querySelector("#task-live")`, 10*time.Second)
	eval[bool](b, `(window.cadreNoReload = true)`)
	row := fmt.Sprintf(`document.querySelector('#task-live table.buckets-eventful tr.bucket-row[data-seq="%d"]')`, held.Seq)
	b.waitJS("the task CLOSED with SUCCESS and the bucket resumed on "+survivor.NodeID+", without a reload", `(() => {
		const r = `+row+`;
		return document.querySelector("#task-live").dataset.state === "CLOSED" && !!document.querySelector("#task-live .result-success") &&
			!!r && r.querySelector('td[data-label="Node"]').innerText.trim() === "`+survivor.NodeID+`" && window.cadreNoReload === true;
	})()`, 60*time.Second)

	// Resumed from the dead node's last checkpoint: the one read before the
	// kill or a later one it wrote before it died.
	resumed := eval[int64](b, `parseInt(`+row+`.querySelector(".resumed-from").innerText, 10) || 0`)
	if resumed < held.Checkpoint.Items || resumed >= items || resumed%every != 0 {
		t.Errorf("the bucket shows resumed from %d items; want the dead node's checkpoint, at least %d and below %d", resumed, held.Checkpoint.Items, items)
	}
	// The checkpoint column keeps the survivor's own last checkpoint, past
	// the one it resumed from.
	if got := eval[int64](b, `parseInt(`+row+`.querySelector(".checkpoint").innerText, 10) || 0`); got <= resumed || got >= items {
		t.Errorf("the bucket shows its checkpoint at %d items; want the survivor's, past %d and below %d", got, resumed, items)
	}
	if got := eval[string](b, row+`.querySelector(".attempts").innerText.trim()`); got != "1" {
		t.Errorf("the bucket shows %s attempts; a node's death is not an attempt", got)
	}
	if got := eval[string](b, `document.querySelector("#task-live .progress").innerText.trim()`); got != strconv.Itoa(items)+" items processed" {
		t.Errorf("the task's progress reads %q, want exactly %d items", got, items)
	}
	eval[bool](b, `(document.querySelector("#buckets-heading").scrollIntoView({block: "start"}), true)`)
	b.screenshot("task-resumed-bucket.png", false)
}
