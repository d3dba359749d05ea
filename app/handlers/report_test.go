package handlers_test

import (
	"encoding/csv"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"cadre/domain/object"
)

// TestReport writes the users report twice and reads the files back.
func TestReport(t *testing.T) {
	e := setup(t)
	e.add(t, &object.User{Meta: object.Meta{Name: "zoe"}, FullName: "Zoë, \"Z\" Adams", EmailAddress: "zoe@example.com", Enabled: true, Roles: []string{e.readerOID, e.superOID}})
	e.add(t, &object.User{Meta: object.Meta{Name: "bob"}, FullName: "Bob", Enabled: false})

	tests := []struct {
		name     string
		params   map[string]any
		wantName string
	}{
		{name: "named", params: map[string]any{"name": "Weekly users"}, wantName: "Weekly users"},
		{name: "same name again gets a timestamp", params: map[string]any{"name": "Weekly users"}, wantName: "Weekly users 2026-03-14 15:09:26"},
		{name: "unnamed", params: map[string]any{}, wantName: "Users 2026-03-14 15:09:26"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.run(t, "report", tt.params, runOpts{})
			if res.err != nil || res.items != 3 || res.errs != 0 {
				t.Fatalf("run: err %v, %d items, %d errors; want 3 users", res.err, res.items, res.errs)
			}
			o, err := e.store.GetByName(t.Context(), object.TypeReport, tt.wantName)
			if err != nil {
				t.Fatalf("report %q: %v", tt.wantName, err)
			}
			rep := o.(*object.Report)
			if rep.Node != "node-7" || rep.FileName != rep.OID+".csv" || rep.Task == "" || !rep.CreatedAt.Equal(e.now) {
				t.Errorf("report = %+v", rep)
			}
			if filepath.Base(rep.FileName) != rep.FileName {
				t.Errorf("file name %q is not a base name", rep.FileName)
			}
			f, size, err := e.reports.Open(rep.FileName)
			if err != nil {
				t.Fatalf("open report file: %v", err)
			}
			defer f.Close()
			data, _ := io.ReadAll(f)
			if int64(len(data)) != size {
				t.Errorf("size %d, read %d bytes", size, len(data))
			}
			recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
			if err != nil {
				t.Fatalf("report is not CSV: %v\n%s", err, data)
			}
			want := [][]string{
				{"name", "fullName", "emailAddress", "enabled", "roles"},
				{"administrator", "Administrator", "", "true", "Superuser"},
				{"bob", "Bob", "", "false", ""},
				{"zoe", "Zoë, \"Z\" Adams", "zoe@example.com", "true", "Reader;Superuser"},
			}
			if len(recs) != len(want) {
				t.Fatalf("%d lines, want header + %d users:\n%s", len(recs), len(want)-1, data)
			}
			for i := range want {
				if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
					t.Errorf("line %d = %q, want %q", i+1, recs[i], want[i])
				}
			}
		})
	}
}
