package browser_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"cadre/node/proctest"
)

var taskPathRe = regexp.MustCompile(`/ui/tasks/([0-9a-f-]{36})`)

// TestWebUIOnThreeNodes is a person's session with the web UI of a
// three-node cluster: log in through the form, see the three nodes on the
// dashboard (refreshing itself) and pause and resume a node's scheduler, run
// a bucketed task from the form and watch its page until CLOSED, disable a
// user, run a report and download it through another node, check the pages
// at phone width, and log out.
func TestWebUIOnThreeNodes(t *testing.T) {
	exe := chromium(t)
	began := time.Now()
	step := func(what string) { t.Logf("%5.1f s  %s", time.Since(began).Seconds(), what) }

	nodes := startCluster(t)
	node1 := nodes[0]
	step("three nodes up")
	status, out := node1.Admin().Do(t, http.MethodPost, "/api/v1/objects/users",
		map[string]any{"name": "dana", "fullName": "Dana Scully", "enabled": true, "password": "Password1"})
	if status != http.StatusCreated {
		t.Fatalf("add user dana: %d %v", status, out)
	}
	danaOID := out["oid"].(string)

	b := newTab(t, exe)
	step("chromium started")

	// Log in through the form; the dashboard asked for sends us back to it.
	b.do("open the dashboard", chromedp.Navigate(node1.URL+"/ui/"))
	b.waitJS("the login form", `location.pathname === "/ui/login" && !!document.querySelector("#username")`, 5*time.Second)
	// A keyboard user sees where the focus is.
	b.do("focus the username", chromedp.Evaluate[chromedp.Void](`document.querySelector("#username").focus()`))
	b.do("press Tab", chromedp.KeyEvent("\t"))
	if focus := eval[string](b, `document.activeElement.id + " " + getComputedStyle(document.activeElement).outlineStyle`); focus != "password solid" {
		t.Errorf("after Tab the focus is %q, want the password field with a solid outline", focus)
	}
	b.do("log in",
		chromedp.SendKeys(chromedp.ID("username"), proctest.AdminUser),
		chromedp.SendKeys(chromedp.ID("password"), proctest.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/ui/login"] button[type="submit"]`)))
	b.waitJS("the dashboard", `location.pathname === "/ui/" && !!document.querySelector("#count-users")`, 10*time.Second)
	if !eval[bool](b, `!!document.querySelector("#nodes-live")`) {
		t.Fatal("the dashboard has no node table: node/node.go must pass Nodes (and Reachability, SchedulerStop/Start, ReportDownloadURL) in webui.Deps")
	}
	b.waitJS("three nodes UP and RUNNING on the dashboard", `(() => {
		const rows = [...document.querySelectorAll("#nodes-live tr.cluster-node")];
		return rows.length === 3 && rows.every(r => r.querySelector(".node-state-up") && r.querySelector(".sched-running"));
	})()`, 10*time.Second)
	for _, id := range []string{"node1", "node2", "node3"} {
		row := eval[string](b, `document.querySelector("#node-`+id+`").innerText`)
		if !strings.Contains(row, "http://127.0.0.1:") || !strings.Contains(row, " s ago") {
			t.Errorf("row of %s shows no URL or check-in age: %q", id, row)
		}
	}
	if !eval[bool](b, `document.body.innerText.includes("Clock skew cannot kill a node: liveness is judged by the database clock.")`) {
		t.Error("the dashboard does not explain that liveness is judged by the database clock")
	}
	eval[bool](b, `(window.cadreFirstTable = document.querySelector("#nodes-live"), true)`)
	b.waitJS("the node table to refresh in place", `document.querySelector("#nodes-live") !== window.cadreFirstTable && !!window.cadreFirstTable`, 6*time.Second)
	step("logged in; the dashboard shows three nodes and refreshes itself")

	// Pause and resume node3's scheduler from node1: the call is forwarded.
	b.do("stop node3's scheduler", chromedp.Click(chromedp.ID("scheduler-stop-node3")))
	b.waitJS("node3 PAUSED", `location.search.includes("ok=scheduler-stopped") && !!document.querySelector("#node-node3 .sched-paused")`, 10*time.Second)
	b.do("start node3's scheduler", chromedp.Click(chromedp.ID("scheduler-start-node3")))
	b.waitJS("node3 RUNNING", `location.search.includes("ok=scheduler-started") && !!document.querySelector("#node-node3 .sched-running")`, 10*time.Second)
	step("paused and resumed node3's scheduler")

	// A bucketed noop task through the form: 200 buckets of 5 items of 20 ms
	// on 3 workers take about 7 s.
	b.do("open the new-task form", chromedp.Navigate(node1.URL+"/ui/tasks/new"))
	b.do("fill in the task",
		chromedp.SendKeys(chromedp.ID("name"), "browser noop"),
		chromedp.SetValue(chromedp.ID("handler"), "noop"),
		chromedp.SetValue(chromedp.ID("params"), `{"itemsPerBucket": 5, "delayMs": 20}`),
		chromedp.Click(chromedp.ID("bucketing-numeric")),
		chromedp.SendKeys(chromedp.ID("from"), "0"),
		chromedp.SendKeys(chromedp.ID("to"), "200"),
		chromedp.SendKeys(chromedp.ID("bucketSize"), "1"),
		chromedp.SendKeys(chromedp.ID("workersTotal"), "3"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/tasks"] button[type="submit"]`)))
	b.waitJS("the new task's page", `location.search.includes("ok=task-created") && !!document.querySelector("#task-live")`, 10*time.Second)
	m := taskPathRe.FindStringSubmatch(b.location())
	if m == nil {
		t.Fatalf("after creating the task the browser is at %s", b.location())
	}
	noopOID := m[1]
	b.do("open the task's page", chromedp.Navigate(node1.URL+"/ui/tasks/"+noopOID)) // without the flash, for the screenshot
	eval[bool](b, `(window.cadreNotReloaded = true)`)
	b.screenshotRunning("task.png")
	step("the task page shows the task running, its bucket bar partly filled")
	b.waitJS("the task CLOSED", `document.querySelector("#task-live").dataset.state === "CLOSED"`, 60*time.Second)
	if !eval[bool](b, `window.cadreNotReloaded === true`) {
		t.Error("the task page reloaded itself instead of refreshing in place")
	}
	live := eval[string](b, `document.querySelector("#task-live").innerText`)
	for _, s := range []string{"SUCCESS", "1000 items processed"} {
		if !strings.Contains(live, s) {
			t.Errorf("the CLOSED task's page does not say %q:\n%s", s, live)
		}
	}
	if got := eval[string](b, `document.querySelector("#task-live .count-complete").textContent + "/" + document.querySelector("#task-live .count-total").textContent`); got != "200/200" {
		t.Errorf("the CLOSED task's page counts %s buckets complete, want 200/200", got)
	}
	if eval[bool](b, `document.querySelector("#task-live").hasAttribute("data-refresh-url")`) {
		t.Error("a CLOSED task's page still refreshes")
	}
	step("the task page shows CLOSED")

	// Disable a user on the user page.
	b.do("search the user", chromedp.Navigate(node1.URL+"/ui/users?q=dana"))
	b.do("open the user", chromedp.Click(chromedp.CSS(`a[href="/ui/users/`+danaOID+`"]`)))
	b.waitJS("dana's page", `location.pathname === "/ui/users/`+danaOID+`" && document.querySelector("h1").textContent === "dana"`, 10*time.Second)
	b.do("disable the user", chromedp.Click(chromedp.CSS(`form[action="/ui/users/`+danaOID+`/enabled"] button`)))
	b.waitJS("dana disabled", `location.search.includes("ok=disabled") && !!document.querySelector(".page-head .badge-off")`, 10*time.Second)
	anon := proctest.Client{Base: nodes[1].URL}
	if status, out := anon.Do(t, http.MethodPost, "/api/v1/session", map[string]any{"username": "dana", "password": "Password1"}); status != http.StatusUnauthorized {
		t.Errorf("a disabled user logs in on node2: %d %v", status, out)
	}
	step("disabled a user")

	// Run a report from the reports page, then download it through a node
	// that does not hold the file: the link redirects to the one that does.
	b.do("open the reports", chromedp.Navigate(node1.URL+"/ui/reports"))
	b.do("run a report",
		chromedp.SetValue(chromedp.ID("report-task-name"), "browser report"),
		chromedp.Click(chromedp.ID("run-report")))
	b.waitJS("the report task's page", `location.search.includes("ok=task-created") && !!document.querySelector("#task-live")`, 10*time.Second)
	b.waitJS("the report task CLOSED", `document.querySelector("#task-live").dataset.state === "CLOSED"`, 30*time.Second)
	if !eval[bool](b, `!!document.querySelector("#task-live .result-success")`) {
		t.Fatalf("the report task failed: %s", eval[string](b, `document.querySelector("#task-live").innerText`))
	}
	b.do("open the reports again", chromedp.Navigate(node1.URL+"/ui/reports"))
	b.waitJS("one report", `document.querySelectorAll("tr.report-row").length === 1`, 5*time.Second)
	holder := eval[string](b, `document.querySelector("tr.report-row td[data-label=Node]").textContent.trim()`)
	other := nodes[0]
	if holder == "node1" {
		other = nodes[1]
	}
	b.do("open the reports on another node", chromedp.Navigate(other.URL+"/ui/reports"))
	if served := eval[string](b, `document.querySelector(".node-badge strong").textContent`); served == holder {
		t.Fatalf("the reports page came from %s, which holds the file; want another node", served)
	}
	file := b.download(chromedp.CSS(`tr.report-row a[href$="/download"]`))
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "name,fullName,emailAddress,enabled,roles\n") || !strings.Contains(string(data), "dana,Dana Scully,,false,") {
		t.Errorf("the downloaded report:\n%s", data)
	}
	step(fmt.Sprintf("downloaded the report held by %s through %s (%d bytes)", holder, other.NodeID, len(data)))

	// Every page fits a phone and a desktop, and labels its fields.
	pages := []string{"/ui/", "/ui/tasks", "/ui/tasks/" + noopOID, "/ui/tasks/new", "/ui/users", "/ui/users/" + danaOID,
		"/ui/roles", "/ui/roles/new", "/ui/reports", "/ui/system"}
	for _, width := range []int64{phoneW, viewW} {
		b.do("set the viewport", chromedp.EmulateViewport(width, viewH))
		for _, p := range pages {
			b.do("open "+p, chromedp.Navigate(node1.URL+p))
			if w := eval[int](b, `document.documentElement.scrollWidth`); w > int(width) {
				t.Errorf("%s is %d px wide in a %d px window", p, w, width)
			}
			if unlabelled := eval[[]string](b, `[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
				.filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")).map(el => el.name || el.id)`); len(unlabelled) > 0 {
				t.Errorf("%s has fields without a label: %v", p, unlabelled)
			}
		}
	}
	step("every page fits 375 px and 1280 px")

	// The three-node dashboard, for the documentation.
	b.do("open the dashboard", chromedp.Navigate(node1.URL+"/ui/"))
	b.waitJS("three nodes UP and RUNNING, both peers reached", `(() => {
		const rows = [...document.querySelectorAll("#nodes-live tr.cluster-node")];
		return rows.length === 3 && rows.every(r => r.querySelector(".node-state-up") && r.querySelector(".sched-running")) &&
			document.querySelectorAll("#nodes-live .reach-ok").length === 2;
	})()`, 10*time.Second)
	b.screenshot("dashboard.png", true)

	// Log out; the session has ended on every node.
	b.do("log out", chromedp.Click(chromedp.CSS(`form.logout-form button[type="submit"]`)))
	b.waitJS("the logged-out page", `location.pathname === "/ui/login" && document.body.innerText.includes("You have logged out.")`, 10*time.Second)
	for _, n := range nodes {
		b.do("open "+n.NodeID+" after logging out", chromedp.Navigate(n.URL+"/ui/users"))
		b.waitJS("the login form on "+n.NodeID, `location.pathname === "/ui/login" && !!document.querySelector("#username")`, 5*time.Second)
	}
	step("logged out")
}

// download clicks the link sel and waits for the browser to save the file;
// it returns the file's path.
func (b *tab) download(sel chromedp.CSS) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	began := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	b.do("click "+string(sel), chromedp.Click(sel))
	for ev, err := range began {
		if err != nil {
			b.fatal("wait for the download to begin", err)
		}
		b.t.Logf("download of %s from %s", ev.SuggestedFilename, ev.URL)
		break
	}
	for ev, err := range progress {
		if err != nil {
			b.fatal("wait for the download to finish", err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			return filepath.Join(b.downloads, ev.GUID)
		case browser.DownloadProgressStateCanceled:
			b.fatal("download", fmt.Errorf("canceled after %.0f bytes", ev.ReceivedBytes))
		}
	}
	b.fatal("download", ctx.Err())
	return ""
}

// screenshotRunning watches a task page while the task runs and saves, as
// name, the view with the bucket bar nearest half full (it stops looking at
// 25–75 %); it fails when the page never shows the task running with its bar
// partly filled.
func (b *tab) screenshotRunning(name string) {
	b.t.Helper()
	type progress struct {
		Complete, Total int
		State           string
	}
	var best []byte
	bestDist, bestRatio := 2.0, 0.0
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p := eval[progress](b, `(() => {
			const live = document.querySelector("#task-live");
			const n = s => Number((live.querySelector(s) || {textContent: "0"}).textContent);
			return {Complete: n(".count-complete"), Total: n(".count-total"), State: live.dataset.state};
		})()`)
		if p.State != "RUNNING" && p.State != "WAITING" && p.State != "RUNNABLE" {
			break
		}
		if p.Complete > 0 && p.Complete < p.Total {
			ratio := float64(p.Complete) / float64(p.Total)
			if d := math.Abs(ratio - 0.5); d < bestDist {
				ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
				png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
				cancel()
				if err != nil {
					b.fatal("screenshot "+name, err)
				}
				best, bestDist, bestRatio = png, d, ratio
			}
			if bestDist <= 0.25 {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if best == nil {
		b.fatal("watch the task run", errors.New("the page never showed the task running with its bucket bar partly filled"))
	}
	b.t.Logf("task page captured with %.0f %% of its buckets complete", bestRatio*100)
	b.save(name, best, true)
}
