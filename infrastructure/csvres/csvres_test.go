package csvres_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cadre/infrastructure/csvres"
)

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content *string // nil: the file does not exist
		is      error
		want    []string // the error must contain each; "$path" is the file
	}{
		{name: "missing file", is: fs.ErrNotExist, want: []string{"$path", "does not exist"}},
		{name: "empty file", content: ptr(""), want: []string{"$path", "empty", `"name" column`}},
		{name: "no name column", content: ptr("login,fullName\nx,y\n"), is: csvres.ErrNoNameColumn,
			want: []string{"$path", "line 1", "columns: login, fullName"}},
		{name: "duplicate column", content: ptr("name,name\nx,y\n"), want: []string{"$path", "line 1", "twice"}},
		{name: "broken quoting", content: ptr("name,fullName\nok,Fine\nbad,\"Un\"closed\n"), want: []string{"$path", "line 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "absent.csv")
			if tt.content != nil {
				path = write(t, *tt.content)
			}
			rows, err := csvres.New().Read(t.Context(), path)
			if err == nil {
				t.Fatalf("Read = %d rows, want an error", len(rows))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, w := range tt.want {
				if w = strings.ReplaceAll(w, "$path", path); !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestReadRows(t *testing.T) {
	path := write(t, "\ufeff name , fullName,enabled\n"+
		"  alice ,  Alice Liddell ,true\n"+ // line 2
		"\n"+ // blank lines are skipped
		"bob,\"Bob, \"\"the\"\" Builder\",\n"+ // line 4
		"carol,Carol\n"+ // line 5: a cell short
		"\"dave\nmultiline\",Dave,false\n"+ // lines 6-7
		"erin,Erin,true\n") // line 8
	rows, err := csvres.New().Read(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line   int
		fields map[string]string
		err    string
	}{
		{2, map[string]string{"name": "alice", "fullName": "Alice Liddell", "enabled": "true"}, ""},
		{4, map[string]string{"name": "bob", "fullName": `Bob, "the" Builder`, "enabled": ""}, ""},
		{5, nil, "line 5: 2 cells, the header has 3 columns"},
		{6, map[string]string{"name": "dave\nmultiline", "fullName": "Dave", "enabled": "false"}, ""},
		{8, map[string]string{"name": "erin", "fullName": "Erin", "enabled": "true"}, ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Line != w.line {
			t.Errorf("row %d line %d, want %d", i, r.Line, w.line)
		}
		if w.err != "" {
			if r.Err == nil || !strings.Contains(r.Err.Error(), w.err) || !strings.Contains(r.Err.Error(), path) {
				t.Errorf("row %d err %v, want %q naming the file", i, r.Err, w.err)
			}
			continue
		}
		if r.Err != nil || len(r.Fields) != len(w.fields) {
			t.Errorf("row %d = %+v, want %v", i, r, w.fields)
		}
		for k, v := range w.fields {
			if r.Fields[k] != v {
				t.Errorf("row %d %s = %q, want %q", i, k, r.Fields[k], v)
			}
		}
	}
}
