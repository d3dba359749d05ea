package handlers_test

import (
	"strings"
	"testing"

	"cadre/app/handlers"
	"cadre/domain/task"
	"cadre/infrastructure/csvres"
)

// TestValidate checks parameters and bucketing as task creation does.
func TestValidate(t *testing.T) {
	hs := handlers.All(handlers.Deps{CSV: csvres.New("/data")})
	numericB := &task.Bucketing{Numeric: &task.Numeric{From: 0, To: 100, BucketSize: 10}}
	oidB := &task.Bucketing{OIDPrefix: &task.OIDPrefix{Depth: 1}}
	res := map[string]any{"resource": "/data/users.csv"}
	tests := []struct {
		handler string
		params  map[string]any
		b       *task.Bucketing
		wantErr string // "" = valid
	}{
		{"import", res, nil, ""},
		{"import", res, numericB, ""},
		{"import", map[string]any{"resource": "/data/x.csv", "unknown": 1}, nil, ""},
		{"import", map[string]any{}, nil, `"resource" is required`},
		{"import", map[string]any{"resource": "  "}, nil, `"resource" must not be empty`},
		{"import", map[string]any{"resource": 7.0}, nil, `"resource" must be a string`},
		{"import", map[string]any{"resource": "users.csv"}, nil, ""}, // in the first allowed directory
		{"import", map[string]any{"resource": "/proc/self/environ"}, nil, "outside the allowed directories"},
		{"import", map[string]any{"resource": "/etc/shadow"}, nil, "resources/allowedDirectories"},
		{"import", map[string]any{"resource": "../etc/hosts"}, nil, "outside the allowed directories"},
		{"import", map[string]any{"resource": "/data/../etc/hosts"}, nil, "outside the allowed directories"},
		{"reconcile", map[string]any{"resource": "/etc/passwd"}, nil, "outside the allowed directories"},
		{"livesync", map[string]any{"resource": "/dev/zero"}, nil, "outside the allowed directories"},
		{"import", res, oidB, "numeric ranges"},
		{"reconcile", res, nil, ""},
		{"reconcile", map[string]any{}, nil, `"resource" is required`},
		{"reconcile", res, numericB, "reconcile cannot be bucketed"},
		{"livesync", res, nil, ""},
		{"livesync", nil, nil, `"resource" is required`},
		{"livesync", res, numericB, "livesync cannot be bucketed"},
		{"recompute", nil, nil, ""},
		{"recompute", nil, oidB, ""},
		{"recompute", nil, numericB, "OID prefix"},
		{"report", map[string]any{"name": "Weekly"}, nil, ""},
		{"report", map[string]any{"name": 3.0}, nil, `"name" must be a string`},
		{"report", nil, oidB, "report cannot be bucketed"},
		{"cleanup", map[string]any{"closedTasksOlderThan": "1h"}, nil, ""},
		{"cleanup", map[string]any{"closedTasksOlderThan": "soon"}, nil, "not a duration"},
		{"cleanup", map[string]any{"closedTasksOlderThan": "-1h"}, nil, "must be positive"},
		{"cleanup", nil, numericB, "cleanup cannot be bucketed"},
		{"approval", map[string]any{"case": "c1"}, nil, ""},
		{"approval", nil, nil, `"case" is required`},
		{"approval", map[string]any{"case": 3.0}, nil, `"case" must be a string`},
		{"approval", map[string]any{"case": "c1"}, oidB, "approval cannot be bucketed"},
	}
	if len(hs) != 7 {
		t.Errorf("All returns %d handlers, want 7", len(hs))
	}
	for _, tt := range tests {
		t.Run(tt.handler+" "+tt.wantErr, func(t *testing.T) {
			err := hs[tt.handler].Validate(tt.params, tt.b)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate(%v) = %v, want valid", tt.params, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate(%v) = %v, want an error containing %q", tt.params, err, tt.wantErr)
			}
		})
	}
}
