package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"cadre/db/dbtest"
	"cadre/interfaces/httpapi/openapitest"
	"cadre/node/nodetest"
)

type client struct {
	t    *testing.T
	base string
	user string
	pass string
	http *http.Client
	csrf string
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (r response) expect(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("want status %d, got %d: %s", status, r.status, r.raw)
	}
	return r
}

func (r response) str(key string) string { s, _ := r.body[key].(string); return s }

// checkedClient sends through the OpenAPI checker: every exchange a test
// makes must be one the description allows.
func checkedClient(t *testing.T, jar http.CookieJar) *http.Client {
	return openapitest.New(t).Client(t, jar)
}

func setup(t *testing.T, dialect string) (admin *client, base string) {
	n := nodetest.Start(t, dialect)
	return &client{t: t, base: n.URL, user: "administrator", pass: nodetest.AdminPassword, http: checkedClient(t, nil)}, n.URL
}

func TestObjectsAPI(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			admin, base := setup(t, dialect)

			t.Run("create, read, modify with If-Match, stale If-Match, delete", func(t *testing.T) {
				created := admin.do("POST", "/api/v1/objects/users", map[string]any{
					"name": "jack", "fullName": "Jack Sparrow", "emailAddress": "jack@example.com", "password": "Pirate123!",
				}).expect(t, http.StatusCreated)
				oid := created.str("oid")
				if loc := created.header.Get("Location"); loc != "/api/v1/objects/users/"+oid {
					t.Fatalf("Location: %q", loc)
				}
				if _, leaked := created.body["passwordHash"]; leaked {
					t.Fatal("password hash leaked in the response")
				}
				got := admin.do("GET", "/api/v1/objects/users/"+oid, nil).expect(t, http.StatusOK)
				if got.header.Get("ETag") != `"1"` || got.str("fullName") != "Jack Sparrow" {
					t.Fatalf("read: etag %q body %v", got.header.Get("ETag"), got.body)
				}
				mod := admin.do("PATCH", "/api/v1/objects/users/"+oid, map[string]any{"fullName": "Captain Jack"}, "If-Match", `"1"`).expect(t, http.StatusOK)
				if mod.body["version"] != float64(2) || mod.str("fullName") != "Captain Jack" || mod.body["emailAddress"] != "jack@example.com" {
					t.Fatalf("modify: %v", mod.body)
				}
				stale := admin.do("PATCH", "/api/v1/objects/users/"+oid, map[string]any{"fullName": "X"}, "If-Match", "1").expect(t, http.StatusConflict)
				if stale.str("error") != "version-conflict" {
					t.Fatalf("stale: %v", stale.body)
				}
				jack := &client{t: t, base: base, user: "jack", pass: "Pirate123!", http: checkedClient(t, nil)}
				jack.do("GET", "/api/v1/objects/users", nil).expect(t, http.StatusForbidden) // no role: no reading
				admin.do("DELETE", "/api/v1/objects/users/"+oid, nil).expect(t, http.StatusNoContent)
				admin.do("GET", "/api/v1/objects/users/"+oid, nil).expect(t, http.StatusNotFound)
			})

			t.Run("a reader reads but cannot write", func(t *testing.T) {
				roles := admin.do("GET", "/api/v1/objects/roles?name=reader", nil).expect(t, http.StatusOK)
				readerRole := roles.body["items"].([]any)[0].(map[string]any)["oid"].(string)
				admin.do("POST", "/api/v1/objects/users", map[string]any{"name": "rita", "password": "Reader123!", "roles": []string{readerRole}}).expect(t, http.StatusCreated)
				rita := &client{t: t, base: base, user: "rita", pass: "Reader123!", http: checkedClient(t, nil)}
				rita.do("GET", "/api/v1/objects/users", nil).expect(t, http.StatusOK)
				for _, tc := range []struct{ method, path string }{
					{"POST", "/api/v1/objects/users"}, {"PATCH", "/api/v1/objects/roles/" + readerRole}, {"DELETE", "/api/v1/objects/roles/" + readerRole},
				} {
					r := rita.do(tc.method, tc.path, map[string]any{"name": "x"})
					if r.status != http.StatusForbidden || r.str("error") != "forbidden" {
						t.Errorf("%s %s as reader: want 403 forbidden, got %d %s", tc.method, tc.path, r.status, r.raw)
					}
				}
			})

			t.Run("bad input gets a 4xx JSON error", func(t *testing.T) {
				anon := &client{t: t, base: base, http: checkedClient(t, nil)}
				wrong := &client{t: t, base: base, user: "administrator", pass: "nope", http: checkedClient(t, nil)}
				big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
				for _, tc := range []struct {
					name   string
					c      *client
					method string
					path   string
					body   any
					status int
					slug   string
				}{
					{"anonymous", anon, "GET", "/api/v1/objects/users", nil, 401, "unauthenticated"},
					{"wrong password", wrong, "GET", "/api/v1/objects/users", nil, 401, "unauthenticated"},
					{"malformed JSON", admin, "POST", "/api/v1/objects/users", `{"name":`, 400, "bad-json"},
					{"unknown field", admin, "POST", "/api/v1/objects/users", `{"name":"z","colour":"red"}`, 400, "bad-json"},
					{"oversized body", admin, "POST", "/api/v1/objects/users", big, 413, "too-large"},
					{"missing name", admin, "POST", "/api/v1/objects/users", `{"fullName":"No Name"}`, 422, "invalid"},
					{"bad e-mail", admin, "POST", "/api/v1/objects/users", `{"name":"e","emailAddress":"not-mail"}`, 422, "invalid"},
					{"unknown role", admin, "POST", "/api/v1/objects/users", `{"name":"r","roles":["00000000-0000-0000-0000-000000000099"]}`, 422, "invalid"},
					{"duplicate name", admin, "POST", "/api/v1/objects/users", `{"name":"Administrator"}`, 409, "already-exists"},
					{"unknown type", admin, "GET", "/api/v1/objects/widgets", nil, 404, "unknown-type"},
					{"unknown oid", admin, "GET", "/api/v1/objects/users/00000000-0000-0000-0000-00000000dead", nil, 404, "not-found"},
					{"bad paging", admin, "GET", "/api/v1/objects/users?limit=-3", nil, 400, "bad-query"},
					{"bad If-Match", admin, "PATCH", "/api/v1/objects/systemConfiguration/00000000-0000-0000-0000-000000000001", `{}`, 400, "bad-if-match"},
				} {
					t.Run(tc.name, func(t *testing.T) {
						var h []string
						if tc.slug == "bad-if-match" {
							h = []string{"If-Match", "yesterday"}
						}
						r := tc.c.do(tc.method, tc.path, tc.body, h...)
						if r.status != tc.status || r.str("error") != tc.slug || r.str("message") == "" {
							t.Fatalf("want %d %s with a message, got %d %s", tc.status, tc.slug, r.status, r.raw)
						}
					})
				}
			})

			t.Run("session login works on the API and needs the CSRF header to write", func(t *testing.T) {
				jar, _ := cookiejar.New(nil)
				web := &client{t: t, base: base, http: checkedClient(t, jar)}
				web.do("POST", "/api/v1/session", map[string]string{"username": "administrator", "password": "bad"}).expect(t, 401)
				login := web.do("POST", "/api/v1/session", map[string]string{"username": "administrator", "password": nodetest.AdminPassword}).expect(t, 200)
				web.do("GET", "/api/v1/objects/users", nil).expect(t, 200)
				web.do("POST", "/api/v1/objects/roles", map[string]any{"name": "NoCSRF"}).expect(t, 403)
				web.csrf = login.str("csrfToken")
				web.do("POST", "/api/v1/objects/roles", map[string]any{"name": "WithCSRF", "authorizations": []string{"reader"}}).expect(t, 201)
				web.do("DELETE", "/api/v1/session", nil).expect(t, 204)
				web.do("GET", "/api/v1/objects/users", nil).expect(t, 401)
			})

			t.Run("system configuration is a singleton", func(t *testing.T) {
				sc := admin.do("GET", "/api/v1/objects/systemConfiguration", nil).expect(t, 200)
				if sc.body["total"] != float64(1) {
					t.Fatalf("want one system configuration, got %v", sc.body)
				}
				oid := "00000000-0000-0000-0000-000000000001"
				r := admin.do("PATCH", "/api/v1/objects/systemConfiguration/"+oid,
					map[string]any{"infrastructure": map[string]string{"intraClusterHttpUrlPattern": "http://$host:$port/"}}).expect(t, 200)
				if fmt.Sprint(r.body["infrastructure"]) != "map[intraClusterHttpUrlPattern:http://$host:$port/]" {
					t.Fatalf("pattern not stored: %v", r.body)
				}
				admin.do("POST", "/api/v1/objects/systemConfiguration", map[string]any{"name": "Second"}).expect(t, 409)
				admin.do("DELETE", "/api/v1/objects/systemConfiguration/"+oid, nil).expect(t, 422)
			})

			t.Run("health and readiness need no login", func(t *testing.T) {
				anon := &client{t: t, base: base, http: checkedClient(t, nil)}
				anon.do("GET", "/healthz", nil).expect(t, 200)
				if r := anon.do("GET", "/readyz", nil).expect(t, 200); r.header.Get("X-Served-By") == "" {
					t.Fatal("no X-Served-By header")
				}
			})
		})
	}
}
