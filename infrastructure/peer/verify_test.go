package peer

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func echoRoutes(g group) {
	g.handle(http.MethodPost, "/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		writeJSON(w, http.StatusOK, map[string]string{"caller": callerOf(r), "body": string(body), "query": r.URL.Query().Get("q")})
	})
}

// signed builds a POST to n2's /echo signed by node with secret at now.
func signed(t *testing.T, url, node, secret, body string, now time.Time) *http.Request {
	return signedFor(t, url, node, "n2", secret, body, now)
}

// signedFor is signed for the node target.
func signedFor(t *testing.T, url, node, target, secret, body string, now time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+BasePath+"/echo?q=1", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	Sign(req, node, target, secret, []byte(body), now)
	return req
}

func send(t *testing.T, req *http.Request) (int, map[string]string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestVerifier(t *testing.T) {
	const body = `{"type":"ArchetypeType"}`
	tests := []struct {
		name string
		// reqs are sent in order; the last answer is checked.
		reqs       func(t *testing.T, url string) []*http.Request
		wantStatus int
		wantReason string // message of the 401, or the echoed caller on 200
		wantLog    string // the logged reason, when it differs from the answer
	}{
		{"signed", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signed(t, url, "n1", "secret-of-n1", body, time.Now())}
		}, 200, "n1", ""},
		{"clock 59s behind", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signed(t, url, "n1", "secret-of-n1", body, time.Now().Add(-59*time.Second))}
		}, 200, "n1", ""},
		{"caller marked down is still accepted", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signed(t, url, "n3", "secret-of-n3", body, time.Now())}
		}, 200, "n3", ""},
		{"unsigned", func(t *testing.T, url string) []*http.Request {
			req, _ := http.NewRequest(http.MethodPost, url+BasePath+"/echo", strings.NewReader(body))
			return []*http.Request{req}
		}, 401, "unsigned request", ""},
		{"forged signature", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signed(t, url, "n1", "guessed-secret", body, time.Now())}
		}, 401, "unknown node or bad signature from node n1", "bad signature from node n1"},
		{"body changed after signing", func(t *testing.T, url string) []*http.Request {
			req := signed(t, url, "n1", "secret-of-n1", body, time.Now())
			req.Body = io.NopCloser(strings.NewReader(`{"type":"UserType"}`))
			req.ContentLength = int64(len(`{"type":"UserType"}`))
			return []*http.Request{req}
		}, 401, "unknown node or bad signature from node n1", "bad signature from node n1"},
		{"query changed after signing", func(t *testing.T, url string) []*http.Request {
			req := signed(t, url, "n1", "secret-of-n1", body, time.Now())
			req.URL.RawQuery = "q=2"
			return []*http.Request{req}
		}, 401, "unknown node or bad signature from node n1", "bad signature from node n1"},
		{"signed with another node's secret", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signed(t, url, "n1", "secret-of-n2", body, time.Now())}
		}, 401, "unknown node or bad signature from node n1", "bad signature from node n1"},
		{"signed for another node (replayed to this one)", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signedFor(t, url, "n1", "n3", "secret-of-n1", body, time.Now())}
		}, 401, "request from node n1 was signed for node n3, not this node n2", ""},
		{"signed for another node, target header changed", func(t *testing.T, url string) []*http.Request {
			req := signedFor(t, url, "n1", "n3", "secret-of-n1", body, time.Now())
			req.Header.Set(HeaderTarget, "n2")
			return []*http.Request{req}
		}, 401, "unknown node or bad signature from node n1", "bad signature from node n1"},
		{"unknown node", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signed(t, url, "n9", "secret-of-n9", body, time.Now())}
		}, 401, "unknown node or bad signature from node n9", "unknown node n9"},
		{"node without a secret", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signed(t, url, "n4", "", body, time.Now())}
		}, 401, "unknown node or bad signature from node n4", "node n4 has no secret yet"},
		{"timestamp 61s old", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signed(t, url, "n1", "secret-of-n1", body, time.Now().Add(-61*time.Second))}
		}, 401, "stale timestamp from node n1 (off by 61s)", ""},
		{"timestamp 61s ahead", func(t *testing.T, url string) []*http.Request {
			return []*http.Request{signed(t, url, "n1", "secret-of-n1", body, time.Now().Add(61*time.Second))}
		}, 401, "stale timestamp from node n1 (off by -61s)", ""},
		{"replayed", func(t *testing.T, url string) []*http.Request {
			first := signed(t, url, "n1", "secret-of-n1", body, time.Now())
			again, _ := http.NewRequest(first.Method, first.URL.String(), strings.NewReader(body))
			again.Header = first.Header.Clone()
			return []*http.Request{first, again}
		}, 401, "replayed request from node n1", ""},
		{"body over 1 MiB", func(t *testing.T, url string) []*http.Request {
			big := strings.Repeat("x", MaxBody+1)
			return []*http.Request{signed(t, url, "n1", "secret-of-n1", big, time.Now())}
		}, 413, "request body is larger than 1 MiB", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := setup(t, echoRoutes)
			c.table.put("n3", "http://127.0.0.1:1", "secret-of-n3", false)
			c.table.put("n4", "http://127.0.0.1:1", "", true)
			var status int
			var out map[string]string
			for _, req := range tt.reqs(t, c.srv.URL) {
				status, out = send(t, req)
			}
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%v)", status, tt.wantStatus, out)
			}
			if status == 200 {
				if out["caller"] != tt.wantReason || out["body"] != body || out["query"] != "1" {
					t.Fatalf("handler saw %v, want caller %s and the body restored", out, tt.wantReason)
				}
				return
			}
			if out["message"] != tt.wantReason {
				t.Fatalf("message = %q, want %q", out["message"], tt.wantReason)
			}
			if status == 401 {
				if out["error"] != "peer-unauthorized" {
					t.Fatalf("error = %q, want peer-unauthorized", out["error"])
				}
				want := tt.wantReason
				if tt.wantLog != "" {
					want = tt.wantLog
				}
				if logs := c.log.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, want) {
					t.Fatalf("no warning naming %q in log:\n%s", want, logs)
				}
			}
		})
	}
}

func TestNonceCachePrunesAndBounds(t *testing.T) {
	n := newNonceCache(NonceTTL, 3)
	t0 := time.Unix(1_700_000_000, 0)
	for i, key := range []string{"a", "b", "c"} {
		if got := n.add(key, t0.Add(time.Duration(i)*time.Second)); got != nonceFresh {
			t.Fatalf("add %s = %v, want fresh", key, got)
		}
	}
	if got := n.add("a", t0.Add(10*time.Second)); got != nonceReplayed {
		t.Fatalf("replay within ttl = %v, want replayed", got)
	}
	if got := n.add("d", t0.Add(10*time.Second)); got != nonceFull {
		t.Fatalf("add to a full cache = %v, want full", got)
	}
	// After NonceTTL "a" and "b" are gone, "c" stays.
	if got := n.add("a", t0.Add(NonceTTL+time.Second)); got != nonceFresh {
		t.Fatalf("add after ttl = %v, want fresh", got)
	}
	if got := n.add("c", t0.Add(NonceTTL+time.Second)); got != nonceReplayed {
		t.Fatalf("c = %v, want replayed", got)
	}
	if n.len() != 2 {
		t.Fatalf("cache holds %d nonces, want 2", n.len())
	}
}

func TestSignCoversEverything(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123)
	req, _ := http.NewRequest(http.MethodPost, "http://n2:8080/ctx"+BasePath+"/tasks/t1/stop?x=1", nil)
	Sign(req, "n1", "n2", "s", []byte("{}"), now)
	if req.Header.Get(HeaderNode) != "n1" || req.Header.Get(HeaderTarget) != "n2" || req.Header.Get(HeaderTimestamp) != "1700000000123" || len(req.Header.Get(HeaderNonce)) != 32 {
		t.Fatalf("headers = %v", req.Header)
	}
	want := mac("s", "n2", "POST", "/ctx"+BasePath+"/tasks/t1/stop?x=1", "1700000000123", req.Header.Get(HeaderNonce), []byte("{}"))
	if got := req.Header.Get(HeaderSignature); got != hex.EncodeToString(want) {
		t.Fatalf("signature = %s, want %s", got, hex.EncodeToString(want))
	}
	again := req.Clone(req.Context())
	Sign(again, "n1", "n2", "s", []byte("{}"), now)
	if again.Header.Get(HeaderNonce) == req.Header.Get(HeaderNonce) {
		t.Fatal("two signatures share a nonce")
	}
}

// TestCallsSignedBeforeStartAreRefused: a node that restarted has lost the
// nonces it saw, so a call signed before its start, still inside MaxSkew,
// could be a replay of one it accepted then: it is refused. A call signed
// after the start is accepted, also from a clock a little behind.
func TestCallsSignedBeforeStartAreRefused(t *testing.T) {
	const body = `{"type":"ArchetypeType"}`
	started := time.Now()
	c := setupStarted(t, echoRoutes, started)
	status, out := send(t, signed(t, c.srv.URL, "n1", "secret-of-n1", body, started.Add(-1500*time.Millisecond)))
	if status != http.StatusUnauthorized || out["message"] != "request from node n1 was signed before this node started (a replay from before its restart?)" {
		t.Fatalf("signed 1.5 s before the start: %d %v, want 401 naming the start", status, out)
	}
	if status, out := send(t, signed(t, c.srv.URL, "n1", "secret-of-n1", body, started.Add(10*time.Millisecond))); status != http.StatusOK {
		t.Fatalf("signed after the start: %d %v, want 200", status, out)
	}
}
