package csvres

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutsideResources is returned for a resource path that does not lie in
// one of the allowed directories, as written or once symbolic links are
// followed.
var ErrOutsideResources = errors.New("resource is outside the allowed directories")

// Resolve returns the real path of a resource: a relative path is taken
// from the first allowed directory; `..` and symbolic links are resolved; a
// file that does not exist yet is resolved through its nearest existing
// directory. It fails with ErrOutsideResources, naming the allowed
// directories, when the path leaves them before or after resolution. It
// never reads the file.
func (f *Files) Resolve(path string) (string, error) {
	real, _, err := f.confine(path)
	return real, err
}

// confine resolves path and returns it with the real allowed directory that
// holds it.
func (f *Files) confine(path string) (real, dir string, err error) {
	if len(f.Allowed) == 0 {
		return "", "", fmt.Errorf("%w: no directory allows resources (resources/allowedDirectories is empty)", ErrOutsideResources)
	}
	if strings.ContainsRune(path, 0) {
		return "", "", fmt.Errorf("resource path %q holds a NUL byte", path)
	}
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(f.Allowed[0], abs)
	}
	abs = filepath.Clean(abs)
	if within(abs, f.Allowed) == "" {
		return "", "", f.outside(path)
	}
	real, err = realPath(abs)
	if err != nil {
		return "", "", fmt.Errorf("resource %s: %w", path, err)
	}
	dirs := make([]string, 0, len(f.Allowed))
	for _, d := range f.Allowed {
		if r, err := realPath(d); err == nil {
			dirs = append(dirs, r)
		}
	}
	if dir = within(real, dirs); dir == "" {
		return "", "", fmt.Errorf("%w: %s leads through a symbolic link to %s, which is not in %s (setting resources/allowedDirectories)",
			ErrOutsideResources, path, real, strings.Join(f.Allowed, ", "))
	}
	return real, dir, nil
}

func (f *Files) outside(path string) error {
	return fmt.Errorf("%w: %s is not in %s (setting resources/allowedDirectories)", ErrOutsideResources, path, strings.Join(f.Allowed, ", "))
}

// within returns the directory of dirs that holds path (or is path), or "".
func within(path string, dirs []string) string {
	for _, d := range dirs {
		rel, err := filepath.Rel(d, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return d
		}
	}
	return ""
}

// realPath is an absolute, clean path with every symbolic link resolved; the
// part below the nearest existing directory is kept as written.
func realPath(path string) (string, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for {
		r, err := filepath.EvalSymlinks(path)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(path)
		if parent == path {
			return filepath.Join(path, rest), nil
		}
		rest = filepath.Join(filepath.Base(path), rest)
		path = parent
	}
}

// open opens a resource that confine accepted, inside its allowed directory
// with os.Root, so a symbolic link swapped in after the check cannot lead
// outside either.
func (f *Files) open(path string) (*os.File, string, error) {
	real, dir, err := f.confine(path)
	if err != nil {
		return nil, "", err
	}
	rel, err := filepath.Rel(dir, real)
	if err != nil {
		return nil, "", fmt.Errorf("resource %s: %w", path, err)
	}
	file, err := os.OpenInRoot(dir, rel)
	return file, real, err
}
