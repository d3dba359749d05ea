package operator

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cadre/db/dbtest"
	"cadre/node/proctest"
)

// repoRoot is the module root, two directories up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestMakeRunSaysWhatItDoes: on a first build `make run` says that it is
// compiling (for minutes, once) instead of sitting silent; later it does not.
func TestMakeRunSaysWhatItDoes(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() string {
		// GO=true: the build step does nothing; a missing bin/cadre then
		// fails the run, which is fine for reading what make says first.
		out, _ := exec.Command("make", "-C", dir, "--no-print-directory", "run", "GO=true").CombinedOutput()
		return string(out)
	}
	if out := run(); !strings.Contains(out, "first build of bin/cadre") || !strings.Contains(out, "SQLite driver") {
		t.Errorf("first make run does not say what it does:\n%s", out)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "cadre"), []byte("#!/bin/sh\necho node running\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out := run(); strings.Contains(out, "first build") || !strings.Contains(out, "node running") {
		t.Errorf("a later make run: %s", out)
	}
}

// TestClusterScriptPorts: `make cluster`'s script runs one node per port of
// PORTS against the database it names, and refuses bad ports with status 2.
func TestClusterScriptPorts(t *testing.T) {
	script := filepath.Join(repoRoot(t), "scripts", "cluster.sh")
	for _, tc := range []struct {
		name, env, want string
	}{
		{"not a number", "PORTS=80a1", "not a number"},
		{"out of range", "PORTS=70000", "not a number from 1 to 65535"},
		{"both", "PORTS=9001 BASE_PORT=9000", "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("bash", script)
			cmd.Env = append(os.Environ(), strings.Fields(tc.env)...)
			cmd.Env = append(cmd.Env, "CADRE_BIN=/bin/false")
			out, err := cmd.CombinedOutput()
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %v, output:\n%s", err, out)
			}
		})
	}

	t.Run("two nodes on chosen ports", func(t *testing.T) {
		dbtest.Postgres(t) // skips, or fails under CADRE_REQUIRE_POSTGRES, without PostgreSQL
		dbName := fmt.Sprintf("cadre_cluster_test_%d", time.Now().UnixNano())
		ports := []int{proctest.FreePort(t), proctest.FreePort(t)}
		bin := proctest.Binary(t) // built before the clock starts
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", script)
		cmd.Env = append(os.Environ(), fmt.Sprintf("PORTS=%d %d", ports[0], ports[1]), "CADRE_BIN="+bin,
			"CADRE_CLUSTER_DB="+dbName, "CADRE_CLUSTER_FRESH=1", "CADRE_CLUSTER_HOME="+t.TempDir())
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = cmd.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c",
				`DROP DATABASE IF EXISTS "`+dbName+`" WITH (FORCE)`).Run()
		})
		up := make(chan struct{})
		var log strings.Builder
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "Cadre cluster is up (database "+dbName) {
					close(up)
				}
			}
		}()
		select {
		case <-up:
		case <-done:
			t.Fatalf("cluster.sh ended before the cluster was up")
		case <-time.After(2 * time.Minute):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			t.Fatalf("cluster not up after 2 minutes:\n%s", log.String())
		}
		c := proctest.Client{Base: fmt.Sprintf("http://127.0.0.1:%d", ports[1]), User: proctest.AdminUser, Pass: proctest.AdminPassword}
		proctest.WaitFor(t, "both nodes in the node list", 20*time.Second, func() bool {
			status, out := c.Do(t, "GET", "/api/v1/nodes", nil)
			if status != http.StatusOK {
				return false
			}
			urls := ""
			for _, it := range out["items"].([]any) {
				n := it.(map[string]any)
				if n["operationalState"] == "UP" {
					urls += fmt.Sprint(n["nodeId"], "@", n["url"], " ")
				}
			}
			return strings.Contains(urls, fmt.Sprintf(":%d ", ports[0])) && strings.Contains(urls, fmt.Sprintf(":%d ", ports[1]))
		})
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		<-done
		_ = cmd.Wait()
		if !strings.Contains(log.String(), "cluster: stopped") {
			t.Errorf("cluster.sh did not stop its nodes gracefully:\n%s", log.String())
		}
	})
}
