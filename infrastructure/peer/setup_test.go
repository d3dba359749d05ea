package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// nodeTable is the shared node table the fake directories read.
type nodeTable struct {
	mu    sync.Mutex
	nodes map[string]fakeNode
	order []string
}

type fakeNode struct {
	target Target
	secret string
	up     bool
}

func (n *nodeTable) put(id, url, secret string, up bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.nodes[id]; !ok {
		n.order = append(n.order, id)
	}
	n.nodes[id] = fakeNode{Target{ID: id, URL: url}, secret, up}
}

// fakeDir is one node's view of the table.
type fakeDir struct {
	table   *nodeTable
	self    string
	listErr error
}

func (d *fakeDir) Self() (string, string) {
	d.table.mu.Lock()
	defer d.table.mu.Unlock()
	return d.self, d.table.nodes[d.self].secret
}

func (d *fakeDir) LivePeers(context.Context) ([]Target, error) {
	if d.listErr != nil {
		return nil, d.listErr
	}
	d.table.mu.Lock()
	defer d.table.mu.Unlock()
	var out []Target
	for _, id := range d.table.order {
		if n := d.table.nodes[id]; id != d.self && n.up {
			out = append(out, n.target)
		}
	}
	return out, nil
}

func (d *fakeDir) Lookup(_ context.Context, id string) (Target, string, bool, error) {
	d.table.mu.Lock()
	defer d.table.mu.Unlock()
	n, ok := d.table.nodes[id]
	if !ok {
		return Target{}, "", false, fmt.Errorf("look up %s: %w", id, ErrUnknownNode)
	}
	return n.target, n.secret, n.up, nil
}

// fakeMetrics records PeerCall as "target endpoint result".
type fakeMetrics struct {
	mu    sync.Mutex
	calls []string
}

func (m *fakeMetrics) PeerCall(target, endpoint, result string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, target+" "+endpoint+" "+result)
}

func (m *fakeMetrics) has(s string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.calls {
		if c == s {
			return true
		}
	}
	return false
}

// logBuf is a goroutine-safe log sink.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// cluster is two real nodes: n1 (the caller) and n2 (a server with the
// Verifier in front of routes the test adds).
type cluster struct {
	table *nodeTable
	n1    *fakeDir
	n2    *fakeDir
	mux   *http.ServeMux
	srv   *httptest.Server
	log   *logBuf
}

// setup starts n2's server with routes (under BasePath, behind the
// Verifier), as a node that started an hour ago.
func setup(t *testing.T, routes func(g group)) *cluster {
	t.Helper()
	return setupStarted(t, routes, time.Now().Add(-time.Hour))
}

// setupStarted is setup for a node that started at started.
func setupStarted(t *testing.T, routes func(g group), started time.Time) *cluster {
	t.Helper()
	table := &nodeTable{nodes: map[string]fakeNode{}}
	c := &cluster{table: table, n1: &fakeDir{table: table, self: "n1"}, n2: &fakeDir{table: table, self: "n2"}, log: &logBuf{}}
	c.mux = http.NewServeMux()
	v := NewVerifier(c.n2, slog.New(slog.NewTextHandler(c.log, nil)), nil, started)
	routes(group{c.mux})
	c.srv = httptest.NewServer(verified(v, c.mux))
	t.Cleanup(c.srv.Close)
	table.put("n1", "http://127.0.0.1:1", "secret-of-n1", true)
	table.put("n2", c.srv.URL, "secret-of-n2", true)
	return c
}

// deadURL is a URL where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// group adds a test server's handlers under BasePath.
type group struct{ mux *http.ServeMux }

func (g group) handle(method, path string, h http.HandlerFunc) {
	g.mux.HandleFunc(method+" "+BasePath+path, h)
}

type callerKey struct{}

// verified answers as interfaces/peer's middleware does: the Verifier's
// rejection as JSON, or the handler with the caller's id for callerOf.
func verified(v *Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		node, rej := v.Verify(r)
		if rej != nil {
			if rej.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", Challenge)
			}
			writeJSON(w, rej.Status, map[string]string{"error": rej.Slug, "message": rej.Message})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, node)))
	})
}

func callerOf(r *http.Request) string {
	id, _ := r.Context().Value(callerKey{}).(string)
	return id
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
