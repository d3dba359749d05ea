package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"cadre/infrastructure/config"
)

// Front is a node's HTTP server from the moment the process starts: until
// the node is built it answers /healthz (200), /readyz (503 with the
// reason) and 503 to everything else, so an orchestrator sees a live
// process that is waiting; Start then hands every request to the node.
type Front struct {
	cfg        *config.Config
	log        *slog.Logger
	instanceID string
	ln         net.Listener // the TCP listener, for the port
	server     *http.Server
	served     chan struct{} // closed when Serve has returned
	node       atomic.Pointer[http.Handler]
	reason     atomic.Pointer[string] // why the node is not serving yet
}

// Listen listens on server.port (0 = any free port) and serves the waiting
// answers until a node is built on it (Open) and started.
func Listen(cfg *config.Config, log *slog.Logger) (*Front, error) {
	return listen(cfg, log, uuid.NewString())
}

func listen(cfg *config.Config, log *slog.Logger, instanceID string) (*Front, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.ServerPort))
	if err != nil {
		return nil, fmt.Errorf("listen on server.port %d: %w", cfg.ServerPort, err)
	}
	f := &Front{cfg: cfg, log: log, instanceID: instanceID, ln: ln, served: make(chan struct{})}
	f.setReason(reasonStarting)
	sec := cfg.Security
	var h http.Handler = f
	if p := cfg.Server.ContextPath; p != "" {
		h = contextPath{prefix: p, next: f}
	}
	f.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10,
		ReadTimeout: sec.HTTPReadTimeout, WriteTimeout: sec.HTTPWriteTimeout, IdleTimeout: sec.HTTPIdleTimeout}
	served := newLimitListener(ln, sec.MaxConnections)
	if served, err = wrapTLS(cfg.Server, served); err != nil {
		_ = ln.Close()
		return nil, err
	}
	go func() { // Serve returns once the server is shut down (Close, Node.Stop)
		defer close(f.served)
		if err := f.server.Serve(served); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	return f, nil
}

// Port is the port the front listens on.
func (f *Front) Port() int { return f.ln.Addr().(*net.TCPAddr).Port }

// Close shuts the server down, for a node that was never started on it.
func (f *Front) Close(ctx context.Context) error {
	err := f.server.Shutdown(ctx)
	<-f.served
	return err
}

// Reasons a front gives on /readyz before the node serves. They are for
// anonymous callers: they name no host, user or database (the log does).
const (
	reasonStarting = "starting"
	reasonWaiting  = "waiting for the database"
)

func (f *Front) setReason(r string) { f.reason.Store(&r) }

// serve hands every later request to h, the node's handler.
func (f *Front) serve(h http.Handler) { f.node.Store(&h) }

func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := f.node.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	reason := *f.reason.Load()
	node := f.cfg.NodeID
	if strings.Contains(node, "${") { // an expression, resolved against the database later
		node = ""
	}
	if node != "" {
		w.Header().Set("X-Served-By", node)
	}
	switch r.URL.Path {
	case "/healthz":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "node": node, "instance": f.instanceID})
	case "/readyz":
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "node": node, "reason": reason})
	default:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "unavailable", "message": "this node is not ready yet: " + reason})
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
