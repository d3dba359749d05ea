package httpapi_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"cadre/interfaces/httpapi"
	"cadre/interfaces/httpapi/openapitest"
	"cadre/node/nodetest"
)

// TestDocsPageIsSelfHosted checks that /api/v1/docs is public, that every
// script and stylesheet it loads is served by the node itself, and that the
// Redoc bundle is there.
func TestDocsPageIsSelfHosted(t *testing.T) {
	n := nodetest.Start(t, "sqlite")
	anon := openapitest.New(t).Client(t, nil)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := anon.Get(n.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}

	resp, page := get(httpapi.DocsPath)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s without login: %d %s, want a 200 HTML page", httpapi.DocsPath, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q does not keep scripts to this node", csp)
	}
	refs := regexp.MustCompile(`(?:src|href|data-spec-url)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("docs page loads %d resources, want the bundle, its start-up script and the description:\n%s", len(refs), page)
	}
	for _, ref := range refs {
		if strings.Contains(ref[1], "://") || strings.HasPrefix(ref[1], "//") {
			t.Errorf("docs page loads %s from elsewhere; everything must come from the node", ref[1])
			continue
		}
		// Resolve the relative reference against /api/v1/docs.
		path := strings.Replace("/api/v1/"+ref[1], "/api/v1/../../", "/", 1)
		r, body := get(path)
		if r.StatusCode != http.StatusOK || body == "" {
			t.Errorf("%s (from %s) answers %d with %d bytes", path, ref[1], r.StatusCode, len(body))
		}
		if strings.HasSuffix(path, "redoc.standalone.js") && !strings.Contains(body, "ReDoc") {
			t.Errorf("%s is not the Redoc bundle", path)
		}
	}
}
