package csvres_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cadre/infrastructure/csvres"
)

// TestConfinement: only files inside the allowed directories are read, as
// written and once `..` and symbolic links are resolved; nothing of a refused
// file reaches the error.
func TestConfinement(t *testing.T) {
	base := t.TempDir()
	allowed, outside := filepath.Join(base, "resources"), filepath.Join(base, "private")
	for _, d := range []string{allowed, outside, filepath.Join(allowed, "hr")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	const secret = "name\nTOP-SECRET-VALUE\n"
	mustWrite(t, filepath.Join(allowed, "users.csv"), "name\nalice\n")
	mustWrite(t, filepath.Join(allowed, "hr", "staff.csv"), "name\nbob\n")
	mustWrite(t, filepath.Join(outside, "secret.csv"), secret)
	mustLink(t, filepath.Join(outside, "secret.csv"), filepath.Join(allowed, "link.csv"))
	mustLink(t, outside, filepath.Join(allowed, "private"))
	mustLink(t, "/proc/self/environ", filepath.Join(allowed, "environ.csv"))
	mustLink(t, filepath.Join(allowed, "users.csv"), filepath.Join(allowed, "inner.csv"))
	files := csvres.New(allowed)

	for _, tt := range []struct {
		name, path string
		want       string // the real path, "" = refused
	}{
		{"absolute inside", filepath.Join(allowed, "users.csv"), filepath.Join(allowed, "users.csv")},
		{"relative to the first directory", "hr/staff.csv", filepath.Join(allowed, "hr", "staff.csv")},
		{"link inside to inside", filepath.Join(allowed, "inner.csv"), filepath.Join(allowed, "users.csv")},
		{"not there yet", filepath.Join(allowed, "later.csv"), filepath.Join(allowed, "later.csv")},
		{"dot-dot inside", filepath.Join(allowed, "hr", "..", "users.csv"), filepath.Join(allowed, "users.csv")},
		{"outside", filepath.Join(outside, "secret.csv"), ""},
		{"dot-dot out", filepath.Join(allowed, "..", "private", "secret.csv"), ""},
		{"relative dot-dot out", "../private/secret.csv", ""},
		{"relative to /etc", "../../../../../../../../etc/hosts", ""},
		{"system file", "/etc/shadow", ""},
		{"process environment", "/proc/self/environ", ""},
		{"link to a file outside", filepath.Join(allowed, "link.csv"), ""},
		{"link to a directory outside", filepath.Join(allowed, "private", "secret.csv"), ""},
		{"link to the environment", filepath.Join(allowed, "environ.csv"), ""},
		{"link to a missing file outside", filepath.Join(allowed, "private", "nothing.csv"), ""},
		{"NUL byte", filepath.Join(allowed, "users.csv\x00.txt"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			real, err := files.Resolve(tt.path)
			rows, rerr := files.Read(t.Context(), tt.path)
			if tt.want != "" {
				if err != nil || real != tt.want {
					t.Fatalf("Resolve = %q, %v; want %q", real, err, tt.want)
				}
				if tt.name != "not there yet" && (rerr != nil || len(rows) != 1) {
					t.Fatalf("Read = %d rows, %v; want 1 row", len(rows), rerr)
				}
				return
			}
			if err == nil || rerr == nil {
				t.Fatalf("Resolve = %q, %v; Read = %d rows, %v; want both refused", real, err, len(rows), rerr)
			}
			if tt.name != "NUL byte" && (!errors.Is(err, csvres.ErrOutsideResources) || !errors.Is(rerr, csvres.ErrOutsideResources)) {
				t.Fatalf("errors %v / %v are not ErrOutsideResources", err, rerr)
			}
			for _, e := range []error{err, rerr} {
				if strings.Contains(e.Error(), "TOP-SECRET") || strings.Contains(e.Error(), "PATH=") {
					t.Fatalf("error %q shows the file's content", e)
				}
			}
			if tt.name != "NUL byte" && !strings.Contains(err.Error(), "resources/allowedDirectories") {
				t.Errorf("error %q does not name the setting", err)
			}
		})
	}

	t.Run("no allowed directory refuses everything", func(t *testing.T) {
		if _, err := csvres.New().Read(t.Context(), filepath.Join(allowed, "users.csv")); !errors.Is(err, csvres.ErrOutsideResources) {
			t.Fatalf("Read = %v, want ErrOutsideResources", err)
		}
	})
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustLink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
