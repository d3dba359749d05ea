package webui_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"cadre/app/repository"
	"cadre/domain/object"
	"cadre/domain/task"
	"cadre/interfaces/webui"
)

// addReport records a report object as the report handler does.
func (e *env) addReport(t *testing.T, name, node, taskOID string) *object.Report {
	t.Helper()
	r := &object.Report{Meta: object.Meta{Name: name}, Node: node, FileName: name + ".csv", Task: taskOID,
		CreatedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	o, err := e.repo.AddSystem(context.Background(), repository.AddInput{Object: r})
	if err != nil {
		t.Fatalf("add report %s: %v", name, err)
	}
	return o.(*object.Report)
}

func withDownloads(o *options) {
	o.deps = func(d *webui.Deps) {
		d.ReportDownloadURL = func(oid string) string { return "/api/v1/reports/" + oid + "/download" }
	}
}

func TestReportsList(t *testing.T) {
	t.Parallel()
	e := setup(t, withDownloads)
	for i := 1; i <= 22; i++ {
		e.addReport(t, fmt.Sprintf("users-%02d", i), fmt.Sprintf("node%d", i%3+1), "")
	}
	first := e.addReport(t, "aaa first", "node2", "11111111-2222-3333-4444-555555555555")
	b := e.browser(t)
	b.login("administrator", adminPassword)

	p := b.get("/ui/reports")
	p.expect(t, http.StatusOK, `href="/ui/reports" aria-current="page"`, `20 shown · <span class="total">23</span> in all`,
		`<th scope="col">Name</th><th scope="col">Node</th><th scope="col">File</th><th scope="col">Task</th><th scope="col">Created</th>`,
		`<td data-label="Name">aaa first</td>`, `<td data-label="Node">node2</td>`, `<code>aaa first.csv</code>`,
		`<code>11111111-2222-3333-4444-555555555555</code>`, // no task pages on this node: no link
		"2025-03-04 05:06:07 UTC",
		`href="/api/v1/reports/`+first.OID+`/download" download aria-label="Download aaa first (aaa first.csv)">Download</a>`)
	if got := strings.Count(p.body, `<tr class="report-row">`); got != 20 {
		t.Errorf("%d rows, want 20", got)
	}
	if strings.Contains(p.body, "Run report") {
		t.Error("a node without a task manager offers to run a report")
	}
	next := `/ui/reports?after=` + base64.RawURLEncoding.EncodeToString([]byte("users-19")) // the last name on page 1
	if !strings.Contains(p.body, `rel="next" href="`+next+`"`) {
		t.Fatalf("no link to the next page %s", next)
	}
	b.get(next).expect(t, http.StatusOK, `3 shown · <span class="total">23</span> in all`, "users-22", `href="/ui/reports">« First page`)
	b.get("/ui/reports?q=zzz").expect(t, http.StatusOK, "No report’s name contains “zzz”")
	b.get("/ui/reports?q=FIRST").expect(t, http.StatusOK, "aaa first", `1 shown · <span class="total">1</span> in all`)
}

func TestReportsWithoutDownloads(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.login("administrator", adminPassword)
	b.get("/ui/reports").expect(t, http.StatusOK, "There are no reports yet.")
	e.addReport(t, "r1", "node1", "")
	p := b.get("/ui/reports")
	p.expect(t, http.StatusOK, "r1.csv")
	if strings.Contains(p.body, "/download") {
		t.Error("download links without a download URL")
	}
}

// TestReportRunAndDownload runs a report task from the reports page on a
// real node and downloads the file through the API link, with the cookie.
func TestReportRunAndDownload(t *testing.T) {
	t.Parallel()
	e := setupTasks(t, func(d *webui.Deps) {
		d.ReportDownloadURL = func(oid string) string { return "/api/v1/reports/" + url.PathEscape(oid) + "/download" }
	})
	b := e.admin(t)
	list := b.get("/ui/reports")
	list.expect(t, http.StatusOK, "Run a users report", `<label for="report-task-name">Task name</label>`, `<input type="hidden" name="handler" value="report">`)

	created := b.post("/ui/tasks", url.Values{"csrf": {list.field(t, csrfRe)}, "name": {"Users report"}, "handler": {"report"},
		"params": {"{}"}, "schedule": {"none"}, "bucketing": {"none"}})
	m := taskLocationRe.FindStringSubmatch(created.header.Get("Location"))
	if m == nil {
		t.Fatalf("run report: %d to %q\n%s", created.status, created.header.Get("Location"), created.body)
	}
	done := e.waitState(t, m[1], task.Closed)
	if done.Result != task.Success {
		t.Fatalf("report task ended %s: %s", done.Result, done.Message)
	}

	p := b.get("/ui/reports")
	link := regexpFind(t, p.body, `href="(/api/v1/reports/[0-9a-f-]{36}/download)"`)
	p.expect(t, http.StatusOK, `<a href="/ui/tasks/`+m[1]+`" aria-label="Task that made Users `, ">View task</a>",
		`<td data-label="Node">`+e.node.Config.NodeID+`</td>`)
	file := b.get(link)
	if file.status != http.StatusOK || !strings.HasPrefix(file.body, "name,fullName,emailAddress,enabled,roles\n") ||
		!strings.Contains(file.body, "administrator,Administrator,") {
		t.Fatalf("download: %d %q\n%.300s", file.status, file.header.Get("Content-Type"), file.body)
	}
	if cd := file.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("Content-Disposition %q", cd)
	}
	// The file is on this node's disk, where the page said.
	if entries, _ := os.ReadDir(filepath.Join(e.node.Config.Home, "reports")); len(entries) != 1 {
		t.Errorf("%d files in the report directory, want 1", len(entries))
	}

	reader := e.userWith(t, "reader", "Reader")
	rp := reader.get("/ui/reports")
	rp.expect(t, http.StatusOK, link)
	if strings.Contains(rp.body, "Run report") {
		t.Error("a reader is offered to run a report")
	}
	if got := reader.get(link); got.status != http.StatusOK {
		t.Errorf("a reader's download: %d", got.status)
	}
}

// regexpFind returns the first group of pattern in s.
func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	return page{body: s}.field(t, regexp.MustCompile(pattern))
}
