package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"cadre/infrastructure/metrics"
)

// Options tune the client. Zero values take the defaults.
type Options struct {
	// Timeout bounds one attempt (connect, send, read the answer); default 2s.
	// For Stream it bounds the wait for the response headers only.
	Timeout time.Duration
	// Retries after the first attempt, on network errors, timeouts and 5xx
	// answers, waiting 100ms·2^n before retry n; default 2, negative for none.
	Retries int
	// Now is the clock for signatures and reachability; default time.Now.
	Now func() time.Time
	// TLS verifies https URLs of peers; nil means the system roots.
	TLS *tls.Config
	// OnRefused, when set, is told the id of a node whose URL refused the
	// connection (nothing listens there: the process may have died).
	OnRefused func(nodeID string)
}

// Result is the outcome of a broadcast call to one node.
type Result struct {
	Target
	Err error
}

// Reach is what the client last saw of a node.
type Reach struct {
	LastOK      time.Time // last successful call; zero if none
	LastError   string    // text of the last failed call; empty if none
	LastErrorAt time.Time
}

// maxAnswer bounds a decoded JSON answer.
const maxAnswer = 4 << 20

var errAttemptTimeout = errors.New("attempt timed out")

// Client makes signed calls to other nodes. It is safe for concurrent use and
// reuses connections per node.
type Client struct {
	dir  Directory
	m    Metrics
	log  *slog.Logger
	opt  Options
	http *http.Client

	mu    sync.Mutex
	reach map[string]Reach
}

// NewClient builds a client; m and log may be nil.
func NewClient(dir Directory, m Metrics, log *slog.Logger, opt Options) *Client {
	if opt.Timeout <= 0 {
		opt.Timeout = 2 * time.Second
	}
	if opt.Retries == 0 {
		opt.Retries = 2
	}
	if opt.Retries < 0 {
		opt.Retries = 0
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // intra-cluster traffic goes straight to the node
	tr.MaxIdleConnsPerHost = 8
	if opt.TLS != nil {
		tr.TLSClientConfig = opt.TLS
	}
	return &Client{dir: dir, m: m, log: log, opt: opt, http: &http.Client{
		Transport: tr,
		// A redirect would be followed unsigned; report it instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, reach: map[string]Reach{}}
}

// CloseIdleConnections closes the connections kept alive to other nodes;
// their reading goroutines would otherwise outlive a stopped node.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Budget is the longest a Call can take: Timeout × (Retries+1) plus the backoffs.
func (c *Client) Budget() time.Duration {
	d := c.opt.Timeout * time.Duration(c.opt.Retries+1)
	for n := range c.opt.Retries {
		d += backoff(n)
	}
	return d
}

func backoff(n int) time.Duration { return 100 * time.Millisecond << n }

// Call sends one signed request to node t and decodes its JSON answer into out
// (nil to ignore it). path is under BasePath, with any query
// ("/tasks/abc/stop"); endpoint is its pattern for metrics ("/tasks/{oid}/stop").
// body is sent as JSON unless nil. Errors wrap ErrUnreachable (ErrTimeout)
// or ErrBadAnswer (an answer that does not decode), or are a *StatusError
// (401 matches ErrUnauthorized, 5xx ErrBadAnswer).
func (c *Client) Call(ctx context.Context, t Target, method, path, endpoint string, body, out any) error {
	payload, err := encode(body)
	if err != nil {
		return err
	}
	return c.call(ctx, t, method, path, endpoint, payload, out)
}

func encode(body any) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode peer call body: %w", err)
	}
	return b, nil
}

func (c *Client) call(ctx context.Context, t Target, method, path, endpoint string, payload []byte, out any) (err error) {
	defer func() { c.record(t.ID, endpoint, err) }()
	a, err := c.send(ctx, t, method, path, payload)
	if err != nil {
		return err
	}
	defer a.done()
	data, err := io.ReadAll(io.LimitReader(a.resp.Body, maxAnswer+1))
	if err != nil {
		return a.wrapNetErr(ctx, t, err)
	}
	if a.resp.StatusCode < 200 || a.resp.StatusCode > 299 {
		return statusError(t.ID, a.resp, data)
	}
	if len(data) > maxAnswer {
		return fmt.Errorf("%w: answer of node %s to %s is larger than %d bytes", ErrBadAnswer, t.ID, endpoint, maxAnswer)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: decode answer of node %s to %s: %w", ErrBadAnswer, t.ID, endpoint, err)
	}
	return nil
}

// Broadcast calls every live peer concurrently and waits for all of them. It
// returns within Budget (plus the Directory lookup, itself bounded by Timeout)
// and never fails as a whole: when the peers cannot be listed it returns one
// Result with an empty Target and the error. Failures are logged.
func (c *Client) Broadcast(ctx context.Context, method, path, endpoint string, body any) []Result {
	lctx, cancel := context.WithTimeout(ctx, c.opt.Timeout)
	peers, err := c.dir.LivePeers(lctx)
	cancel()
	if err != nil {
		err = fmt.Errorf("list live peers for %s: %w", endpoint, err)
		c.log.WarnContext(ctx, "peer broadcast not sent", "endpoint", endpoint, "err", err)
		return []Result{{Err: err}}
	}
	payload, err := encode(body)
	if err != nil {
		return []Result{{Err: err}}
	}
	bctx, cancel := context.WithTimeout(ctx, c.Budget()+100*time.Millisecond)
	defer cancel()
	results := make([]Result, len(peers))
	var wg sync.WaitGroup
	for i, t := range peers {
		wg.Go(func() {
			err := c.call(bctx, t, method, path, endpoint, payload, nil)
			results[i] = Result{Target: t, Err: err}
			if err != nil {
				c.log.WarnContext(ctx, "peer broadcast call failed", "peer", t.ID, "endpoint", endpoint, "err", err)
			}
		})
	}
	wg.Wait()
	return results
}

// Stream GETs path (under BasePath) from node t, signed, and returns the body
// to stream with its length (-1 if unknown); the caller closes it. Timeout
// bounds the wait for the headers, not the transfer. A non-200 answer is a
// *StatusError (404 matches fs.ErrNotExist).
func (c *Client) Stream(ctx context.Context, t Target, path, endpoint string) (_ io.ReadCloser, _ int64, err error) {
	defer func() { c.record(t.ID, endpoint, err) }()
	a, err := c.send(ctx, t, http.MethodGet, path, nil)
	if err != nil {
		return nil, 0, err
	}
	if !a.timer.Stop() { // the attempt timed out just now
		a.done()
		return nil, 0, fmt.Errorf("node %s: %w after %s", t.ID, ErrTimeout, c.opt.Timeout)
	}
	if a.resp.StatusCode != http.StatusOK {
		defer a.done()
		data, _ := io.ReadAll(io.LimitReader(a.resp.Body, 4096))
		return nil, 0, statusError(t.ID, a.resp, data)
	}
	return &streamBody{ReadCloser: a.resp.Body, cancel: a.cancel}, a.resp.ContentLength, nil
}

type streamBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *streamBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// Reachability is, per node id, what the client last saw of it.
func (c *Client) Reachability() map[string]Reach {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Reach, len(c.reach))
	for k, v := range c.reach {
		out[k] = v
	}
	return out
}

func (c *Client) record(node, endpoint string, err error) {
	result := metrics.PeerOK
	switch {
	case err == nil:
	case errors.Is(err, ErrUnauthorized):
		result = metrics.PeerUnauthorized
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		result = metrics.PeerTimeout
	default:
		result = metrics.PeerError
	}
	if c.m != nil {
		c.m.PeerCall(node, endpoint, result)
	}
	if c.opt.OnRefused != nil && errors.Is(err, syscall.ECONNREFUSED) {
		c.opt.OnRefused(node)
	}
	now := c.opt.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reach[node]
	if err == nil {
		r.LastOK = now
	} else {
		r.LastError, r.LastErrorAt = err.Error(), now
	}
	c.reach[node] = r
}

// attempt is a response whose attempt context is still open.
type attempt struct {
	resp   *http.Response
	timer  *time.Timer
	cancel context.CancelCauseFunc
	actx   context.Context
	limit  time.Duration
}

func (a *attempt) done() {
	a.timer.Stop()
	_ = a.resp.Body.Close()
	a.cancel(nil)
}

// wrapNetErr turns a transport error into ErrTimeout or ErrUnreachable.
func (a *attempt) wrapNetErr(ctx context.Context, t Target, err error) error {
	if ctx.Err() == nil && errors.Is(context.Cause(a.actx), errAttemptTimeout) {
		return fmt.Errorf("node %s: %w after %s", t.ID, ErrTimeout, a.limit)
	}
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
		return fmt.Errorf("node %s: %w: %w", t.ID, ErrTimeout, err)
	}
	return fmt.Errorf("node %s: %w: %w", t.ID, ErrUnreachable, err)
}

// send makes attempts until one gets a non-5xx answer, retries run out or ctx ends.
func (c *Client) send(ctx context.Context, t Target, method, path string, payload []byte) (*attempt, error) {
	if t.URL == "" {
		return nil, fmt.Errorf("node %s: %w: its URL is not known", t.ID, ErrUnreachable)
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := strings.TrimSuffix(t.URL, "/") + BasePath + path
	self, secret := c.dir.Self()
	var last error
	for n := 0; ; n++ {
		if n > 0 {
			w := time.NewTimer(backoff(n - 1))
			select {
			case <-ctx.Done():
				w.Stop()
				return nil, fmt.Errorf("%w (after: %w)", ctx.Err(), last)
			case <-w.C:
			}
		}
		a, err := c.try(ctx, t, method, url, self, secret, payload)
		if err == nil && a.resp.StatusCode < 500 {
			return a, nil
		}
		if err == nil {
			data, _ := io.ReadAll(io.LimitReader(a.resp.Body, 4096))
			err = statusError(t.ID, a.resp, data)
			a.done()
		}
		last = err
		if ctx.Err() != nil || n >= c.opt.Retries {
			return nil, last
		}
		c.log.DebugContext(ctx, "peer call retry", "peer", t.ID, "path", path, "attempt", n+1, "err", err)
	}
}

func (c *Client) try(ctx context.Context, t Target, method, url, self, secret string, payload []byte) (*attempt, error) {
	actx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(c.opt.Timeout, func() { cancel(errAttemptTimeout) })
	a := &attempt{timer: timer, cancel: cancel, actx: actx, limit: c.opt.Timeout}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, url, body)
	if err != nil {
		timer.Stop()
		cancel(nil)
		return nil, fmt.Errorf("node %s: bad URL %q: %w", t.ID, url, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	Sign(req, self, t.ID, secret, payload, c.opt.Now())
	resp, err := c.http.Do(req)
	if err != nil {
		err = a.wrapNetErr(ctx, t, err)
		timer.Stop()
		cancel(nil)
		return nil, err
	}
	a.resp = resp
	return a, nil
}

func statusError(node string, resp *http.Response, data []byte) error {
	e := &StatusError{Node: node, Status: resp.StatusCode}
	var p struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &p) == nil && (p.Error != "" || p.Message != "") {
		e.Slug, e.Message = p.Error, p.Message
	} else {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		e.Message = msg
	}
	return e
}
