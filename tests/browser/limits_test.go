package browser_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cadre/db/dbtest"
	"cadre/node/proctest"
)

// TestExecutionLimitsAndStalledTasks is an operator on node2's dashboard
// watching node1, which may run one of its own workers at a time
// (taskExecutionLimitations "#:1"): node1's row shows that worker against
// its limit. A task whose items take longer than the stall threshold shows
// up in the dashboard's stalled-task warning, whose link leads to the
// task's page with the same warning.
func TestExecutionLimitsAndStalledTasks(t *testing.T) {
	exe := chromium(t)
	url := dbtest.Postgres(t)
	args := append(clusterArgs(url),
		"-Dmidpoint.taskManager.stalledTasksThreshold=1s",
		"-Dmidpoint.taskManager.stalledTasksCheckInterval=250ms")
	proctest.Start(t, "node1", append(args, "-Dmidpoint.taskManager.taskExecutionLimitations=#:1")...)
	node2 := proctest.Start(t, "node2", args...)
	proctest.WaitFor(t, "two live nodes", 15*time.Second, func() bool {
		status, out := node2.Admin().Do(t, http.MethodGet, "/api/v1/nodes", nil)
		items, _ := out["items"].([]any)
		return status == http.StatusOK && len(items) == 2
	})
	b := newTab(t, exe)
	b.do("open node2's login page", chromedp.Navigate(node2.URL+"/ui/login"))
	b.do("log in",
		chromedp.SendKeys(chromedp.ID("username"), proctest.AdminUser),
		chromedp.SendKeys(chromedp.ID("password"), proctest.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/ui/login"] button[type="submit"]`)))
	b.waitJS("the dashboard", `location.pathname === "/ui/" && !!document.querySelector("#nodes-live")`, 10*time.Second)

	// Slow buckets keep workers busy: four per node, one of node1's at a time.
	status, out := node2.Admin().Do(t, http.MethodPost, "/api/v1/tasks", map[string]any{
		"name": "limited noop", "handler": "noop",
		"params":    map[string]any{"itemsPerBucket": 1, "delayMs": 300},
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": 60, "bucketSize": 1}},
		"workers":   map[string]any{"perNode": 4},
	})
	if status != http.StatusCreated {
		t.Fatalf("create the bucketed task: %d %v", status, out)
	}
	limit := `document.querySelector('#node-node1 .node-limit[data-group="#"]')`
	b.waitJS("node1's row to show one worker running against its limit of 1",
		`(() => { const l = `+limit+`; return !!l && l.dataset.running === "1" && l.dataset.limit === "1" && l.textContent.includes("1/1"); })()`, 20*time.Second)
	if full := eval[bool](b, limit+`.classList.contains("node-limit-full")`); !full {
		t.Error("node1's # limit at 1/1 is not marked full")
	}
	if n := eval[string](b, `(document.querySelector('#node-node2 .node-limit[data-group="#"]') || {dataset: {}}).dataset.limit || ""`); n != "∞" {
		t.Errorf("node2's # limit shows %q, want ∞ (no limitations there)", n)
	}
	b.screenshot("dashboard-limits.png", false)

	// One item of 10 s: stalled after 1 s without progress, and still while the page is read.
	status, out = node2.Admin().Do(t, http.MethodPost, "/api/v1/tasks", map[string]any{
		"name": "slow item", "handler": "noop", "params": map[string]any{"items": 1, "delayMs": 10000},
	})
	if status != http.StatusCreated {
		t.Fatalf("create the slow task: %d %v", status, out)
	}
	oid := out["oid"].(string)
	row := fmt.Sprintf(`document.querySelector('#banner-stalled .stalled-task[data-task="%s"] a')`, oid)
	b.waitJS("the dashboard's stalled-task warning", `!!`+row, 20*time.Second)
	b.screenshot("dashboard-stalled.png", false)
	b.do("follow the stalled task's link", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#banner-stalled .stalled-task[data-task="%s"] a`, oid))))
	b.waitJS("the task page's stall warning", `location.pathname === "/ui/tasks/`+oid+`" && !!document.querySelector("#task-stalled")`, 10*time.Second)
}
