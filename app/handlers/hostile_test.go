package handlers_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportSurvivesAMalformedLine: one row with a quote that never closes
// is one error item whose log line names its line; the other 4,999 rows are
// imported (the whole import used to fail with none).
func TestImportSurvivesAMalformedLine(t *testing.T) {
	e := setup(t)
	const n, bad = 5000, 1234
	lines := make([]string, n)
	for i := range lines {
		lines[i] = bigRow(i)
	}
	lines[bad] = fmt.Sprintf(`user%05d,"Broken quote,user%05d@example.com,true`, bad, bad)
	path := e.writeCSV(t, "users.csv", csvOf("name,fullName,emailAddress,enabled", lines...))
	res := e.run(t, "import", map[string]any{"resource": path}, runOpts{})
	if res.err != nil {
		t.Fatalf("import failed: %v", res.err)
	}
	if res.items != n || res.errs != 1 {
		t.Fatalf("progress = %d items, %d errors; want %d, 1", res.items, res.errs, n)
	}
	if users := e.users(t); len(users) != n { // n-1 imported + administrator
		t.Fatalf("%d users, want %d imported + administrator", len(users), n-1)
	}
	if want := fmt.Sprintf("line=%d", bad+2); !strings.Contains(res.logs, want) {
		t.Fatalf("log does not name %s:\n%.2000s", want, res.logs)
	}
}

// TestResourceOutsideIsNeverRead: a resource path that leaves the allowed
// directory (here through a symbolic link planted after the task was
// created) fails the run without a word of the file in the error or log.
func TestResourceOutsideIsNeverRead(t *testing.T) {
	e := setup(t)
	secret := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(secret, []byte("name\nTOP-SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(e.dir, "planted.csv")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	for _, handler := range []string{"import", "reconcile", "livesync"} {
		res := e.run(t, handler, map[string]any{"resource": link}, runOpts{})
		if res.err == nil || !strings.Contains(res.err.Error(), "outside the allowed directories") {
			t.Fatalf("%s: err %v, want a refusal", handler, res.err)
		}
		if strings.Contains(res.err.Error()+res.logs, "TOP-SECRET") {
			t.Fatalf("%s: the file's content leaked:\n%v\n%s", handler, res.err, res.logs)
		}
	}
	if users := e.users(t); len(users) != 1 {
		t.Fatalf("%d users, want only the administrator", len(users))
	}
}
