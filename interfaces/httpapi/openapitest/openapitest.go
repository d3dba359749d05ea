// Package openapitest holds the API to its description in tests: it loads
// interfaces/httpapi/openapi.yaml with kin-openapi (an OpenAPI 3 library no
// one here wrote), fails on any schema error, and checks every request a test
// sends and every answer it gets against the description.
//
// The checks are stricter than the description itself: the description says
// "more fields may be added" (DESIGN §8), so it leaves additionalProperties
// open for clients, but here every object schema is closed, so a field the
// code sends and the description lacks fails the test that saw it.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"cadre/interfaces/httpapi"
)

// Load parses the embedded description with kin-openapi and validates it as
// an OpenAPI 3 document: a stray key, a broken $ref or a schema error is an
// error.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPISpec())
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate openapi.yaml: %w", err)
	}
	return doc, nil
}

// Checker validates exchanges against a strict copy of the description.
type Checker struct {
	router routers.Router
	ops    []string // "METHOD /path" of every described operation

	mu   sync.Mutex
	seen map[string]bool // "METHOD /path status" of every checked answer
}

var (
	loadOnce sync.Once
	shared   *Checker
	loadErr  error
)

// New returns the checker; it fails the test when the description does not load.
func New(t testing.TB) *Checker {
	t.Helper()
	loadOnce.Do(func() { shared, loadErr = newChecker() })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return shared
}

func newChecker() (*Checker, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	// Route by path alone: the document's server is relative ("/").
	doc.Servers = nil
	closeSchemas(doc)
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("strict copy of openapi.yaml: %w", err)
	}
	// An HTML page (/api/v1/docs) is text, like text/plain.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.yaml: %w", err)
	}
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	sort.Strings(ops)
	return &Checker{router: router, ops: ops, seen: map[string]bool{}}, nil
}

// Loaded returns the checker New made, or nil when no test asked for one.
func Loaded() *Checker {
	if loadErr != nil {
		return nil
	}
	return shared
}

// closeSchemas merges every allOf of plain objects into one object and
// forbids properties a schema does not list, wherever the description left
// additionalProperties unsaid.
func closeSchemas(doc *openapi3.T) {
	done := map[*openapi3.Schema]bool{}
	var visit func(s *openapi3.Schema)
	visitRef := func(r *openapi3.SchemaRef) {
		if r != nil && r.Value != nil {
			visit(r.Value)
		}
	}
	visit = func(s *openapi3.Schema) {
		if done[s] {
			return
		}
		done[s] = true
		for _, part := range s.AllOf {
			visitRef(part)
		}
		if mergeable(s) {
			s.Type = &openapi3.Types{openapi3.TypeObject}
			if s.Properties == nil {
				s.Properties = openapi3.Schemas{}
			}
			for _, part := range s.AllOf {
				for name, p := range part.Value.Properties {
					s.Properties[name] = p
				}
				s.Required = append(s.Required, part.Value.Required...)
			}
			s.AllOf = nil
		}
		for _, r := range s.OneOf {
			visitRef(r)
		}
		for _, r := range s.AnyOf {
			visitRef(r)
		}
		visitRef(s.Items)
		for _, p := range s.Properties {
			visitRef(p)
		}
		visitRef(s.AdditionalProperties.Schema)
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			closed := false
			s.AdditionalProperties.Has = &closed
		}
	}
	for _, r := range doc.Components.Schemas {
		visitRef(r)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					visitRef(mt.Schema)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				for _, mt := range resp.Value.Content {
					visitRef(mt.Schema)
				}
			}
		}
	}
}

// mergeable reports whether s is an allOf of object schemas with properties
// only (the description's way of sharing ObjectMeta).
func mergeable(s *openapi3.Schema) bool {
	if len(s.AllOf) == 0 {
		return false
	}
	for _, part := range s.AllOf {
		v := part.Value
		if v == nil || len(v.AllOf)+len(v.OneOf)+len(v.AnyOf) > 0 || (v.Type != nil && !v.Type.Is(openapi3.TypeObject)) {
			return false
		}
	}
	return true
}

// Transport returns a RoundTripper that sends through base (nil means
// http.DefaultTransport) and checks every exchange, reporting disagreements
// with t.Errorf:
//   - a route under /api/ must be described, or the answer must be a JSON
//     404 or 405 (other paths, such as /ui/ and /static/, are not checked);
//   - a request the description forbids must not be accepted (2xx or 3xx);
//   - the answer's status, headers and body must be described for that
//     operation (with every object schema closed, see the package comment).
func (c *Checker) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, base: base, c: c}
}

// Client is an http.Client whose exchanges are checked; redirects are not
// followed, so a 3xx and its Location are checked too.
func (c *Checker) Client(t testing.TB, jar http.CookieJar) *http.Client {
	return &http.Client{
		Transport:     c.Transport(t, nil),
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Seen lists "METHOD /path status" for every answer checked so far, sorted.
func (c *Checker) Seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.seen))
	for k := range c.seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type transport struct {
	t    testing.TB
	base http.RoundTripper
	c    *Checker
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		return resp, nil // the caller sees the short body; nothing to check
	}
	if problem := tr.c.Check(req, reqBody, resp, respBody); problem != nil {
		tr.t.Errorf("openapi.yaml and the API disagree on %s %s → %d: %v\nresponse body: %.600s",
			req.Method, req.URL.RequestURI(), resp.StatusCode, problem, respBody)
	}
	return resp, nil
}

// Unexercised lists the described operations ("METHOD /path") that no
// checked exchange has yet completed with a 2xx or 3xx answer: an operation
// only ever refused (401, 404, …) has not been shown to work as described.
func (c *Checker) Unexercised() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	reached := map[string]bool{}
	for k := range c.seen {
		i := strings.LastIndexByte(k, ' ')
		if status, err := strconv.Atoi(k[i+1:]); err == nil && status < 400 {
			reached[k[:i]] = true
		}
	}
	var out []string
	for _, op := range c.ops {
		if !reached[op] {
			out = append(out, op)
		}
	}
	return out
}

// Check validates one exchange; it returns nil when the description covers it.
func (c *Checker) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	ctx := context.Background()
	probe := req.Clone(ctx)
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	if len(reqBody) > 0 && probe.Header.Get("Content-Type") == "" {
		// The API reads every body as JSON, as the description says; curl -d
		// and the tests' raw requests send none.
		probe.Header.Set("Content-Type", "application/json")
	}
	route, params, err := c.router.FindRoute(probe)
	if err != nil {
		return c.checkUndescribed(req, resp, respBody, err)
	}
	c.mu.Lock()
	c.seen[fmt.Sprintf("%s %s %d", req.Method, route.Path, resp.StatusCode)] = true
	c.mu.Unlock()

	in := &openapi3filter.RequestValidationInput{
		Request:    probe,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
		},
	}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && resp.StatusCode < 400 {
		return fmt.Errorf("the request breaks the description, yet the API accepted it: %w", reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("answer with status %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode >= 400 {
		return checkProblem(respBody)
	}
	return nil
}

// checkUndescribed accepts an exchange under /api/ on a route the
// description lacks only when the API, too, says there is no such route.
// Other paths (the web UI, /static/) are not part of the API.
func (c *Checker) checkUndescribed(req *http.Request, resp *http.Response, respBody []byte, routeErr error) error {
	if !strings.HasPrefix(req.URL.Path, "/api/") {
		return nil
	}
	var notFound *routers.RouteError
	if !errors.As(routeErr, &notFound) {
		return fmt.Errorf("route: %w", routeErr)
	}
	if !slices.Contains([]int{http.StatusNotFound, http.StatusMethodNotAllowed}, resp.StatusCode) {
		return fmt.Errorf("the route is not described (%v) but the API answered it", routeErr)
	}
	return checkProblem(respBody)
}

// checkProblem checks the error shape of DESIGN §8 on every 4xx and 5xx.
func checkProblem(body []byte) error {
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("error answer is not JSON: %w", err)
	}
	slug, _ := p["error"].(string)
	msg, _ := p["message"].(string)
	if slug == "" || msg == "" || strings.ContainsAny(slug, " \t\n") {
		return fmt.Errorf(`error answer is not {"error": "<slug>", "message": "…"}: %s`, body)
	}
	return nil
}
