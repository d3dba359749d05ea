package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"cadre/app/taskmanager"
	"cadre/domain/task"
	"cadre/interfaces/httpapi"
)

// tasksPerPage is the length of one page of the tasks list.
const tasksPerPage = 50

// Refresh periods of the live parts of the task pages, in seconds.
const (
	taskRefreshSeconds  = 2
	tasksRefreshSeconds = 3
)

// maxBucketsCounted bounds the buckets a task page reads to count them by
// state and node; a task with more shows only complete against total.
const maxBucketsCounted = 10_000

func (h *Handlers) routesTasks(g *gin.RouterGroup) {
	t := g.Group("/tasks", h.requireRead)
	t.GET("", h.listTasks)
	t.GET("/fragment", h.listTasksFragment)
	t.GET("/new", h.newTaskForm)
	t.POST("", h.createTask)
	t.GET("/:oid", h.showTask)
	t.GET("/:oid/fragment", h.taskFragment)
	t.POST("/:oid/suspend", h.taskAction(h.tasks.Suspend, "task-suspended"))
	t.POST("/:oid/resume", h.taskAction(h.tasks.Resume, "task-resumed"))
	t.POST("/:oid/run-now", h.taskAction(h.tasks.RunNow, "task-run"))
	t.POST("/:oid/delete", h.deleteTask)
}

// requireRead renders the 403 page unless the principal may read; tasks are
// not repository objects, so nothing else checks it.
func (h *Handlers) requireRead(c *gin.Context) {
	if p, _ := httpapi.PrincipalOf(c); p.CanRead() {
		c.Next()
		return
	}
	h.renderError(c, http.StatusForbidden, msgForbidden)
	c.Abort()
}

// active reports whether a task in state s may still change by itself, so
// its page keeps refreshing.
func active(s string) bool {
	switch task.ExecutionState(s) {
	case task.Runnable, task.Running, task.Waiting:
		return true
	}
	return false
}

// executionStates are the choices of the state filter.
var executionStates = []string{string(task.Runnable), string(task.Running), string(task.Waiting), string(task.Suspended), string(task.Closed)}

// tasksPage is the data of the "tasks" template.
type tasksPage struct {
	// State and Handler are the filter values ("" for all).
	State, Handler string
	States         []string
	Handlers       []string
	Tasks          []taskView
	Pager          Pager
	// FirstURL is the first page with the same filters.
	FirstURL string
	// RefreshURL is the list fragment, set while a listed task is active.
	RefreshURL     string
	RefreshSeconds int
}

func (h *Handlers) listTasks(c *gin.Context) {
	if data, ok := h.loadTasks(c); ok {
		h.render(c, http.StatusOK, "tasks", data)
	}
}

func (h *Handlers) listTasksFragment(c *gin.Context) {
	if data, ok := h.loadTasks(c); ok {
		h.renderFragment(c, "tasks", "tasks-live", data)
	}
}

// loadTasks reads one page of top-level tasks for the filter in the query;
// it renders the error page and returns false when it cannot.
func (h *Handlers) loadTasks(c *gin.Context) (tasksPage, bool) {
	data := tasksPage{State: c.Query("state"), Handler: c.Query("handler"), States: executionStates,
		Handlers: h.tasks.Handlers(), RefreshSeconds: tasksRefreshSeconds}
	f := taskmanager.TaskFilter{Handler: data.Handler, TopLevel: true, Limit: tasksPerPage}
	if data.State != "" {
		st, err := task.ParseExecutionState(data.State)
		if err != nil {
			h.renderError(c, http.StatusBadRequest, fmt.Sprintf("There is no execution state %q; choose one of %s.", data.State, strings.Join(executionStates, ", ")))
			return data, false
		}
		f.State = st
	}
	page := pageParam(c)
	f.Offset = (page - 1) * tasksPerPage
	ts, total, err := h.tasks.List(c.Request.Context(), f)
	if err != nil {
		h.fail(c, err)
		return data, false
	}
	// The fragment's links point at the list page, not at the fragment.
	q := c.Request.URL.Query()
	q.Del("ok")
	query := q.Encode()
	data.Pager = newPager(&url.URL{Path: "/ui/tasks", RawQuery: query}, page, tasksPerPage, total)
	q.Del("page")
	data.FirstURL = (&url.URL{Path: "/ui/tasks", RawQuery: q.Encode()}).String()
	for _, t := range ts {
		j := newTaskView(t)
		data.Tasks = append(data.Tasks, j)
		if active(j.ExecutionState) {
			data.RefreshURL = (&url.URL{Path: "/ui/tasks/fragment", RawQuery: query}).String()
		}
	}
	return data, true
}

// taskPage is the data of the "task" template; Live is the part the
// fragment endpoint serves again.
type taskPage struct {
	Task      taskView
	Schedule  string
	Bucketing string
	Workers   string
	Params    string
	Live      taskLive
}

// taskLive is the part of a task page that changes while the task runs.
type taskLive struct {
	Task taskView
	// RefreshURL is the fragment, set while the task is active.
	RefreshURL     string
	RefreshSeconds int
	// Buckets is nil for tasks without buckets.
	Buckets *bucketSummary
	Workers []taskView
	// Actions are the buttons that fit the task's state.
	Suspend, Resume, RunNow bool
	IsWorker                bool
}

// smallTaskBuckets reads every bucket of a task with at most
// maxBucketsCounted of them, a page of taskmanager.MaxBucketPage at a time.
func (h *Handlers) smallTaskBuckets(ctx context.Context, oid string) ([]task.Bucket, error) {
	var all []task.Bucket
	var after int64
	for len(all) < maxBucketsCounted {
		bs, more, err := h.tasks.Buckets(ctx, oid, after, taskmanager.MaxBucketPage)
		if err != nil {
			return nil, err
		}
		all = append(all, bs...)
		if !more || len(bs) == 0 {
			break
		}
		after = bs[len(bs)-1].Seq
	}
	return all, nil
}

// bucketSummary counts a coordinator's buckets for the progress bar.
type bucketSummary struct {
	Total, Ready, Delegated, Complete int64
	// Open is the buckets not COMPLETE (READY or DELEGATED).
	Open int64
	// ByState is false when the task has too many buckets to read: only
	// Complete and Total are known, and Nodes is empty.
	ByState bool
	// Bar segments, in percent of the bar's width.
	Bar []barSegment
	// Nodes are the COMPLETE buckets per node, by node id.
	Nodes []nodeBuckets
	// Chart is buckets completed per second per node; nil until one is
	// complete or when the task has too many buckets to read.
	Chart *rateChart
	// Label describes the bar for screen readers.
	Label string
	// Eventful are the buckets that were retried, failed or resumed from a
	// checkpoint, or hold one now (at most maxEventful): the rest of the
	// buckets ran once, from the start.
	Eventful []bucketView
}

// maxEventful bounds the bucket rows a task page lists.
const maxEventful = 50

type barSegment struct {
	Class string
	X, W  string
}

// nodeBuckets is one row of the COMPLETE-buckets-per-node table.
type nodeBuckets struct {
	Node           string
	Buckets, Items int64
}

func (h *Handlers) showTask(c *gin.Context) {
	data, err := h.loadTask(c.Request.Context(), c.Param("oid"))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "task", data)
}

func (h *Handlers) taskFragment(c *gin.Context) {
	data, err := h.loadTask(c.Request.Context(), c.Param("oid"))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.renderFragment(c, "task", "task-live", data)
}

// loadTask reads a task with its buckets and workers.
func (h *Handlers) loadTask(ctx context.Context, oid string) (taskPage, error) {
	t, err := h.tasks.Get(ctx, oid)
	if err != nil {
		return taskPage{}, err
	}
	j := newTaskView(t)
	data := taskPage{Task: j, Schedule: describeSchedule(t.Schedule), Bucketing: describeBucketing(t.Bucketing),
		Workers: describeWorkers(t.Workers), Params: prettyJSON(t.Params)}
	live := taskLive{Task: j, RefreshSeconds: taskRefreshSeconds, IsWorker: t.Role == task.Worker}
	if active(j.ExecutionState) {
		live.RefreshURL = "/ui/tasks/" + url.PathEscape(t.OID) + "/fragment"
	}
	if !live.IsWorker {
		switch t.State {
		case task.Runnable:
			live.Suspend, live.RunNow = true, true
		case task.Running, task.Waiting:
			live.Suspend = true
		case task.Suspended:
			live.Resume, live.RunNow = true, true
		case task.Closed:
			live.RunNow = true
		}
	}
	if t.Role == task.Coordinator {
		progress, err := h.tasks.Progress(ctx, t.OID)
		if err != nil {
			return taskPage{}, err
		}
		if live.Buckets, err = h.bucketSummary(ctx, t, progress); err != nil {
			return taskPage{}, err
		}
		ws, err := h.tasks.Workers(ctx, t.OID)
		if err != nil {
			return taskPage{}, fmt.Errorf("workers of %s: %w", t.OID, err)
		}
		done := map[string]task.Progress{}
		for _, bp := range progress {
			p := done[bp.Worker]
			p.BucketsComplete += bp.Buckets
			p.ItemsProcessed += bp.Items
			p.Errors += bp.Errors
			done[bp.Worker] = p
		}
		for _, w := range ws {
			j := newTaskView(w)
			j.Progress = done[w.OID] // what it completed, even if its node died since
			live.Workers = append(live.Workers, j)
		}
		slices.SortStableFunc(live.Workers, func(a, b taskView) int { return naturalCompare(a.Name, b.Name) })
	}
	data.Live = live
	return data, nil
}

// bucketSummary counts a coordinator's buckets by state and node; nil while
// the coordinator has made none.
func (h *Handlers) bucketSummary(ctx context.Context, t *task.Task, progress []taskmanager.BucketProgress) (*bucketSummary, error) {
	p := t.Progress
	if p.BucketsTotal == 0 {
		return nil, nil
	}
	s := &bucketSummary{Total: p.BucketsTotal, Complete: p.BucketsComplete}
	if p.BucketsTotal <= maxBucketsCounted {
		bs, err := h.smallTaskBuckets(ctx, t.OID)
		if err != nil {
			return nil, fmt.Errorf("buckets of %s: %w", t.OID, err)
		}
		s.ByState, s.Total, s.Complete = true, int64(len(bs)), 0
		for _, b := range bs {
			switch b.State {
			case task.BucketReady:
				s.Ready++
			case task.BucketDelegated:
				s.Delegated++
			case task.BucketComplete:
				s.Complete++
			}
			if eventful(b) && len(s.Eventful) < maxEventful {
				s.Eventful = append(s.Eventful, newBucketView(b))
			}
		}
		s.Chart = bucketRateChart(bs, time.Now(), t.State != task.Closed && t.State != task.Suspended)
	}
	nodes := map[string]*nodeBuckets{}
	for _, bp := range progress {
		n := nodes[bp.Node]
		if n == nil {
			n = &nodeBuckets{Node: bp.Node}
			nodes[bp.Node] = n
		}
		n.Buckets += bp.Buckets
		n.Items += bp.Items
	}
	for _, n := range nodes {
		s.Nodes = append(s.Nodes, *n)
	}
	slices.SortFunc(s.Nodes, func(a, b nodeBuckets) int { return naturalCompare(a.Node, b.Node) })
	s.Open = s.Total - s.Complete
	x := 0.0
	add := func(class string, n int64) {
		if n == 0 || s.Total == 0 {
			return
		}
		w := float64(n) * 100 / float64(s.Total)
		s.Bar = append(s.Bar, barSegment{Class: class, X: strconv.FormatFloat(x, 'f', 3, 64), W: strconv.FormatFloat(w, 'f', 3, 64)})
		x += w
	}
	add("seg-complete", s.Complete)
	if s.ByState {
		add("seg-delegated", s.Delegated)
		add("seg-ready", s.Ready)
		s.Label = fmt.Sprintf("%d of %d buckets complete, %d delegated, %d ready", s.Complete, s.Total, s.Delegated, s.Ready)
	} else {
		add("seg-ready", s.Open)
		s.Label = fmt.Sprintf("%d of %d buckets complete", s.Complete, s.Total)
	}
	return s, nil
}

// eventful reports whether a bucket's row tells more than its state: it
// failed, was retried, resumed from a checkpoint or is running past one.
func eventful(b task.Bucket) bool {
	return b.Attempts > 1 || b.LastError != "" || b.ResumedFrom != nil || (b.Checkpoint != nil && b.State != task.BucketComplete)
}

// taskAction runs a state change and goes back to the task page; an illegal
// change (409) is explained on the task page itself.
func (h *Handlers) taskAction(action func(context.Context, string) (*task.Task, error), flash string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !h.requireWrite(c) {
			return
		}
		oid := c.Param("oid")
		if _, err := action(c.Request.Context(), oid); err != nil {
			h.taskActionFailed(c, oid, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/ui/tasks/"+url.PathEscape(oid)+"?ok="+flash)
	}
}

func (h *Handlers) deleteTask(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	oid := c.Param("oid")
	if err := h.tasks.Delete(c.Request.Context(), oid); err != nil {
		h.taskActionFailed(c, oid, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/ui/tasks?ok=task-deleted")
}

func (h *Handlers) taskActionFailed(c *gin.Context, oid string, err error) {
	status, message := describe(err)
	if status != http.StatusConflict {
		h.fail(c, err)
		return
	}
	data, lerr := h.loadTask(c.Request.Context(), oid)
	if lerr != nil {
		h.fail(c, lerr)
		return
	}
	h.renderAlert(c, status, "task", message, data)
}

// taskForm is what the new-task form edits, as typed, so a failed create
// shows the form again with nothing lost.
type taskForm struct {
	Name    string
	Handler string
	// Params is a JSON object.
	Params string
	// Schedule is "none", "interval" or "cron".
	Schedule string
	Interval string
	Cron     string
	// Bucketing is "none", "numeric" or "oidPrefix".
	Bucketing      string
	From, To, Size string
	Depth          string
	WorkersTotal   string
	// ThreadStopAction is restart, reschedule, suspend or close; UniqueKey
	// may be empty. The task manager validates both.
	ThreadStopAction string
	UniqueKey        string
}

// newTaskPage is the data of the "task_new" template.
type newTaskPage struct {
	Form     taskForm
	Handlers []string
	Depths   []depthChoice
}

// depthChoice is one option of the OID prefix depth.
type depthChoice struct {
	Depth   string
	Buckets int
}

// oidPrefixDepths are the choices of the OID prefix depth (16^depth buckets).
var oidPrefixDepths = []int{1, 2, 3, 4}

func readTaskForm(c *gin.Context) taskForm {
	return taskForm{
		Name:         strings.TrimSpace(c.PostForm("name")),
		Handler:      c.PostForm("handler"),
		Params:       c.PostForm("params"),
		Schedule:     c.PostForm("schedule"),
		Interval:     strings.TrimSpace(c.PostForm("interval")),
		Cron:         strings.TrimSpace(c.PostForm("cron")),
		Bucketing:    c.PostForm("bucketing"),
		From:         strings.TrimSpace(c.PostForm("from")),
		To:           strings.TrimSpace(c.PostForm("to")),
		Size:         strings.TrimSpace(c.PostForm("bucketSize")),
		Depth:        c.PostForm("depth"),
		WorkersTotal: strings.TrimSpace(c.PostForm("workersTotal")),
		// As typed; the task manager says what is wrong with them.
		ThreadStopAction: c.PostForm("threadStopAction"),
		UniqueKey:        strings.TrimSpace(c.PostForm("uniqueKey")),
	}
}

// formProblem is a mistake in a submitted form, in words for the person
// who made it.
type formProblem string

func (p formProblem) Error() string { return string(p) }

// input turns the form into a CreateTask; a formProblem says what is wrong.
func (f taskForm) input(owner string) (taskmanager.CreateTask, error) {
	in := taskmanager.CreateTask{Name: f.Name, Handler: f.Handler, Owner: owner}
	in.ThreadStopAction, in.UniqueKey = f.ThreadStopAction, f.UniqueKey
	var err error
	if in.Params, err = parseParams(f.Params); err != nil {
		return in, err
	}
	switch f.Schedule {
	case "", "none":
	case "interval":
		n, err := wholeNumber("The interval", f.Interval)
		if err != nil {
			return in, err
		}
		if n < 1 {
			return in, formProblem("The interval must be at least 1 second.")
		}
		in.Schedule.Interval = n
	case "cron":
		if f.Cron == "" {
			return in, formProblem("Enter a cron expression, or choose another schedule.")
		}
		in.Schedule.Cron = f.Cron
	default:
		return in, formProblem("Choose a schedule: none, an interval or a cron expression.")
	}
	switch f.Bucketing {
	case "", "none":
	case "numeric":
		var num task.Numeric
		for _, v := range []struct {
			label string
			text  string
			to    *int64
		}{{"From", f.From, &num.From}, {"To", f.To, &num.To}, {"The bucket size", f.Size, &num.BucketSize}} {
			if *v.to, err = wholeNumber(v.label, v.text); err != nil {
				return in, err
			}
		}
		in.Bucketing = &task.Bucketing{Numeric: &num}
	case "oidPrefix":
		d, err := strconv.Atoi(f.Depth)
		if err != nil || !slices.Contains(oidPrefixDepths, d) {
			return in, formProblem("Choose an OID prefix depth from 1 to 4.")
		}
		in.Bucketing = &task.Bucketing{OIDPrefix: &task.OIDPrefix{Depth: d}}
	default:
		return in, formProblem("Choose a bucketing: none, numeric or OID prefix.")
	}
	if f.WorkersTotal != "" {
		n, err := wholeNumber("The number of workers", f.WorkersTotal)
		if err != nil {
			return in, err
		}
		if n < 1 {
			return in, formProblem("The number of workers must be at least 1; leave it empty for the default.")
		}
		in.Workers = &task.Workers{Total: int(min(n, 1<<30))}
	}
	return in, nil
}

// wholeNumber parses an integer field; label starts the message.
func wholeNumber(label, s string) (int64, error) {
	if s == "" {
		return 0, formProblem(label + " is required.")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, formProblem(fmt.Sprintf("%s must be a whole number, not %q.", label, s))
	}
	return n, nil
}

// parseParams reads the parameters textarea: a JSON object (empty means {}).
func parseParams(s string) (map[string]any, error) {
	if strings.TrimSpace(s) == "" {
		return map[string]any{}, nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) && syntax.Offset < int64(len(s)) {
			line, col := position(s, syntax.Offset-1) // Offset counts the offending byte
			return nil, formProblem(fmt.Sprintf("The parameters are not valid JSON: %s (line %d, column %d).", syntax, line, col))
		}
		return nil, formProblem(fmt.Sprintf("The parameters are not valid JSON: %v.", err))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, formProblem(`The parameters must be a JSON object, for example {"items": 10}.`)
	}
	return m, nil
}

// position is the 1-based line and column of the byte at offset in s.
func position(s string, offset int64) (line, col int) {
	line, col = 1, 1
	for i, r := range s {
		if int64(i) >= offset {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func (h *Handlers) newTaskPage(f taskForm) newTaskPage {
	p := newTaskPage{Form: f, Handlers: h.tasks.Handlers()}
	for _, d := range oidPrefixDepths {
		p.Depths = append(p.Depths, depthChoice{Depth: strconv.Itoa(d), Buckets: 1 << (4 * d)})
	}
	return p
}

func (h *Handlers) newTaskForm(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	h.render(c, http.StatusOK, "task_new", h.newTaskPage(taskForm{Params: "{}", Schedule: "none", Bucketing: "none", Depth: "1", ThreadStopAction: "restart"}))
}

func (h *Handlers) createTask(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	p, _ := httpapi.PrincipalOf(c)
	form := readTaskForm(c)
	in, err := form.input(p.UserOID)
	if err == nil {
		var t *task.Task
		if t, err = h.tasks.Create(c.Request.Context(), in); err == nil {
			c.Redirect(http.StatusSeeOther, "/ui/tasks/"+url.PathEscape(t.OID)+"?ok=task-created")
			return
		}
	}
	var problem formProblem
	status, message := describe(err)
	switch {
	case errors.As(err, &problem):
		status, message = http.StatusUnprocessableEntity, string(problem)
	case errors.Is(err, task.ErrUnknownHandler) && form.Handler == "":
		message = "Choose a handler."
	case errors.Is(err, task.ErrUnknownHandler):
		message = fmt.Sprintf("There is no handler named %q on this node; choose one from the list.", form.Handler)
	case errors.Is(err, task.ErrDuplicateKey):
		// 409, naming the open task that holds the key; the form stays as typed.
	case status != http.StatusUnprocessableEntity:
		h.fail(c, err)
		return
	}
	h.renderAlert(c, status, "task_new", message, h.newTaskPage(form))
}

// describeSchedule says when a task runs, in words.
func describeSchedule(s task.Schedule) string {
	var out string
	switch {
	case s.Cron != "":
		out = "Cron " + s.Cron
	case s.Interval == 1:
		out = "Every second"
	case s.Interval > 1:
		out = fmt.Sprintf("Every %d seconds", s.Interval)
	default:
		return "Once"
	}
	if s.Misfire != "" {
		out += " (misfire: " + s.Misfire + ")"
	}
	return out
}

// describeBucketing says how a task's work is split, in words; "" without bucketing.
func describeBucketing(b *task.Bucketing) string {
	switch {
	case b == nil:
		return ""
	case b.Numeric != nil:
		n := b.Numeric
		if n.BucketSize > 0 {
			return fmt.Sprintf("Numeric, from %d to %d in buckets of %d", n.From, n.To, n.BucketSize)
		}
		return fmt.Sprintf("Numeric, from %d to %d in %d buckets", n.From, n.To, n.NumberOfBuckets)
	case b.OIDPrefix != nil:
		return fmt.Sprintf("OID prefix, depth %d (%d buckets)", b.OIDPrefix.Depth, 1<<(4*b.OIDPrefix.Depth))
	}
	return fmt.Sprintf("Explicit list of %d values", len(b.Explicit))
}

// describeWorkers says how many workers a coordinator makes, in words.
func describeWorkers(w *task.Workers) string {
	switch {
	case w == nil || (w.Total == 0 && w.PerNode == 0):
		return "The node default per live node"
	case w.Total > 0:
		return fmt.Sprintf("%d in total", w.Total)
	}
	return fmt.Sprintf("%d per live node", w.PerNode)
}

// prettyJSON indents a task's parameters for reading.
func prettyJSON(v map[string]any) string {
	if len(v) == 0 {
		return "{}"
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
