package handlers_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"cadre/app/taskmanager"
	"cadre/domain/object"
)

// TestImportRows covers what import does with single rows, good and bad.
func TestImportRows(t *testing.T) {
	tests := []struct {
		name        string
		existing    []*object.User
		csv         string
		items, errs int64
		logs        []string // each must appear in the log
		check       func(t *testing.T, e *env)
	}{
		{
			name:  "creates users with defaults",
			csv:   csvOf("name,fullName,emailAddress,enabled", "alice,Alice Liddell,alice@example.com,", "bob,,,false"),
			items: 2,
			check: func(t *testing.T, e *env) {
				if a := e.user(t, "alice"); !a.Enabled || a.FullName != "Alice Liddell" || a.EmailAddress != "alice@example.com" {
					t.Errorf("alice = %+v", a)
				}
				if b := e.user(t, "bob"); b.Enabled {
					t.Errorf("bob should be disabled: %+v", b)
				}
			},
		},
		{
			name:     "updates only the columns the file has",
			existing: []*object.User{{Meta: object.Meta{Name: "carol"}, FullName: "Carol Old", EmailAddress: "carol@example.com", Enabled: true}},
			csv:      csvOf("name,enabled", "Carol,false"),
			items:    1,
			check: func(t *testing.T, e *env) {
				if c := e.user(t, "carol"); c.Enabled || c.FullName != "Carol Old" || c.EmailAddress != "carol@example.com" || c.Version != 2 {
					t.Errorf("carol = %+v", c)
				}
			},
		},
		{
			name:     "an unchanged row writes nothing",
			existing: []*object.User{{Meta: object.Meta{Name: "dave"}, FullName: "Dave", Enabled: true}},
			csv:      csvOf("name,fullName,enabled", "dave,Dave,true"),
			items:    1,
			check: func(t *testing.T, e *env) {
				if d := e.user(t, "dave"); d.Version != 1 {
					t.Errorf("dave was rewritten: version %d", d.Version)
				}
			},
		},
		{
			name: "bad rows are errors naming their line, good rows still go in",
			csv: csvOf("name,fullName,emailAddress,enabled",
				"erin,Erin,erin@example.com,true", // line 2
				",Nameless,,true",                 // line 3
				"frank,Frank,frank@example.com,maybe",
				"grace,Grace,not-an-address,true",
				"heidi,Heidi",
				"administrator,Evil Admin,,false", // line 7
				"ivan,Ivan,ivan@example.com,TRUE"),
			items: 7, errs: 5,
			logs: []string{"line=3", "name is empty", "line=4", `enabled is \"maybe\"`, "line=5", "not an e-mail address",
				"line=6", "2 cells", "line=7", "administrator is not managed"},
			check: func(t *testing.T, e *env) {
				for _, name := range []string{"erin", "ivan"} {
					e.user(t, name)
				}
				for _, name := range []string{"frank", "grace", "heidi"} {
					if _, err := e.store.GetByName(t.Context(), object.TypeUser, name); err == nil {
						t.Errorf("user %s was created from a bad row", name)
					}
				}
				if a := e.user(t, "administrator"); a.FullName != "Administrator" || !a.Enabled {
					t.Errorf("administrator changed by a resource: %+v", a)
				}
			},
		},
		{
			name:  "a name twice in the file is one user",
			csv:   csvOf("name,fullName", "judy,First", "JUDY,Second"),
			items: 2,
			check: func(t *testing.T, e *env) {
				if j := e.user(t, "judy"); j.FullName != "Second" {
					t.Errorf("judy = %+v", j)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			for _, u := range tt.existing {
				e.add(t, u)
			}
			path := e.writeCSV(t, "users.csv", tt.csv)
			res := e.run(t, "import", map[string]any{"resource": path}, runOpts{})
			if res.err != nil {
				t.Fatalf("run: %v", res.err)
			}
			if res.items != tt.items || res.errs != tt.errs {
				t.Errorf("progress = %d items, %d errors; want %d, %d\n%s", res.items, res.errs, tt.items, tt.errs, res.logs)
			}
			for _, want := range tt.logs {
				if !strings.Contains(res.logs, want) {
					t.Errorf("log lacks %q:\n%s", want, res.logs)
				}
			}
			tt.check(t, e)
		})
	}
}

// TestResourceFailures: a resource that cannot be read fails the run, naming the file.
func TestResourceFailures(t *testing.T) {
	e := setup(t)
	noName := e.writeCSV(t, "noname.csv", csvOf("login,fullName", "x,y"))
	missing := e.dir + "/missing.csv"
	for _, handler := range []string{"import", "reconcile", "livesync"} {
		for what, path := range map[string]string{"no name column": noName, "missing file": missing} {
			t.Run(handler+" "+what, func(t *testing.T) {
				res := e.run(t, handler, map[string]any{"resource": path}, runOpts{})
				if res.err == nil || !strings.Contains(res.err.Error(), path) {
					t.Errorf("err = %v, want an error naming %s", res.err, path)
				}
				if n, _ := e.store.Count(t.Context(), object.TypeUser); n != 1 {
					t.Errorf("%d users after a failed read, want only administrator", n)
				}
				if a := e.user(t, "administrator"); !a.Enabled {
					t.Error("administrator disabled")
				}
			})
		}
	}
}

// TestStopping: a run that is told to stop returns early with ErrStopped, so
// its bucket is released rather than completed. Import applies rows a chunk
// of 500 at a time and looks at Stopping between chunks: told to stop after
// the first chunk, it has done exactly that chunk.
func TestStopping(t *testing.T) {
	e := setup(t)
	names := make([]string, 1200)
	for i := range names {
		names[i] = fmt.Sprintf("u%04d", i)
	}
	path := e.writeCSV(t, "users.csv", csvOf("name", names...))
	calls := 0
	stopAfterFirstChunk := func() bool { calls++; return calls > 1 }
	res := e.run(t, "import", map[string]any{"resource": path}, runOpts{stopping: stopAfterFirstChunk})
	if !errors.Is(res.err, taskmanager.ErrStopped) || res.items != 500 {
		t.Errorf("stopped import: err %v, %d items; want ErrStopped, 500", res.err, res.items)
	}
	if n, _ := e.store.Count(t.Context(), object.TypeUser); n != 501 {
		t.Errorf("%d users after the stop, want the first chunk's 500 and administrator", n)
	}
}

// TestReconcileRows covers the disable pass on small files.
func TestReconcileRows(t *testing.T) {
	tests := []struct {
		name        string
		csv         string
		items, errs int64
		enabled     map[string]bool // expected state afterwards
		logs        string
	}{
		{
			name:    "users missing from the file are disabled, administrator is not",
			csv:     csvOf("name,fullName", "alice,Alice", "newbie,New Bie"),
			items:   2 + 1, // two rows, bob disabled; carol is already disabled
			enabled: map[string]bool{"alice": true, "newbie": true, "bob": false, "carol": false, "administrator": true},
		},
		{
			name:    "a disabled user back in the file is enabled again",
			csv:     csvOf("name,enabled", "alice,true", "bob,true", "carol,"),
			items:   3,
			enabled: map[string]bool{"alice": true, "bob": true, "carol": true, "administrator": true},
		},
		{
			name:  "an unreadable row stops the disable pass",
			csv:   csvOf("name,fullName", "alice,Alice", "bob,Bob,extra cell"),
			items: 2, errs: 1,
			enabled: map[string]bool{"alice": true, "bob": true, "carol": false},
			logs:    "disable pass skipped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.add(t, &object.User{Meta: object.Meta{Name: "alice"}, Enabled: true})
			e.add(t, &object.User{Meta: object.Meta{Name: "bob"}, Enabled: true})
			e.add(t, &object.User{Meta: object.Meta{Name: "carol"}, Enabled: false})
			path := e.writeCSV(t, "users.csv", tt.csv)
			res := e.run(t, "reconcile", map[string]any{"resource": path}, runOpts{})
			if res.err != nil || res.items != tt.items || res.errs != tt.errs {
				t.Fatalf("run: err %v, %d items, %d errors; want %d, %d\n%s", res.err, res.items, res.errs, tt.items, tt.errs, res.logs)
			}
			for name, want := range tt.enabled {
				if got := e.user(t, name).Enabled; got != want {
					t.Errorf("%s enabled = %t, want %t", name, got, want)
				}
			}
			if !strings.Contains(res.logs, tt.logs) {
				t.Errorf("log lacks %q:\n%s", tt.logs, res.logs)
			}
		})
	}
}
