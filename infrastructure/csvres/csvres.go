// Package csvres reads CSV resources from the local file system: a header row
// naming the columns (one of them `name`), then one user per row.
package csvres

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"cadre/app/handlers"
)

// Default limits of a Files reader.
const (
	// DefaultMaxLineBytes is the longest record (a line, or the lines of a
	// quoted cell that spans several) a file may hold: 64 KiB.
	DefaultMaxLineBytes = 64 << 10
	// DefaultMaxFileBytes is the largest file that is read: 256 MiB.
	DefaultMaxFileBytes = 256 << 20
)

var (
	// ErrNoNameColumn is returned for a file whose header has no `name` column.
	ErrNoNameColumn = errors.New(`no "name" column in the header`)
	// ErrLineTooLong is returned for a record longer than the line limit.
	ErrLineTooLong = errors.New("line longer than the limit")
	// ErrFileTooLarge is returned for a file larger than the file size limit.
	ErrFileTooLarge = errors.New("file larger than the limit")
)

// Files reads CSV files; it implements handlers.Resource.
type Files struct {
	// Allowed are the directories resources may be read from (absolute
	// paths; configuration key resources/allowedDirectories, default
	// ${midpoint.home}/resources). A relative resource path is taken from the
	// first. With none, every resource is refused.
	Allowed []string
	// MaxLineBytes bounds one record (a line, or the lines of one quoted
	// multi-line cell); 0 means DefaultMaxLineBytes. A longer record stops the
	// read with ErrLineTooLong naming the line and the limit.
	MaxLineBytes int
	// MaxFileBytes bounds the bytes read from one file (also from devices and
	// pipes, whose size is unknown beforehand); 0 means DefaultMaxFileBytes. A
	// larger file stops the read with ErrFileTooLarge naming the limit.
	MaxFileBytes int64

	index indexes // row indexes of files read by range
}

// New returns a CSV resource reader, with the default limits, for files in
// the allowed directories.
func New(allowed ...string) *Files {
	dirs := make([]string, 0, len(allowed))
	for _, d := range allowed {
		if abs, err := filepath.Abs(d); err == nil {
			dirs = append(dirs, abs)
		}
	}
	return &Files{Allowed: dirs}
}

// Read parses the file at path. Cells are trimmed of spaces; blank lines are
// skipped; a UTF-8 byte-order mark is ignored. A row with the wrong number of
// cells or broken quoting comes back with Row.Err set naming its line, so that
// row indexes stay stable and the other rows can still be used; after a
// quoted cell that never closes, reading resumes at the line after the one it
// started on. A missing file, a bad header, a record longer than MaxLineBytes
// or a file larger than MaxFileBytes fails the whole read with an error naming
// the file (and the line or the limit). A path outside the allowed
// directories fails with ErrOutsideResources before anything is opened.
func (f *Files) Read(ctx context.Context, path string) ([]handlers.Row, error) {
	file, _, err := f.open(path)
	if errors.Is(err, ErrOutsideResources) {
		return nil, err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("csv resource %s: file does not exist: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("csv resource %s: %w", path, err)
	}
	defer file.Close()
	maxFile := f.maxFileBytes()
	if st, err := file.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > maxFile {
		return nil, fmt.Errorf("csv resource %s: %w: %d bytes, the limit is %d bytes", path, ErrFileTooLarge, st.Size(), maxFile)
	}
	rows, err := f.parse(ctx, file, path)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (f *Files) maxFileBytes() int64 {
	if f.MaxFileBytes > 0 {
		return f.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

func (f *Files) maxLineBytes() int {
	if f.MaxLineBytes > 0 {
		return f.MaxLineBytes
	}
	return DefaultMaxLineBytes
}

// parse reads the header and the rows from r.
func (f *Files) parse(ctx context.Context, r io.Reader, path string) ([]handlers.Row, error) {
	maxFile := f.maxFileBytes()
	lr := &lines{
		r:   bufio.NewReaderSize(&io.LimitedReader{R: r, N: maxFile + 1}, 16<<10),
		max: f.maxLineBytes(),
	}
	cols, err := header(lr, path, maxFile)
	if err != nil {
		return nil, err
	}

	var rows []handlers.Row
	err = eachRecord(ctx, lr, path, maxFile, func(rec record) { rows = append(rows, rowOf(rec, cols, path)) })
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// eachRecord calls fn for every record left in lr, up to the end of the file,
// within the file size limit.
func eachRecord(ctx context.Context, lr *lines, path string, maxFile int64, fn func(rec record)) error {
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := lr.record()
		if err == nil && lr.read > maxFile {
			err = errTooLarge(maxFile)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("csv resource %s: %w", path, err)
		}
		fn(rec)
	}
}

// rowOf turns a data record into a row of the resource.
func rowOf(rec record, cols []string, path string) handlers.Row {
	row := handlers.Row{Line: rec.line}
	switch {
	case rec.err != nil:
		row.Err = fmt.Errorf("csv resource %s line %d: %w", path, rec.line, rec.err)
	case len(rec.cells) != len(cols):
		row.Err = fmt.Errorf("csv resource %s line %d: %d cells, the header has %d columns", path, rec.line, len(rec.cells), len(cols))
	default:
		row.Fields = make(map[string]string, len(cols))
		for i, c := range cols {
			row.Fields[c] = strings.TrimSpace(rec.cells[i])
		}
	}
	return row
}

// header reads and checks the header record.
func header(lr *lines, path string, maxFile int64) ([]string, error) {
	rec, err := lr.record()
	if err == nil && lr.read > maxFile {
		err = errTooLarge(maxFile)
	}
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("csv resource %s: the file is empty; it needs a header row with a \"name\" column", path)
	}
	if err != nil {
		return nil, fmt.Errorf("csv resource %s: %w", path, err)
	}
	if rec.err != nil {
		return nil, fmt.Errorf("csv resource %s line %d: %w", path, rec.line, rec.err)
	}
	cols, err := columns(rec.cells)
	if err != nil {
		return nil, fmt.Errorf("csv resource %s line %d: %w", path, rec.line, err)
	}
	return cols, nil
}

func errTooLarge(limit int64) error {
	return fmt.Errorf("%w: more than %d bytes", ErrFileTooLarge, limit)
}

// split parses one record's text (without its final line end) into cells.
func split(text []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	cells, err := r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("broken quoting at byte %d: %w", pe.Column, pe.Err)
		}
		return nil, err
	}
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		// The text held more than one record: a quote closed and reopened
		// across a line end in a way encoding/csv reads differently.
		return nil, errors.New("malformed quoting")
	}
	return cells, nil
}

// record is one CSV record: its cells, or why it is malformed, and the line
// it starts on.
type record struct {
	line  int
	off   int64 // byte offset of the line it starts on
	cells []string
	err   error
}

// lines splits a stream into records: a record is one line, or several when a
// quoted cell holds line ends (an odd number of quotes so far). Every line is
// bounded by max bytes, and so is every record.
type lines struct {
	r       *bufio.Reader
	max     int
	next    int      // number of the next line read from r
	read    int64    // bytes read from r so far (plus base, the offset r starts at)
	pending [][]byte // lines read ahead of an unclosed quote, to read again
	pendOff []int64  // byte offsets of the pending lines
	pendAt  int      // number of pending[0]
	lastOff int64    // byte offset of the line line() returned last
}

// line returns the next physical line (without its line end) and its number.
func (l *lines) line() ([]byte, int, error) {
	if len(l.pending) > 0 {
		s, n := l.pending[0], l.pendAt
		l.lastOff = l.pendOff[0]
		l.pending, l.pendOff, l.pendAt = l.pending[1:], l.pendOff[1:], l.pendAt+1
		return s, n, nil
	}
	l.lastOff = l.read
	var buf []byte
	for {
		chunk, err := l.r.ReadSlice('\n')
		l.read += int64(len(chunk))
		if len(buf)+len(chunk) > l.max+2 { // +2: the line end
			return nil, l.next + 1, fmt.Errorf("line %d: %w of %d bytes", l.next+1, ErrLineTooLong, l.max)
		}
		buf = append(buf, chunk...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) == 0:
			return nil, 0, io.EOF
		case err != nil && !errors.Is(err, io.EOF):
			return nil, 0, err
		}
		l.next++
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		if len(buf) > l.max {
			return nil, l.next, fmt.Errorf("line %d: %w of %d bytes", l.next, ErrLineTooLong, l.max)
		}
		return buf, l.next, nil
	}
}

// record returns the next non-blank record, split into cells. A record whose
// quote stays open to the end of the file or past max bytes, or whose lines do
// not parse together, is returned as its first line alone with the parse
// error, and the lines after it are read again.
func (l *lines) record() (record, error) {
	var first []byte
	var at int
	for {
		s, n, err := l.line()
		if err != nil {
			return record{}, err
		}
		if len(s) > 0 {
			first, at = s, n
			break
		}
	}
	off := l.lastOff
	quotes := bytes.Count(first, []byte{'"'})
	if quotes%2 == 0 {
		cells, err := split(first)
		return record{line: at, off: off, cells: cells, err: err}, nil
	}
	text := append([]byte(nil), first...)
	var more [][]byte
	var moreOff []int64
	for {
		s, _, err := l.line()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return record{}, err
		}
		more = append(more, s)
		moreOff = append(moreOff, l.lastOff)
		if len(text)+1+len(s) > l.max {
			break
		}
		text = append(append(text, '\n'), s...)
		if quotes += bytes.Count(s, []byte{'"'}); quotes%2 == 0 {
			cells, err := split(text)
			if err == nil {
				return record{line: at, off: off, cells: cells}, nil
			}
			break
		}
	}
	// No well-formed record starts here: report the first line alone and
	// read the others again.
	l.pending, l.pendOff, l.pendAt = append(more, l.pending...), append(moreOff, l.pendOff...), at+1
	_, err := split(first)
	if err == nil {
		err = errors.New("quoted cell never closes")
	}
	return record{line: at, off: off, err: err}, nil
}

// columns checks the header: non-empty, unique column names including `name`.
// Its errors name columns by position, never by content: the file may not be
// a CSV file at all, and its text must not reach task messages or logs.
func columns(header []string) ([]string, error) {
	cols := make([]string, len(header))
	seen := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, fmt.Errorf("column %d has no name in the header", i+1)
		}
		if j, ok := seen[h]; ok {
			return nil, fmt.Errorf("column %d has the same name as column %d in the header", i+1, j+1)
		}
		seen[h] = i
		cols[i] = h
	}
	if _, ok := seen["name"]; !ok {
		return nil, fmt.Errorf("%w (%d columns)", ErrNoNameColumn, len(cols))
	}
	return cols, nil
}

var _ handlers.Resource = (*Files)(nil)
