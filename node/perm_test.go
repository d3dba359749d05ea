package node_test

import (
	"os"
	"path/filepath"
	"testing"

	"cadre/app/taskmanager"
	"cadre/domain/task"
	"cadre/node/nodetest"
)

// TestFilesArePrivate: the home directory, the SQLite database (password
// hashes, node secrets) and report files are readable by the node's user
// only, whatever the umask.
func TestFilesArePrivate(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	n := nodetest.Start(t, "sqlite", "-Dmidpoint.home="+home, "-Dmidpoint.repository.jdbcUrl=jdbc:sqlite:"+filepath.Join(home, "cadre.db"))
	rep := runToClose(t, n, taskmanager.CreateTask{Name: "report", Handler: "report", Params: map[string]any{"name": "perm"}})
	if rep.Result != task.Success {
		t.Fatalf("report: %s %s", rep.Result, rep.Message)
	}
	reports, _ := filepath.Glob(filepath.Join(home, "reports", "*"))
	if len(reports) == 0 {
		t.Fatal("no report file under home/reports")
	}
	check := func(path string, want os.FileMode) {
		t.Helper()
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", path, got, want)
		}
	}
	check(home, 0o700)
	check(filepath.Join(home, "cadre.db"), 0o600)
	if _, err := os.Stat(filepath.Join(home, "cadre.db-wal")); err == nil {
		check(filepath.Join(home, "cadre.db-wal"), 0o600)
	}
	check(filepath.Join(home, "reports"), 0o700)
	for _, r := range reports {
		check(r, 0o600)
	}
}

// TestExistingDatabaseIsMadePrivate: a database file left world-readable by
// an older version loses group and world access at start.
func TestExistingDatabaseIsMadePrivate(t *testing.T) {
	home := t.TempDir()
	db := filepath.Join(home, "old.db")
	if err := os.WriteFile(db, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	nodetest.Start(t, "sqlite", "-Dmidpoint.repository.jdbcUrl=jdbc:sqlite:"+db)
	if st, err := os.Stat(db); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("old database mode %v (%v), want 600", st.Mode().Perm(), err)
	}
}
