package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"cadre/node/proctest"
)

// run executes `cadre args…` as a separate process with env (NAME=value)
// added to a clean environment, and returns its stdout, stderr and exit status.
func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(proctest.Binary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.ExitCode()
		case err != nil:
			t.Fatalf("cadre %s: %v", strings.Join(args, " "), err)
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("cadre %s did not exit within 2 minutes; stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out.String(), errOut.String())
	}
	return out.String(), errOut.String(), code
}

// setup starts one real node on SQLite and returns the environment that
// points the client at it as the administrator.
func setup(t *testing.T) (*proctest.Proc, []string) {
	t.Helper()
	p := proctest.Start(t, "cli1", "-Dmidpoint.administrator.initialPassword="+proctest.AdminPassword)
	return p, []string{"CADRE_URL=" + p.URL, "CADRE_USER=" + proctest.AdminUser, "CADRE_PASSWORD=" + proctest.AdminPassword}
}

var percentRe = regexp.MustCompile(`\]\s+(\d+)%\s+(\d+)/(\d+) buckets`)

func TestClientAgainstARealNode(t *testing.T) {
	p, env := setup(t)

	t.Run("nodes lists the node as UP", func(t *testing.T) {
		out, errOut, code := run(t, env, "nodes")
		if code != 0 || !regexp.MustCompile(`(?m)^cli1\s+UP\s+RUNNING\s`).MatchString(out) {
			t.Fatalf("cadre nodes: exit %d\n%s%s", code, out, errOut)
		}
		out, _, code = run(t, env, "nodes", "--json")
		var list struct {
			Items []struct{ NodeID string } `json:"items"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 1 || list.Items[0].NodeID != "cli1" {
			t.Fatalf("cadre nodes --json: exit %d\n%s", code, out)
		}
	})

	t.Run("create, list and watch a bucketed task to the end", func(t *testing.T) {
		out, errOut, code := run(t, env, "task", "create", "--name", "cli demo", "--handler", "noop",
			"--numeric", "0:20:1", "--per-node", "2", "--params", `{"itemsPerBucket":2,"delayMs":25}`)
		oid := strings.TrimSpace(out)
		if code != 0 || oid == "" || strings.Contains(oid, "\n") {
			t.Fatalf("task create: exit %d, stdout %q, stderr %s", code, out, errOut)
		}
		list, _, code := run(t, env, "tasks", "--handler", "noop")
		if code != 0 || !strings.Contains(list, oid) || !strings.Contains(list, "cli demo") {
			t.Fatalf("tasks does not list %s: exit %d\n%s", oid, code, list)
		}

		out, errOut, code = run(t, env, "task", "watch", oid, "--every", "100ms")
		if code != 0 {
			t.Fatalf("task watch: exit %d\n%s%s", code, out, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if want := "task " + oid + " closed: SUCCESS (20/20 buckets, 40 items)"; lines[len(lines)-1] != want {
			t.Fatalf("last line %q, want %q; output:\n%s", lines[len(lines)-1], want, out)
		}
		last := -1
		for _, l := range lines[:len(lines)-1] {
			m := percentRe.FindStringSubmatch(l)
			if m == nil {
				continue // before the coordinator has made its buckets
			}
			pct, _ := strconv.Atoi(m[1])
			if pct < last {
				t.Fatalf("progress went back from %d%% to %d%%:\n%s", last, pct, out)
			}
			last = pct
		}
		if last != 100 || !strings.Contains(out, "[##############################] 100%") {
			t.Fatalf("the bar never showed 100%% (last %d%%):\n%s", last, out)
		}
	})

	t.Run("watch exits 1 when the task fails", func(t *testing.T) {
		out, errOut, code := run(t, env, "task", "create", "--name", "bad import", "--handler", "import",
			"--params", `{"resource":"`+filepath.Join(p.Home, "resources", "missing.csv")+`"}`, "--watch")
		if code != 1 || !strings.Contains(errOut, "closed: FATAL_ERROR") && !strings.Contains(errOut, "closed: PARTIAL_ERROR") {
			t.Fatalf("create --watch of a failing task: exit %d, want 1 with the result\nstdout %s\nstderr %s", code, out, errOut)
		}
	})

	t.Run("suspend, resume and delete", func(t *testing.T) {
		out, _, code := run(t, env, "task", "create", "--name", "hourly", "--handler", "noop", "--interval", "3600", "--suspended")
		oid := strings.TrimSpace(out)
		if code != 0 {
			t.Fatalf("create: exit %d", code)
		}
		if out, errOut, code := run(t, env, "task", "resume", oid); code != 0 || strings.Contains(out, "SUSPENDED") {
			t.Fatalf("resume: exit %d %s%s", code, out, errOut)
		}
		if out, errOut, code := run(t, env, "task", "suspend", oid); code != 0 || !strings.Contains(out, "SUSPENDED") {
			t.Fatalf("suspend: exit %d %s%s", code, out, errOut)
		}
		if out, errOut, code := run(t, env, "task", "delete", oid); code != 0 || !strings.Contains(out, "deleted") {
			t.Fatalf("delete: exit %d %s%s", code, out, errOut)
		}
		if _, errOut, code := run(t, env, "task", "show", oid); code != 1 || !strings.Contains(errOut, "404 task-not-found") {
			t.Fatalf("show of a deleted task: exit %d, want 1 with 404 task-not-found: %s", code, errOut)
		}
	})

	t.Run("create from a JSON body in a file", func(t *testing.T) {
		body := filepath.Join(t.TempDir(), "task.json")
		if err := os.WriteFile(body, []byte(`{"name":"from file","handler":"noop","params":{"items":3}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := run(t, env, "task", "create", "--json", body, "--watch")
		if code != 0 || !strings.Contains(out, "closed: SUCCESS") {
			t.Fatalf("create --json --watch: exit %d\n%s%s", code, out, errOut)
		}
		oid := strings.SplitN(out, "\n", 2)[0]
		show, _, code := run(t, env, "task", "show", oid)
		var got struct{ Name, Handler string }
		if code != 0 || json.Unmarshal([]byte(show), &got) != nil || got.Name != "from file" {
			t.Fatalf("task show %s: exit %d\n%s", oid, code, show)
		}
	})

	t.Run("flags override the environment", func(t *testing.T) {
		wrong := []string{"CADRE_URL=http://127.0.0.1:1", "CADRE_PASSWORD=" + proctest.AdminPassword}
		if out, errOut, code := run(t, wrong, "nodes", "--url", p.URL, "--user", proctest.AdminUser); code != 0 {
			t.Fatalf("nodes --url: exit %d %s%s", code, out, errOut)
		}
	})

	t.Run("errors say what went wrong and exit non-zero", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			env  []string
			args []string
			code int
			want string
		}{
			{"wrong password", []string{"CADRE_URL=" + p.URL, "CADRE_PASSWORD=nope"}, []string{"nodes"}, 1, "HTTP 401 unauthenticated"},
			{"no node there", []string{"CADRE_URL=http://127.0.0.1:1"}, []string{"tasks"}, 1, "connection refused"},
			{"not a URL", env, []string{"nodes", "--url", "localhost:8080"}, 2, "want http://host:port"},
			{"missing name", env, []string{"task", "create", "--handler", "noop"}, 2, "--name and --handler are required"},
			{"unknown handler", env, []string{"task", "create", "--name", "x", "--handler", "teleport"}, 1, "HTTP 422 unknown-handler"},
			{"bad bucketing", env, []string{"task", "create", "--name", "x", "--handler", "noop", "--numeric", "0-10"}, 2, "want FROM:TO:SIZE"},
			{"bad state", env, []string{"tasks", "--state", "sleeping"}, 2, "--state"},
			{"watch without OID", env, []string{"task", "watch"}, 2, "want 1 argument"},
			{"unknown subcommand", env, []string{"task", "frobnicate"}, 2, `unknown task subcommand "frobnicate"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				out, errOut, code := run(t, tc.env, tc.args...)
				if code != tc.code || !strings.Contains(errOut, tc.want) {
					t.Fatalf("exit %d, want %d with %q on stderr\nstdout %s\nstderr %s", code, tc.code, tc.want, out, errOut)
				}
			})
		}
	})
}

// TestClientOverHTTPSUnderAContextPath reaches a node served over HTTPS with a
// private CA under /midpoint, as midPoint is usually deployed.
func TestClientOverHTTPSUnderAContextPath(t *testing.T) {
	ca, cert, key := proctest.TLSFiles(t)
	p := proctest.Start(t, "tls1", "-Dmidpoint.administrator.initialPassword="+proctest.AdminPassword,
		"-Dserver.ssl.certificate="+cert, "-Dserver.ssl.certificate-private-key="+key,
		"-Dserver.ssl.trust-certificate="+ca, "-Dserver.servlet.context-path=/midpoint")
	if !strings.HasPrefix(p.URL, "https://") || !strings.HasSuffix(p.URL, "/midpoint") {
		t.Fatalf("node URL %s, want https://…/midpoint", p.URL)
	}
	env := []string{"CADRE_URL=" + p.URL, "CADRE_PASSWORD=" + proctest.AdminPassword}
	if out, errOut, code := run(t, env, "nodes", "--cacert", ca); code != 0 || !strings.Contains(out, "tls1") {
		t.Fatalf("nodes --cacert: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := run(t, append(env, "CADRE_CACERT="+ca), "task", "create", "--name", "over tls", "--handler", "noop", "--watch"); code != 0 {
		t.Fatalf("task create --watch with CADRE_CACERT: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run(t, env, "nodes"); code != 1 || !strings.Contains(errOut, "certificate") {
		t.Fatalf("nodes without the CA: exit %d, want 1 naming the certificate: %s", code, errOut)
	}
}
