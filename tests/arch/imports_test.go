// Package arch checks the direction of the arrows between Cadre's layers
// (STYLE.md): which packages may depend on which.
package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportRules: the domain depends on no I/O, use cases on no adapter,
// driven adapters know nothing of the HTTP framework the driving side uses,
// and the web UI knows no driven adapter.
func TestImportRules(t *testing.T) {
	tests := []struct {
		name     string
		packages string // a go list pattern, relative to the module root
		// forbidden are packages none of them may depend on, even indirectly:
		// a path ending in "/" stands for every package below it.
		forbidden []string
	}{
		{"the domain is pure Go", "cadre/domain/...", []string{"cadre/app/", "cadre/infrastructure/", "cadre/interfaces/",
			"cadre/quartzstore", "cadre/quartzstore/", "cadre/db", "cadre/db/", "github.com/gin-gonic/", "gorm.io/", "net/http", "database/sql",
			"github.com/robfig/cron/v3"}},
		{"use cases know only the domain and their ports", "cadre/app/...", []string{"cadre/infrastructure/", "cadre/interfaces/",
			"cadre/quartzstore", "cadre/quartzstore/", "cadre/node", "cadre/node/", "github.com/gin-gonic/", "gorm.io/", "database/sql"}},
		{"driven adapters do not use gin", "cadre/infrastructure/...", []string{"github.com/gin-gonic/"}},
		{"the job store does not use gin", "cadre/quartzstore/...", []string{"github.com/gin-gonic/"}},
		{"the web UI reaches peers through ports node/ hands it, not the peer client", "cadre/interfaces/webui",
			[]string{"cadre/infrastructure/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for pkg, deps := range depsOf(t, tc.packages) {
				for _, dep := range deps {
					for _, f := range tc.forbidden {
						if dep == f || strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f) {
							t.Errorf("%s depends on %s", pkg, dep)
						}
					}
				}
			}
		})
	}
}

// TestWebUIUsesNoRESTViewModels: the web UI shares the REST adapter's
// session and error handling, but renders its own views of tasks and
// buckets: the REST wire types (httpapi's …JSON) answer to the OpenAPI
// description, not to the pages.
func TestWebUIUsesNoRESTViewModels(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "cadre/interfaces/webui").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in interfaces/webui: %v", err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		httpapi := importName(file, "cadre/interfaces/httpapi")
		if httpapi == "" {
			continue
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == httpapi && strings.HasSuffix(sel.Sel.Name, "JSON") {
					t.Errorf("%s: the web UI uses the REST view model httpapi.%s", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}

// importName is the name file uses for the package at path, or "".
func importName(file *ast.File, path string) string {
	for _, imp := range file.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return filepath.Base(path)
		}
	}
	return ""
}

// depsOf lists, for every non-test package matching pattern, every package
// it depends on directly or indirectly.
func depsOf(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, pattern).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		deps[fields[0]] = fields[1:]
	}
	if len(deps) == 0 {
		t.Fatalf("go list %s matched no package", pattern)
	}
	return deps
}
