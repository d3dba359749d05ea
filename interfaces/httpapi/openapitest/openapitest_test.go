package openapitest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cadre/interfaces/httpapi/openapitest"
)

const user = `{"oid":"u1","name":"jack","version":1,"enabled":true,"roles":[],"fullName":"","emailAddress":"",` +
	`"createdAt":"2026-01-01T00:00:00Z","modifiedAt":"2026-01-01T00:00:00Z"}`

// TestCheckerCatchesDisagreements feeds the checker exchanges that break the
// description in one way each; it must name every one, and pass the good one.
func TestCheckerCatchesDisagreements(t *testing.T) {
	c := openapitest.New(t)
	created := http.Header{"Location": {"/api/v1/objects/users/u1"}, "Etag": {`"1"`}, "X-Served-By": {"n1"}, "Content-Type": {"application/json"}}
	without := func(h http.Header, name string) http.Header {
		h = h.Clone()
		h.Del(name)
		return h
	}
	for _, tc := range []struct {
		name           string
		method, path   string
		reqBody        string
		status         int
		header         http.Header
		respBody, want string // want "" = no disagreement
	}{
		{"a described exchange", "POST", "/api/v1/objects/users", `{"name":"jack"}`, 201, created, user, ""},
		{"a field the description lacks", "POST", "/api/v1/objects/users", `{"name":"jack"}`, 201, created,
			strings.Replace(user, `"name"`, `"nickname":"j","name"`, 1), "nickname"},
		{"a field of the wrong type", "POST", "/api/v1/objects/users", `{"name":"jack"}`, 201, created,
			strings.Replace(user, `"version":1`, `"version":"1"`, 1), "version"},
		{"no Location on 201", "POST", "/api/v1/objects/users", `{"name":"jack"}`, 201, without(created, "Location"), user, "Location"},
		{"an unquoted ETag", "POST", "/api/v1/objects/users", `{"name":"jack"}`, 201,
			func() http.Header { h := created.Clone(); h.Set("ETag", "1"); return h }(), user, "ETag"},
		{"a status the operation does not list", "GET", "/api/v1/objects/users/u1", "", 418, created,
			`{"error":"teapot","message":"short and stout"}`, "418"},
		{"a request the description forbids, accepted", "GET", "/api/v1/objects/users?limit=-1", "", 200,
			created, `{"items":[],"total":0,"limit":50,"offset":0}`, "limit"},
		{"an error that is not the error shape", "GET", "/api/v1/objects/users/u1", "", 404, created,
			`{"message":"gone"}`, "error"},
		{"an undescribed route that answers", "GET", "/api/v1/widgets", "", 200, created, `{}`, "not described"},
		{"an undescribed route that says so", "GET", "/api/v1/widgets", "", 404, created,
			`{"error":"not-found","message":"no such path: /api/v1/widgets"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://node"+tc.path, strings.NewReader(tc.reqBody))
			resp := &http.Response{StatusCode: tc.status, Header: tc.header}
			err := c.Check(req, []byte(tc.reqBody), resp, []byte(tc.respBody))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want no disagreement, got %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("want a disagreement about %q, got none", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("want a disagreement about %q, got %v", tc.want, err)
			}
		})
	}
}

// TestUnexercisedCountsOnlySuccessfulExchanges: an operation only ever
// refused is not exercised; one successful exchange is.
func TestUnexercisedCountsOnlySuccessfulExchanges(t *testing.T) {
	c := openapitest.New(t)
	const op = "GET /api/v1/tasks/{oid}/buckets"
	contains := func(list []string, s string) bool {
		for _, e := range list {
			if e == s {
				return true
			}
		}
		return false
	}
	if !contains(c.Unexercised(), op) {
		t.Fatalf("%s exercised before any exchange", op)
	}
	req := httptest.NewRequest("GET", "http://node/api/v1/tasks/t1/buckets", nil)
	h := http.Header{"X-Served-By": {"n1"}, "Content-Type": {"application/json"}}
	if err := c.Check(req, nil, &http.Response{StatusCode: 404, Header: h}, []byte(`{"error":"task-not-found","message":"no task t1"}`)); err != nil {
		t.Fatal(err)
	}
	if !contains(c.Unexercised(), op) {
		t.Fatalf("%s counted as exercised after a 404 only", op)
	}
	if err := c.Check(req, nil, &http.Response{StatusCode: 200, Header: h}, []byte(`{"items":[]}`)); err != nil {
		t.Fatal(err)
	}
	if contains(c.Unexercised(), op) {
		t.Fatalf("%s still unexercised after a 200", op)
	}
}
