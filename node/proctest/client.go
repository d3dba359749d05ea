package proctest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"cadre/apiclient"
)

// AdminUser and AdminPassword are the administrator's credentials on nodes
// started with -Dmidpoint.administrator.initialPassword=Secret123! (pass that
// argument to Start: the harness adds no configuration of its own).
const (
	AdminUser     = "administrator"
	AdminPassword = "Secret123!"
)

// RequestTimeout bounds every Client request, connection included.
const RequestTimeout = 10 * time.Second

// httpClient never follows redirects (a test sees the 3xx and its Location)
// and never reuses a connection: a node killed and restarted on the same port
// must not be reached through a stale keep-alive connection.
var httpClient = &http.Client{
	Timeout:       RequestTimeout,
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Client calls one node's HTTP API. User empty means no authentication;
// otherwise every request carries HTTP Basic credentials.
type Client struct {
	Base string // node URL, e.g. Proc.URL
	User string
	Pass string
	// HTTP is the client to use; nil means plain HTTP (or HTTPS against the
	// system roots). Proc.Admin sets the one that trusts the node's certificate.
	HTTP *http.Client
}

func (c Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return httpClient
}

// Response is an HTTP answer read in full. Err is set, and Status is 0, when
// no answer arrived (connection refused, timeout).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

// Do sends a JSON request and decodes the JSON answer. body nil sends none; a
// string, []byte or json.RawMessage is sent as is (for malformed input);
// anything else is marshalled. out is the decoded object; a JSON array comes
// back as {"items": [...]}, any other body as {"body": "<text>"}, an empty
// body as nil. When no answer arrives (the node is down or paused) status is
// 0 and out is {"error": "transport", "message": "<error>"}; the test does
// not fail, so a test can expect a dead node to be unreachable.
func (c Client) Do(t testing.TB, method, path string, body any) (status int, out map[string]any) {
	t.Helper()
	r := c.Request(t, method, path, body)
	if r.Err != nil {
		return 0, map[string]any{"error": "transport", "message": r.Err.Error()}
	}
	return r.Status, decode(r.Body)
}

// Request sends a request like Do and returns the whole answer; header is a
// list of name, value pairs (If-Match, Cookie, …).
func (c Client) Request(t testing.TB, method, path string, body any, header ...string) Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		case string:
			rd = strings.NewReader(b)
		case json.RawMessage:
			rd = bytes.NewReader(b)
		default:
			data, err := json.Marshal(body)
			if err != nil {
				t.Fatalf("%s %s: encode body: %v", method, path, err)
			}
			rd = bytes.NewReader(data)
		}
	}
	req, err := http.NewRequest(method, strings.TrimRight(c.Base, "/")+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.User != "" {
		req.SetBasicAuth(c.User, c.Pass)
	}
	if len(header)%2 != 0 {
		t.Fatalf("%s %s: header list %q is not name, value pairs", method, path, header)
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return Response{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{Err: err}
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// API returns the generated client (package apiclient) for the node, with
// the same credentials and transport as Do: no redirects followed, no
// connection reused, RequestTimeout per request. Use it for requests the
// description can express; Do and Request remain for malformed input and
// for paths outside /api/v1.
func (c Client) API(t testing.TB) *apiclient.ClientWithResponses {
	t.Helper()
	api, err := apiclient.New(c.Base, c.User, c.Pass, c.client())
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// CreateTask creates a task through the generated client and returns it as
// the node answered; anything but 201 fails the test with the node's error.
func (c Client) CreateTask(t testing.TB, in apiclient.TaskCreate) apiclient.Task {
	t.Helper()
	resp, err := c.API(t).CreateTaskWithResponse(context.Background(), nil, in)
	if err == nil {
		err = apiclient.Check(resp.HTTPResponse, resp.Body, http.StatusCreated)
	}
	if err != nil {
		t.Fatalf("create task %q: %v", in.Name, err)
	}
	return *resp.JSON201
}

// Task reads one task; anything but 200 fails the test.
func (c Client) Task(t testing.TB, oid string) apiclient.Task {
	t.Helper()
	resp, err := c.API(t).GetTaskWithResponse(context.Background(), oid)
	if err == nil {
		err = apiclient.Check(resp.HTTPResponse, resp.Body, http.StatusOK)
	}
	if err != nil {
		t.Fatalf("get task %s: %v", oid, err)
	}
	return *resp.JSON200
}

// Nodes lists the cluster's nodes as this node sees them; anything but 200
// fails the test.
func (c Client) Nodes(t testing.TB) []apiclient.Node {
	t.Helper()
	resp, err := c.API(t).ListNodesWithResponse(context.Background())
	if err == nil {
		err = apiclient.Check(resp.HTTPResponse, resp.Body, http.StatusOK)
	}
	if err != nil {
		t.Fatalf("list nodes: %v", err)
	}
	return resp.JSON200.Items
}

// WaitTaskClosed polls the task through the API until it is CLOSED and
// returns it; after within the test fails.
func (c Client) WaitTaskClosed(t testing.TB, oid string, within time.Duration) apiclient.Task {
	t.Helper()
	var got apiclient.Task
	api := c.API(t)
	WaitFor(t, "task "+oid+" to close", within, func() bool {
		// A node restarting or failing over may not answer for a while.
		resp, err := api.GetTaskWithResponse(context.Background(), oid)
		if err != nil || resp.JSON200 == nil {
			return false
		}
		got = *resp.JSON200
		return got.ExecutionState == apiclient.ExecutionStateCLOSED
	})
	return got
}

func decode(data []byte) map[string]any {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return map[string]any{"body": string(data)}
	}
	switch v := v.(type) {
	case map[string]any:
		return v
	case []any:
		return map[string]any{"items": v}
	}
	return map[string]any{"body": string(data)}
}

// WaitFor calls cond every 50 ms, starting at once, until it returns true;
// when timeout passes first the test fails with "timed out after <timeout>
// waiting for <what>". Call it from the test's goroutine.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pollInterval)
	}
}
