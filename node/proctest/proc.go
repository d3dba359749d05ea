package proctest

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts and sizes of the harness.
const (
	// ReadyTimeout is how long Start and Restart wait for GET /readyz to
	// answer 200.
	ReadyTimeout = 20 * time.Second
	// LogTailLines is how many lines of a node's log a failure report shows.
	LogTailLines = 60

	pollInterval = 50 * time.Millisecond
	exitTimeout  = 10 * time.Second // after SIGKILL
	portAttempts = 3                // when a free port is taken before the node binds it
)

// ErrStillRunning is returned (wrapped) by Term when the process outlives
// its timeout.
var ErrStillRunning = errors.New("process still running")

// Proc is one cadre process started by Start. The exported fields do not
// change after Start returns; Restart reuses all of them.
type Proc struct {
	// NodeID is the -Dmidpoint.nodeId value as given to Start (it may be an
	// expression such as ${sequence:1:9:node%d}; empty means none was passed).
	NodeID string
	// Port is the HTTP port (-Dserver.port).
	Port int
	// URL is http://127.0.0.1:<Port>, without a trailing slash; https with
	// -Dserver.ssl.certificate, and with -Dserver.servlet.context-path appended.
	URL string
	// Home is midpoint.home, a fresh directory under t.TempDir(); it is also
	// the process's working directory. The default SQLite database lives here.
	Home string
	// LogPath is the file that receives stdout and stderr of every run; a
	// restart appends to it after a marker line.
	LogPath string

	t        testing.TB
	bin      string
	args     []string
	waitPath string       // /readyz, or /healthz for StartServing
	hc       *http.Client // trusts -Dserver.ssl.trust-certificate, if any
	tls      *tls.Config  // hc's TLS settings, nil for plain HTTP

	mu       sync.Mutex
	cur      *run
	tailSeen bool // the failure message already holds the log's tail
}

// run is one execution of the binary.
type run struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // exit error of cmd.Wait; read only after done is closed
}

func (r *run) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Start runs the cadre binary (see Binary) as node nodeID with
// -Dmidpoint.home, -Dserver.port and -Dmidpoint.nodeId set, followed by args,
// and waits up to ReadyTimeout for GET /readyz to answer 200. The port is a
// free one picked by the kernel; the home and log live under t.TempDir().
//
// When the test ends the process is killed (SIGCONT, then SIGKILL) if still
// running, and if the test failed the last LogTailLines lines of its log are
// printed with t.Log. A node that does not become ready fails the test with
// the tail of its log.
func Start(t testing.TB, nodeID string, args ...string) *Proc {
	t.Helper()
	return start(t, "/readyz", nodeID, args)
}

// StartServing is Start for a node that is expected not to become ready
// (an id conflict, say): it waits only until GET /healthz answers.
func StartServing(t testing.TB, nodeID string, args ...string) *Proc {
	t.Helper()
	return start(t, "/healthz", nodeID, args)
}

func start(t testing.TB, waitPath, nodeID string, args []string) *Proc {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir() // before t.Cleanup below: cleanups run last-in first-out
	p := &Proc{
		NodeID:   nodeID,
		Home:     filepath.Join(dir, "home"),
		LogPath:  filepath.Join(dir, logName(nodeID)),
		t:        t,
		bin:      bin,
		waitPath: waitPath,
		args:     slices.Clone(args),
	}
	if err := os.Mkdir(p.Home, 0o755); err != nil {
		t.Fatalf("start %s: %v", p.name(), err)
	}
	t.Cleanup(p.cleanup)
	scheme, path, tlsConfig, err := serving(args)
	if err != nil {
		t.Fatalf("start %s: %v", p.name(), err)
	}
	p.hc, p.tls = clientFor(tlsConfig), tlsConfig

	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("start %s: %v", p.name(), err)
		}
		p.Port, p.URL = port, scheme+"://127.0.0.1:"+strconv.Itoa(port)+path
		logStart := logSize(p.LogPath)
		if err = p.launch(); err == nil {
			err = p.waitReady()
		}
		if err == nil {
			return p
		}
		// Between closing the probe listener and the node binding the port,
		// another process may take it. Try another port in that case only.
		if attempt < portAttempts && !p.Alive() && strings.Contains(p.logFrom(logStart), "address already in use") {
			p.appendLog(fmt.Sprintf("port %d was taken; retrying on another port", port))
			continue
		}
		p.failedStart()
		t.Fatalf("start %s: %v\n--- last %d lines of %s ---\n%s", p.name(), err, LogTailLines, p.LogPath, p.tail(LogTailLines))
	}
}

// Restart starts the process again with the same node id, port, home and
// arguments, after it has exited (use Kill or Term first), and waits until it
// is ready, as Start does.
func (p *Proc) Restart(t testing.TB) {
	t.Helper()
	if p.Alive() {
		t.Fatalf("restart %s: still running; Kill or Term it first", p.name())
	}
	p.appendLog("restart")
	err := p.launch()
	if err == nil {
		err = p.waitReady()
	}
	if err != nil {
		p.failedStart()
		t.Fatalf("restart %s: %v\n--- last %d lines of %s ---\n%s", p.name(), err, LogTailLines, p.LogPath, p.tail(LogTailLines))
	}
}

// Kill sends SIGKILL and waits for the process to exit. It does nothing when
// the process has already exited.
func (p *Proc) Kill() {
	p.t.Helper()
	if err := p.kill(); err != nil {
		p.t.Errorf("kill %s: %v", p.name(), err)
	}
}

// Stop sends SIGSTOP and, on Linux, waits until the kernel reports the
// process stopped: it then neither answers HTTP nor checks in, like a node
// that hangs or is cut off. Cont resumes it.
func (p *Proc) Stop() {
	p.t.Helper()
	r := p.current()
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		p.t.Errorf("stop %s: %v", p.name(), err)
		return
	}
	if !waitStopped(r.cmd.Process.Pid, exitTimeout) && !r.exited() {
		p.t.Errorf("stop %s: not reported stopped after %v", p.name(), exitTimeout)
	}
}

// Cont sends SIGCONT, resuming a process paused by Stop. It does nothing when
// the process has already exited.
func (p *Proc) Cont() {
	p.t.Helper()
	if err := p.current().cmd.Process.Signal(syscall.SIGCONT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Errorf("cont %s: %v", p.name(), err)
	}
}

// Term sends SIGTERM (a graceful stop) and waits up to timeout for the
// process to exit. It returns the exit error (nil for exit status 0), or an
// error wrapping ErrStillRunning when the process outlives timeout; the
// process is then left running. A stopped process handles SIGTERM only after
// Cont.
func (p *Proc) Term(timeout time.Duration) error {
	r := p.current()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("sigterm %s: %w", p.name(), err)
	}
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		return fmt.Errorf("%s %v after SIGTERM: %w", p.name(), timeout, ErrStillRunning)
	}
}

// Alive reports whether the current run has not exited yet (a stopped
// process is alive).
func (p *Proc) Alive() bool { return !p.current().exited() }

// Pid is the process id of the node's current process (it changes on Restart).
func (p *Proc) Pid() int { return p.current().cmd.Process.Pid }

// Exited returns a channel closed when the current run exits. After Restart
// it is a new channel.
func (p *Proc) Exited() <-chan struct{} { return p.current().done }

// Log returns the whole log file: stdout and stderr of every run.
func (p *Proc) Log() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", p.LogPath, err)
	}
	return string(b)
}

// Admin returns a client for the node's API as the administrator.
func (p *Proc) Admin() Client {
	return Client{Base: p.URL, User: AdminUser, Pass: AdminPassword, HTTP: p.hc}
}

func (p *Proc) name() string {
	if p.NodeID == "" {
		return "node"
	}
	return "node " + p.NodeID
}

func (p *Proc) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

func (p *Proc) argv() []string {
	argv := []string{
		"-Dmidpoint.home=" + p.Home,
		"-Dserver.port=" + strconv.Itoa(p.Port),
	}
	if p.NodeID != "" {
		argv = append(argv, "-Dmidpoint.nodeId="+p.NodeID)
	}
	return append(argv, p.args...)
}

// launch starts one run of the binary.
func (p *Proc) launch() error {
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer f.Close() // the child has its own copy once started
	cmd := exec.Command(p.bin, p.argv()...)
	cmd.Dir = p.Home
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", p.bin, err)
	}
	r := &run{cmd: cmd, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	p.mu.Lock()
	p.cur = r
	p.tailSeen = false
	p.mu.Unlock()
	return nil
}

// waitReady polls GET /readyz until it answers 200 for this node, the run
// exits, or ReadyTimeout passes.
func (p *Proc) waitReady() error {
	r := p.current()
	// p.tls, not p.hc's transport: the shared plain-HTTP transport is in
	// use by other tests, and its first request writes its TLS settings.
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: p.tls}
	client := &http.Client{Timeout: time.Second, Transport: tr}
	deadline := time.NewTimer(ReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if p.answersReady(client) && !r.exited() {
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("exited before it was ready: %v", r.err)
		case <-deadline.C:
			return fmt.Errorf("GET /readyz not 200 after %v", ReadyTimeout)
		case <-tick.C:
		}
	}
}

// answersReady reports whether /readyz says ready, and, when the node id is
// a literal, that it is this node answering and not another process that
// took the port.
func (p *Proc) answersReady(client *http.Client) bool {
	resp, err := client.Get(p.URL + p.waitPath)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Node string `json:"node"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body) != nil {
		return false
	}
	return p.NodeID == "" || strings.Contains(p.NodeID, "$") || body.Node == p.NodeID
}

// kill sends SIGCONT then SIGKILL to a running process and waits for it.
func (p *Proc) kill() error {
	r := p.current()
	if r == nil || r.exited() {
		return nil
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a stopped process dies either way; be explicit
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-r.done:
		return nil
	case <-time.After(exitTimeout):
		return fmt.Errorf("still running %v after SIGKILL", exitTimeout)
	}
}

// failedStart kills a run that did not become ready, before the failure
// message shows the tail of its log (which cleanup then does not repeat).
func (p *Proc) failedStart() {
	_ = p.kill()
	p.mu.Lock()
	p.tailSeen = true
	p.mu.Unlock()
}

func (p *Proc) cleanup() {
	if err := p.kill(); err != nil {
		p.t.Errorf("cleanup %s: %v", p.name(), err)
	}
	p.mu.Lock()
	seen := p.tailSeen
	p.mu.Unlock()
	if p.t.Failed() && !seen {
		p.t.Logf("--- last %d lines of %s (%s) ---\n%s", LogTailLines, p.LogPath, p.name(), p.tail(LogTailLines))
	}
}

// appendLog writes a marker line into the log, between runs.
func (p *Proc) appendLog(msg string) {
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "=== proctest %s: %s ===\n", time.Now().Format(time.RFC3339Nano), msg)
}

// tail returns the last n lines of the log.
func (p *Proc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logFrom returns the log from byte offset off on.
func (p *Proc) logFrom(off int64) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logName turns a node id into a safe file name.
func logName(nodeID string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, nodeID)
	if strings.Trim(name, "._") == "" {
		name = "node"
	}
	return name + ".log"
}

// freePort asks the kernel for a free TCP port; it is closed again before
// the node binds it (Start retries when someone else was faster).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// FreePort is a TCP port the kernel says is free, closed again before the
// caller hands it on (to a node, pgbouncer, nginx or a PostgreSQL cluster):
// another process may take it meanwhile, which Start's own retries allow for.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// childEnv is this process's environment without the variables that would
// configure the node behind the test's back (MIDPOINT_HOME, MP_SET_*): a
// node's configuration is exactly its arguments.
func childEnv() []string {
	env := os.Environ()
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "MIDPOINT_HOME=") || strings.HasPrefix(kv, "MP_SET_")
	})
}
