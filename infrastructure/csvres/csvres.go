// Package csvres reads CSV resources from the local file system: a header row
// naming the columns (one of them `name`), then one user per row.
package csvres

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"cadre/app/handlers"
)

// ErrNoNameColumn is returned for a file whose header has no `name` column.
var ErrNoNameColumn = errors.New(`no "name" column in the header`)

// Files reads CSV files; it implements handlers.Resource.
type Files struct{}

// New returns a CSV resource reader.
func New() *Files { return &Files{} }

// Read parses the file at path. Cells are trimmed of spaces; blank lines are
// skipped; a UTF-8 byte-order mark is ignored. A row with the wrong number of
// cells comes back with Row.Err set, so that row indexes stay stable. A
// missing file, a bad header or broken quoting fails the whole read with an
// error naming the file (and the line).
func (f *Files) Read(ctx context.Context, path string) ([]handlers.Row, error) {
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("csv resource %s: file does not exist: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("csv resource %s: %w", path, err)
	}
	defer file.Close()

	r := csv.NewReader(file)
	r.FieldsPerRecord = -1 // checked here, per row
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("csv resource %s: the file is empty; it needs a header row with a \"name\" column", path)
	}
	if err != nil {
		return nil, fmt.Errorf("csv resource %s: %w", path, err)
	}
	cols, err := columns(header)
	if err != nil {
		return nil, fmt.Errorf("csv resource %s line 1: %w", path, err)
	}

	var rows []handlers.Row
	for {
		if len(rows)%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil { // *csv.ParseError names the line
			return nil, fmt.Errorf("csv resource %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		row := handlers.Row{Line: line}
		if len(rec) != len(cols) {
			row.Err = fmt.Errorf("csv resource %s line %d: %d cells, the header has %d columns", path, line, len(rec), len(cols))
		} else {
			row.Fields = make(map[string]string, len(cols))
			for i, c := range cols {
				row.Fields[c] = strings.TrimSpace(rec[i])
			}
		}
		rows = append(rows, row)
	}
}

// columns checks the header: non-empty, unique column names including `name`.
func columns(header []string) ([]string, error) {
	cols := make([]string, len(header))
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		switch {
		case h == "":
			return nil, fmt.Errorf("column %d has no name in the header", i+1)
		case seen[h]:
			return nil, fmt.Errorf("column %q appears twice in the header", h)
		}
		seen[h] = true
		cols[i] = h
	}
	if !seen["name"] {
		return nil, fmt.Errorf("%w (columns: %s)", ErrNoNameColumn, strings.Join(cols, ", "))
	}
	return cols, nil
}

var _ handlers.Resource = (*Files)(nil)
