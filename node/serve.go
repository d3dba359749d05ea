package node

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"cadre/infrastructure/config"
)

// scheme is how this node is reached: https with server.ssl.certificate.
func (n *Node) scheme() string {
	if n.Config.Server.TLS() {
		return "https"
	}
	return "http"
}

// wrapTLS serves HTTPS on ln when server.ssl.certificate is set.
func wrapTLS(s config.Server, ln net.Listener) (net.Listener, error) {
	if !s.TLS() {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(s.Certificate, s.CertificateKey)
	if err != nil {
		return nil, fmt.Errorf("server.ssl.certificate: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// peerTLS verifies peers' https URLs against the system roots plus
// server.ssl.trust-certificate; nil means the system roots.
func (n *Node) peerTLS() *tls.Config {
	pool, err := n.Config.Server.TrustPool()
	if err != nil || pool == nil {
		return nil // checked at start-up; the system roots
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// contextPath serves next under prefix (server.servlet.context-path, as
// midPoint is served under /midpoint): a request outside the prefix is 404,
// the prefix is stripped before next sees the path, and what next answers
// is put back under the prefix — Location headers, cookie paths and the
// absolute paths in HTML attributes (links, forms, scripts, styles). The
// handlers and templates keep their root-relative paths.
type contextPath struct {
	prefix string
	next   http.Handler
}

func (h contextPath) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":"not-found","message":%s}`, strconv.Quote("this node serves everything under "+h.prefix+" (server.servlet.context-path)"))
		return
	}
	if rest == "" {
		rest = "/"
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = rest // routing sees the path under the prefix
	r2.URL.RawPath = ""
	// RequestURI stays as received: peer signatures cover the path on the wire.
	pw := &prefixWriter{ResponseWriter: w, prefix: h.prefix}
	h.next.ServeHTTP(pw, r2)
	pw.finish()
}

// htmlPathRE finds attribute values that are root-relative paths.
var htmlPathRE = regexp.MustCompile(`(\s[a-zA-Z][a-zA-Z-]*=")/([^/])`)

// prefixWriter puts Location headers, cookie paths and HTML attribute paths
// under the prefix. HTML bodies are buffered to be rewritten; others stream.
type prefixWriter struct {
	http.ResponseWriter
	prefix      string
	wroteHeader bool
	html        bool
	status      int
	buf         bytes.Buffer
}

func (w *prefixWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	h := w.Header()
	if loc := h.Get("Location"); strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") {
		h.Set("Location", w.prefix+loc)
	}
	if cookies := h.Values("Set-Cookie"); len(cookies) > 0 {
		h.Del("Set-Cookie")
		for _, c := range cookies {
			h.Add("Set-Cookie", strings.Replace(c, "Path=/", "Path="+w.prefix+"/", 1))
		}
	}
	if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		w.html, w.status = true, status
		h.Del("Content-Length")
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.html {
		return w.buf.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Flush streams what is written so far (server-sent events, large files);
// an HTML body is rewritten at the end instead.
func (w *prefixWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.html {
		f.Flush()
	}
}

// finish writes a buffered HTML body with its paths under the prefix.
func (w *prefixWriter) finish() {
	if !w.html {
		return
	}
	body := htmlPathRE.ReplaceAll(w.buf.Bytes(), []byte("${1}"+w.prefix+"/${2}"))
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(body)
}
