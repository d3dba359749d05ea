package gormrepo_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cadre/db/dbtest"
	"cadre/infrastructure/gormrepo"
)

// TestSessionLocks: crash detection (a session lock per node) is offered
// where the database has such locks — PostgreSQL — and not on SQLite.
func TestSessionLocks(t *testing.T) {
	want := map[string]bool{"sqlite": false, "postgresql": true}
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			if got := gormrepo.New(openMigrated(t, dialect)).SessionLocks(); got != want[dialect] {
				t.Fatalf("SessionLocks() = %v, want %v", got, want[dialect])
			}
		})
	}
}

// TestDialectChosenInOnePlace: outside the driver files no code of the
// package asks which database it runs on; a new backend is a new driver.
func TestDialectChosenInOnePlace(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "driver") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if ok && (sel.Sel.Name == "Dialect" || isDialectConst(sel)) {
				t.Errorf("%s: %s: dialect check outside the driver", fset.Position(sel.Pos()), src[fset.Position(sel.Pos()).Offset:fset.Position(sel.End()).Offset])
			}
			return true
		})
	}
}

// isDialectConst matches db.Postgres and db.SQLite.
func isDialectConst(sel *ast.SelectorExpr) bool {
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "db" && (sel.Sel.Name == "Postgres" || sel.Sel.Name == "SQLite")
}
