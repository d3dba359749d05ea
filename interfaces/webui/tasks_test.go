package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/security"
	"cadre/domain/task"
	"cadre/interfaces/httpapi"
	"cadre/interfaces/webui"
	"cadre/node/nodetest"
)

// taskEnv is a running node (scheduler, task manager, SQLite repository)
// with the web UI, task pages included, in front of it.
type taskEnv struct {
	node   *nodetest.Node
	url    string
	system security.Principal
}

// setupTasks starts the node; deps change the web UI's dependencies.
func setupTasks(t *testing.T, deps ...func(*webui.Deps)) *taskEnv {
	t.Helper()
	n := nodetest.Start(t, "sqlite")
	// The router is built here from the node's services, so these tests do
	// not depend on how node.New wires the web UI.
	engine, _ := httpapi.NewRouter(httpapi.Deps{NodeID: n.Config.NodeID, Repo: n.Repo, Auth: n.Auth, Tasks: n.Tasks,
		Reports: n.Reports, Ready: func(context.Context) error { return nil }, Log: n.Log})
	d := webui.Deps{NodeID: n.Config.NodeID, Repo: n.Repo, Auth: n.Auth, Log: n.Log, Tasks: n.Tasks}
	for _, f := range deps {
		f(&d)
	}
	webui.Register(engine, d)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &taskEnv{node: n, url: srv.URL,
		system: security.Principal{Name: "test", Authorizations: []string{object.AuthSuperuser}}}
}

// admin is a browser logged in as the administrator.
func (e *taskEnv) admin(t *testing.T) *browser {
	t.Helper()
	b := newBrowser(t, e.url)
	b.login("administrator", nodetest.AdminPassword)
	return b
}

// userWith is a browser logged in as a new user with the named roles.
func (e *taskEnv) userWith(t *testing.T, name string, roles ...string) *browser {
	t.Helper()
	ctx := context.Background()
	var oids []string
	for _, r := range roles {
		role, err := e.node.Store.GetByName(ctx, object.TypeRole, r)
		if err != nil {
			t.Fatalf("role %s: %v", r, err)
		}
		oids = append(oids, role.ObjectMeta().OID)
	}
	if _, err := e.node.Repo.Add(ctx, e.system, repository.AddInput{
		Object:   &object.User{Meta: object.Meta{Name: name}, Enabled: true, Roles: oids},
		Password: "Password1",
	}); err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	b := newBrowser(t, e.url)
	b.login(name, "Password1")
	return b
}

func (e *taskEnv) create(t *testing.T, in taskmanager.CreateTask) *task.Task {
	t.Helper()
	if in.Handler == "" {
		in.Handler = "noop"
	}
	got, err := e.node.Tasks.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("create task %s: %v", in.Name, err)
	}
	return got
}

func (e *taskEnv) task(t *testing.T, oid string) *task.Task {
	t.Helper()
	got, err := e.node.Tasks.Get(context.Background(), oid)
	if err != nil {
		t.Fatalf("get task %s: %v", oid, err)
	}
	return got
}

// waitState polls the task manager until the task is in state.
func (e *taskEnv) waitState(t *testing.T, oid string, state task.ExecutionState) *task.Task {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := e.task(t, oid)
		if got.State == state {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s is %s after 30 s, want %s", oid, got.State, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// yearly is a cron schedule that will not fire during a test.
const yearly = "0 0 0 1 1 *"

var (
	taskLocationRe = regexp.MustCompile(`^/ui/tasks/([0-9a-f-]{36})\?ok=task-created$`)
	refreshRe      = regexp.MustCompile(`data-refresh-url="([^"]+)" data-refresh-seconds="(\d+)"`)
)

// taskForm is a valid new-task form; change overrides fields.
func taskForm(csrf string, change map[string]string) url.Values {
	f := url.Values{"csrf": {csrf}, "name": {"ui task"}, "handler": {"noop"}, "params": {"{}"},
		"schedule": {"none"}, "bucketing": {"none"}, "depth": {"1"}}
	for k, v := range change {
		f.Set(k, v)
	}
	return f
}

func TestTaskCreatedThroughFormRunsToClosed(t *testing.T) {
	t.Parallel()
	e := setupTasks(t)
	b := e.admin(t)
	nodeID := e.node.Config.NodeID

	form := b.get("/ui/tasks/new")
	form.expect(t, http.StatusOK, `<label for="name">`, `<label for="handler">`, `<option value="noop"`,
		`<option value="" selected>Choose a handler</option>`, `<label for="params">`, `>{}</textarea>`, `<label for="interval">`, `<label for="cron">`, `<label for="from">`,
		`<label for="to">`, `<label for="bucketSize">`, `<label for="depth">`, `<label for="workersTotal">`,
		`href="/ui/tasks" aria-current="page"`)
	csrf := form.field(t, csrfRe)

	created := b.post("/ui/tasks", taskForm(csrf, map[string]string{
		"name": "ui noop", "params": `{"itemsPerBucket": 5, "delayMs": 20}`,
		"bucketing": "numeric", "from": "0", "to": "10", "bucketSize": "1", "workersTotal": "2",
	}))
	if created.status != http.StatusSeeOther {
		t.Fatalf("create: status %d, want 303\n%s", created.status, created.body)
	}
	m := taskLocationRe.FindStringSubmatch(created.header.Get("Location"))
	if m == nil {
		t.Fatalf("create redirects to %q, want the task page", created.header.Get("Location"))
	}
	oid := m[1]

	detail := b.get(created.header.Get("Location"))
	detail.expect(t, http.StatusOK, "Task created.", "<h1>ui noop</h1>", "Numeric, from 0 to 10 in buckets of 1",
		"2 in total", `&#34;delayMs&#34;: 20`, `href="/ui/tasks" aria-current="page"`)
	if r := refreshRe.FindStringSubmatch(detail.body); r == nil || r[1] != "/ui/tasks/"+oid+"/fragment" || r[2] != "2" {
		t.Fatalf("a running task's page refreshes %v, want /ui/tasks/%s/fragment every 2 s", r, oid)
	}

	// The page's script polls the fragment; so does the test, until CLOSED.
	var frag page
	deadline := time.Now().Add(30 * time.Second)
	for {
		frag = b.get("/ui/tasks/" + oid + "/fragment")
		if frag.status != http.StatusOK {
			t.Fatalf("fragment: status %d\n%s", frag.status, frag.body)
		}
		if strings.Contains(frag.body, `<dd class="execution-state"><span class="badge state state-closed">`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task not CLOSED after 30 s; fragment:\n%s", frag.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(strings.TrimSpace(frag.body), `<div id="task-live"`) || strings.Contains(frag.body, "<html") {
		t.Errorf("the fragment is not just the live part:\n%s", frag.body)
	}
	if strings.Contains(frag.body, "data-refresh-url") {
		t.Error("a CLOSED task's fragment still asks to be refreshed")
	}
	frag.expect(t, http.StatusOK, "SUCCESS", `<strong class="count-complete">10</strong>`,
		`<strong class="count-delegated">0</strong>`, `<strong class="count-ready">0</strong>`, `<strong class="count-total">10</strong>`,
		`aria-label="10 of 10 buckets complete, 0 delegated, 0 ready"`,
		`<rect class="seg-complete" x="0.000" y="0" width="100.000" height="10"/>`,
		"COMPLETE buckets per node",
		fmt.Sprintf(`<tr class="node-row"><td data-label="Node">%s</td><td data-label="Buckets" class="num">10</td><td data-label="Items" class="num">50</td></tr>`, nodeID),
		"Run now")
	if got := strings.Count(frag.body, `<tr class="worker-row">`); got != 2 {
		t.Errorf("%d worker rows, want 2\n%s", got, frag.body)
	}
	if strings.Contains(frag.body, `id="action-suspend"`) {
		t.Error("a CLOSED task offers Suspend")
	}

	closed := b.get("/ui/tasks/" + oid)
	closed.expect(t, http.StatusOK, `id="action-run-now"`, `id="action-delete"`, `data-confirm="Delete the task ui noop?`)
	if strings.Contains(closed.body, "data-refresh-url") {
		t.Error("a CLOSED task's page still refreshes")
	}

	// The list shows the coordinator, not its workers, with its bucket bar.
	list := b.get("/ui/tasks")
	list.expect(t, http.StatusOK, `<a href="/ui/tasks/`+oid+`">ui noop</a>`, `<progress max="10" value="10"`, "10/10 buckets",
		`<span class="badge state state-closed">CLOSED</span>`, `<span class="badge result result-success">SUCCESS</span>`)
	if got := strings.Count(list.body, `<tr class="task-row">`); got != 1 {
		t.Errorf("%d rows in the list, want 1 (workers are not top-level)", got)
	}
	if strings.Contains(list.body, "data-refresh-url") {
		t.Error("the list refreshes although no listed task is active")
	}
}

func TestTaskBucketBarCountsByState(t *testing.T) {
	t.Parallel()
	e := setupTasks(t)
	ctx := context.Background()
	b := e.admin(t)
	bucketing := &task.Bucketing{Numeric: &task.Numeric{From: 0, To: 10, BucketSize: 1}}
	coord := e.create(t, taskmanager.CreateTask{Name: "split", Bucketing: bucketing, Suspended: true})

	b.get("/ui/tasks/"+coord.OID).expect(t, http.StatusOK, "No buckets yet")

	// Arrange 10 buckets, 3 of them delegated to workers on two nodes.
	contents, err := bucketing.Segment()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.node.Store.BucketsCreate(ctx, coord.OID, contents); err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"node-a", "node-a", "node-b"} {
		if _, err := e.node.Store.BucketsClaim(ctx, taskmanager.BucketsClaimParams{TaskOID: coord.OID, Worker: "w-" + node, Node: node, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}

	for _, path := range []string{"/ui/tasks/" + coord.OID, "/ui/tasks/" + coord.OID + "/fragment"} {
		t.Run(path, func(t *testing.T) {
			p := b.get(path)
			p.expect(t, http.StatusOK,
				`<strong class="count-complete">0</strong>`, `<strong class="count-delegated">3</strong>`,
				`<strong class="count-ready">7</strong>`, `<strong class="count-total">10</strong>`,
				`aria-label="0 of 10 buckets complete, 3 delegated, 7 ready"`,
				`<rect class="seg-delegated" x="0.000" y="0" width="30.000" height="10"/>`,
				`<rect class="seg-ready" x="30.000" y="0" width="70.000" height="10"/>`,
				`<span class="badge state state-suspended">SUSPENDED</span>`)
			if strings.Contains(p.body, `class="seg-complete" x=`) {
				t.Error("a bar segment for 0 COMPLETE buckets")
			}
			if strings.Contains(p.body, "data-refresh-url") {
				t.Error("a SUSPENDED task's page refreshes")
			}
		})
	}
	b.get("/ui/tasks").expect(t, http.StatusOK, `<progress max="10" value="0"`, "0/10 buckets")
}

func TestTaskActions(t *testing.T) {
	t.Parallel()
	e := setupTasks(t)
	b := e.admin(t)
	csrf := b.get("/ui/tasks/new").field(t, csrfRe)

	created := b.post("/ui/tasks", taskForm(csrf, map[string]string{"name": "yearly", "schedule": "cron", "cron": yearly}))
	m := taskLocationRe.FindStringSubmatch(created.header.Get("Location"))
	if m == nil {
		t.Fatalf("create: %d to %q\n%s", created.status, created.header.Get("Location"), created.body)
	}
	oid := m[1]
	path := "/ui/tasks/" + oid
	runnable := b.get(path)
	runnable.expect(t, http.StatusOK, `<span class="badge state state-runnable">RUNNABLE</span>`, "Cron "+yearly,
		`id="action-suspend"`, `id="action-run-now"`, `data-refresh-url="`+path+`/fragment"`)
	if strings.Contains(runnable.body, `id="action-resume"`) {
		t.Error("a RUNNABLE task offers Resume")
	}
	if strings.Contains(runnable.body, "<dt>Next run</dt><dd>—</dd>") {
		t.Error("a scheduled task shows no next run")
	}

	t.Run("suspend", func(t *testing.T) {
		b.post(path+"/suspend", url.Values{"csrf": {csrf}}).redirectsTo(t, path+"?ok=task-suspended")
		p := b.get(path + "?ok=task-suspended")
		p.expect(t, http.StatusOK, "Task suspended.", `<span class="badge state state-suspended">SUSPENDED</span>`, `id="action-resume"`)
		if strings.Contains(p.body, `id="action-suspend"`) || strings.Contains(p.body, "data-refresh-url") {
			t.Error("a SUSPENDED task offers Suspend or refreshes")
		}
		if got := e.task(t, oid).State; got != task.Suspended {
			t.Errorf("state %s, want SUSPENDED", got)
		}
	})
	t.Run("resume", func(t *testing.T) {
		b.post(path+"/resume", url.Values{"csrf": {csrf}}).redirectsTo(t, path+"?ok=task-resumed")
		b.get(path+"?ok=task-resumed").expect(t, http.StatusOK, "Task resumed.", `<span class="badge state state-runnable">RUNNABLE</span>`, `id="action-suspend"`)
		if got := e.task(t, oid).State; got != task.Runnable {
			t.Errorf("state %s, want RUNNABLE", got)
		}
	})
	t.Run("without a CSRF token", func(t *testing.T) {
		b.post(path+"/suspend", url.Values{}).expect(t, http.StatusForbidden, "no valid security token")
		if got := e.task(t, oid).State; got != task.Runnable {
			t.Errorf("state %s, want RUNNABLE", got)
		}
	})

	once := e.create(t, taskmanager.CreateTask{Name: "once", Params: map[string]any{"items": float64(3)}})
	e.waitState(t, once.OID, task.Closed)
	oncePath := "/ui/tasks/" + once.OID
	t.Run("illegal change", func(t *testing.T) {
		p := b.post(oncePath+"/suspend", url.Values{"csrf": {csrf}})
		p.expect(t, http.StatusConflict, "<strong>Error:</strong> Cannot suspend a CLOSED task.", "<h1>once</h1>")
		b.post(oncePath+"/resume", url.Values{"csrf": {csrf}}).expect(t, http.StatusConflict, "Cannot resume a CLOSED task.")
	})
	t.Run("run now", func(t *testing.T) {
		b.post(oncePath+"/run-now", url.Values{"csrf": {csrf}}).redirectsTo(t, oncePath+"?ok=task-run")
		b.get(oncePath+"?ok=task-run").expect(t, http.StatusOK, "The task will run now.")
		deadline := time.Now().Add(30 * time.Second)
		for got := e.task(t, once.OID); got.State != task.Closed || got.RunCount != 2; got = e.task(t, once.OID) {
			if time.Now().After(deadline) {
				t.Fatalf("after run now: %s with %d runs, want CLOSED with 2", got.State, got.RunCount)
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.get(oncePath).expect(t, http.StatusOK, "<dt>Runs</dt><dd>2</dd>")
	})
	t.Run("delete", func(t *testing.T) {
		b.post(oncePath+"/delete", url.Values{"csrf": {csrf}}).redirectsTo(t, "/ui/tasks?ok=task-deleted")
		b.get("/ui/tasks?ok=task-deleted").expect(t, http.StatusOK, "Task deleted.")
		b.get(oncePath).expect(t, http.StatusNotFound, "This task does not exist")
		b.get(oncePath+"/fragment").expect(t, http.StatusNotFound, "This task does not exist")
		b.post(oncePath+"/suspend", url.Values{"csrf": {csrf}}).expect(t, http.StatusNotFound, "This task does not exist")
	})
}

func TestTaskPagesForReaders(t *testing.T) {
	t.Parallel()
	e := setupTasks(t)
	tk := e.create(t, taskmanager.CreateTask{Name: "watched", Schedule: task.Schedule{Cron: yearly}})
	path := "/ui/tasks/" + tk.OID
	reader := e.userWith(t, "reader", "Reader")

	list := reader.get("/ui/tasks")
	list.expect(t, http.StatusOK, ">watched</a>")
	if strings.Contains(list.body, "/ui/tasks/new") {
		t.Error("a reader is offered New task")
	}
	detail := reader.get(path)
	detail.expect(t, http.StatusOK, "<h1>watched</h1>")
	for _, action := range []string{"suspend", "resume", "run-now", "delete"} {
		if strings.Contains(detail.body, `action="`+path+"/"+action+`"`) {
			t.Errorf("a reader sees the %s button", action)
		}
	}
	csrf := detail.field(t, csrfRe) // of the logout form
	reader.get("/ui/tasks/new").expect(t, http.StatusForbidden, "You are not allowed to do this.")
	reader.post("/ui/tasks", taskForm(csrf, nil)).expect(t, http.StatusForbidden, "You are not allowed to do this.")
	for _, action := range []string{"suspend", "resume", "run-now", "delete"} {
		reader.post(path+"/"+action, url.Values{"csrf": {csrf}}).expect(t, http.StatusForbidden, "You are not allowed to do this.")
	}
	if got := e.task(t, tk.OID).State; got != task.Runnable {
		t.Errorf("state %s after a reader's POSTs, want RUNNABLE", got)
	}
	ts, total, err := e.node.Tasks.List(context.Background(), taskmanager.TaskFilter{TopLevel: true})
	if err != nil || total != 1 || ts[0].OID != tk.OID {
		t.Errorf("tasks after a reader's POSTs: %d (%v), want only %s", total, err, tk.OID)
	}

	nobody := e.userWith(t, "nobody")
	nobody.get("/ui/tasks").expect(t, http.StatusForbidden, "You are not allowed to do this.")
	nobody.get(path).expect(t, http.StatusForbidden)
	nobody.get(path+"/fragment").expect(t, http.StatusForbidden)
}

func TestTaskCreateValidation(t *testing.T) {
	t.Parallel()
	e := setupTasks(t)
	b := e.admin(t)
	csrf := b.get("/ui/tasks/new").field(t, csrfRe)

	tests := []struct {
		name    string
		change  map[string]string
		message string
	}{
		{"params not JSON", map[string]string{"params": "{\n  \"items\": 5"},
			"The parameters are not valid JSON: unexpected end of JSON input."},
		{"params with a stray character", map[string]string{"params": `{"items": x}`},
			"The parameters are not valid JSON: invalid character &#39;x&#39; looking for beginning of value (line 1, column 11)."},
		{"params not an object", map[string]string{"params": `[1, 2]`}, "The parameters must be a JSON object"},
		{"params the handler refuses", map[string]string{"params": `{"items": -1}`}, "Noop parameter items must be a non-negative integer."},
		{"no name", map[string]string{"name": " "}, "Name is required."},
		{"no handler", map[string]string{"handler": ""}, "Choose a handler."},
		{"unknown handler", map[string]string{"handler": "nope"}, "There is no handler named &#34;nope&#34; on this node"},
		{"interval not a number", map[string]string{"schedule": "interval", "interval": "often"}, "The interval must be a whole number, not &#34;often&#34;."},
		{"interval zero", map[string]string{"schedule": "interval", "interval": "0"}, "The interval must be at least 1 second."},
		{"no cron expression", map[string]string{"schedule": "cron"}, "Enter a cron expression"},
		{"bad cron expression", map[string]string{"schedule": "cron", "cron": "every day"}, "Bad cron expression &#34;every day&#34;"},
		{"numeric to before from", map[string]string{"bucketing": "numeric", "from": "10", "to": "5", "bucketSize": "1"}, "Numeric bucketing needs to &gt; from"},
		{"numeric without size", map[string]string{"bucketing": "numeric", "from": "0", "to": "5"}, "The bucket size is required."},
		{"oid prefix too deep", map[string]string{"bucketing": "oidPrefix", "depth": "9"}, "Choose an OID prefix depth from 1 to 4."},
		{"workers without bucketing", map[string]string{"workersTotal": "3"}, "Workers need bucketing."},
		{"no workers", map[string]string{"bucketing": "oidPrefix", "workersTotal": "0"}, "The number of workers must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := taskForm(csrf, tt.change)
			if _, ok := tt.change["name"]; !ok {
				f.Set("name", "kept ‹name›")
			}
			p := b.post("/ui/tasks", f)
			p.expect(t, http.StatusUnprocessableEntity, `<div class="alert alert-error" role="alert"><strong>Error:</strong> `+tt.message,
				`value="`+strings.TrimSpace(f.Get("name"))+`"`, "<h1>New task</h1>")
			if params := strings.ReplaceAll(f.Get("params"), `"`, "&#34;"); !strings.Contains(p.body, ">"+params+"</textarea>") {
				t.Errorf("the parameters typed are lost\n%s", p.body)
			}
		})
	}
	if _, total, _ := e.node.Tasks.List(context.Background(), taskmanager.TaskFilter{}); total != 0 {
		t.Errorf("%d tasks after invalid forms, want 0", total)
	}

	t.Run("the form keeps the choices", func(t *testing.T) {
		p := b.post("/ui/tasks", taskForm(csrf, map[string]string{"name": "", "schedule": "interval", "interval": "30",
			"bucketing": "oidPrefix", "depth": "3", "workersTotal": "4"}))
		p.expect(t, http.StatusUnprocessableEntity, `value="interval" checked`, `id="interval" name="interval" type="number" min="1" step="1" inputmode="numeric" value="30"`,
			`value="oidPrefix" checked`, `<option value="3" selected>3 (4096 buckets)</option>`, `value="4"`)
	})
}

func TestTaskListFiltersAndPaging(t *testing.T) {
	t.Parallel()
	e := setupTasks(t)
	for i := 1; i <= 51; i++ {
		e.create(t, taskmanager.CreateTask{Name: fmt.Sprintf("parked %02d", i), Suspended: true})
	}
	e.create(t, taskmanager.CreateTask{Name: "scheduled", Schedule: task.Schedule{Cron: yearly}})
	b := e.admin(t)

	tests := []struct {
		path    string
		rows    int
		texts   []string
		refresh string // the fragment the page refreshes from, "" for none
	}{
		{path: "/ui/tasks", rows: 50, texts: []string{"Page 1 of 2", "1–50 of", `href="/ui/tasks?page=2"`, ">scheduled</a>"},
			refresh: "/ui/tasks/fragment"},
		{path: "/ui/tasks?page=2", rows: 2, texts: []string{"Page 2 of 2", `<span class="total">52</span>`}},
		{path: "/ui/tasks?state=SUSPENDED", rows: 50, texts: []string{`<option value="SUSPENDED" selected>`, "in state SUSPENDED",
			`href="/ui/tasks?page=2&amp;state=SUSPENDED"`, `<span class="total">51</span>`}},
		{path: "/ui/tasks?state=RUNNABLE&handler=noop", rows: 1, texts: []string{">scheduled</a>", `<option value="noop" selected>`},
			refresh: "/ui/tasks/fragment?handler=noop&amp;state=RUNNABLE"},
		{path: "/ui/tasks?handler=recompute", rows: 0, texts: []string{"No top-level task matches these filters."}},
		{path: "/ui/tasks?page=9", rows: 0, texts: []string{"There is no page 9"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := b.get(tt.path)
			p.expect(t, http.StatusOK, append(tt.texts, `<label for="state">Execution state</label>`, `<label for="handler">Handler</label>`,
				`href="/ui/tasks" aria-current="page"`, `href="/ui/tasks/new"`)...)
			if got := strings.Count(p.body, `<tr class="task-row">`); got != tt.rows {
				t.Errorf("%d rows, want %d", got, tt.rows)
			}
			r := refreshRe.FindStringSubmatch(p.body)
			switch {
			case tt.refresh == "" && r != nil:
				t.Errorf("the list refreshes from %s, but no listed task is active", r[1])
			case tt.refresh != "" && (r == nil || r[1] != tt.refresh || r[2] != "3"):
				t.Errorf("the list refreshes %v, want from %s every 3 s", r, tt.refresh)
			}
		})
	}

	t.Run("fragment", func(t *testing.T) {
		p := b.get("/ui/tasks/fragment")
		p.expect(t, http.StatusOK, `href="/ui/tasks?page=2"`, `data-refresh-url="/ui/tasks/fragment"`)
		if !strings.HasPrefix(strings.TrimSpace(p.body), `<div id="tasks-live"`) || strings.Contains(p.body, "<html") || strings.Contains(p.body, "<form") {
			t.Errorf("the list fragment is not just the list:\n%.300s", p.body)
		}
		if got := strings.Count(p.body, `<tr class="task-row">`); got != 50 {
			t.Errorf("%d rows, want 50", got)
		}
	})
	t.Run("unknown state", func(t *testing.T) {
		b.get("/ui/tasks?state=SLEEPING").expect(t, http.StatusBadRequest, "There is no execution state &#34;SLEEPING&#34;")
	})
}

func TestNoTaskPagesWithoutTaskManager(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.login("administrator", adminPassword)
	home := b.get("/ui/")
	home.expect(t, http.StatusOK, `href="/ui/users"`)
	if strings.Contains(home.body, `href="/ui/tasks"`) {
		t.Error("the navigation links to task pages that do not exist")
	}
	b.get("/ui/tasks").expect(t, http.StatusNotFound, "There is no page at /ui/tasks.")
}

func TestLiveRefreshScript(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.browser(t).get("/static/cadre.js")
	p.expect(t, http.StatusOK, "data-refresh-url", "data-refresh-seconds", "fetch(")
}
