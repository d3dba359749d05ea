package peer

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Verification limits.
const (
	// MaxSkew is how far a request's timestamp may be from the verifier's clock.
	MaxSkew = 60 * time.Second
	// NonceTTL is how long a nonce is remembered; it covers the whole ±MaxSkew window.
	NonceTTL = 2 * MaxSkew
	// MaxBody is the largest signed request body read, 1 MiB.
	MaxBody = 1 << 20
	// maxNonces bounds the replay cache (≈ 2,000 requests a second over NonceTTL);
	// when full, new requests get 503 and the caller retries.
	maxNonces   = 1 << 18
	maxNonceLen = 64
)

// Verifier authenticates signed calls from other nodes.
type Verifier struct {
	dir     Directory
	log     *slog.Logger
	now     func() time.Time
	nonces  *nonceCache
	started time.Time
}

// NewVerifier builds a verifier; now defaults to time.Now, log to discard.
// started is when this node's process started (zero: now): a call signed
// before it is refused, since the nonces seen before a restart are gone
// and it could be a replay of one of them.
func NewVerifier(dir Directory, log *slog.Logger, now func() time.Time, started time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if started.IsZero() {
		started = now()
	}
	return &Verifier{dir: dir, log: log, now: now, nonces: newNonceCache(NonceTTL, maxNonces), started: started}
}

// Rejection is why a request was refused, for the caller: the HTTP status,
// the error slug and a message that never tells an unknown node from a bad
// signature. The precise reason goes to the log only.
type Rejection struct {
	Status  int
	Slug    string
	Message string
}

// Challenge is the WWW-Authenticate header value of a 401 answer.
const Challenge = `Cadre-HMAC realm="cadre-cluster"`

// rejection is why a request was refused: reason goes to the log, public
// (reason when empty) to the caller.
type rejection struct {
	status int
	slug   string
	reason string
	public string
}

func unauthorized(format string, args ...any) *rejection {
	return &rejection{status: http.StatusUnauthorized, slug: "peer-unauthorized", reason: fmt.Sprintf(format, args...)}
}

// unauthenticated is a rejection whose answer does not tell an unknown node
// from a known one with a wrong signature, so an unauthenticated caller
// cannot learn which node ids exist; the log has the precise reason.
func unauthenticated(node, format string, args ...any) *rejection {
	r := unauthorized(format, args...)
	r.public = fmt.Sprintf("unknown node or bad signature from node %s", node)
	return r
}

// dummySecret is signed against for an unknown node, so that answering it
// takes as long as answering a known one.
const dummySecret = "cadre-no-such-node"

// Verify checks a request's signature, timestamp and nonce and returns the
// calling node's id. It rejects (and logs a warning) with 401
// peer-unauthorized an unsigned request, an unknown node, a bad signature, a
// timestamp off by more than MaxSkew, or a replayed nonce; with 413 a body
// over MaxBody; with 503 when the node table cannot be read. On success the
// body is restored for the handler. The driving adapter (interfaces/peer)
// turns a rejection into its answer.
//
// A caller marked DOWN is still accepted: the signature with its secret proves
// who it is, and a node that was marked DOWN during a stall must still be able
// to send invalidations while it recovers.
func (v *Verifier) Verify(r *http.Request) (string, *Rejection) {
	node, rej := v.verify(r)
	if rej == nil {
		return node, nil
	}
	attrs := []any{"reason", rej.reason, "caller", node, "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path}
	if rej.status == http.StatusServiceUnavailable {
		v.log.ErrorContext(r.Context(), "peer request not verified", attrs...)
	} else {
		v.log.WarnContext(r.Context(), "peer request rejected", attrs...)
	}
	msg := rej.public
	if msg == "" {
		msg = rej.reason
	}
	return node, &Rejection{Status: rej.status, Slug: rej.slug, Message: msg}
}

func (v *Verifier) verify(r *http.Request) (string, *rejection) {
	node, ts, nonce, sig := r.Header.Get(HeaderNode), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderNonce), r.Header.Get(HeaderSignature)
	if node == "" || ts == "" || nonce == "" || sig == "" {
		return node, unauthorized("unsigned request")
	}
	if len(nonce) > maxNonceLen {
		return node, unauthorized("bad nonce from node %s", node)
	}
	body, rej := readBody(r)
	if rej != nil {
		return node, rej
	}
	_, secret, up, err := v.dir.Lookup(r.Context(), node)
	rej = nil
	switch {
	case errors.Is(err, ErrUnknownNode):
		rej, secret = unauthenticated(node, "unknown node %s", node), dummySecret
	case err != nil:
		return node, &rejection{status: http.StatusServiceUnavailable, slug: "unavailable", reason: fmt.Sprintf("look up node %s: %v", node, err)}
	case secret == "":
		rej, secret = unauthenticated(node, "node %s has no secret yet", node), dummySecret
	}
	self, _ := v.dir.Self()
	got, err := hex.DecodeString(sig)
	pathQuery := r.RequestURI
	if pathQuery == "" {
		pathQuery = r.URL.RequestURI()
	}
	valid := err == nil && hmac.Equal(got, mac(secret, self, r.Method, pathQuery, ts, nonce, body))
	if rej != nil {
		return node, rej
	}
	if !valid {
		// Signed for another node (a replay, or a wrong URL)? Only the
		// holder of the caller's secret can have made such a signature.
		if target := r.Header.Get(HeaderTarget); target != "" && target != self && err == nil &&
			hmac.Equal(got, mac(secret, target, r.Method, pathQuery, ts, nonce, body)) {
			return node, unauthorized("request from node %s was signed for node %s, not this node %s", node, target, self)
		}
		return node, unauthenticated(node, "bad signature from node %s", node)
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return node, unauthorized("bad timestamp from node %s", node)
	}
	now := v.now()
	if off := now.Sub(time.UnixMilli(ms)); off > MaxSkew || off < -MaxSkew {
		return node, unauthorized("stale timestamp from node %s (off by %ds)", node, int64(off.Round(time.Second)/time.Second))
	}
	if time.UnixMilli(ms).Before(v.started.Truncate(time.Millisecond)) {
		return node, unauthorized("request from node %s was signed before this node started (a replay from before its restart?)", node)
	}
	switch v.nonces.add(node+"\n"+nonce, now) {
	case nonceReplayed:
		return node, unauthorized("replayed request from node %s", node)
	case nonceFull:
		return node, &rejection{status: http.StatusServiceUnavailable, slug: "peer-busy", reason: "too many peer requests to remember their nonces; retry shortly"}
	}
	if !up {
		v.log.InfoContext(r.Context(), "peer request from a node marked down", "caller", node, "path", r.URL.Path)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return node, nil
}

func readBody(r *http.Request) ([]byte, *rejection) {
	tooLarge := &rejection{status: http.StatusRequestEntityTooLarge, slug: "too-large", reason: "request body is larger than 1 MiB"}
	if r.ContentLength > MaxBody {
		return nil, tooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || len(body) > MaxBody {
		return nil, tooLarge
	}
	if err != nil {
		return nil, &rejection{status: http.StatusBadRequest, slug: "bad-request", reason: "read body: " + err.Error()}
	}
	return body, nil
}

type nonceResult int

const (
	nonceFresh nonceResult = iota
	nonceReplayed
	nonceFull
)

// nonceCache remembers nonces for ttl, in insertion order so pruning is cheap.
type nonceCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	seen  map[string]struct{}
	order []nonceEntry // by expiry, oldest first from head
	head  int
}

type nonceEntry struct {
	key string
	exp time.Time
}

func newNonceCache(ttl time.Duration, max int) *nonceCache {
	return &nonceCache{ttl: ttl, max: max, seen: map[string]struct{}{}}
}

func (n *nonceCache) add(key string, now time.Time) nonceResult {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.prune(now)
	if _, ok := n.seen[key]; ok {
		return nonceReplayed
	}
	if len(n.seen) >= n.max {
		return nonceFull
	}
	n.seen[key] = struct{}{}
	n.order = append(n.order, nonceEntry{key, now.Add(n.ttl)})
	return nonceFresh
}

func (n *nonceCache) prune(now time.Time) {
	for n.head < len(n.order) && !n.order[n.head].exp.After(now) {
		delete(n.seen, n.order[n.head].key)
		n.order[n.head] = nonceEntry{}
		n.head++
	}
	if n.head > 1024 && 2*n.head > len(n.order) {
		n.order = append([]nonceEntry(nil), n.order[n.head:]...)
		n.head = 0
	}
}

func (n *nonceCache) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}
