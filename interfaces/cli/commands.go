package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"cadre/apiclient"
)

func (e env) nodes(args []string) error {
	var c conn
	fs := e.flags("nodes", &c, true)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	api, err := e.client(c)
	if err != nil {
		return err
	}
	resp, err := api.ListNodesWithResponse(e.ctx)
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	if err := apiclient.Check(resp.HTTPResponse, resp.Body, http.StatusOK); err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	if c.json {
		return e.raw(resp.Body)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tSTATE\tSCHEDULER\tCHECK-IN\tURL\tERRORS")
	for _, n := range resp.JSON200.Items {
		scheduler := string(n.SchedulerState)
		if n.OperationalState == apiclient.NodeOperationalStateDOWN || !n.Alive {
			scheduler = "-" // a dead node's scheduler state is whatever it last wrote
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s ago\t%s\t%s\n", n.NodeId, n.OperationalState, scheduler,
			(time.Duration(n.CheckInAgeMs) * time.Millisecond).Round(100*time.Millisecond), n.Url, strings.Join(n.Errors, "; "))
	}
	return w.Flush()
}

func (e env) tasks(args []string) error {
	var c conn
	fs := e.flags("tasks", &c, true)
	state := fs.String("state", "", "only tasks in this execution state (RUNNABLE, RUNNING, WAITING, SUSPENDED, CLOSED)")
	handler := fs.String("handler", "", "only tasks of this handler")
	parent := fs.String("parent", "", "only the workers of this coordinator")
	limit := fs.Int("limit", 100, "at most this many tasks")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	params := &apiclient.ListTasksParams{Limit: limit}
	if *state != "" {
		s := apiclient.ExecutionState(strings.ToUpper(*state))
		if !s.Valid() {
			return usageErrorf("--state %q: want RUNNABLE, RUNNING, WAITING, SUSPENDED or CLOSED", *state)
		}
		params.State = &s
	}
	if *handler != "" {
		params.Handler = handler
	}
	if *parent != "" {
		params.Parent = parent
	}
	api, err := e.client(c)
	if err != nil {
		return err
	}
	resp, err := api.ListTasksWithResponse(e.ctx, params)
	if err != nil {
		return fmt.Errorf("list tasks: %w", err)
	}
	if err := apiclient.Check(resp.HTTPResponse, resp.Body, http.StatusOK); err != nil {
		return fmt.Errorf("list tasks: %w", err)
	}
	if c.json {
		return e.raw(resp.Body)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "OID\tNAME\tHANDLER\tSTATE\tRESULT\tPROGRESS\tNODE")
	for _, t := range resp.JSON200.Items {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Oid, t.Name, t.Handler, t.ExecutionState,
			orDash(string(t.ResultStatus)), progressText(t.Progress), orDash(t.Node))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if int64(len(resp.JSON200.Items)) < resp.JSON200.Total {
		fmt.Fprintf(e.stdout, "(%d of %d; --limit shows more)\n", len(resp.JSON200.Items), resp.JSON200.Total)
	}
	return nil
}

func (e env) task(args []string) error {
	if len(args) == 0 {
		return usageErrorf("task needs a subcommand: create, show, watch, suspend, resume, run-now or delete")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		return e.taskCreate(rest)
	case "show":
		return e.taskShow(rest)
	case "watch":
		return e.taskWatch(rest)
	case "suspend", "resume", "run-now", "delete":
		return e.taskAction(sub, rest)
	case "-h", "--help", "-help", "help":
		return flag.ErrHelp
	default:
		return usageErrorf("unknown task subcommand %q", sub)
	}
}

func (e env) taskCreate(args []string) error {
	var c conn
	fs := e.flags("task create", &c, false)
	name := fs.String("name", "", "task name (required)")
	handler := fs.String("handler", "", "noop, recompute, import, reconcile, livesync, report or cleanup (required)")
	params := fs.String("params", "", `handler parameters as a JSON object, e.g. '{"delayMs":5}'`)
	cron := fs.String("cron", "", `recurring by a 6-field cron expression with seconds, e.g. "*/2 * * * * *"`)
	interval := fs.Int64("interval", 0, "recurring every this many seconds")
	numeric := fs.String("numeric", "", "numeric bucketing FROM:TO:SIZE, e.g. 0:1000:10")
	perNode := fs.Int("per-node", 0, "worker tasks per live node")
	workers := fs.Int("workers", 0, "worker tasks in all")
	group := fs.String("group", "", "execution group")
	suspended := fs.Bool("suspended", false, "create it SUSPENDED")
	watch := fs.Bool("watch", false, "then watch it as `task watch` does")
	body := fs.String("json", "", "read the whole request body (TaskCreate JSON) from this file; other flags are ignored")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	var in apiclient.TaskCreate
	if *body != "" {
		data, err := e.readBody(*body)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &in); err != nil {
			return usageErrorf("--json: %v", err)
		}
	} else {
		var err error
		if in, err = taskFromFlags(*name, *handler, *params, *cron, *interval, *numeric, *perNode, *workers, *group, *suspended); err != nil {
			return err
		}
	}
	api, err := e.client(c)
	if err != nil {
		return err
	}
	resp, err := api.CreateTaskWithResponse(e.ctx, nil, in)
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	if err := apiclient.Check(resp.HTTPResponse, resp.Body, http.StatusCreated); err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	fmt.Fprintln(e.stdout, resp.JSON201.Oid)
	if *watch {
		return e.watch(api, resp.JSON201.Oid, time.Second)
	}
	return nil
}

// taskFromFlags builds a TaskCreate body from task create's flags.
func taskFromFlags(name, handler, params, cron string, interval int64, numeric string, perNode, workers int,
	group string, suspended bool) (apiclient.TaskCreate, error) {
	in := apiclient.TaskCreate{Name: name, Handler: handler}
	if name == "" || handler == "" {
		return in, usageErrorf("--name and --handler are required")
	}
	if params != "" {
		var p map[string]any
		if err := json.Unmarshal([]byte(params), &p); err != nil {
			return in, usageErrorf("--params: want a JSON object: %v", err)
		}
		in.Params = &p
	}
	switch {
	case cron != "" && interval != 0:
		return in, usageErrorf("--cron and --interval exclude each other")
	case cron != "":
		in.Schedule = &apiclient.Schedule{Cron: &cron}
	case interval < 0:
		return in, usageErrorf("--interval %d: want a positive number of seconds", interval)
	case interval > 0:
		in.Schedule = &apiclient.Schedule{Interval: &interval}
	}
	if numeric != "" {
		parts := strings.Split(numeric, ":")
		nums := make([]int64, len(parts))
		for i, p := range parts {
			n, err := strconv.ParseInt(p, 10, 64)
			if err != nil || len(parts) != 3 {
				return in, usageErrorf("--numeric %q: want FROM:TO:SIZE, e.g. 0:1000:10", numeric)
			}
			nums[i] = n
		}
		in.Bucketing = apiclient.NumericBucketing(nums[0], nums[1], nums[2])
	}
	switch {
	case perNode != 0 && workers != 0:
		return in, usageErrorf("--per-node and --workers exclude each other")
	case perNode < 0 || workers < 0:
		return in, usageErrorf("--per-node and --workers want a positive number")
	case perNode > 0:
		in.Workers = &apiclient.Workers{PerNode: &perNode}
	case workers > 0:
		in.Workers = &apiclient.Workers{Total: &workers}
	}
	if group != "" {
		in.ExecutionGroup = &group
	}
	if suspended {
		in.Suspended = &suspended
	}
	return in, nil
}

func (e env) readBody(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("--json: %v", err)
	}
	return data, nil
}

func (e env) taskShow(args []string) error {
	var c conn
	fs := e.flags("task show", &c, false)
	rest, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	api, err := e.client(c)
	if err != nil {
		return err
	}
	resp, err := api.GetTaskWithResponse(e.ctx, rest[0])
	if err != nil {
		return fmt.Errorf("task %s: %w", rest[0], err)
	}
	if err := apiclient.Check(resp.HTTPResponse, resp.Body, http.StatusOK); err != nil {
		return fmt.Errorf("task %s: %w", rest[0], err)
	}
	return e.raw(resp.Body)
}

func (e env) taskAction(action string, args []string) error {
	var c conn
	fs := e.flags("task "+action, &c, false)
	rest, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	api, err := e.client(c)
	if err != nil {
		return err
	}
	oid := rest[0]
	var (
		hr   *http.Response
		body []byte
		want = http.StatusOK
	)
	switch action {
	case "suspend":
		r, err := api.SuspendTaskWithResponse(e.ctx, oid, nil)
		if err != nil {
			return fmt.Errorf("suspend %s: %w", oid, err)
		}
		hr, body = r.HTTPResponse, r.Body
	case "resume":
		r, err := api.ResumeTaskWithResponse(e.ctx, oid, nil)
		if err != nil {
			return fmt.Errorf("resume %s: %w", oid, err)
		}
		hr, body = r.HTTPResponse, r.Body
	case "run-now":
		r, err := api.RunTaskNowWithResponse(e.ctx, oid, nil)
		if err != nil {
			return fmt.Errorf("run-now %s: %w", oid, err)
		}
		hr, body = r.HTTPResponse, r.Body
	case "delete":
		r, err := api.DeleteTaskWithResponse(e.ctx, oid, nil)
		if err != nil {
			return fmt.Errorf("delete %s: %w", oid, err)
		}
		hr, body, want = r.HTTPResponse, r.Body, http.StatusNoContent
	}
	if err := apiclient.Check(hr, body, want); err != nil {
		return fmt.Errorf("%s %s: %w", action, oid, err)
	}
	if want == http.StatusNoContent {
		fmt.Fprintf(e.stdout, "task %s deleted\n", oid)
		return nil
	}
	var t apiclient.Task
	if err := json.Unmarshal(body, &t); err != nil {
		return fmt.Errorf("%s %s: read answer: %w", action, oid, err)
	}
	fmt.Fprintf(e.stdout, "task %s: %s\n", oid, t.ExecutionState)
	return nil
}

// raw prints a JSON answer indented.
func (e env) raw(body []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		_, err = e.stdout.Write(body)
		return err
	}
	buf.WriteByte('\n')
	_, err := io.Copy(e.stdout, &buf)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// progressText is "3/10 buckets, 30 items" or "30 items".
func progressText(p apiclient.Progress) string {
	s := fmt.Sprintf("%d items", p.ItemsProcessed)
	if p.BucketsTotal > 0 {
		s = fmt.Sprintf("%d/%d buckets, %s", p.BucketsComplete, p.BucketsTotal, s)
	}
	if p.Errors > 0 {
		s += fmt.Sprintf(", %d errors", p.Errors)
	}
	return s
}
