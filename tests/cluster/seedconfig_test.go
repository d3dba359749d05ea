package cluster_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cadre/db/dbtest"
	"cadre/node/proctest"
)

// TestSeedConfigAsWritten: a config.xml that is the seed's fragments as
// printed (a <repository> and a <taskManager> block, no root element, the
// callout "(1)" after a value) starts a clustered node on PostgreSQL, and
// -Dmidpoint.hostname (the seed's spelling in its URL section) sets the
// host name in the node's row and URL.
func TestSeedConfigAsWritten(t *testing.T) {
	url := dbtest.Postgres(t)
	dir := t.TempDir()
	jdbc := "jdbc:postgresql://" + strings.TrimPrefix(url, "postgres://")
	config := `<repository>
  <repositoryServiceFactoryClass>com.evolveum.midpoint.repo.sql.SqlRepositoryFactory</repositoryServiceFactoryClass>
  <database>postgresql</database>
  <jdbcUrl>` + strings.ReplaceAll(jdbc, "&", "&amp;") + `</jdbcUrl>
  <hibernateHbm2ddl>none</hibernateHbm2ddl>
  <missingSchemaAction>create</missingSchemaAction>
</repository>
<taskManager>
  <clustered>true</clustered> (1)
</taskManager>
`
	path := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, "seed1", "--config", path,
		"-Dmidpoint.hostname=127.0.0.1",
		"-Dmidpoint.taskManager.localNodeClusteringEnabled=true",
		"-Dmidpoint.administrator.initialPassword="+proctest.AdminPassword)
	var node map[string]any
	proctest.WaitFor(t, "seed1 in GET /api/v1/nodes", 10*time.Second, func() bool {
		status, out := p.Admin().Do(t, "GET", "/api/v1/nodes", nil)
		if status != 200 {
			return false
		}
		for _, it := range out["items"].([]any) {
			if n := it.(map[string]any); n["nodeId"] == "seed1" {
				node = n
			}
		}
		return node != nil
	})
	if node["hostname"] != "127.0.0.1" || !strings.HasPrefix(node["url"].(string), "http://127.0.0.1:") || node["clustered"] != true {
		t.Fatalf("node row %v; want hostname 127.0.0.1 from -Dmidpoint.hostname, its URL, clustered", node)
	}
	log := p.Log()
	if !strings.Contains(log, "no root element: read as the body of <midpoint>") {
		t.Error("the node did not warn that config.xml has no root element")
	}
	if strings.Contains(log, "hostname: unknown key") || strings.Contains(log, `hostname (-Dmidpoint.hostname): unknown`) {
		t.Error("-Dmidpoint.hostname was warned about as an unknown key")
	}
}
