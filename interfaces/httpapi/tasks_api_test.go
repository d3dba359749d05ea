package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"cadre/db/dbtest"
)

// waitTask polls GET /api/v1/tasks/{oid} until cond holds on the answer.
func waitTask(t *testing.T, admin *client, oid, what string, cond func(response) bool) response {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := admin.do("GET", "/api/v1/tasks/"+oid, nil).expect(t, http.StatusOK)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for task %s %s; last answer %s", oid, what, r.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func closed(r response) bool { return r.str("executionState") == "CLOSED" }

// TestTasksNodesAndReportsAPI drives the task, node and report endpoints
// through the real router; every exchange goes through the OpenAPI checker.
func TestTasksNodesAndReportsAPI(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			admin, _ := setup(t, dialect)

			t.Run("a bucketed task runs to the end and shows its buckets", func(t *testing.T) {
				created := admin.do("POST", "/api/v1/tasks", map[string]any{
					"name": "ten buckets", "handler": "noop", "params": map[string]any{"itemsPerBucket": 3},
					"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": 10, "bucketSize": 1}},
					"workers":   map[string]any{"perNode": 2},
				}).expect(t, http.StatusCreated)
				oid := created.str("oid")
				if created.header.Get("Location") != "/api/v1/tasks/"+oid {
					t.Fatalf("Location %q, want /api/v1/tasks/%s", created.header.Get("Location"), oid)
				}
				done := waitTask(t, admin, oid, "to close", closed)
				if p, _ := done.body["progress"].(map[string]any); p["itemsProcessed"] != float64(30) || p["bucketsComplete"] != float64(10) {
					t.Fatalf("progress %v, want 30 items in 10 buckets", done.body["progress"])
				}
				buckets := admin.do("GET", "/api/v1/tasks/"+oid+"/buckets", nil).expect(t, http.StatusOK)
				if items, _ := buckets.body["items"].([]any); len(items) != 10 || buckets.body["next"] != nil {
					t.Fatalf("buckets: %s", buckets.raw)
				}
				workers := admin.do("GET", "/api/v1/tasks?parent="+oid, nil).expect(t, http.StatusOK)
				if workers.body["total"] != float64(2) {
					t.Fatalf("workers of the coordinator: %s", workers.raw)
				}
				admin.do("GET", "/api/v1/tasks?state=CLOSED&handler=noop&limit=5", nil).expect(t, http.StatusOK)
				admin.do("DELETE", "/api/v1/tasks/"+oid, nil).expect(t, http.StatusNoContent)
				admin.do("GET", "/api/v1/tasks/"+oid, nil).expect(t, http.StatusNotFound)
			})

			t.Run("suspend, resume and run-now change the state", func(t *testing.T) {
				oid := admin.do("POST", "/api/v1/tasks", map[string]any{
					"name": "every hour", "handler": "noop", "schedule": map[string]any{"interval": 3600}, "suspended": true,
				}).expect(t, http.StatusCreated).str("oid")
				if r := admin.do("POST", "/api/v1/tasks/"+oid+"/resume", nil).expect(t, http.StatusOK); r.str("executionState") == "SUSPENDED" {
					t.Fatalf("resume left the task suspended: %s", r.raw)
				}
				admin.do("POST", "/api/v1/tasks/"+oid+"/run-now", nil).expect(t, http.StatusOK)
				waitTask(t, admin, oid, "to run once", func(r response) bool { return r.body["runCount"].(float64) >= 1 })
				if r := admin.do("POST", "/api/v1/tasks/"+oid+"/suspend", nil).expect(t, http.StatusOK); r.str("executionState") != "SUSPENDED" {
					t.Fatalf("suspend: %s", r.raw)
				}
			})

			t.Run("bad task input gets a 4xx JSON error", func(t *testing.T) {
				for _, tc := range []struct {
					name, method, path string
					body               any
					status             int
					slug               string
				}{
					{"unknown handler", "POST", "/api/v1/tasks", `{"name":"x","handler":"teleport"}`, 422, "unknown-handler"},
					{"schedule that never fires", "POST", "/api/v1/tasks", `{"name":"x","handler":"noop","schedule":{"cron":"0 0 0 30 2 *"}}`, 422, "invalid-task"},
					{"unknown field", "POST", "/api/v1/tasks", `{"name":"x","handler":"noop","colour":"red"}`, 400, "bad-json"},
					{"unknown state filter", "GET", "/api/v1/tasks?state=SLEEPING", nil, 400, "bad-query"},
					{"unknown task", "GET", "/api/v1/tasks/00000000-0000-0000-0000-00000000dead", nil, 404, "task-not-found"},
					{"buckets of an unknown task", "POST", "/api/v1/tasks/00000000-0000-0000-0000-00000000dead/run-now", nil, 404, "task-not-found"},
					{"unknown node", "POST", "/api/v1/nodes/no-such-node/scheduler/stop", nil, 404, "node-not-found"},
					{"unknown report", "GET", "/api/v1/reports/00000000-0000-0000-0000-00000000dead/download", nil, 404, "not-found"},
					{"no such path", "GET", "/api/v1/widgets", nil, 404, "not-found"},
				} {
					t.Run(tc.name, func(t *testing.T) {
						r := admin.do(tc.method, tc.path, tc.body)
						if r.status != tc.status || r.str("error") != tc.slug || r.str("message") == "" {
							t.Fatalf("want %d %s with a message, got %d %s", tc.status, tc.slug, r.status, r.raw)
						}
					})
				}
			})

			t.Run("nodes list this node and its scheduler stops and starts", func(t *testing.T) {
				nodes := admin.do("GET", "/api/v1/nodes", nil).expect(t, http.StatusOK)
				items, _ := nodes.body["items"].([]any)
				if len(items) != 1 {
					t.Fatalf("want one node, got %s", nodes.raw)
				}
				id := items[0].(map[string]any)["nodeId"].(string)
				if r := admin.do("POST", "/api/v1/nodes/"+id+"/scheduler/stop", nil).expect(t, http.StatusOK); r.str("schedulerState") != "PAUSED" {
					t.Fatalf("stop: %s", r.raw)
				}
				if r := admin.do("POST", "/api/v1/nodes/"+id+"/scheduler/start", nil).expect(t, http.StatusOK); r.str("schedulerState") != "RUNNING" {
					t.Fatalf("start: %s", r.raw)
				}
				const override = "http://node-a.example:8080/"
				if r := admin.do("PATCH", "/api/v1/nodes/"+id, map[string]any{"urlOverride": override}).expect(t, http.StatusOK); r.str("urlOverride") != override {
					t.Fatalf("set urlOverride: %s", r.raw)
				}
				if r := admin.do("PATCH", "/api/v1/nodes/"+id, map[string]any{"urlOverride": ""}).expect(t, http.StatusOK); r.str("urlOverride") != "" {
					t.Fatalf("clear urlOverride: %s", r.raw)
				}
			})

			t.Run("a report is made and downloaded", func(t *testing.T) {
				oid := admin.do("POST", "/api/v1/tasks", map[string]any{"name": "users report", "handler": "report"}).
					expect(t, http.StatusCreated).str("oid")
				waitTask(t, admin, oid, "to close", closed)
				reports := admin.do("GET", "/api/v1/objects/reports", nil).expect(t, http.StatusOK)
				items, _ := reports.body["items"].([]any)
				if len(items) == 0 {
					t.Fatalf("no report object after the report task: %s", reports.raw)
				}
				report := items[0].(map[string]any)["oid"].(string)
				file := admin.do("GET", "/api/v1/reports/"+report+"/download", nil).expect(t, http.StatusOK)
				if !strings.Contains(file.raw, "administrator") {
					t.Fatalf("report file does not list the administrator: %.200s", file.raw)
				}
			})
		})
	}
}

// TestBucketsArePaged: a task's buckets come a page at a time (100 unless
// the client asks for up to 1000), each page naming the next until the
// last; following next lists every bucket once, in order. A page over 1000
// or a malformed cursor is a 400, not a bigger answer.
func TestBucketsArePaged(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			admin, _ := setup(t, dialect)
			const total = 250
			oid := admin.do("POST", "/api/v1/tasks", map[string]any{
				"name": "paged", "handler": "noop",
				"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": total, "bucketSize": 1}},
			}).expect(t, http.StatusCreated).str("oid")
			waitTask(t, admin, oid, "to close", closed)
			path := "/api/v1/tasks/" + oid + "/buckets"

			for _, tc := range []struct {
				name, query string
				sizes       []int
			}{
				{"default page size", "", []int{100, 100, 50}},
				{"limit 0 is the default", "limit=0&", []int{100, 100, 50}},
				{"limit 120", "limit=120&", []int{120, 120, 10}},
				{"limit 1000", "limit=1000&", []int{250}},
				{"exactly the last page", "limit=125&", []int{125, 125}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					var seqs []int64
					var sizes []int
					after := ""
					for page := 0; ; page++ {
						if page > 10 {
							t.Fatal("the pages do not end")
						}
						q := path + "?" + tc.query
						if after != "" {
							q += "after=" + after
						}
						r := admin.do("GET", q, nil).expect(t, http.StatusOK)
						items, _ := r.body["items"].([]any)
						sizes = append(sizes, len(items))
						for _, it := range items {
							seqs = append(seqs, int64(it.(map[string]any)["seq"].(float64)))
						}
						next, ok := r.body["next"].(string)
						if !ok {
							break
						}
						if want := fmt.Sprint(seqs[len(seqs)-1]); next != want {
							t.Fatalf("next %q, want the last seq of the page, %s", next, want)
						}
						after = next
					}
					if fmt.Sprint(sizes) != fmt.Sprint(tc.sizes) {
						t.Fatalf("page sizes %v, want %v", sizes, tc.sizes)
					}
					for i, s := range seqs {
						if s != int64(i+1) {
							t.Fatalf("bucket %d has seq %d: the pages skip or repeat buckets", i, s)
						}
					}
				})
			}
			for _, q := range []string{"limit=1001", "limit=-1", "limit=x", "after=-1", "after=abc"} {
				t.Run("refused "+q, func(t *testing.T) {
					if r := admin.do("GET", path+"?"+q, nil); r.status != http.StatusBadRequest || r.str("error") != "bad-query" {
						t.Fatalf("want 400 bad-query, got %d %.300s", r.status, r.raw)
					}
				})
			}
			if r := admin.do("GET", path+"?after=1000000", nil).expect(t, http.StatusOK); len(r.body["items"].([]any)) != 0 || r.body["next"] != nil {
				t.Fatalf("after the last bucket: %s", r.raw)
			}
		})
	}
}
