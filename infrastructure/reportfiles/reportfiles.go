// Package reportfiles keeps report files in one directory of this node's
// local disk (${midpoint.home}/reports), refusing any name that would reach
// outside it.
package reportfiles

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrBadName is returned for a file name that is not a plain base name
// (empty, ".", "..", or containing a path separator).
var ErrBadName = errors.New("bad report file name")

// Dir is a directory of report files; it implements handlers.ReportFiles.
type Dir struct {
	dir string
}

// New returns the report files kept in dir; the directory is made when the
// first file is created.
func New(dir string) *Dir { return &Dir{dir: dir} }

// Path is the directory.
func (d *Dir) Path() string { return d.dir }

// Create makes a new file for writing and returns it with its full path. It
// refuses a bad name (ErrBadName) and an existing file (fs.ErrExist).
func (d *Dir) Create(name string) (io.WriteCloser, string, error) {
	if err := checkName(name); err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("make report directory: %w", err)
	}
	root, err := os.OpenRoot(d.dir)
	if err != nil {
		return nil, "", fmt.Errorf("open report directory: %w", err)
	}
	defer root.Close()
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("create report file %s: %w", name, err)
	}
	return f, filepath.Join(d.dir, name), nil
}

// Open opens a file for reading and returns its size in bytes. It refuses a
// bad name (ErrBadName); a missing file is fs.ErrNotExist.
func (d *Dir) Open(fileName string) (io.ReadCloser, int64, error) {
	if err := checkName(fileName); err != nil {
		return nil, 0, err
	}
	root, err := os.OpenRoot(d.dir)
	if err != nil {
		return nil, 0, fmt.Errorf("open report file %s: %w", fileName, err)
	}
	defer root.Close()
	f, err := root.Open(fileName)
	if err != nil {
		return nil, 0, fmt.Errorf("open report file %s: %w", fileName, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%w: %s is not a regular file", ErrBadName, fileName)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// Remove deletes a file. It refuses a bad name (ErrBadName); a missing file
// is fs.ErrNotExist.
func (d *Dir) Remove(fileName string) error {
	if err := checkName(fileName); err != nil {
		return err
	}
	root, err := os.OpenRoot(d.dir)
	if err != nil {
		return fmt.Errorf("remove report file %s: %w", fileName, err)
	}
	defer root.Close()
	if err := root.Remove(fileName); err != nil {
		return fmt.Errorf("remove report file %s: %w", fileName, err)
	}
	return nil
}

// checkName accepts plain base names only.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`+"\x00") || !filepath.IsLocal(name) {
		return fmt.Errorf("%w: %q (a plain file name is needed, without directories)", ErrBadName, name)
	}
	return nil
}
