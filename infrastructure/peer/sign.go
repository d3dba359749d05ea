package peer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Signature headers (DESIGN §6).
const (
	HeaderNode      = "X-Cadre-Node"      // caller's node id
	HeaderTarget    = "X-Cadre-Target"    // receiving node's id, also inside the signature
	HeaderTimestamp = "X-Cadre-Timestamp" // unix milliseconds
	HeaderNonce     = "X-Cadre-Nonce"     // 16 random bytes, hex
	HeaderSignature = "X-Cadre-Signature" // hex HMAC-SHA256, see Sign
)

// Sign sets the signature headers on req from node nodeID, with its secret,
// for the node target: X-Cadre-Signature = hex(HMAC-SHA256(secret, target
// "\n" METHOD "\n" path-with-query "\n" timestamp "\n" nonce "\n"
// hex(sha256(body)))). The receiver puts its own id in place of target, so a
// captured call cannot be replayed to another node. body must be exactly what
// req sends (nil for none); now gives the timestamp.
func Sign(req *http.Request, nodeID, target, secret string, body []byte, now time.Time) {
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	nonce := hex.EncodeToString(raw[:])
	req.Header.Set(HeaderNode, nodeID)
	req.Header.Set(HeaderTarget, target)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, hex.EncodeToString(mac(secret, target, req.Method, req.URL.RequestURI(), ts, nonce, body)))
}

func mac(secret, target, method, pathQuery, ts, nonce string, body []byte) []byte {
	sum := sha256.Sum256(body)
	h := hmac.New(sha256.New, []byte(secret))
	for _, s := range []string{target, "\n", method, "\n", pathQuery, "\n", ts, "\n", nonce, "\n", hex.EncodeToString(sum[:])} {
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}
