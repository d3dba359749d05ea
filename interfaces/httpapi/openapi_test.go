package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"
	yamlv4 "go.yaml.in/yaml/v4"

	"cadre/interfaces/httpapi"
	"cadre/interfaces/httpapi/openapitest"
	"cadre/node/nodetest"
)

// openAPIDoc is the part of the OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI    string                    `yaml:"openapi"`
	Paths      map[string]map[string]any `yaml:"paths"`
	Components map[string]map[string]any `yaml:"components"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operation is one method on one path, in OpenAPI form: "GET /api/v1/tasks/{oid}".
type operation struct {
	method, path string
}

func (o operation) String() string { return o.method + " " + o.path }

// operations lists the document's operations with their definitions.
func (d openAPIDoc) operations() map[operation]map[string]any {
	ops := map[operation]map[string]any{}
	for path, item := range d.Paths {
		for key, def := range item {
			if m, ok := def.(map[string]any); ok && slices.Contains(httpMethods, key) {
				ops[operation{strings.ToUpper(key), path}] = m
			}
		}
	}
	return ops
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// openAPIPath turns a Gin path (/tasks/:oid, /static/*file) into OpenAPI form.
func openAPIPath(ginPath string) string { return ginParam.ReplaceAllString(ginPath, "{$1}") }

type openAPIFixture struct {
	node   *nodetest.Node
	doc    openAPIDoc
	raw    any // the whole document, for reference checks
	routes map[operation]bool
}

func setupOpenAPI(t *testing.T) openAPIFixture {
	t.Helper()
	spec := httpapi.OpenAPISpec()
	var f openAPIFixture
	if err := yaml.Unmarshal(spec, &f.doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if err := yaml.Unmarshal(spec, &f.raw); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(f.doc.OpenAPI, "3.0.") {
		t.Fatalf("openapi.yaml: openapi is %q, want 3.0.x", f.doc.OpenAPI)
	}
	f.node = nodetest.Start(t, "sqlite")
	engine, ok := f.node.Handler().(*gin.Engine)
	if !ok {
		t.Fatalf("node handler is %T, want *gin.Engine", f.node.Handler())
	}
	f.routes = map[operation]bool{}
	for _, r := range engine.Routes() {
		f.routes[operation{r.Method, openAPIPath(r.Path)}] = true
	}
	return f
}

func TestOpenAPIDescribesTheRouter(t *testing.T) {
	f := setupOpenAPI(t)
	ops := f.doc.operations()

	t.Run("every API route is described", func(t *testing.T) {
		var missing []string
		for r := range f.routes {
			if strings.HasPrefix(r.path, "/api/v1/") && ops[r] == nil {
				missing = append(missing, r.String())
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("routes served but absent from openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
		}
	})

	t.Run("every described operation is served", func(t *testing.T) {
		var extra []string
		for op := range ops {
			if !f.routes[op] {
				extra = append(extra, op.String())
			}
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			t.Errorf("operations in openapi.yaml that the router does not serve (is httpapi.RegisterOpenAPI called from NewRouter?):\n  %s",
				strings.Join(extra, "\n  "))
		}
	})

	t.Run("operation ids are unique and responses present", func(t *testing.T) {
		seen := map[string]operation{}
		for op, def := range ops {
			id, _ := def["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", op)
			} else if prev, dup := seen[id]; dup {
				t.Errorf("operationId %q used by %s and %s", id, prev, op)
			}
			seen[id] = op
			if r, _ := def["responses"].(map[string]any); len(r) == 0 {
				t.Errorf("%s has no responses", op)
			}
		}
	})

	t.Run("every $ref resolves", func(t *testing.T) {
		for _, ref := range refs(f.raw) {
			parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
			if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 || f.doc.Components[parts[0]][parts[1]] == nil {
				t.Errorf("$ref %q does not point to a component", ref)
			}
		}
	})

	t.Run("authentication is as described", func(t *testing.T) {
		anonymous := openapitest.New(t).Client(t, nil)
		for op, def := range ops {
			public := false
			if sec, ok := def["security"].([]any); ok && len(sec) == 0 {
				public = true
			}
			path := strings.NewReplacer("{type}", "users", "{oid}", "no-such-oid", "{id}", "no-such-node").Replace(op.path)
			req, err := http.NewRequest(op.method, f.node.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := anonymous.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			resp.Body.Close()
			if got := resp.StatusCode == http.StatusUnauthorized; got == public {
				t.Errorf("%s without credentials: status %d, but openapi.yaml says public=%v", op, resp.StatusCode, public)
			}
		}
	})

	t.Run("the node serves the document without authentication", func(t *testing.T) {
		resp, err := openapitest.New(t).Client(t, nil).Get(f.node.URL + httpapi.OpenAPIPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200 (is httpapi.RegisterOpenAPI called from NewRouter?)", httpapi.OpenAPIPath, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
			t.Errorf("Content-Type %q, want application/yaml", ct)
		}
		if !bytes.Equal(body, httpapi.OpenAPISpec()) {
			t.Errorf("served document differs from the embedded openapi.yaml")
		}
	})
}

// TestOpenAPIIsValid loads the description with kin-openapi, which fails on
// schema errors (a stray key from an unquoted comma in a flow mapping is one),
// and decodes it with two independent YAML parsers that must agree.
func TestOpenAPIIsValid(t *testing.T) {
	if _, err := openapitest.Load(); err != nil {
		t.Fatal(err)
	}
	var viaGoccy, viaYAMLv4 any
	if err := yaml.Unmarshal(httpapi.OpenAPISpec(), &viaGoccy); err != nil {
		t.Fatalf("goccy/go-yaml: %v", err)
	}
	if err := yamlv4.Unmarshal(httpapi.OpenAPISpec(), &viaYAMLv4); err != nil {
		t.Fatalf("go.yaml.in/yaml/v4: %v", err)
	}
	a, err := json.Marshal(viaGoccy)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(viaYAMLv4)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("goccy/go-yaml and go.yaml.in/yaml/v4 read openapi.yaml differently")
	}
}

func TestRegisterOpenAPIServesYAML(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	httpapi.RegisterOpenAPI(r)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, httpapi.OpenAPIPath, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type %q, want application/yaml", ct)
	}
	if !bytes.HasPrefix(rec.Body.Bytes(), []byte("openapi: 3.0")) {
		t.Errorf("body does not start with the OpenAPI version: %.40q", rec.Body.String())
	}
}

// refs collects every $ref value in a decoded YAML document.
func refs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "$ref" {
				out = append(out, s)
				continue
			}
			out = append(out, refs(e)...)
		}
	case []any:
		for _, e := range v {
			out = append(out, refs(e)...)
		}
	}
	return out
}
