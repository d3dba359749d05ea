package reportfiles_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"cadre/app/handlers"
	"cadre/infrastructure/reportfiles"
)

var _ handlers.ReportFiles = (*reportfiles.Dir)(nil)

func setup(t *testing.T) (*reportfiles.Dir, string) {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "reports")
	return reportfiles.New(dir), base
}

func TestCreateOpenRemove(t *testing.T) {
	d, _ := setup(t)
	w, path, err := d.Create("r1.csv")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "r1.csv" || filepath.Dir(path) != d.Path() {
		t.Errorf("path %s, want r1.csv in %s", path, d.Path())
	}
	if _, err := io.WriteString(w, "name\nalice\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Create("r1.csv"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over an existing file = %v, want fs.ErrExist", err)
	}
	r, size, err := d.Open("r1.csv")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(r)
	r.Close()
	if string(data) != "name\nalice\n" || size != int64(len(data)) {
		t.Errorf("read %q (size %d)", data, size)
	}
	if err := d.Remove("r1.csv"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Open("r1.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Remove = %v, want fs.ErrNotExist", err)
	}
}

func TestRefusesEscapes(t *testing.T) {
	d, base := setup(t)
	secret := filepath.Join(base, "x")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(d.Path(), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(d.Path(), "link.csv")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "..", ".", "", "/etc/passwd", "a/b.csv", `..\x`, "sub/../../x", "x\x00.csv"} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := d.Open(name); !errors.Is(err, reportfiles.ErrBadName) {
				t.Errorf("Open(%q) = %v, want ErrBadName", name, err)
			}
			if _, _, err := d.Create(name); !errors.Is(err, reportfiles.ErrBadName) {
				t.Errorf("Create(%q) = %v, want ErrBadName", name, err)
			}
			if err := d.Remove(name); !errors.Is(err, reportfiles.ErrBadName) {
				t.Errorf("Remove(%q) = %v, want ErrBadName", name, err)
			}
		})
	}
	t.Run("symlink out of the directory", func(t *testing.T) {
		if r, _, err := d.Open("link.csv"); err == nil {
			data, _ := io.ReadAll(r)
			r.Close()
			t.Errorf("Open followed a symlink out of the directory and read %q", data)
		}
	})
	if data, err := os.ReadFile(secret); err != nil || string(data) != "secret" {
		t.Errorf("file outside the directory touched: %q, %v", data, err)
	}
}
