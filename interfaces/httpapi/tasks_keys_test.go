package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"cadre/db/dbtest"
)

// TestTaskUniqueKeyAndThreadStopAction: a task holds its uniqueKey until it
// closes (a second create, and reopening a closed task whose key was taken
// meanwhile, get 409 naming the holder), and threadStopAction is stored,
// defaulted and validated.
func TestTaskUniqueKeyAndThreadStopAction(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			admin, _ := setup(t, dialect)
			keyed := func(name string, extra map[string]any) map[string]any {
				body := map[string]any{"name": name, "handler": "noop", "uniqueKey": "nightly", "suspended": true}
				for k, v := range extra {
					body[k] = v
				}
				return body
			}
			conflict := func(r response, holder string) {
				t.Helper()
				if r.status != http.StatusConflict || r.str("error") != "conflict" || r.str("oid") != holder || r.str("message") == "" {
					t.Fatalf("want 409 conflict naming %s, got %d %s", holder, r.status, r.raw)
				}
				if loc := r.header.Get("Location"); loc != "/api/v1/tasks/"+holder {
					t.Fatalf("Location %q, want /api/v1/tasks/%s", loc, holder)
				}
			}

			first := admin.do("POST", "/api/v1/tasks", keyed("first", nil)).expect(t, http.StatusCreated)
			a := first.str("oid")
			if first.str("uniqueKey") != "nightly" || first.str("threadStopAction") != "restart" {
				t.Fatalf("created task: %s; want uniqueKey nightly and the default threadStopAction restart", first.raw)
			}
			conflict(admin.do("POST", "/api/v1/tasks", keyed("second", nil)), a)

			admin.do("POST", "/api/v1/tasks/"+a+"/resume", nil).expect(t, http.StatusOK)
			waitTask(t, admin, a, "to close", closed)
			second := admin.do("POST", "/api/v1/tasks", keyed("second", map[string]any{"threadStopAction": "suspend"})).expect(t, http.StatusCreated)
			b := second.str("oid")
			if second.str("threadStopAction") != "suspend" {
				t.Fatalf("threadStopAction not stored: %s", second.raw)
			}
			if got := admin.do("GET", "/api/v1/tasks/"+b, nil).expect(t, http.StatusOK); got.str("threadStopAction") != "suspend" || got.str("uniqueKey") != "nightly" {
				t.Fatalf("read back: %s", got.raw)
			}

			conflict(admin.do("POST", "/api/v1/tasks/"+a+"/run-now", nil), b)
			if got := admin.do("GET", "/api/v1/tasks/"+a, nil).expect(t, http.StatusOK); got.str("executionState") != "CLOSED" {
				t.Fatalf("the refused run-now reopened the task: %s", got.raw)
			}

			for _, bad := range []string{`"explode"`, `"Restart"`} {
				r := admin.do("POST", "/api/v1/tasks", `{"name":"x","handler":"noop","threadStopAction":`+bad+`}`)
				if r.status != http.StatusUnprocessableEntity || r.str("error") != "invalid-task" || !strings.Contains(r.str("message"), "threadStopAction") {
					t.Fatalf("threadStopAction %s: want 422 invalid-task naming the field, got %d %s", bad, r.status, r.raw)
				}
			}
		})
	}
}
