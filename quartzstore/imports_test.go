package quartzstore_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImportsNothingElseFromCadre keeps quartzstore publishable as a library
// of its own: no package under quartzstore/, tests included, imports another
// Cadre package.
func TestImportsNothingElseFromCadre(t *testing.T) {
	err := filepath.WalkDir(".", func(dir string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case !e.IsDir():
			return nil
		case e.Name() == "migrations":
			return filepath.SkipDir // SQL only
		}
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			return err
		}
		for _, imp := range slices.Concat(pkg.Imports, pkg.TestImports, pkg.XTestImports) {
			if strings.HasPrefix(imp, "cadre/") && imp != "cadre/quartzstore" && !strings.HasPrefix(imp, "cadre/quartzstore/") {
				t.Errorf("%s imports %s: quartzstore must depend on nothing else in Cadre", dir, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
