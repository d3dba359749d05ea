package peer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	peerclient "cadre/infrastructure/peer"
	"cadre/interfaces/peer"
)

// directory is the shared node table, seen from node self.
type directory struct {
	self  string
	mu    *sync.Mutex
	nodes map[string]peerclient.Target
}

var secrets = map[string]string{"n1": "s1", "n2": "s2", "n3": "s3"}

func (d directory) Self() (string, string) { return d.self, secrets[d.self] }

func (d directory) LivePeers(context.Context) ([]peerclient.Target, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []peerclient.Target
	for _, id := range []string{"n1", "n2", "n3"} {
		if t, ok := d.nodes[id]; ok && id != d.self {
			out = append(out, t)
		}
	}
	return out, nil
}

func (d directory) Lookup(_ context.Context, id string) (peerclient.Target, string, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.nodes[id]
	if !ok {
		return t, "", false, fmt.Errorf("node %s: %w", id, peerclient.ErrUnknownNode)
	}
	return t, secrets[id], true, nil
}

// handlers records what peers asked for.
type handlers struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (h *handlers) record(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, s)
}

func (h *handlers) last() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.calls) == 0 {
		return ""
	}
	return h.calls[len(h.calls)-1]
}

func (h *handlers) InvalidateCache(_ context.Context, objType, oid string, _ int64) {
	h.record("cache " + objType + " " + oid)
}
func (h *handlers) InvalidateSessions(_ context.Context, user string, _ int64) {
	h.record("sessions " + user)
}
func (h *handlers) SchedulerStop(context.Context) error {
	h.record("scheduler stop")
	return h.fail
}
func (h *handlers) SchedulerStart(context.Context) error {
	h.record("scheduler start")
	return h.fail
}
func (h *handlers) StopTask(_ context.Context, oid string) bool {
	h.record("stop " + oid)
	return oid == "running"
}
func (h *handlers) OpenReport(_ context.Context, oid string) (io.ReadCloser, int64, error) {
	h.record("report " + oid)
	if oid != "r1" {
		return nil, 0, fmt.Errorf("open report %s: %w", oid, fs.ErrNotExist)
	}
	return io.NopCloser(strings.NewReader("name\nalice\n")), 11, nil
}
func (h *handlers) Status(context.Context) any {
	h.record("status")
	return map[string]any{"node": "n2", "scheduler": "RUNNING"}
}

type env struct {
	client *peerclient.Client
	h      map[string]*handlers
	url    map[string]string
}

// setup starts n2 and n3 with the peer endpoints; n1 is the caller.
func setup(t *testing.T) *env {
	t.Helper()
	gin.SetMode(gin.TestMode)
	mu := &sync.Mutex{}
	nodes := map[string]peerclient.Target{"n1": {ID: "n1", URL: "http://127.0.0.1:1"}}
	e := &env{h: map[string]*handlers{}, url: map[string]string{}}
	log := slog.New(slog.DiscardHandler)
	for _, id := range []string{"n2", "n3"} {
		r := gin.New()
		e.h[id] = &handlers{}
		peer.Register(r, peerclient.NewVerifier(directory{id, mu, nodes}, log, nil, time.Time{}), e.h[id])
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		mu.Lock()
		nodes[id] = peerclient.Target{ID: id, URL: srv.URL}
		mu.Unlock()
		e.url[id] = srv.URL
	}
	e.client = peerclient.NewClient(directory{"n1", mu, nodes}, nil, log, peerclient.Options{Timeout: time.Second})
	return e
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name             string
		method, path, ep string
		body             any
		fail             error
		wantCall         string
		wantOut          string
		wantStatus       int // of the *StatusError; 0 for success
	}{
		{"cache", "POST", "/cache/invalidate", peerclient.EndpointCacheInvalidate,
			peerclient.CacheInvalidation{Type: "ArchetypeType", OID: "a1"}, nil, "cache ArchetypeType a1", "", 0},
		{"every cache", "POST", "/cache/invalidate", peerclient.EndpointCacheInvalidate,
			map[string]string{"future": "field"}, nil, "cache  ", "", 0},
		{"sessions", "POST", "/sessions/invalidate", peerclient.EndpointSessionsInvalidate,
			peerclient.SessionInvalidation{UserOID: "u1"}, nil, "sessions u1", "", 0},
		{"sessions without user", "POST", "/sessions/invalidate", peerclient.EndpointSessionsInvalidate,
			peerclient.SessionInvalidation{}, nil, "", "", 400},
		{"scheduler stop", "POST", "/scheduler/stop", peerclient.EndpointSchedulerStop, nil, nil, "scheduler stop", "", 0},
		{"scheduler start", "POST", "/scheduler/start", peerclient.EndpointSchedulerStart, nil, nil, "scheduler start", "", 0},
		{"scheduler start fails", "POST", "/scheduler/start", peerclient.EndpointSchedulerStart, nil,
			errors.New("scheduler is shutting down"), "scheduler start", "", 500},
		{"stop running task", "POST", peerclient.TaskStopPath("running"), peerclient.EndpointTaskStop, nil, nil,
			"stop running", `{"stopped":true}`, 0},
		{"stop task not here", "POST", peerclient.TaskStopPath("elsewhere"), peerclient.EndpointTaskStop, nil, nil,
			"stop elsewhere", `{"stopped":false}`, 0},
		{"status", "GET", "/status", peerclient.EndpointStatus, nil, nil, "status", `{"node":"n2","scheduler":"RUNNING"}`, 0},
		{"traversal oid", "POST", "/tasks/..%2Fx/stop", peerclient.EndpointTaskStop, nil, nil, "", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.h["n2"].fail = tt.fail
			var out any
			if tt.ep == peerclient.EndpointTaskStop {
				out = &peerclient.TaskStopped{}
			} else {
				out = &map[string]any{}
			}
			err := e.client.Call(context.Background(), peerclient.Target{ID: "n2", URL: e.url["n2"]}, tt.method, tt.path, tt.ep, tt.body, out)
			var se *peerclient.StatusError
			switch {
			case tt.wantStatus == 0 && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantStatus != 0 && (!errors.As(err, &se) || se.Status != tt.wantStatus):
				t.Fatalf("err = %v, want status %d", err, tt.wantStatus)
			}
			if got := e.h["n2"].last(); got != tt.wantCall {
				t.Fatalf("handler call = %q, want %q", got, tt.wantCall)
			}
			if tt.fail != nil && !strings.Contains(err.Error(), tt.fail.Error()) {
				t.Fatalf("err = %v, want the handler's message", err)
			}
			if tt.wantOut != "" {
				if got := jsonOf(t, out); got != tt.wantOut {
					t.Fatalf("answer = %s, want %s", got, tt.wantOut)
				}
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReportFile(t *testing.T) {
	e := setup(t)
	n2 := peerclient.Target{ID: "n2", URL: e.url["n2"]}
	body, size, err := e.client.Stream(context.Background(), n2, peerclient.ReportFilePath("r1"), peerclient.EndpointReportFile)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	_ = body.Close()
	if string(data) != "name\nalice\n" || size != 11 {
		t.Fatalf("file = %q (%d bytes)", data, size)
	}
	_, _, err = e.client.Stream(context.Background(), n2, peerclient.ReportFilePath("gone"), peerclient.EndpointReportFile)
	var se *peerclient.StatusError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &se) || se.Slug != "file-not-found" {
		t.Fatalf("missing file: err = %v, want 404 file-not-found", err)
	}
}

func TestBroadcastReachesEveryPeer(t *testing.T) {
	e := setup(t)
	res := e.client.Broadcast(context.Background(), http.MethodPost, "/sessions/invalidate", peerclient.EndpointSessionsInvalidate,
		peerclient.SessionInvalidation{UserOID: "u9"})
	if len(res) != 2 {
		t.Fatalf("results = %+v, want n2 and n3", res)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.ID, r.Err)
		}
		if got := e.h[r.ID].last(); got != "sessions u9" {
			t.Fatalf("%s handled %q", r.ID, got)
		}
	}
}

// TestRawRequests covers what the client never sends: bad JSON, no signature
// (401 with a challenge naming the scheme).
func TestRawRequests(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		sign       bool
		wantStatus int
		wantSlug   string
	}{
		{"bad JSON", `{"type":`, true, 400, "bad-json"},
		{"empty body", ``, true, 400, "bad-json"},
		{"wrong JSON type", `["ArchetypeType"]`, true, 400, "bad-json"},
		{"unsigned", `{"type":"ArchetypeType"}`, false, 401, "peer-unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			req, _ := http.NewRequest(http.MethodPost, e.url["n2"]+peerclient.BasePath+"/cache/invalidate", strings.NewReader(tt.body))
			if tt.sign {
				peerclient.Sign(req, "n1", "n2", "s1", []byte(tt.body), time.Now())
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(data), `"error":"`+tt.wantSlug+`"`) {
				t.Fatalf("answer %d %s, want %d %s", resp.StatusCode, data, tt.wantStatus, tt.wantSlug)
			}
			if challenge := resp.Header.Get("WWW-Authenticate"); (tt.wantStatus == http.StatusUnauthorized) != (challenge == peerclient.Challenge) {
				t.Fatalf("answer %d with WWW-Authenticate %q; a 401, and only a 401, carries %q", resp.StatusCode, challenge, peerclient.Challenge)
			}
			if got := e.h["n2"].last(); got != "" {
				t.Fatalf("handler ran: %q", got)
			}
		})
	}
}
