package browser_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cadre/node/proctest"
)

// TestLiveOperations is an operator watching a three-node cluster at work
// without touching the reload button: the dashboard's check-in bars and
// throughput and running-task charts, a task page whose per-node chart and
// bucket bar grow while its buckets complete, and the activity view, which
// shows a node killed with kill -9 declared dead by another node.
func TestLiveOperations(t *testing.T) {
	exe := chromium(t)
	began := time.Now()
	step := func(what string) { t.Logf("%5.1f s  %s", time.Since(began).Seconds(), what) }
	nodes := startCluster(t)
	node1 := nodes[0]
	b := newTab(t, exe)
	step("three nodes up, chromium started")

	b.do("open the login page", chromedp.Navigate(node1.URL+"/ui/login"))
	b.do("log in",
		chromedp.SendKeys(chromedp.ID("username"), proctest.AdminUser),
		chromedp.SendKeys(chromedp.ID("password"), proctest.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/ui/login"] button[type="submit"]`)))
	b.waitJS("the dashboard", `location.pathname === "/ui/" && !!document.querySelector("#nodes-live")`, 10*time.Second)
	eval[bool](b, `(window.cadreNoReload = true)`)

	// Every live node has a check-in bar, well short of its timeout.
	b.waitJS("a check-in bar per node", `document.querySelectorAll("#nodes-live .age-bar").length === 3`, 10*time.Second)
	for _, id := range []string{"node1", "node2", "node3"} {
		label := eval[string](b, `document.querySelector("#node-`+id+` .age-bar").getAttribute("aria-label")`)
		if !strings.Contains(label, "declared dead after 3s") {
			t.Errorf("%s's check-in bar says %q; want it measured against its 3 s timeout", id, label)
		}
	}

	// Work to chart: 400 buckets of 5 items × 40 ms on twelve workers, about
	// 7 s of work: the task page must still see it running after the
	// dashboard's steps, however fast the machine.
	status, out := node1.Admin().Do(t, http.MethodPost, "/api/v1/tasks", map[string]any{
		"name": "live noop", "handler": "noop",
		"params":    map[string]any{"itemsPerBucket": 5, "delayMs": 40},
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": 400, "bucketSize": 1}},
		"workers":   map[string]any{"total": 12},
	})
	if status != http.StatusCreated {
		t.Fatalf("create task: %d %v", status, out)
	}
	oid := out["oid"].(string)

	// The dashboard draws throughput and running tasks for the three nodes by itself.
	b.waitJS("the dashboard's charts with a line per node", `(() => {
		const charts = document.querySelectorAll("#nodes-live svg.rate-chart");
		return charts.length === 2 && [...charts].every(c => c.querySelectorAll("polyline.chart-line").length === 3);
	})()`, 30*time.Second)
	b.waitJS("throughput above zero on the dashboard", `(() => {
		return [...document.querySelectorAll("#nodes-live .chart-legend li")].some(li => /now [1-9]/.test(li.textContent) || /peak [1-9]/.test(li.textContent));
	})()`, 30*time.Second)
	if !eval[bool](b, `window.cadreNoReload === true`) {
		t.Fatal("the dashboard reloaded itself instead of refreshing in place")
	}
	step("the dashboard charts throughput and running tasks per node")

	// The task page: a line per node that grows while buckets complete.
	b.do("open the task page", chromedp.Navigate(node1.URL+"/ui/tasks/"+oid))
	eval[bool](b, `(window.cadreNoReload = true)`)
	b.waitJS("the task's chart", `!!document.querySelector("#task-live svg.rate-chart polyline.chart-line")`, 30*time.Second)
	first := eval[int](b, `Number(document.querySelector("#task-live .count-complete").textContent)`)
	if first >= 400 {
		t.Fatalf("the task had finished before its page was open; the test cannot see the page follow it")
	}
	b.waitJS("more buckets complete, without a reload", `Number(document.querySelector("#task-live .count-complete").textContent) > `+strconv.Itoa(first)+` && window.cadreNoReload === true`, 30*time.Second)
	eval[bool](b, `(document.querySelector("#buckets-heading").scrollIntoView({block: "start"}), true)`)
	b.screenshot("task-chart.png", true)
	b.waitJS("the task CLOSED and a line for every node", `document.querySelector("#task-live").dataset.state === "CLOSED" &&
		document.querySelectorAll("#task-live polyline.chart-line").length === 3`, 90*time.Second)
	workers := eval[[]string](b, `[...document.querySelectorAll("#task-live tr.worker-row td:first-child")].map(td => td.innerText.trim())`)
	if len(workers) != 12 || workers[1] != "Worker 2 for live noop" || workers[9] != "Worker 10 for live noop" {
		t.Errorf("worker tasks in the order %q; want Worker 1, 2, … 12 by number", workers)
	}
	legend := eval[string](b, `document.querySelector("#task-live .chart-legend").innerText`)
	for _, id := range []string{"node1", "node2", "node3"} {
		if !strings.Contains(legend, id) {
			t.Errorf("the task chart's legend lacks %s: %q", id, legend)
		}
	}
	step("the task page charts buckets per second per node, live")

	// Kill node3: the activity view on node1 shows who declared it dead and how fast.
	nodes[2].Kill()
	b.do("open the activity view", chromedp.Navigate(node1.URL+"/ui/activity"))
	eval[bool](b, `(window.cadreNoReload = true)`)
	b.waitJS("node3 declared dead, shown without a reload", `[...document.querySelectorAll("#activity-live tr.event-node-dead")].some(r =>
		r.innerText.includes("node3") && r.innerText.includes("declared dead by node") && r.innerText.includes("handed back in")) && window.cadreNoReload === true`, 30*time.Second)
	text := eval[string](b, `document.querySelector("#activity-live").innerText`)
	for _, want := range []string{"Node joined", "Node declared dead"} {
		if !strings.Contains(text, want) {
			t.Errorf("the activity view lacks %q", want)
		}
	}
	b.screenshot("activity.png", true)
	step("the activity view shows node3 declared dead")

	// Back on the dashboard, node3's scheduler is no longer shown RUNNING.
	b.do("open the dashboard", chromedp.Navigate(node1.URL+"/ui/"))
	b.waitJS("node3 DOWN with its scheduler STOPPED", `!!document.querySelector("#node-node3 .node-state-down") && !!document.querySelector("#node-node3 .sched-stopped")`, 20*time.Second)
	b.waitJS("the dashboard's charts", `!!document.querySelector("#nodes-live .charts")`, 20*time.Second)
	eval[bool](b, `(document.querySelector("#node-node1").scrollIntoView({block: "start"}), true)`)
	b.screenshot("dashboard-charts.png", true)
	step("node3 DOWN and STOPPED on the dashboard")
}
