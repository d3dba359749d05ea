package peer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// counters counts hits per route of a test server.
type counters struct {
	echo, flaky, broken, slow atomic.Int32
}

func clientRoutes(n *counters, flakyFailures int32) func(g group) {
	return func(g group) {
		g.handle(http.MethodPost, "/echo", func(w http.ResponseWriter, r *http.Request) {
			n.echo.Add(1)
			var in CacheInvalidation
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				writeJSON(w, 400, map[string]string{"error": "bad-json", "message": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"caller": callerOf(r), "type": in.Type, "oid": in.OID})
		})
		g.handle(http.MethodPost, "/flaky", func(w http.ResponseWriter, r *http.Request) {
			if n.flaky.Add(1) <= flakyFailures {
				writeJSON(w, 503, map[string]string{"error": "unavailable", "message": "not yet"})
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		g.handle(http.MethodPost, "/broken", func(w http.ResponseWriter, r *http.Request) {
			n.broken.Add(1)
			writeJSON(w, 404, map[string]string{"error": "not-found", "message": "no such task"})
		})
		g.handle(http.MethodPost, "/garbage", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "<html>this is not JSON")
		})
		g.handle(http.MethodPost, "/failing", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "panic: something")
		})
		g.handle(http.MethodPost, "/slow", func(w http.ResponseWriter, r *http.Request) {
			n.slow.Add(1)
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusNoContent)
		})
		g.handle(http.MethodGet, "/reports/{oid}/file", func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("oid") == "big" { // headers at once, the body slower than the timeout
				w.WriteHeader(200)
				_, _ = io.WriteString(w, "first,")
				w.(http.Flusher).Flush()
				time.Sleep(400 * time.Millisecond)
				_, _ = io.WriteString(w, "second")
				return
			}
			if r.PathValue("oid") != "r1" {
				writeJSON(w, 404, map[string]string{"error": "file-not-found", "message": "not here"})
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", "11")
			_, _ = io.WriteString(w, "a,b\n1,2\n3,4")
		})
	}
}

func newClient(c *cluster, dir *fakeDir, m Metrics, timeout time.Duration) *Client {
	return NewClient(dir, m, slog.New(slog.NewTextHandler(c.log, nil)), Options{Timeout: timeout})
}

func TestCall(t *testing.T) {
	var n counters
	c := setup(t, clientRoutes(&n, 2))
	n2 := Target{ID: "n2", URL: c.srv.URL}
	tests := []struct {
		name     string
		dir      *fakeDir
		target   Target
		path     string
		wantErr  error
		wantHits func() int32
		hits     int32
		result   string
	}{
		{"answer decoded", c.n1, n2, "/echo", nil, n.echo.Load, 1, "ok"},
		{"503 retried until it succeeds", c.n1, n2, "/flaky", nil, n.flaky.Load, 3, "ok"},
		{"404 not retried", c.n1, n2, "/broken", fs.ErrNotExist, n.broken.Load, 1, "error"},
		{"caller unknown to the target", &fakeDir{table: c.table, self: "n7"}, n2, "/echo", ErrUnauthorized, n.echo.Load, 0, "unauthorized"},
		{"target without URL", c.n1, Target{ID: "n5"}, "/echo", ErrUnreachable, n.echo.Load, 1, "error"},
		// The driving side answers these 502 (issue 20): they are the domain's errors.
		{"an answer that is not JSON", c.n1, n2, "/garbage", ErrBadAnswer, func() int32 { return 0 }, 0, "error"},
		{"a server error", c.n1, n2, "/failing", ErrBadAnswer, func() int32 { return 0 }, 0, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &fakeMetrics{}
			cl := newClient(c, tt.dir, m, time.Second)
			before := tt.wantHits()
			var out struct{ Caller, Type, OID string }
			err := cl.Call(context.Background(), tt.target, http.MethodPost, tt.path, tt.path, CacheInvalidation{Type: "ArchetypeType", OID: "a1"}, &out)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := tt.wantHits() - before; tt.target.URL != "" && got != tt.hits {
				t.Fatalf("server saw %d requests, want %d", got, tt.hits)
			}
			if tt.path == "/echo" && err == nil && (out.Caller != "n1" || out.Type != "ArchetypeType" || out.OID != "a1") {
				t.Fatalf("answer = %+v", out)
			}
			if want := tt.target.ID + " " + tt.path + " " + tt.result; !m.has(want) {
				t.Fatalf("metrics %v, want %q", m.calls, want)
			}
			r := cl.Reachability()[tt.target.ID]
			if err == nil && (r.LastOK.IsZero() || r.LastError != "") {
				t.Fatalf("reachability after success = %+v", r)
			}
			if err != nil && (r.LastErrorAt.IsZero() || r.LastError != err.Error() || !r.LastOK.IsZero()) {
				t.Fatalf("reachability after failure = %+v", r)
			}
		})
	}
}

func TestCallGivesUpOnPersistent5xx(t *testing.T) {
	var n counters
	c := setup(t, clientRoutes(&n, 1000))
	cl := newClient(c, c.n1, nil, time.Second)
	err := cl.Call(context.Background(), Target{ID: "n2", URL: c.srv.URL}, http.MethodPost, "/flaky", "/flaky", nil, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 503 || se.Message != "not yet" {
		t.Fatalf("err = %v, want the 503", err)
	}
	if got := n.flaky.Load(); got != 3 {
		t.Fatalf("server saw %d attempts, want 3 (1 + 2 retries)", got)
	}
}

func TestBroadcast(t *testing.T) {
	var good, slow counters
	c := setup(t, clientRoutes(&good, 0))
	// n4 verifies the call (same node table contents) and then hangs on /echo.
	slowNode := setup(t, func(g group) {
		g.handle(http.MethodPost, "/echo", func(w http.ResponseWriter, r *http.Request) {
			slow.echo.Add(1)
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusNoContent)
		})
	})
	slowNode.n2.self = "n4" // signatures name their target: this server is n4
	c.table.put("n3", deadURL(t), "secret-of-n3", true)
	c.table.put("n4", slowNode.srv.URL, "secret-of-n4", true)
	c.table.put("n5", "http://127.0.0.1:1", "secret-of-n5", false) // down: not called

	m := &fakeMetrics{}
	const timeout = 200 * time.Millisecond
	cl := newClient(c, c.n1, m, timeout)
	start := time.Now()
	results := cl.Broadcast(context.Background(), http.MethodPost, "/echo", EndpointCacheInvalidate, CacheInvalidation{Type: "ArchetypeType"})
	elapsed := time.Since(start)

	// 3 attempts of 200ms plus 100ms and 200ms of backoff, and some slack.
	if min, max := 3*timeout+300*time.Millisecond, cl.Budget()+300*time.Millisecond; elapsed < min || elapsed > max {
		t.Fatalf("broadcast took %s, want between %s and %s", elapsed, min, max)
	}
	if got := slow.echo.Load(); got != 3 {
		t.Fatalf("slow peer saw %d attempts, want 3", got)
	}
	if got := good.echo.Load(); got != 1 {
		t.Fatalf("good peer saw %d calls, want 1", got)
	}
	got := map[string]error{}
	for _, r := range results {
		got[r.ID] = r.Err
	}
	if len(got) != 3 {
		t.Fatalf("results for %v, want n2, n3 and n4", got)
	}
	tests := []struct {
		node    string
		wantErr error
		result  string
	}{
		{"n2", nil, "ok"},
		{"n3", ErrUnreachable, "error"},
		{"n4", ErrTimeout, "timeout"},
	}
	reach := cl.Reachability()
	for _, tt := range tests {
		t.Run(tt.node, func(t *testing.T) {
			err := got[tt.node]
			if (tt.wantErr == nil) != (err == nil) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if want := tt.node + " " + EndpointCacheInvalidate + " " + tt.result; !m.has(want) {
				t.Fatalf("metrics %v, want %q", m.calls, want)
			}
			r := reach[tt.node]
			if tt.wantErr == nil && r.LastOK.IsZero() {
				t.Fatalf("reachability = %+v, want a last OK", r)
			}
			if tt.wantErr != nil && (r.LastError == "" || r.LastErrorAt.IsZero()) {
				t.Fatalf("reachability = %+v, want the error", r)
			}
		})
	}
	if logs := c.log.String(); !strings.Contains(logs, "peer broadcast call failed") || !strings.Contains(logs, "peer=n4") {
		t.Fatalf("failures not logged:\n%s", logs)
	}
}

func TestBroadcastCannotListPeers(t *testing.T) {
	c := setup(t, func(group) {})
	cl := newClient(c, &fakeDir{table: c.table, self: "n1", listErr: errors.New("database down")}, nil, time.Second)
	res := cl.Broadcast(context.Background(), http.MethodPost, "/echo", "/echo", nil)
	if len(res) != 1 || res[0].ID != "" || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "database down") {
		t.Fatalf("results = %+v, want one error", res)
	}
}

func TestStream(t *testing.T) {
	var n counters
	c := setup(t, clientRoutes(&n, 0))
	cl := newClient(c, c.n1, nil, time.Second)
	n2 := Target{ID: "n2", URL: c.srv.URL}
	body, size, err := cl.Stream(context.Background(), n2, ReportFilePath("r1"), EndpointReportFile)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(body)
	_ = body.Close()
	if err != nil || string(data) != "a,b\n1,2\n3,4" || size != 11 {
		t.Fatalf("got %q (%d bytes announced), %v", data, size, err)
	}
	if _, _, err := cl.Stream(context.Background(), n2, ReportFilePath("r2"), EndpointReportFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: err = %v, want fs.ErrNotExist", err)
	}

	// The timeout bounds the wait for the headers, not the transfer.
	short := newClient(c, c.n1, nil, 200*time.Millisecond)
	body, _, err = short.Stream(context.Background(), n2, ReportFilePath("big"), EndpointReportFile)
	if err != nil {
		t.Fatal(err)
	}
	data, err = io.ReadAll(body)
	_ = body.Close()
	if err != nil || string(data) != "first,second" {
		t.Fatalf("slow transfer: got %q, %v", data, err)
	}
	if r := short.Reachability()["n2"]; r.LastOK.IsZero() {
		t.Fatalf("reachability = %+v, want a last OK", r)
	}
}
