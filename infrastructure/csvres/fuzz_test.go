package csvres

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the CSV reader. It must never panic,
// must keep within its limits, must number rows by increasing lines, and,
// whenever encoding/csv reads the whole input without error, must return the
// same cells on the same lines. The seed corpus is in testdata/fuzz/FuzzParse
// and runs with every `go test`.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name,fullName\nalice,Alice\n",
		"\ufeffname,fullName,enabled\r\nbob,\"Bob, \"\"the\"\" Builder\",true\r\n",
		"name\n\"multi\nline\"\n\nlast\n",
		"name,x\nbad,\"Un\"closed\nok,1\n",
		"name,x\nopen,\"never closes\nnext,2\n",
		"name,name\n",
		"",
		"\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxLine, maxFile = 256, 4096
		files := &Files{MaxLineBytes: maxLine, MaxFileBytes: maxFile}
		rows, err := files.parse(t.Context(), bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "csv resource fuzz.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			if len(data) > maxFile && !errors.Is(err, ErrFileTooLarge) && !errors.Is(err, ErrLineTooLong) &&
				!strings.Contains(err.Error(), "line ") {
				t.Fatalf("error %q for %d bytes names neither a limit nor a line", err, len(data))
			}
			return
		}
		if len(data) > maxFile {
			t.Fatalf("%d bytes read without an error; the limit is %d", len(data), maxFile)
		}
		last := 1
		for i, r := range rows {
			if r.Line <= last {
				t.Fatalf("row %d on line %d, after line %d", i, r.Line, last)
			}
			last = r.Line
			if (r.Err == nil) == (r.Fields == nil) {
				t.Fatalf("row %d has both or neither fields and error: %+v", i, r)
			}
			if r.Fields != nil && r.Fields["name"] != strings.TrimSpace(r.Fields["name"]) {
				t.Fatalf("row %d name %q not trimmed", i, r.Fields["name"])
			}
		}

		// Differential check against encoding/csv on input it reads cleanly.
		want, lines, ok := stdlib(data)
		if !ok || len(want) == 0 {
			return
		}
		if len(rows) != len(want)-1 {
			t.Fatalf("%d rows, encoding/csv reads %d", len(rows), len(want)-1)
		}
		header := want[0]
		for i, r := range rows {
			rec := want[i+1]
			if r.Line != lines[i+1] {
				t.Fatalf("row %d on line %d, encoding/csv says %d", i, r.Line, lines[i+1])
			}
			if len(rec) != len(header) {
				if r.Err == nil {
					t.Fatalf("row %d has %d cells for %d columns but no error", i, len(rec), len(header))
				}
				continue
			}
			if r.Err != nil {
				t.Fatalf("row %d: %v; encoding/csv reads %q", i, r.Err, rec)
			}
			for j, h := range header {
				h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
				if got, want := r.Fields[h], strings.TrimSpace(rec[j]); got != want {
					t.Fatalf("row %d %s = %q, encoding/csv reads %q", i, h, got, want)
				}
			}
		}
	})
}

// stdlib reads data with encoding/csv as the reader did before the limits;
// ok is false when any record fails to parse.
func stdlib(data []byte) (recs [][]string, lines []int, ok bool) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return recs, lines, true
		}
		if err != nil {
			return nil, nil, false
		}
		line, _ := r.FieldPos(0)
		recs, lines = append(recs, rec), append(lines, line)
	}
}
