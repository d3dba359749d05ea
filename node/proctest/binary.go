// Package proctest runs real cadre processes for cluster tests: it builds the
// binary once per test process, starts nodes on free ports with their own
// home directories and log files, and lets a test kill, pause, resume,
// terminate and restart them.
//
// Everything a test starts is killed when the test ends. Get the database
// (dbtest.Postgres) before calling Start, so that cleanup runs in the right
// order: processes die first, then the database is dropped.
package proctest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// BinaryEnv names the environment variable that points at a prebuilt cadre
// binary; when it is set, Binary builds nothing.
const BinaryEnv = "CADRE_TEST_BINARY"

// modulePath is the module whose root holds main.go.
const modulePath = "cadre"

// staleBuildAge is how long a built binary stays unused before Binary
// removes it. Longer than any test timeout the project uses.
const staleBuildAge = 3 * time.Hour

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of a cadre binary: $CADRE_TEST_BINARY when set,
// otherwise one built from the module root on the first call in this test
// process (later calls reuse it), kept as $TMPDIR/cadre-proctest/cadre-<hash>
// and removed by a later run once unused for 3 hours. A failed build fails the
// test with the compiler's output.
//
// The binary is built without -race on purpose: an instrumented binary takes
// several times longer to link and runs several times slower, which would
// slow every cluster test and distort the timings they check (failover,
// check-in intervals). The server code runs under the race detector in the
// in-process tests (node/nodetest); here the processes are black boxes, and a
// race report would only land in a child's log anyway.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() { build.path, build.err = buildBinary() })
	if build.err != nil {
		t.Fatalf("cadre binary: %v", build.err)
	}
	return build.path
}

func buildBinary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinaryEnv, p, err)
		}
		if fi, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("%s: %w", BinaryEnv, err)
		} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s=%s is not an executable file", BinaryEnv, abs)
		}
		return abs, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	goCmd, err := goTool()
	if err != nil {
		return "", err
	}
	parent := filepath.Join(os.TempDir(), "cadre-proctest")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("build directory: %w", err)
	}
	pruneStaleBuilds(parent)
	dir, err := os.MkdirTemp(parent, "build-")
	if err != nil {
		return "", fmt.Errorf("build directory: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "cadre")
	cmd := exec.Command(goCmd, "build", "-o", out, ".")
	cmd.Dir = root
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %w\n%s", root, err, output)
	}
	return keep(out, parent)
}

// keep moves a fresh build to parent/cadre-<content hash> and returns that
// path. Go builds are reproducible, so test processes (concurrent packages,
// repeated runs) that build the same source share one file instead of
// leaving one each; a rename over an identical file never disturbs a node
// that runs it.
func keep(built, parent string) (string, error) {
	f, err := os.Open(built)
	if err != nil {
		return "", fmt.Errorf("hash binary: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("hash binary: %w", err)
	}
	final := filepath.Join(parent, "cadre-"+hex.EncodeToString(h.Sum(nil))[:16])
	now := time.Now()
	if err := os.Chtimes(final, now, now); err == nil { // exists; keep it from being pruned
		return final, nil
	}
	if err := os.Rename(built, final); err != nil {
		return "", fmt.Errorf("keep binary: %w", err)
	}
	return final, nil
}

// moduleRoot walks up to the go.mod of module cadre, first from the working
// directory (go test runs in the directory of the package under test), then
// from this source file.
func moduleRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isModuleRoot(dir) {
				return dir, nil
			}
			up := filepath.Dir(dir)
			if up == dir {
				break
			}
			dir = up
		}
	}
	return "", fmt.Errorf("no go.mod of module %q above %v", modulePath, starts)
}

func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

// goTool finds the go command: $GOROOT/bin/go when GOROOT is set (go test
// passes it on), else go from $PATH.
func goTool() (string, error) {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("find the go command: %w", err)
	}
	return p, nil
}

// pruneStaleBuilds removes binaries no test process has used for
// staleBuildAge, and build directories a crashed process left behind.
func pruneStaleBuilds(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "cadre-") && !strings.HasPrefix(e.Name(), "build-") {
			continue
		}
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < staleBuildAge {
			continue
		}
		_ = os.RemoveAll(filepath.Join(parent, e.Name())) // best effort
	}
}
