package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixture is a scratch midpoint.home with helpers to write files into it.
type fixture struct {
	dir string
	t   *testing.T
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return &fixture{dir: t.TempDir(), t: t}
}

// write creates name under the fixture directory and returns its path.
func (f *fixture) write(name, content string) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// xmlFile writes a config.xml whose body starts on line 3, inside <configuration><midpoint>.
func (f *fixture) xmlFile(body string) string {
	return f.write("config.xml", "<configuration>\n<midpoint>\n"+body+"\n</midpoint>\n</configuration>\n")
}

// env is an environ that keeps the fixture's home, so no stray ./var/config.xml is read.
func (f *fixture) env(kv ...string) []string {
	return append([]string{"MIDPOINT_HOME=" + f.dir}, kv...)
}

func mustLoad(t *testing.T, args, environ []string) *Config {
	t.Helper()
	c, err := Load(args, environ)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func keyError(t *testing.T, err error) *KeyError {
	t.Helper()
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	ke, ok := errors.AsType[*KeyError](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *KeyError", err, err)
	}
	return ke
}

func hasWarning(c *Config, parts ...string) bool {
	return slices.ContainsFunc(c.Warnings, func(w string) bool {
		for _, p := range parts {
			if !strings.Contains(w, p) {
				return false
			}
		}
		return true
	})
}

func TestLoadDefaults(t *testing.T) {
	f := setup(t)
	c := mustLoad(t, nil, f.env())
	want := Config{
		Home:       f.dir,
		ServerPort: 8080,
		NodeID:     "DefaultNode",
		Repository: Repository{
			Database:                  "sqlite",
			JDBCURL:                   "jdbc:sqlite:" + f.dir + "/cadre.db",
			MaxPoolSize:               DefaultMaxPoolSize,
			MissingSchemaAction:       "create",
			UpgradeableSchemaAction:   "stop",
			InitializationFailTimeout: 5 * time.Minute, GlobalCacheTTL: time.Minute,
		},
		TaskManager: TaskManager{
			Threads:                   10,
			JDBCJobStore:              true,
			CreateQuartzTables:        true,
			NodeRegistrationInterval:  2 * time.Second,
			NodeTimeout:               10 * time.Second,
			WorkerThreadsPerNode:      4,
			StalledTasksThreshold:     600 * time.Second,
			StalledTasksCheckInterval: 60 * time.Second,
		},
		Logging:   Logging{Format: "text"},
		Reports:   Reports{Download: "redirect"},
		Resources: Resources{AllowedDirectories: []string{filepath.Join(f.dir, "resources")}},
		Security: Security{MetricsAccess: "loopback", OpenAPIAccess: "open",
			HTTPReadTimeout: 30 * time.Second, HTTPWriteTimeout: 5 * time.Minute, HTTPIdleTimeout: 2 * time.Minute, MaxConnections: 1000,
			LoginFailuresPerUser: 10, LoginFailuresPerClient: 50, LoginThrottleWindow: 5 * time.Minute, PrincipalCacheTTL: 30 * time.Second},
	}
	if c.Warnings != nil {
		t.Errorf("warnings = %q, want none", c.Warnings)
	}
	if !equalConfig(*c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *c, want)
	}

	t.Run("home defaults to ./var", func(t *testing.T) {
		c := mustLoad(t, nil, nil)
		if c.Home != "./var" || c.Repository.JDBCURL != "jdbc:sqlite:./var/cadre.db" {
			t.Errorf("home %q url %q, want ./var and jdbc:sqlite:./var/cadre.db", c.Home, c.Repository.JDBCURL)
		}
	})
}

// seedXML is the "Basic Setup" snippet of the midPoint clustering page, as written there
// (with its "(1)" callout), wrapped in <configuration><midpoint>.
const seedXML = `<configuration>
<midpoint>
<repository>
  <repositoryServiceFactoryClass>com.evolveum.midpoint.repo.sql.SqlRepositoryFactory</repositoryServiceFactoryClass>
  <database>postgresql</database>
  <jdbcUsername>midpoint</jdbcUsername>
  <jdbcPassword>.....</jdbcPassword>
  <jdbcUrl>jdbc:postgresql://..../midpoint</jdbcUrl>
  <hibernateHbm2ddl>none</hibernateHbm2ddl>
  <missingSchemaAction>create</missingSchemaAction>
</repository>
<taskManager>
  <clustered>true</clustered> (1)
</taskManager>
</midpoint>
</configuration>
`

func TestLoadSeedXML(t *testing.T) {
	f := setup(t)
	path := f.write("config.xml", seedXML)

	t.Run("loads with a node id", func(t *testing.T) {
		c := mustLoad(t, []string{"--config", path, "-Dmidpoint.nodeId=node1"}, nil)
		r := c.Repository
		if r.Database != "postgresql" || r.JDBCURL != "jdbc:postgresql://..../midpoint" ||
			r.JDBCUsername != "midpoint" || r.JDBCPassword != "....." || r.MissingSchemaAction != "create" {
			t.Errorf("repository = %+v", r)
		}
		if !c.TaskManager.Clustered || c.NodeID != "node1" {
			t.Errorf("clustered %v nodeId %q, want true and node1", c.TaskManager.Clustered, c.NodeID)
		}
		for _, w := range []struct {
			key  string
			line string
		}{
			{"repository/repositoryServiceFactoryClass", "line 4"},
			{"repository/hibernateHbm2ddl", "line 9"},
			{`taskManager (` + path + ` line 13): text "(1)"`, ""},
		} {
			if !hasWarning(c, w.key, w.line, "ignored") {
				t.Errorf("no warning naming %s at %s in %q", w.key, w.line, c.Warnings)
			}
		}
	})

	t.Run("alone it lacks a node id", func(t *testing.T) {
		_, err := Load([]string{"--config=" + path}, nil)
		ke := keyError(t, err)
		if ke.Key != "nodeId" || ke.Line != 13 || !strings.Contains(err.Error(), "needs nodeId or nodeIdSource") {
			t.Errorf("error = %v (key %q line %d), want nodeId at line 13", err, ke.Key, ke.Line)
		}
	})

	t.Run("bare midpoint root", func(t *testing.T) {
		body := strings.TrimSuffix(strings.TrimPrefix(seedXML, "<configuration>\n"), "</configuration>\n")
		c := mustLoad(t, []string{"--config", f.write("bare.xml", body), "-Dmidpoint.nodeIdSource=hostname"}, nil)
		if c.Repository.Database != "postgresql" || !c.TaskManager.Clustered || c.NodeIDSource != "hostname" || c.NodeID != "" {
			t.Errorf("got %+v", c)
		}
	})
}

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name        string
		file        bool
		env, arg    string
		wantThreads int
	}{
		{"default", false, "", "", 10},
		{"file over default", true, "", "", 3},
		{"env over file", true, "4", "", 4},
		{"-D over env", true, "4", "5", 5},
		{"-D over file", true, "", "5", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			if tt.file {
				f.xmlFile("<taskManager><threads>3</threads></taskManager>")
			}
			var environ, args []string
			if tt.env != "" {
				environ = append(environ, "MP_SET_midpoint_taskManager_threads="+tt.env)
			}
			if tt.arg != "" {
				args = append(args, "-Dmidpoint.taskManager.threads="+tt.arg)
			}
			c := mustLoad(t, args, f.env(environ...))
			if c.TaskManager.Threads != tt.wantThreads {
				t.Errorf("threads = %d, want %d", c.TaskManager.Threads, tt.wantThreads)
			}
		})
	}

	t.Run("every source maps its path", func(t *testing.T) {
		f := setup(t)
		c := mustLoad(t, []string{
			"-Dmidpoint.administrator.initialPassword=Secret123!",
			"-Dmidpoint.taskManager.clustered=true",
			"-Dmidpoint.nodeId=node1",
			"-Dserver.port=8081",
		}, f.env(
			"MP_SET_midpoint_taskManager_nodeTimeout=20s",
			"MP_SET_midpoint_repository_jdbcUrl=postgres://db.example.com/cadre",
			"MP_SET_midpoint_logging_format=json",
		))
		if c.Administrator.InitialPassword != "Secret123!" || !c.TaskManager.Clustered || c.NodeID != "node1" ||
			c.ServerPort != 8081 || c.TaskManager.NodeTimeout != 20*time.Second ||
			c.Repository.Database != "postgresql" || c.Logging.Format != "json" {
			t.Errorf("got %+v", c)
		}
	})

	t.Run("env segments are case-sensitive", func(t *testing.T) {
		f := setup(t)
		c := mustLoad(t, nil, f.env("MP_SET_midpoint_taskmanager_clustered=true"))
		if c.TaskManager.Clustered {
			t.Error("taskmanager/clustered was used")
		}
		if !hasWarning(c, "taskmanager/clustered", "MP_SET_midpoint_taskmanager_clustered", "unknown key") {
			t.Errorf("warnings = %q", c.Warnings)
		}
	})

	t.Run("home and file lookup", func(t *testing.T) {
		f := setup(t)
		f.xmlFile("<taskManager><threads>7</threads></taskManager>")
		other := t.TempDir()
		c := mustLoad(t, []string{"-Dmidpoint.home=" + other}, f.env())
		if c.Home != other || c.TaskManager.Threads != 7 {
			t.Errorf("home %q threads %d, want %q and 7 from $MIDPOINT_HOME/config.xml", c.Home, c.TaskManager.Threads, other)
		}
		c = mustLoad(t, []string{"-Dmidpoint.home=" + f.dir}, nil)
		if c.TaskManager.Threads != 7 {
			t.Errorf("threads %d, want 7 from <home>/config.xml", c.TaskManager.Threads)
		}
	})

	t.Run("missing --config file", func(t *testing.T) {
		f := setup(t)
		_, err := Load([]string{"--config", filepath.Join(f.dir, "nope.xml")}, f.env())
		if ke := keyError(t, err); ke.Key != "--config" || !strings.Contains(err.Error(), "nope.xml") {
			t.Errorf("error = %v", err)
		}
	})
}

func TestLoadSubstitution(t *testing.T) {
	f := setup(t)
	f.xmlFile(`<nodeId>${env:POD}</nodeId>
<repository><jdbcUrl>jdbc:sqlite:${midpoint.home}/other.db</jdbcUrl><jdbcUsername>${env:DB_USER}</jdbcUsername></repository>`)
	c := mustLoad(t, nil, f.env("POD=pod-7", "DB_USER=cadre"))
	if c.NodeID != "${env:POD}" {
		t.Errorf("nodeId = %q, want the expression kept raw", c.NodeID)
	}
	if c.Repository.JDBCURL != "jdbc:sqlite:"+f.dir+"/other.db" || c.Repository.JDBCUsername != "cadre" {
		t.Errorf("repository = %+v", c.Repository)
	}

	_, err := Load(nil, f.env("POD=pod-7"))
	if ke := keyError(t, err); ke.Key != "repository/jdbcUsername" || ke.Line != 4 || !strings.Contains(err.Error(), "DB_USER") {
		t.Errorf("error = %v, want repository/jdbcUsername line 4 naming DB_USER", err)
	}
}

func TestLoadSecretFiles(t *testing.T) {
	tests := []struct {
		name  string
		xml   string
		env   []string
		args  []string
		check func(*Config) string
	}{
		{
			name: "env _FILE",
			env:  []string{"MP_SET_midpoint_repository_jdbcPassword_FILE={dir}/db-pass"},
			check: func(c *Config) string {
				return c.Repository.JDBCPassword
			},
		},
		{
			name: "-D _FILE",
			args: []string{"-Dmidpoint.administrator.initialPassword_FILE={dir}/db-pass"},
			check: func(c *Config) string {
				return c.Administrator.InitialPassword
			},
		},
		{
			name: "jdbcPasswordFile in XML",
			xml:  "<repository><jdbcPassword>plain</jdbcPassword><jdbcPasswordFile>${midpoint.home}/db-pass</jdbcPasswordFile></repository>",
			check: func(c *Config) string {
				return c.Repository.JDBCPassword
			},
		},
		{
			name: "env jdbcPasswordFile beats XML jdbcPassword",
			xml:  "<repository><jdbcPassword>plain</jdbcPassword></repository>",
			env:  []string{"MP_SET_midpoint_repository_jdbcPasswordFile={dir}/db-pass"},
			check: func(c *Config) string {
				return c.Repository.JDBCPassword
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			f.write("db-pass", "s3cret ${env:NOT_EXPANDED}\n")
			if tt.xml != "" {
				f.xmlFile(tt.xml)
			}
			fill := func(in []string) []string {
				var out []string
				for _, s := range in {
					out = append(out, strings.ReplaceAll(s, "{dir}", f.dir))
				}
				return out
			}
			c := mustLoad(t, fill(tt.args), f.env(fill(tt.env)...))
			if got := tt.check(c); got != "s3cret ${env:NOT_EXPANDED}" {
				t.Errorf("secret = %q, want the file's first line as written", got)
			}
		})
	}

	t.Run("missing secret file names the key", func(t *testing.T) {
		f := setup(t)
		_, err := Load(nil, f.env("MP_SET_midpoint_repository_jdbcPassword_FILE=/no/such/file"))
		ke := keyError(t, err)
		if ke.Key != "repository/jdbcPassword_FILE" || !strings.Contains(err.Error(), "MP_SET_midpoint_repository_jdbcPassword_FILE") {
			t.Errorf("error = %v", err)
		}
	})
}

func TestLoadDurations(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"10s", 10 * time.Second},
		{"30", 30 * time.Second}, // midPoint's unit for nodeTimeout: seconds
		{"1m30s", 90 * time.Second},
		{"2500ms", 2500 * time.Millisecond},
		{" 15 ", 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			f := setup(t)
			f.xmlFile("<taskManager>\n<nodeRegistrationInterval>1s</nodeRegistrationInterval>\n<nodeTimeout>" + tt.value + "</nodeTimeout>\n</taskManager>")
			c := mustLoad(t, nil, f.env())
			if c.TaskManager.NodeTimeout != tt.want || c.TaskManager.NodeRegistrationInterval != time.Second {
				t.Errorf("nodeTimeout %s interval %s, want %s and 1s", c.TaskManager.NodeTimeout, c.TaskManager.NodeRegistrationInterval, tt.want)
			}
		})
	}
}

// TestInitializationFailTimeout: the start-up wait reads as HikariCP's
// setting of that name: a plain number is milliseconds, zero is a single
// attempt and any negative value waits without a bound.
func TestInitializationFailTimeout(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  time.Duration
	}{
		{"30000", 30 * time.Second},
		{"2s", 2 * time.Second},
		{"0", 0},
		{"0s", 0},
		{"-1", WaitForever},
		{"-5m", WaitForever},
	} {
		t.Run(tt.value, func(t *testing.T) {
			f := setup(t)
			c := mustLoad(t, []string{"-Dmidpoint.repository.initializationFailTimeout=" + tt.value}, f.env())
			if got := c.Repository.InitializationFailTimeout; got != tt.want {
				t.Errorf("initializationFailTimeout %q = %s, want %s", tt.value, got, tt.want)
			}
			if hasWarning(c, "initializationFailTimeout") {
				t.Errorf("the key is used, yet warned about:\n%s", strings.Join(c.Warnings, "\n"))
			}
		})
	}
	for _, bad := range []string{"soon", "-soon", "5 minutes"} {
		f := setup(t)
		_, err := Load([]string{"-Dmidpoint.repository.initializationFailTimeout=" + bad}, f.env())
		if err == nil || !strings.Contains(err.Error(), "repository/initializationFailTimeout") {
			t.Errorf("initializationFailTimeout %q: %v, want an error naming the key", bad, err)
		}
	}
}

func TestLoadValidationErrors(t *testing.T) {
	tests := []struct {
		name     string
		xml      string // body of <midpoint>, first line is line 3
		args     []string
		wantKey  string
		wantLine int
		wantMsg  string
	}{
		{
			name:     "jdbcUrl not a URL",
			xml:      "<repository>\n<jdbcUrl>foo</jdbcUrl>\n</repository>",
			wantKey:  "repository/jdbcUrl",
			wantLine: 4,
			wantMsg:  `"foo" is not a URL`,
		},
		{
			name:     "jdbcUrl of another database",
			xml:      "<repository>\n<jdbcUrl>jdbc:mysql://db/cadre</jdbcUrl>\n</repository>",
			wantKey:  "repository/jdbcUrl",
			wantLine: 4,
			wantMsg:  "not supported",
		},
		{
			name:     "postgresql URL with database sqlite",
			xml:      "<repository>\n<database>sqlite</database>\n<jdbcUrl>jdbc:postgresql://db:5432/cadre</jdbcUrl>\n</repository>",
			wantKey:  "repository/database",
			wantLine: 4,
			wantMsg:  `"sqlite" does not match repository/jdbcUrl`,
		},
		{
			name:     "sqlite file with database postgresql",
			xml:      "<repository>\n<database>postgresql</database>\n<jdbcUrl>file:/tmp/x.db</jdbcUrl>\n</repository>",
			wantKey:  "repository/database",
			wantLine: 4,
			wantMsg:  "which is sqlite",
		},
		{
			name:     "postgresql without jdbcUrl",
			xml:      "<repository>\n<database>postgresql</database>\n</repository>",
			wantKey:  "repository/jdbcUrl",
			wantLine: 4,
			wantMsg:  "postgresql needs a jdbcUrl",
		},
		{
			name:     "unknown database",
			xml:      "<repository>\n<database>oracle</database>\n</repository>",
			wantKey:  "repository/database",
			wantLine: 4,
			wantMsg:  `"oracle" is not one of sqlite, postgresql`,
		},
		{
			name:     "clustered without node id",
			xml:      "<taskManager>\n<clustered>true</clustered>\n</taskManager>",
			wantKey:  "nodeId",
			wantLine: 4,
			wantMsg:  "clustered mode (taskManager/clustered=true) needs nodeId or nodeIdSource",
		},
		{
			name:     "clustered on SQLite without local node clustering",
			xml:      "<nodeId>n1</nodeId>\n<taskManager>\n<clustered>true</clustered>\n</taskManager>",
			wantKey:  "taskManager/clustered",
			wantLine: 5,
			wantMsg:  "clustered mode on SQLite needs taskManager/localNodeClusteringEnabled=true",
		},
		{
			name:     "in-memory job store when clustered",
			xml:      "<nodeId>n1</nodeId>\n<taskManager>\n<clustered>true</clustered>\n<jdbcJobStore>false</jdbcJobStore>\n</taskManager>",
			wantKey:  "taskManager/jdbcJobStore",
			wantLine: 6,
			wantMsg:  "only allowed when taskManager/clustered is false",
		},
		{
			name:     "nodeTimeout not above registration interval",
			xml:      "<taskManager>\n<nodeRegistrationInterval>5s</nodeRegistrationInterval>\n<nodeTimeout>5</nodeTimeout>\n</taskManager>",
			wantKey:  "taskManager/nodeTimeout",
			wantLine: 5,
			wantMsg:  "must be longer than taskManager/nodeRegistrationInterval",
		},
		{
			name:     "registration interval above default timeout",
			xml:      "<taskManager>\n<nodeRegistrationInterval>30s</nodeRegistrationInterval>\n</taskManager>",
			wantKey:  "taskManager/nodeTimeout",
			wantLine: 4,
			wantMsg:  "10s must be longer",
		},
		{
			name:     "midPoint's seconds: interval 10, timeout 10",
			xml:      "<taskManager>\n<nodeRegistrationInterval>10</nodeRegistrationInterval>\n<nodeTimeout>10</nodeTimeout>\n</taskManager>",
			wantKey:  "taskManager/nodeTimeout",
			wantLine: 5,
			wantMsg:  "10s must be longer than taskManager/nodeRegistrationInterval (10s)",
		},
		{
			name:    "zero interval",
			args:    []string{"-Dmidpoint.taskManager.nodeRegistrationInterval=0"},
			wantKey: "taskManager/nodeRegistrationInterval",
			wantMsg: `"0" must be longer than zero (a plain number is seconds here, as in midPoint)`,
		},
		{
			name:    "negative timeout",
			args:    []string{"-Dmidpoint.taskManager.nodeTimeout=-30"},
			wantKey: "taskManager/nodeTimeout",
			wantMsg: "must be longer than zero",
		},
		{
			name:    "negative Go duration",
			args:    []string{"-Dmidpoint.taskManager.nodeTimeout=-5s"},
			wantKey: "taskManager/nodeTimeout",
			wantMsg: "must be longer than zero",
		},
		{
			name:    "overflowing seconds",
			args:    []string{"-Dmidpoint.taskManager.nodeTimeout=99999999999999999999"},
			wantKey: "taskManager/nodeTimeout",
			wantMsg: "is too long",
		},
		{
			name:    "seconds beyond a century",
			args:    []string{"-Dmidpoint.taskManager.nodeTimeout=9999999999"},
			wantKey: "taskManager/nodeTimeout",
			wantMsg: "is too long",
		},
		{
			name:    "overflowing Go duration",
			args:    []string{"-Dmidpoint.taskManager.nodeTimeout=9999999999h"},
			wantKey: "taskManager/nodeTimeout",
			wantMsg: "is too long",
		},
		{
			name:     "threads below one",
			xml:      "<taskManager>\n<threads>0</threads>\n</taskManager>",
			wantKey:  "taskManager/threads",
			wantLine: 4,
			wantMsg:  "0 is out of range 1..1000",
		},
		{
			name:     "maxPoolSize not a number",
			xml:      "<repository>\n<maxPoolSize>lots</maxPoolSize>\n</repository>",
			wantKey:  "repository/maxPoolSize",
			wantLine: 4,
			wantMsg:  `"lots" is not a whole number`,
		},
		{
			name:     "httpPort out of range",
			xml:      "<httpPort>70000</httpPort>",
			wantKey:  "httpPort",
			wantLine: 3,
			wantMsg:  "70000 is out of range 0..65535",
		},
		{
			name:     "bad boolean",
			xml:      "<taskManager>\n<clustered>yes</clustered>\n</taskManager>",
			wantKey:  "taskManager/clustered",
			wantLine: 4,
			wantMsg:  `"yes" is not true or false`,
		},
		{
			name:     "bad duration",
			xml:      "<taskManager>\n<nodeTimeout>ten</nodeTimeout>\n</taskManager>",
			wantKey:  "taskManager/nodeTimeout",
			wantLine: 4,
			wantMsg:  `"ten" is not a duration`,
		},
		{
			name:     "bad enumerations",
			xml:      "<repository>\n<missingSchemaAction>drop</missingSchemaAction>\n</repository>",
			wantKey:  "repository/missingSchemaAction",
			wantLine: 4,
			wantMsg:  "create, warn, stop",
		},
		{
			name:     "nodeIdSource",
			xml:      "<nodeIdSource>mac</nodeIdSource>",
			wantKey:  "nodeIdSource",
			wantLine: 3,
			wantMsg:  "hostname, random",
		},
		{
			name:     "job-store database mismatch",
			xml:      "<taskManager>\n<jdbcUrl>postgres://q/jobs</jdbcUrl>\n<database>sqlite</database>\n</taskManager>",
			wantKey:  "taskManager/database",
			wantLine: 5,
			wantMsg:  "which is postgresql",
		},
		{
			name:    "server.port from the command line",
			args:    []string{"-Dserver.port=99999"},
			wantKey: "server.port",
			wantMsg: "(-Dserver.port): 99999 is out of range",
		},
		{
			name:    "logging format from the command line",
			args:    []string{"-Dmidpoint.logging.format=xml"},
			wantKey: "logging/format",
			wantMsg: `(-Dmidpoint.logging.format): "xml" is not one of text, json`,
		},
		{
			name:    "reports download",
			args:    []string{"-Dmidpoint.reports.download=email"},
			wantKey: "reports/download",
			wantMsg: "redirect, proxy",
		},
		{
			name:     "url override",
			xml:      "<url>node1:8080</url>",
			wantKey:  "url",
			wantLine: 3,
			wantMsg:  "not an absolute http(s) URL",
		},
		{
			name:     "value where a section is expected",
			xml:      "<repository>\n<jdbcUrl><x/></jdbcUrl>\n</repository>",
			wantKey:  "repository/jdbcUrl",
			wantLine: 4,
			wantMsg:  "takes a value, not an element <x>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			path := f.xmlFile(tt.xml)
			_, err := Load(tt.args, f.env())
			ke := keyError(t, err)
			if ke.Key != tt.wantKey || ke.Line != tt.wantLine {
				t.Errorf("key %q line %d, want %q line %d (error %v)", ke.Key, ke.Line, tt.wantKey, tt.wantLine, err)
			}
			prefix := "config: " + tt.wantKey + " "
			if tt.wantLine > 0 {
				prefix += "(" + path + " line " + strconv.Itoa(tt.wantLine) + "): "
			}
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error %q, want prefix %q and %q", msg, prefix, tt.wantMsg)
			}
		})
	}

	t.Run("several errors are all reported", func(t *testing.T) {
		f := setup(t)
		f.xmlFile("<taskManager>\n<threads>0</threads>\n<workerThreadsPerNode>0</workerThreadsPerNode>\n</taskManager>\n<repository><maxPoolSize>0</maxPoolSize></repository>")
		_, err := Load(nil, f.env())
		for _, want := range []string{"taskManager/threads (", "taskManager/workerThreadsPerNode (", "repository/maxPoolSize ("} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %v does not name %s", err, want)
			}
		}
	})

	t.Run("passwords in URLs are not echoed", func(t *testing.T) {
		f := setup(t)
		_, err := Load([]string{"-Dmidpoint.repository.database=sqlite",
			"-Dmidpoint.repository.jdbcUrl=postgres://u:hunter2@db/cadre?password=hunter3"}, f.env())
		if ke := keyError(t, err); ke.Key != "repository/database" || strings.Contains(err.Error(), "hunter") {
			t.Errorf("error = %v", err)
		}
	})
}

func TestLoadMalformedXML(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		wantKey  string
		wantLine int
	}{
		{"unclosed element", "<configuration>\n<midpoint>\n<repository>\n<jdbcUrl>x</jdbcURL>\n</repository>\n</midpoint>\n</configuration>\n", "repository/jdbcUrl", 4},
		{"truncated", "<configuration>\n<midpoint>\n<taskManager>\n<clustered>true</clustered>\n", "taskManager", 5},
		{"bad attribute", "<configuration>\n<midpoint a=b>\n</midpoint>\n</configuration>\n", "configuration", 2},
		{"wrong root", "<?xml version=\"1.0\"?>\n<beans>\n</beans>\n", "beans", 2},
		{"empty file", "", "configuration", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			path := f.write("config.xml", tt.content)
			_, err := Load(nil, f.env())
			ke := keyError(t, err)
			if ke.Key != tt.wantKey || ke.Line != tt.wantLine || ke.Source != path {
				t.Errorf("error %v: key %q line %d, want %q line %d", err, ke.Key, ke.Line, tt.wantKey, tt.wantLine)
			}
		})
	}
}

func TestLoadWarnings(t *testing.T) {
	f := setup(t)
	f.xmlFile(`<repository>
<jdbcUrll>postgres://typo/db</jdbcUrll>
</repository>
<keystore><keyStorePath>x</keyStorePath></keystore>
<taskManager>
<nodeAlivenessTimeout>900</nodeAlivenessTimeout>
<threads>3</threads>
<threads>4</threads>
</taskManager>
<home>/elsewhere</home>`)
	c := mustLoad(t, []string{"-Dfile.encoding=UTF-8", "-Dmidpoint.foo=1"}, f.env("MP_SET_other=1"))
	if c.Repository.JDBCURL != "jdbc:sqlite:"+f.dir+"/cadre.db" || c.Home != f.dir || c.TaskManager.Threads != 4 {
		t.Errorf("an unknown key was used: %+v", c)
	}
	for _, want := range [][]string{
		{"repository/jdbcUrll", "line 4", "unknown key"},
		{"keystore", "line 6", "midPoint setting"},
		{"taskManager/nodeAlivenessTimeout", "line 8", "midPoint setting"},
		{"taskManager/threads", "line 10", "first at line 9"},
		{"home", "line 12", "MIDPOINT_HOME"},
		{"-Dfile.encoding", "not a Cadre setting"},
		{"foo (-Dmidpoint.foo)", "unknown key"},
		{"MP_SET_other", "not a Cadre setting"},
	} {
		if !hasWarning(c, want...) {
			t.Errorf("no warning with %q in\n%s", want, strings.Join(c.Warnings, "\n"))
		}
	}
	if len(c.Warnings) != 8 {
		t.Errorf("%d warnings, want 8:\n%s", len(c.Warnings), strings.Join(c.Warnings, "\n"))
	}
}

func TestLoadDatabaseFromURL(t *testing.T) {
	tests := []struct {
		url, wantDB string
	}{
		{"jdbc:postgresql://db:5432/cadre", "postgresql"},
		{"postgres://db/cadre", "postgresql"},
		{"postgresql://db/cadre", "postgresql"},
		{"jdbc:sqlite:/tmp/c.db", "sqlite"},
		{"file:/tmp/c.db", "sqlite"},
		{"/tmp/c.db", "sqlite"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			f := setup(t)
			c := mustLoad(t, []string{"-Dmidpoint.repository.jdbcUrl=" + tt.url, "-Dmidpoint.taskManager.jdbcUrl=" + tt.url}, f.env())
			if c.Repository.Database != tt.wantDB || c.TaskManager.Database != tt.wantDB {
				t.Errorf("databases %q / %q, want %q", c.Repository.Database, c.TaskManager.Database, tt.wantDB)
			}
		})
	}
}

func TestExampleConfig(t *testing.T) {
	const example = "../../config.example.xml"
	f := setup(t)
	c := mustLoad(t, []string{"--config", example}, f.env())
	if len(c.Warnings) != 0 {
		t.Errorf("warnings:\n%s", strings.Join(c.Warnings, "\n"))
	}
	d := mustLoad(t, nil, f.env())
	if !equalConfig(*c, *d) {
		t.Errorf("example is not the defaults:\n got %+v\nwant %+v", *c, *d)
	}

	t.Run("covers every key", func(t *testing.T) {
		data, err := os.ReadFile(example)
		if err != nil {
			t.Fatal(err)
		}
		leaves := xmlLeaves(t, data)
		var want []string
		for _, k := range keys {
			if k.name != keyServerPort && !serverKeys[k.name] {
				want = append(want, k.name)
			}
		}
		for k := range fileKeys {
			want = append(want, k)
		}
		for _, k := range want {
			if !leaves[k] {
				t.Errorf("config.example.xml lacks %s", k)
			}
		}
		for _, k := range []string{"-config FILE", "MIDPOINT_HOME", "-Dmidpoint.home", "-Dserver.port", "MP_SET_midpoint_", "_FILE"} {
			if !bytes.Contains(data, []byte(k)) {
				t.Errorf("config.example.xml does not mention %s", k)
			}
		}
	})
}

func equalConfig(a, b Config) bool {
	a.Warnings, b.Warnings = nil, nil
	return reflect.DeepEqual(a, b)
}

// xmlLeaves lists the slash paths of value elements under <midpoint>.
func xmlLeaves(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	out := map[string]bool{}
	var stack []string
	for {
		tok, err := d.Token()
		if err != nil {
			return out
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
			if len(stack) > 2 {
				out[strings.Join(stack[2:], "/")] = true
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}
