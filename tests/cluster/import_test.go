package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cadre/domain/object"
	"cadre/node/proctest"
)

// TestKillNineMidImportLosesNoUser: the effect of every item must be in the
// repository after a node dies mid-task, not only the bucket bookkeeping.
func TestKillNineMidImportLosesNoUser(t *testing.T) {
	resources := t.TempDir()
	c := startCluster(t, 3, "-Dmidpoint.resources.allowedDirectories="+resources)
	const rows, bucketSize = 6000, 20
	var b strings.Builder
	b.WriteString("name,fullName,emailAddress,enabled\n")
	for i := range rows {
		fmt.Fprintf(&b, "imp%05d,Imported %d,imp%05d@example.com,true\n", i, i, i)
	}
	path := filepath.Join(resources, "hr.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	status, out := c.admin(0).Do(t, "POST", "/api/v1/tasks", map[string]any{
		"name": "import", "handler": "import", "params": map[string]any{"resource": path},
		"bucketing": map[string]any{"numeric": map[string]any{"from": 0, "to": rows, "bucketSize": bucketSize}},
		"workers":   map[string]any{"perNode": 2},
	})
	if status != http.StatusCreated {
		t.Fatalf("create import: %d %v", status, out)
	}
	oid := out["oid"].(string)
	proctest.WaitFor(t, "a quarter of the import", 60*time.Second, func() bool { return c.complete(oid) >= rows/bucketSize/4 })
	c.nodes[1].Kill()
	c.waitClosed(oid, 120*time.Second)
	c.assertExactlyOnce(oid, rows/bucketSize, bucketSize)
	n, err := c.repo.Count(context.Background(), object.TypeUser)
	if err != nil {
		t.Fatal(err)
	}
	if n != rows+1 { // + administrator
		t.Fatalf("%d users after the import; want %d", n-1, rows)
	}
}
