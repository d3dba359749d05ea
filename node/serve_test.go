package node

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestContextPath: requests outside the prefix are 404; inside, the handler
// sees the path under the prefix, and its redirects, cookie paths and HTML
// paths are put back under the prefix (protocol-relative and full URLs, and
// non-HTML bodies, are left alone).
func TestContextPath(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/go":
			http.Redirect(w, r, "/ui/login?next=%2Fui%2F", http.StatusSeeOther)
		case "/cookie":
			http.SetCookie(w, &http.Cookie{Name: "s", Value: "1", Path: "/"})
			w.WriteHeader(http.StatusNoContent)
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, `<a href="/ui/users">u</a><img src="/static/x.svg"><form action="/ui/login"></form>`+
				`<a href="//cdn.example/x">cdn</a><a href="https://example.com/">ext</a><a href="#main">top</a><div data-refresh-url="/ui/nodes/fragment"></div><a href="/">home</a>`)
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"href":"/ui/x"}`)
		default:
			io.WriteString(w, "path="+r.URL.Path+" uri="+r.RequestURI)
		}
	})
	h := contextPath{prefix: "/midpoint", next: inner}
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	for _, outside := range []string{"/", "/ui/", "/midpointx/ui/", "/readyz"} {
		if r := get(outside); r.Code != 404 || !strings.Contains(r.Body.String(), "/midpoint") {
			t.Errorf("GET %s: %d %s; want 404 naming the prefix", outside, r.Code, r.Body)
		}
	}
	if r := get("/midpoint/internal/cluster/status?x=1"); r.Body.String() != "path=/internal/cluster/status uri=/midpoint/internal/cluster/status?x=1" {
		t.Errorf("inner saw %q; want the path under the prefix and the request URI as received", r.Body)
	}
	if r := get("/midpoint"); r.Body.String() != "path=/ uri=/midpoint" {
		t.Errorf("GET /midpoint: inner saw %q", r.Body)
	}
	if r := get("/midpoint/go"); r.Header().Get("Location") != "/midpoint/ui/login?next=%2Fui%2F" {
		t.Errorf("Location %q", r.Header().Get("Location"))
	}
	if r := get("/midpoint/cookie"); !strings.Contains(r.Header().Get("Set-Cookie"), "Path=/midpoint/") {
		t.Errorf("Set-Cookie %q", r.Header().Get("Set-Cookie"))
	}
	page := get("/midpoint/page").Body.String()
	for _, want := range []string{`href="/midpoint/ui/users"`, `src="/midpoint/static/x.svg"`, `action="/midpoint/ui/login"`,
		`href="//cdn.example/x"`, `href="https://example.com/"`, `href="#main"`, `data-refresh-url="/midpoint/ui/nodes/fragment"`, `href="/midpoint/"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s:\n%s", want, page)
		}
	}
	if r := get("/midpoint/json"); r.Body.String() != `{"href":"/ui/x"}` {
		t.Errorf("JSON body changed: %s", r.Body)
	}
}
