package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary config.xml content and one -D argument to the
// loader. It must never panic, and every failure must be a KeyError (or
// several) whose line starts "config: " and names a key, as start-up prints
// it with exit status 2. The seed corpus is in testdata/fuzz/FuzzLoad and
// runs with every `go test`.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("../../config.example.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example), "-Dmidpoint.nodeId=node1")
	f.Add("<configuration><midpoint><taskManager><clustered>true</clustered></taskManager></midpoint></configuration>", "-Dmidpoint.nodeId=${sequence:1:9:node%d}")
	f.Add("<configuration><midpoint><repository><jdbcUrl>jdbc:postgresql://h:5432/db</jdbcUrl></repository></midpoint></configuration>", "-Dserver.port=8081")
	f.Add("<configuration><midpoint><taskManager><threads>100000000</threads></taskManager></midpoint></configuration>", "")
	f.Add("<configuration><midpoint><nodeId>${random:number:5:1}</nodeId></midpoint></configuration>", "-Dmidpoint.taskManager.nodeTimeout=9223372036854775807")
	f.Add("<configuration><midpoint><unknown/><x", "-Dmidpoint.security.metricsAccess=nobody")
	f.Fuzz(func(t *testing.T, xml, arg string) {
		home := t.TempDir()
		if err := os.WriteFile(filepath.Join(home, "config.xml"), []byte(xml), 0o600); err != nil {
			t.Fatal(err)
		}
		var args []string
		if arg != "" {
			args = []string{arg}
		}
		c, err := Load(args, []string{"MIDPOINT_HOME=" + home})
		if err == nil {
			if c == nil {
				t.Fatal("Load returned neither a configuration nor an error")
			}
			return
		}
		var ke *KeyError
		if !errors.As(err, &ke) {
			// A command-line problem may be reported by other error types;
			// it must still say what is wrong.
			if err.Error() == "" {
				t.Fatalf("empty error for %q", arg)
			}
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "config: ") {
				t.Fatalf("error line %q does not start with \"config: \"", line)
			}
		}
		if ke.Key == "" {
			t.Fatalf("KeyError without a key: %v", err)
		}
	})
}
