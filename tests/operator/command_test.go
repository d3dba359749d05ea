// Package operator tests what a person running cadre sees first: the command
// line, the administrative commands and the first-start experience.
package operator

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"cadre/node/proctest"
)

// runCadre runs the binary with args in a fresh working directory and
// returns its exit status and output. A process still running after 60 s
// (a node started where usage was expected) fails the test.
func runCadre(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin := proctest.Binary(t) // built before the clock starts
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cadre %s still running after 60 s (it started a node?)\nstderr:\n%s", strings.Join(args, " "), errOut.String())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("cadre %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errOut.String()
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"--help prints usage", []string{"--help"}, 0,
			[]string{"Usage:", "--config FILE", "-Dmidpoint.<path>=V", "-Dserver.port=N", "MP_SET_midpoint_", "config.xml", "admin reset-password"}, nil},
		{"-h prints usage", []string{"-h"}, 0, []string{"Usage:"}, nil},
		{"help after flags prints usage", []string{"-Dserver.port=0", "help"}, 0, []string{"Usage:"}, nil},
		{"unknown flag", []string{"--bogus"}, 2, nil, []string{`unknown flag "--bogus"`, "cadre --help"}},
		{"unknown single-dash flag", []string{"-x"}, 2, nil, []string{`unknown flag "-x"`}},
		{"unknown command", []string{"frobnicate"}, 2, nil, []string{`unknown command "frobnicate"`}},
		{"unknown admin subcommand", []string{"admin", "drop-everything"}, 2, nil, []string{`unknown subcommand "drop-everything"`}},
		{"--config without a file", []string{"--config"}, 2, nil, []string{"--config needs a file name"}},
		{"bad configuration value", []string{"-Dmidpoint.taskManager.threads=lots"}, 2, nil, []string{"threads"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCadre(t, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout, stderr)
			}
			for _, s := range tc.wantStdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}

// TestResetPassword: an administrator who lost the password sets a new one
// with `cadre admin reset-password` while the node runs; the new password
// works at once, the old one no longer does.
func TestResetPassword(t *testing.T) {
	p := proctest.Start(t, "", "-Dmidpoint.administrator.initialPassword="+proctest.AdminPassword)
	home := "-Dmidpoint.home=" + p.Home
	login := func(pass string) int {
		c := proctest.Client{Base: p.URL, User: proctest.AdminUser, Pass: pass}
		status, _ := c.Do(t, "GET", "/api/v1/objects/users", nil)
		return status
	}
	if got := login(proctest.AdminPassword); got != 200 {
		t.Fatalf("initial password: status %d", got)
	}

	code, stdout, stderr := runCadre(t, "admin", "reset-password", home)
	if code != 0 {
		t.Fatalf("reset-password: exit %d\n%s%s", code, stdout, stderr)
	}
	m := regexp.MustCompile(`new password: (\S+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no new password printed:\n%s", stdout)
	}
	if got := login(m[1]); got != 200 {
		t.Errorf("generated password: status %d, want 200", got)
	}
	if got := login(proctest.AdminPassword); got != 401 {
		t.Errorf("old password: status %d, want 401", got)
	}

	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("Chosen-Pass-9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCadre(t, "admin", "reset-password", "--password-file", file, home)
	if code != 0 {
		t.Fatalf("reset-password --password-file: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "Chosen-Pass-9") {
		t.Errorf("a password from a file is echoed:\n%s", stdout)
	}
	if got := login("Chosen-Pass-9"); got != 200 {
		t.Errorf("password from file: status %d, want 200", got)
	}

	code, _, stderr = runCadre(t, "admin", "reset-password", "--user", "nobody", home)
	if code != 1 || !strings.Contains(stderr, `no user named "nobody"`) {
		t.Errorf("unknown user: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = runCadre(t, "admin", "reset-password", "-Dmidpoint.home="+t.TempDir())
	if code != 1 || !strings.Contains(stderr, "no schema yet") {
		t.Errorf("empty home: exit %d, stderr:\n%s", code, stderr)
	}
}
