package node_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"cadre/node/proctest"
)

// TestStartupErrorsExitStatus: configuration mistakes found only when the
// node starts exit with status 2 and name the key, like those config.Load
// finds; an unreachable database exits with its own status, 3, and says so.
func TestStartupErrorsExitStatus(t *testing.T) {
	bin := proctest.Binary(t)
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		want   []string
	}{
		// A node waits for its database (TestWaitsForDatabase); with no wait
		// at all, the first refusal ends it.
		{"unreachable PostgreSQL", []string{"-Dmidpoint.repository.jdbcUrl=jdbc:postgresql://127.0.0.1:1/cadre", "-Dmidpoint.repository.initializationFailTimeout=0"}, 3,
			[]string{"database unreachable", "repository/jdbcUrl", "initializationFailTimeout"}},
		{"SQLite in a missing directory", []string{"-Dmidpoint.repository.jdbcUrl=jdbc:sqlite:/nonexistent-cadre-dir/sub/cadre.db"}, 2,
			[]string{"repository/jdbcUrl", "SQLite"}},
		{"sequence backwards", []string{"-Dmidpoint.nodeId=${sequence:9:1:node%d}"}, 2, []string{"nodeId"}},
		{"random backwards", []string{"-Dmidpoint.nodeId=${random:number:5:1}"}, 2, []string{"nodeId"}},
		{"threads", []string{"-Dmidpoint.taskManager.threads=100000000"}, 2, []string{"taskManager/threads"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"-Dmidpoint.home=" + t.TempDir(), "-Dserver.port=0"}, tc.args...)...)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.status {
				t.Fatalf("exit: %v; want status %d\n%s", err, tc.status, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not name %q:\n%s", w, out)
				}
			}
		})
	}
}
