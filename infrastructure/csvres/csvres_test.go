package csvres_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
		device  string  // read this path instead
		wantNot string  // file content the error must not show
		is      error
		want    []string // the error must contain each; "$path" is the file
	}{
		{name: "missing file", is: fs.ErrNotExist, want: []string{"$path", "does not exist"}},
		{name: "empty file", content: ptr(""), want: []string{"$path", "empty", `"name" column`}},
		{name: "no name column", content: ptr("login,fullName\nx,y\n"), is: csvres.ErrNoNameColumn,
			want: []string{"$path", "line 1", "(2 columns)"}, wantNot: "login"},
		{name: "duplicate column", content: ptr("name,name\nx,y\n"), want: []string{"$path", "line 1", "column 2 has the same name as column 1"}},
		{name: "broken quoting in the header", content: ptr("name,\"full\"Name\nok,Fine\n"), want: []string{"$path", "line 1"}},
		{name: "line too long", content: ptr("name,fullName\nok," + strings.Repeat("x", csvres.DefaultMaxLineBytes) + "\n"),
			is: csvres.ErrLineTooLong, want: []string{"$path", "line 2", "65536 bytes"}},
		{name: "endless line", device: "/dev/zero", is: csvres.ErrLineTooLong, want: []string{"$path", "line 1", "65536 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "absent.csv")
			if tt.content != nil {
				path = write(t, *tt.content)
			}
			if tt.device != "" {
				path = tt.device
			}
			rows, err := csvres.New(filepath.Dir(path)).Read(t.Context(), path)
			if err == nil {
				t.Fatalf("Read = %d rows, want an error", len(rows))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if tt.wantNot != "" && strings.Contains(err.Error(), tt.wantNot) {
				t.Errorf("error %q shows the file's content %q", err, tt.wantNot)
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
		"erin,Erin,true\n"+ // line 8
		"bad,\"Un\"closed,true\n"+ // line 9: broken quoting
		"frank,\"Frank\r\n"+ // line 10: a quote that never closes
		"gina,Gina,true\r\n") // line 11
	rows, err := csvres.New(filepath.Dir(path)).Read(t.Context(), path)
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
		{9, nil, "line 9: broken quoting at byte 8: extraneous or missing \" in quoted-field"},
		{10, nil, "line 10: "},
		{11, map[string]string{"name": "gina", "fullName": "Gina", "enabled": "true"}, ""},
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

// TestReadMalformedQuotingKeepsTheOtherRows: one row with broken quoting among
// thousands is an error row naming its line; every other row is read.
func TestReadMalformedQuotingKeepsTheOtherRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,fullName\n")
	const n, bad = 5000, 2500
	for i := range n {
		if i == bad {
			fmt.Fprintf(&b, "user%d,\"unclosed\n", i)
			continue
		}
		fmt.Fprintf(&b, "user%d,\"User, %d\"\n", i, i)
	}
	path := write(t, b.String())
	rows, err := csvres.New(filepath.Dir(path)).Read(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	for i, r := range rows {
		if r.Line != i+2 {
			t.Fatalf("row %d on line %d, want %d", i, r.Line, i+2)
		}
		if i == bad {
			if r.Err == nil || !strings.Contains(r.Err.Error(), fmt.Sprintf("line %d", bad+2)) {
				t.Errorf("row %d err %v, want one naming line %d", i, r.Err, bad+2)
			}
			continue
		}
		if r.Err != nil || r.Fields["name"] != fmt.Sprintf("user%d", i) || r.Fields["fullName"] != fmt.Sprintf("User, %d", i) {
			t.Errorf("row %d = %+v", i, r)
		}
	}
}

// TestReadFileSizeLimit: a file over the size limit, regular or not (a pipe
// has no size beforehand), is refused with an error naming the limit.
func TestReadFileSizeLimit(t *testing.T) {
	content := "name\n" + strings.Repeat("someone\n", 200) // 1605 bytes
	t.Run("regular file", func(t *testing.T) {
		path := write(t, content)
		small := &csvres.Files{Allowed: []string{filepath.Dir(path)}, MaxFileBytes: 1000}
		_, err := small.Read(t.Context(), path)
		if !errors.Is(err, csvres.ErrFileTooLarge) || !strings.Contains(err.Error(), "limit is 1000 bytes") || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want ErrFileTooLarge naming the file and the 1000-byte limit", err)
		}
		if rows, err := (&csvres.Files{Allowed: small.Allowed, MaxFileBytes: 2000}).Read(t.Context(), path); err != nil || len(rows) != 200 {
			t.Fatalf("under the limit: %d rows, %v; want 200 rows", len(rows), err)
		}
	})
	t.Run("device", func(t *testing.T) {
		_, err := (&csvres.Files{Allowed: []string{"/dev"}, MaxFileBytes: 1 << 20, MaxLineBytes: 4 << 20}).Read(t.Context(), "/dev/zero")
		if !errors.Is(err, csvres.ErrFileTooLarge) || !strings.Contains(err.Error(), "1048576 bytes") {
			t.Fatalf("err = %v, want ErrFileTooLarge naming the 1 MiB limit", err)
		}
	})
	t.Run("pipe", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fifo.csv")
		small := &csvres.Files{Allowed: []string{filepath.Dir(path)}, MaxFileBytes: 1000}
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		go func() {
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer w.Close()
			_, _ = w.WriteString(content)
		}()
		_, err := small.Read(t.Context(), path)
		if !errors.Is(err, csvres.ErrFileTooLarge) || !strings.Contains(err.Error(), "1000 bytes") {
			t.Fatalf("err = %v, want ErrFileTooLarge naming the 1000-byte limit", err)
		}
	})
}
