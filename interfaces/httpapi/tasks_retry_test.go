package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"cadre/db/dbtest"
)

// TestTaskRetry: a task's retry spec is validated (422 naming the field),
// stored and read back; a bucketed noop whose buckets fail once ends
// SUCCESS with every bucket read as two attempts with the first one's error.
func TestTaskRetry(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			admin, _ := setup(t, dialect)
			for _, tc := range []struct{ retry, field string }{
				{`{"maxAttempts":0}`, "retry.maxAttempts"},
				{`{"maxAttempts":101}`, "retry.maxAttempts"},
				{`{"maxAttempts":2,"backoffMs":-1}`, "retry.backoffMs"},
				{`{"maxAttempts":2,"backoffMs":3600001}`, "retry.backoffMs"},
			} {
				r := admin.do("POST", "/api/v1/tasks", `{"name":"x","handler":"noop","retry":`+tc.retry+`}`)
				if r.status != http.StatusUnprocessableEntity || r.str("error") != "invalid-task" || !strings.Contains(r.str("message"), tc.field) {
					t.Fatalf("retry %s: want 422 invalid-task naming %s, got %d %s", tc.retry, tc.field, r.status, r.raw)
				}
			}
			for _, bad := range []string{`"failFirstAttempts":-1`, `"checkpointEvery":1.5`} {
				r := admin.do("POST", "/api/v1/tasks", `{"name":"x","handler":"noop","params":{`+bad+`}}`)
				if r.status != http.StatusUnprocessableEntity {
					t.Fatalf("noop params {%s}: want 422, got %d %s", bad, r.status, r.raw)
				}
			}

			created := admin.do("POST", "/api/v1/tasks", map[string]any{"name": "flaky", "handler": "noop",
				"params":    map[string]any{"itemsPerBucket": 3, "failFirstAttempts": 1},
				"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": 4, "bucketSize": 1}},
				"retry":     map[string]any{"maxAttempts": 2, "backoffMs": 10}}).expect(t, http.StatusCreated)
			oid := created.str("oid")
			if !strings.Contains(created.raw, `"retry":{"maxAttempts":2,"backoffMs":10}`) {
				t.Fatalf("created task does not show its retry: %s", created.raw)
			}
			done := waitTask(t, admin, oid, "to close", closed)
			if done.str("resultStatus") != "SUCCESS" {
				t.Fatalf("task: %s; want SUCCESS after the retries", done.raw)
			}
			buckets := admin.do("GET", "/api/v1/tasks/"+oid+"/buckets", nil).expect(t, http.StatusOK)
			for _, want := range []string{`"attempts":2`, `"lastError":"noop fails attempt 1`, `"resumedFrom":null`, `"retryAt":null`} {
				if strings.Count(buckets.raw, want) != 4 {
					t.Fatalf("buckets: %s; want %s on each of the 4", buckets.raw, want)
				}
			}
		})
	}
}
