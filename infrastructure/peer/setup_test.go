package peer

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
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
	table  *nodeTable
	n1     *fakeDir
	n2     *fakeDir
	engine *gin.Engine
	srv    *httptest.Server
	log    *logBuf
}

// setup starts n2's server with routes (under BasePath, behind the Verifier).
func setup(t *testing.T, routes func(g *gin.RouterGroup)) *cluster {
	t.Helper()
	gin.SetMode(gin.TestMode)
	table := &nodeTable{nodes: map[string]fakeNode{}}
	c := &cluster{table: table, n1: &fakeDir{table: table, self: "n1"}, n2: &fakeDir{table: table, self: "n2"}, log: &logBuf{}}
	c.engine = gin.New()
	v := NewVerifier(c.n2, slog.New(slog.NewTextHandler(c.log, nil)), nil)
	routes(c.engine.Group(BasePath, v.Middleware()))
	c.srv = httptest.NewServer(c.engine)
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
