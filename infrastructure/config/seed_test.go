package config

import (
	"strings"
	"testing"
)

// The seed's configuration fragments as written: a <repository> and a
// <taskManager> block with no root element, a callout after a value.
const seedFragments = `<repository>
  <repositoryServiceFactoryClass>com.evolveum.midpoint.repo.sql.SqlRepositoryFactory</repositoryServiceFactoryClass>
  <database>postgresql</database>
  <jdbcUsername>midpoint</jdbcUsername>
  <jdbcPassword>secret</jdbcPassword>
  <jdbcUrl>jdbc:postgresql://db.example.com/midpoint</jdbcUrl>
  <hibernateHbm2ddl>none</hibernateHbm2ddl>
  <missingSchemaAction>create</missingSchemaAction>
</repository>
<taskManager>
  <clustered>true</clustered>
</taskManager>
<nodeId>node7</nodeId>
`

func TestSeedFragmentsWithoutRoot(t *testing.T) {
	f := setup(t)
	f.write("config.xml", seedFragments)
	c := mustLoad(t, nil, f.env())
	if !c.TaskManager.Clustered || c.Repository.Database != "postgresql" || c.Repository.JDBCUsername != "midpoint" ||
		c.Repository.JDBCURL != "jdbc:postgresql://db.example.com/midpoint" || c.NodeID != "node7" {
		t.Fatalf("fragments read as %+v, %+v, nodeId %q", c.Repository, c.TaskManager, c.NodeID)
	}
	if !hasWarning(c, "repository", "line 1", "no root element") {
		t.Errorf("no warning that the file has no root element: %q", c.Warnings)
	}
}

func TestFragmentErrors(t *testing.T) {
	tests := []struct {
		name, xml, wantKey, wantMsg string
	}{
		{"unknown root", "<settings><a/></settings>", "settings", "or, without a root, midPoint sections such as <repository>"},
		{"root after fragments", "<taskManager/>\n<configuration/>", "configuration", "put everything inside <configuration><midpoint>"},
		{"bad value in a fragment", "<taskManager>\n<clustered>maybe</clustered>\n</taskManager>", "taskManager/clustered", `"maybe" is not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			f.write("config.xml", tt.xml)
			_, err := Load(nil, f.env())
			ke := keyError(t, err)
			if ke.Key != tt.wantKey || !strings.Contains(ke.Msg, tt.wantMsg) {
				t.Fatalf("error %v; want key %s and %q", err, tt.wantKey, tt.wantMsg)
			}
		})
	}
}

func TestHostnameSpelling(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		xml  string
	}{
		{name: "-Dmidpoint.hostname", args: []string{"-Dmidpoint.hostname=node-a.example.com"}},
		{name: "MP_SET_midpoint_hostname", env: []string{"MP_SET_midpoint_hostname=node-a.example.com"}},
		{name: "<hostname>", xml: "<hostname>node-a.example.com</hostname>"},
		{name: "-Dmidpoint.hostName", args: []string{"-Dmidpoint.hostName=node-a.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			if tt.xml != "" {
				f.xmlFile(tt.xml)
			}
			c := mustLoad(t, tt.args, f.env(tt.env...))
			if c.HostName != "node-a.example.com" {
				t.Fatalf("hostName = %q", c.HostName)
			}
			if hasWarning(c, "hostname") {
				t.Errorf("warned about the hostname spelling: %q", c.Warnings)
			}
		})
	}
}
