package handlers_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"cadre/domain/security"
)

// TestCleanup deletes old closed tasks (through the port) and expired sessions (for real).
func TestCleanup(t *testing.T) {
	tests := []struct {
		name        string
		params      map[string]any
		tasksN      int64
		tasksErr    error
		wantBefore  time.Duration // how far before now the task cut-off is
		items, errs int64
	}{
		{name: "default keeps a day", params: map[string]any{}, tasksN: 3, wantBefore: 24 * time.Hour, items: 3 + 1},
		{name: "Go duration", params: map[string]any{"closedTasksOlderThan": "90m"}, wantBefore: 90 * time.Minute, items: 1},
		{name: "milliseconds", params: map[string]any{"closedTasksOlderThan": float64(60000)}, wantBefore: time.Minute, items: 1},
		{name: "a failing step is an error, the others still run", params: map[string]any{},
			tasksErr: errors.New("database is locked"), wantBefore: 24 * time.Hour, items: 1, errs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.tasks.n, e.tasks.err = tt.tasksN, tt.tasksErr
			for i, exp := range []time.Duration{-time.Minute, time.Hour} { // one expired, one live
				s := security.Session{ID: []string{"expired", "live"}[i], UserOID: e.adminOID, NodeID: "node-7",
					CreatedAt: e.now.Add(-2 * time.Hour), LastSeenAt: e.now.Add(-2 * time.Hour), ExpiresAt: e.now.Add(exp)}
				if err := e.store.SessionsAdd(t.Context(), s); err != nil {
					t.Fatal(err)
				}
			}
			res := e.run(t, "cleanup", tt.params, runOpts{})
			if res.err != nil || res.items != tt.items || res.errs != tt.errs {
				t.Fatalf("run: err %v, %d items, %d errors; want %d, %d\n%s", res.err, res.items, res.errs, tt.items, tt.errs, res.logs)
			}
			if got := e.now.Sub(e.tasks.before); got != tt.wantBefore {
				t.Errorf("tasks deleted before now-%v, want now-%v", got, tt.wantBefore)
			}
			if _, err := e.store.SessionsGet(t.Context(), "expired"); err == nil {
				t.Error("expired session kept")
			}
			if _, err := e.store.SessionsGet(t.Context(), "live"); err != nil {
				t.Errorf("live session: %v", err)
			}
			if tt.tasksErr != nil && !strings.Contains(res.logs, "database is locked") {
				t.Errorf("failing step not logged:\n%s", res.logs)
			}
		})
	}
}
