// Package config loads a Cadre node's configuration from built-in defaults, a midPoint-style
// config.xml, MP_SET_midpoint_* environment variables and -Dmidpoint.* arguments, in that order
// of strength (DESIGN §2).
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"cadre/domain/task"
)

// Config is the node's effective configuration. Durations are time.Duration.
type Config struct {
	// Home is midpoint.home (MIDPOINT_HOME or -Dmidpoint.home); default "./var".
	Home string
	// ServerPort is the HTTP listen port (-Dserver.port); default 8080, 0 = any free port.
	ServerPort int
	// NodeID is nodeId as written: it may hold ${...} expressions, resolved elsewhere.
	// "DefaultNode" when not clustered and neither nodeId nor nodeIdSource is set; "" means unset.
	NodeID string
	// NodeIDSource is nodeIdSource: "" (unset), "hostname" or "random".
	NodeIDSource string
	// HostName is hostName; "" means ask the operating system.
	HostName string
	// HTTPPort is httpPort, the port peers use to reach this node; 0 means from the listener.
	HTTPPort int
	// URL is url, the intra-cluster URL override; "" means computed.
	URL string

	Repository    Repository
	TaskManager   TaskManager
	Administrator Administrator
	Logging       Logging
	Reports       Reports
	Resources     Resources
	Security      Security
	// Server is Spring Boot's server.* properties that midPoint is started with.
	Server Server

	// Warnings lists unknown keys and ignored midPoint-compatibility keys, one human line each,
	// for the caller to log once at start-up.
	Warnings []string
}

// Repository is the <repository> section: the shared object repository database.
type Repository struct {
	// Database is "sqlite" or "postgresql"; default taken from JDBCURL, else "sqlite".
	Database string
	// JDBCURL defaults to "jdbc:sqlite:${midpoint.home}/cadre.db" with Home substituted.
	JDBCURL string
	// JDBCUsername and JDBCPassword are the credentials; jdbcPasswordFile reads the password
	// from a file (trailing newline trimmed).
	JDBCUsername, JDBCPassword string
	// SessionJDBCURL is where the node's one session connection (liveness
	// lock, LISTEN, check-ins) goes when the pool goes elsewhere, e.g. the
	// pool through PgBouncer in transaction mode and the session straight to
	// PostgreSQL; "" = JDBCURL. PostgreSQL only, same credentials.
	SessionJDBCURL string
	// MaxPoolSize bounds the open connections of the pool (and of a separate
	// job store's pool); default 2, so that 30 nodes fit max_connections 100.
	MaxPoolSize int
	// MissingSchemaAction is "create" (default), "warn" or "stop" when the schema is absent.
	MissingSchemaAction string
	// UpgradeableSchemaAction is "upgrade", "warn" or "stop" (default) when migrations are pending.
	UpgradeableSchemaAction string
	// InitializationFailTimeout is how long a starting node waits for its
	// database (HikariCP's setting of that name): default 5 minutes, 0 =
	// one attempt, negative (WaitForever) = no bound.
	InitializationFailTimeout time.Duration
	// GlobalCacheTTL is how long a node trusts a globally cached object
	// without hearing of a change (the last resort behind the push and
	// the change log, docs/consistency.md); default 60 s.
	GlobalCacheTTL time.Duration
}

// WaitForever is the InitializationFailTimeout of a node that waits for its
// database without a bound (a negative value, as in HikariCP).
const WaitForever time.Duration = -1

// TaskManager is the <taskManager> section.
type TaskManager struct {
	// Clustered is clustered mode; default false. Must be the same on every node.
	Clustered bool
	// Threads is the number of task threads per node; default 10, at least 1.
	Threads int
	// JDBCJobStore keeps the job store in a database; default true. false (in memory) is
	// allowed only when not clustered.
	JDBCJobStore bool
	// JDBCURL, when not "", puts the job store in this separate database, reached with
	// JDBCUser and JDBCPassword. Database ("sqlite" or "postgresql") then defaults from
	// the URL's scheme; it is "" otherwise.
	JDBCURL, JDBCUser, JDBCPassword, Database string
	// CreateQuartzTables creates missing job-store tables; default true.
	CreateQuartzTables bool
	// NodeRegistrationInterval is how often a node checks in; default 2s.
	NodeRegistrationInterval time.Duration
	// NodeTimeout is how long a silent node lives before it is dead; default 10s, and
	// longer than NodeRegistrationInterval.
	NodeTimeout time.Duration
	// LocalNodeClusteringEnabled lets several nodes on one host form a cluster; default false.
	LocalNodeClusteringEnabled bool
	// WorkerThreadsPerNode is the default number of worker tasks per node for a bucketed
	// task; default 4, at least 1.
	WorkerThreadsPerNode int
	// ExecutionGroups is a comma-separated list of execution groups this node
	// runs besides the unnamed group and its own node id; default none.
	ExecutionGroups string
	// TaskExecutionLimitations is midPoint's taskExecutionLimitations as
	// parsed: how many tasks of a group may run on this node at once ("_" no
	// group, "#" this node's id, "*" any other group). Listed groups override
	// the default (_ and # unlimited, the ExecutionGroups unlimited, * 0).
	TaskExecutionLimitations []task.GroupLimit
	// StalledTasksThreshold: a RUNNING task whose progress has not moved this
	// long is marked stalled; default 600s.
	StalledTasksThreshold time.Duration
	// StalledTasksCheckInterval is how often a node checks its running tasks
	// for a stall; default 60s.
	StalledTasksCheckInterval time.Duration
}

// Administrator is the <administrator> section.
type Administrator struct {
	// InitialPassword is the password of "administrator" when it is created in an empty
	// repository; "" means a random one, printed once.
	InitialPassword string
}

// Logging is the <logging> section.
type Logging struct {
	// Format is "text" (default) or "json".
	Format string
}

// Reports is the <reports> section.
type Reports struct {
	// Download is "redirect" (default: send the browser to the node holding the file) or
	// "proxy" (fetch the file from that node and stream it).
	Download string
}

// Resources is the <resources> section: the CSV files import, reconcile and livesync read.
type Resources struct {
	// AllowedDirectories are the directories resource files may be read
	// from, comma-separated; default "${midpoint.home}/resources". A relative
	// resource path is taken from the first; `..` and symbolic links that
	// lead elsewhere are refused.
	AllowedDirectories []string
}

// Security is the <security> section.
type Security struct {
	// MetricsAccess says who may read GET /metrics: "loopback" (default:
	// requests from the loopback interface, or anyone with MetricsToken as a
	// bearer token), "open" (anyone) or "login" (an authenticated user, or
	// the token).
	MetricsAccess string
	// MetricsToken, when set, lets a scraper read /metrics with
	// "Authorization: Bearer <token>"; security/metricsToken_FILE reads it from a file.
	MetricsToken string
	// OpenAPIAccess says who may read GET /api/v1/openapi.yaml: "open"
	// (default; the description holds no data) or "login".
	OpenAPIAccess string
	// HTTPReadTimeout bounds reading one request, headers and body; default 30s.
	HTTPReadTimeout time.Duration
	// HTTPWriteTimeout bounds writing one response; default 5m (report downloads).
	HTTPWriteTimeout time.Duration
	// HTTPIdleTimeout closes a kept-alive connection idle this long; default 2m.
	HTTPIdleTimeout time.Duration
	// MaxConnections caps the HTTP connections open at once (over all
	// clients; behind a load balancer they all come from it); default 1000.
	// Further clients wait until one closes.
	MaxConnections int
	// LoginFailuresPerUser is how many failed logins one user name may have
	// in LoginThrottleWindow before its logins answer 429; default 10.
	LoginFailuresPerUser int
	// LoginFailuresPerClient is the same per client address; default 50.
	LoginFailuresPerClient int
	// LoginThrottleWindow is how long failed logins count; default 5m.
	LoginThrottleWindow time.Duration
	// PrincipalCacheTTL is how long a node trusts a session's cached
	// principal without hearing of a change; default 30 s.
	PrincipalCacheTTL time.Duration
	// TrustedProxies are the load balancers (addresses or CIDRs) whose
	// X-Forwarded-For names the client; default none (the TCP peer is the client).
	TrustedProxies []string
	// SelfApproval lets a user who is an approver of a role approve the case
	// that gives them that role; default false (four eyes).
	SelfApproval bool
}

// Server holds the -Dserver.* properties besides server.port.
type Server struct {
	// ContextPath is server.servlet.context-path: the path prefix of everything
	// the node serves ("/midpoint"), normalised to a leading slash and no
	// trailing one; "" (default) serves at /.
	ContextPath string
	// Certificate and CertificateKey are server.ssl.certificate and
	// server.ssl.certificate-private-key, PEM files; when both are set the
	// node serves HTTPS. They are checked (and must match) at start-up.
	Certificate, CertificateKey string
	// TrustCertificate is server.ssl.trust-certificate, a PEM file of
	// certificates peers' https URLs are verified against besides the system roots.
	TrustCertificate string
}

// TLS reports whether the node serves HTTPS.
func (s Server) TLS() bool { return s.Certificate != "" }

// DefaultMaxPoolSize is repository/maxPoolSize's default: with the node's
// session connection, 3 connections per node, so 30 nodes fit PostgreSQL's
// default max_connections 100 less its 3 reserved ones (docs/connections.md).
const DefaultMaxPoolSize = 2

// DefaultNodeID is the node id of a non-clustered node that sets neither nodeId nor nodeIdSource.
const DefaultNodeID = "DefaultNode"

// KeyError is a configuration problem that stops start-up. Key is a slash path under
// <midpoint> ("repository/jdbcUrl"), or "midpoint.home", "server.port" or "--config";
// Source is where the value came from (the XML file's path, "env MP_SET_…" or "-D…"),
// "" for a default; Line is the XML line, 0 if none.
type KeyError struct {
	Key    string
	Line   int
	Source string
	Msg    string
}

func (e *KeyError) Error() string {
	return "config: " + describe(e.Key, origin{e.Source, e.Line}, e.Msg)
}

// describe formats `key (source line n): msg`, leaving out what is unknown.
func describe(key string, o origin, msg string) string {
	var b strings.Builder
	b.WriteString(key)
	switch {
	case o.source != "" && o.line > 0:
		fmt.Fprintf(&b, " (%s line %d)", o.source, o.line)
	case o.source != "":
		fmt.Fprintf(&b, " (%s)", o.source)
	case o.line > 0:
		fmt.Fprintf(&b, " (line %d)", o.line)
	}
	b.WriteString(": ")
	b.WriteString(msg)
	return b.String()
}

// origin is where a value was set.
type origin struct {
	source string
	line   int
}

// setting is one raw value as the strongest source so far gave it.
type setting struct {
	value   string
	literal bool // read from a file: no ${...} substitution
	origin  origin
}

// entry is a key=value pair from the environment or the command line, before it is applied.
type entry struct {
	key, value string
	origin     origin
}

// Load builds the configuration from defaults, the XML file, environment and arguments.
// args are os.Args[1:]; environ is os.Environ(). Errors are *KeyError (several are joined
// with errors.Join); unknown keys only add to Config.Warnings.
func Load(args []string, environ []string) (*Config, error) {
	l := &loader{env: map[string]string{}, settings: map[string]setting{}}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			l.env[k] = v
		}
	}
	envEntries := l.parseEnv(environ)
	argEntries, configPath, err := l.parseArgs(args)
	if err != nil {
		return nil, err
	}
	entries := append(envEntries, argEntries...)
	if err := l.resolveHome(entries); err != nil {
		return nil, err
	}
	path, data, err := l.findFile(configPath)
	if err != nil {
		return nil, err
	}
	if data != nil {
		if err := readXML(path, data, l); err != nil {
			return nil, err
		}
	}
	for _, e := range entries {
		if e.key != keyHome {
			l.set(e.key, e.value, e.origin)
		}
	}
	c := l.build()
	if err := joinErrors(l.errs); err != nil {
		return nil, err
	}
	return c, nil
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

const (
	keyHome       = "midpoint.home"
	keyServerPort = "server.port"
	keyConfig     = "--config"
	defaultHome   = "./var"
	defaultJDBC   = "jdbc:sqlite:${midpoint.home}/cadre.db"
	fileSuffix    = "_FILE"
)

type loader struct {
	env      map[string]string
	home     string
	settings map[string]setting
	warnings []string
	errs     []error
}

func (l *loader) warn(key string, o origin, msg string) {
	l.warnings = append(l.warnings, describe(key, o, msg))
}

func (l *loader) fail(key string, o origin, format string, a ...any) {
	l.errs = append(l.errs, &KeyError{Key: key, Line: o.line, Source: o.source, Msg: fmt.Sprintf(format, a...)})
}

// parseEnv turns MIDPOINT_HOME and MP_SET_* variables into entries, weakest first.
func (l *loader) parseEnv(environ []string) []entry {
	var out []entry
	if home := l.env["MIDPOINT_HOME"]; home != "" {
		out = append(out, entry{keyHome, home, origin{"env MIDPOINT_HOME", 0}})
	}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, "MP_SET_")
		if !ok {
			continue
		}
		o := origin{"env " + name, 0}
		base, suffix := rest, ""
		if b, ok := strings.CutSuffix(rest, fileSuffix); ok {
			base, suffix = b, fileSuffix
		}
		switch {
		case rest == "midpoint_home":
			out = append(out, entry{keyHome, value, o})
		case base == "server_port":
			out = append(out, entry{keyServerPort + suffix, value, o})
		case strings.HasPrefix(base, "midpoint_"):
			key := strings.ReplaceAll(strings.TrimPrefix(base, "midpoint_"), "_", "/")
			out = append(out, entry{key + suffix, value, o})
		default:
			l.warn(name, origin{}, "not a Cadre setting (want MP_SET_midpoint_<path>), ignored")
		}
	}
	return out
}

// parseArgs picks --config and -D properties out of the command line; other arguments are
// left to the caller.
func (l *loader) parseArgs(args []string) ([]entry, string, error) {
	var out []entry
	configPath := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--config" || a == "-config":
			if i+1 >= len(args) || args[i+1] == "" {
				return nil, "", &KeyError{Key: keyConfig, Msg: "needs a file name"}
			}
			i++
			configPath = args[i]
		case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			_, configPath, _ = strings.Cut(a, "=")
			if configPath == "" {
				return nil, "", &KeyError{Key: keyConfig, Msg: "needs a file name"}
			}
		case strings.HasPrefix(a, "-D"):
			name, value, ok := strings.Cut(a[2:], "=")
			o := origin{"-D" + name, 0}
			base, suffix := name, ""
			if b, ok := strings.CutSuffix(name, fileSuffix); ok {
				base, suffix = b, fileSuffix
			}
			switch {
			case !ok:
				l.warn("-D"+name, origin{}, "has no value (want -D"+name+"=value), ignored")
			case name == keyHome:
				out = append(out, entry{keyHome, value, o})
			case base == keyServerPort || serverKeys[base]:
				out = append(out, entry{base + suffix, value, o})
			case strings.HasPrefix(base, "midpoint."):
				key := strings.ReplaceAll(strings.TrimPrefix(base, "midpoint."), ".", "/")
				out = append(out, entry{key + suffix, value, o})
			default:
				l.warn("-D"+name, origin{}, "not a Cadre setting (want -Dmidpoint.<path>, -Dserver.port, -Dserver.servlet.context-path or -Dserver.ssl.*), ignored")
			}
		}
	}
	return out, configPath, nil
}

// resolveHome sets l.home from the strongest midpoint.home entry, else the default.
func (l *loader) resolveHome(entries []entry) error {
	l.home = defaultHome
	var from origin
	for _, e := range entries {
		if e.key == keyHome && e.value != "" {
			l.home, from = e.value, e.origin
		}
	}
	home, err := l.expand(l.home)
	if err != nil {
		return &KeyError{Key: keyHome, Source: from.source, Msg: err.Error()}
	}
	l.home = home
	return nil
}

// findFile reads the configuration file: --config (which must exist), else
// $MIDPOINT_HOME/config.xml, else <home>/config.xml. data is nil when there is none.
func (l *loader) findFile(explicit string) (string, []byte, error) {
	if explicit != "" {
		data, err := os.ReadFile(explicit)
		if err != nil {
			return "", nil, &KeyError{Key: keyConfig, Msg: err.Error()}
		}
		return explicit, data, nil
	}
	var candidates []string
	if h := l.env["MIDPOINT_HOME"]; h != "" {
		candidates = append(candidates, filepath.Join(h, "config.xml"))
	}
	candidates = append(candidates, filepath.Join(l.home, "config.xml"))
	for _, p := range candidates {
		data, err := os.ReadFile(p)
		switch {
		case err == nil:
			return p, data, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", nil, &KeyError{Key: keyConfig, Source: p, Msg: err.Error()}
		}
	}
	return "", nil, nil
}

// set records key=value from a source stronger than the ones before it. Keys ending in
// _FILE (and repository/jdbcPasswordFile) read the value from the named file.
func (l *loader) set(key, value string, o origin) {
	key = canonicalKey(key)
	fileKey := fileKeys[key]
	if base, ok := strings.CutSuffix(key, fileSuffix); ok && lookupKey(base) != nil {
		fileKey = base
	}
	if fileKey != "" {
		if value == "" {
			return
		}
		name, err := l.expand(value)
		if err != nil {
			l.fail(key, o, "%v", err)
			return
		}
		data, err := os.ReadFile(name)
		if err != nil {
			l.fail(key, o, "read secret file: %v", err)
			return
		}
		l.put(fileKey, setting{strings.TrimRight(string(data), "\r\n"), true, origin{o.source + " file " + name, o.line}})
		return
	}
	if lookupKey(key) == nil {
		l.warnIgnored(key, o)
		return
	}
	l.put(key, setting{value: value, origin: o})
}

func (l *loader) put(key string, s setting) {
	if prev, ok := l.settings[key]; ok && s.origin.line > 0 && prev.origin.source == s.origin.source {
		l.warn(key, s.origin, fmt.Sprintf("set again (first at line %d); the later value wins", prev.origin.line))
	}
	l.settings[key] = s
}

// warnIgnored warns about a key Cadre does not use, telling midPoint settings from typos.
func (l *loader) warnIgnored(key string, o origin) {
	top, _, _ := strings.Cut(key, "/")
	switch {
	case midPointKeys[key] || midPointKeys[top]:
		l.warn(key, o, "midPoint setting, accepted for compatibility and ignored")
	case key == "home":
		l.warn(key, o, "midpoint.home cannot be set here; use MIDPOINT_HOME or -Dmidpoint.home; ignored")
	default:
		l.warn(key, o, "unknown key, ignored")
	}
}

var exprRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// expand substitutes ${midpoint.home} and ${env:NAME}; other expressions stay as written.
func (l *loader) expand(v string) (string, error) {
	var err error
	out := exprRE.ReplaceAllStringFunc(v, func(m string) string {
		inner := m[2 : len(m)-1]
		switch {
		case inner == keyHome:
			return l.home
		case strings.HasPrefix(inner, "env:"):
			name := strings.TrimPrefix(inner, "env:")
			val, ok := l.env[name]
			if !ok && err == nil {
				err = fmt.Errorf("environment variable %s (in %s) is not set", name, m)
			}
			return val
		}
		return m
	})
	return out, err
}

func defaults(home string) *Config {
	return &Config{
		Home:       home,
		ServerPort: 8080,
		Repository: Repository{
			Database:                  dbSQLite,
			JDBCURL:                   strings.ReplaceAll(defaultJDBC, "${midpoint.home}", home),
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
		Resources: Resources{AllowedDirectories: []string{filepath.Join(home, "resources")}},
		Security: Security{MetricsAccess: "loopback", OpenAPIAccess: "open",
			HTTPReadTimeout: 30 * time.Second, HTTPWriteTimeout: 5 * time.Minute, HTTPIdleTimeout: 2 * time.Minute, MaxConnections: 1000,
			LoginFailuresPerUser: 10, LoginFailuresPerClient: 50, LoginThrottleWindow: 5 * time.Minute, PrincipalCacheTTL: 30 * time.Second},
	}
}

// build applies the recorded settings over the defaults and validates the result.
func (l *loader) build() *Config {
	c := defaults(l.home)
	for _, k := range keys {
		s, ok := l.settings[k.name]
		if !ok {
			continue
		}
		v := strings.TrimSpace(s.value)
		if k.name == "repository/jdbcPassword" || k.name == "taskManager/jdbcPassword" || k.name == "administrator/initialPassword" {
			v = s.value // secrets keep their spaces
		}
		if !s.literal && k.name != "nodeId" {
			var err error
			if v, err = l.expand(v); err != nil {
				l.fail(k.name, s.origin, "%v", err)
				continue
			}
		}
		if v == "" {
			continue // an empty value means the default
		}
		if err := k.apply(c, v); err != nil {
			l.fail(k.name, s.origin, "%v", err)
		}
	}
	l.validate(c)
	c.Warnings = l.warnings
	return c
}

// from is where key was set, or else where fallback was set.
func (l *loader) from(key string, fallback ...string) origin {
	if s, ok := l.settings[key]; ok {
		return s.origin
	}
	for _, f := range fallback {
		if s, ok := l.settings[f]; ok {
			return s.origin
		}
	}
	return origin{}
}

func (l *loader) isSet(key string) bool {
	s, ok := l.settings[key]
	return ok && strings.TrimSpace(s.value) != ""
}

func (l *loader) validate(c *Config) {
	// Repository database and URL.
	if dialect, err := urlDialect(c.Repository.JDBCURL); err != nil {
		l.fail("repository/jdbcUrl", l.from("repository/jdbcUrl"), "%v", err)
	} else {
		switch {
		case !l.isSet("repository/jdbcUrl") && c.Repository.Database == dbPostgres:
			l.fail("repository/jdbcUrl", l.from("repository/database"),
				"postgresql needs a jdbcUrl (jdbc:postgresql://host:5432/db); the default is SQLite")
		case l.isSet("repository/database") && dialect != c.Repository.Database:
			l.fail("repository/database", l.from("repository/database"),
				"%q does not match repository/jdbcUrl %s, which is %s", c.Repository.Database, redactURL(c.Repository.JDBCURL), dialect)
		default:
			c.Repository.Database = dialect
		}
	}

	if u := c.Repository.SessionJDBCURL; u != "" {
		if dialect, err := urlDialect(u); err != nil {
			l.fail("repository/sessionJdbcUrl", l.from("repository/sessionJdbcUrl"), "%v", err)
		} else if dialect != dbPostgres || c.Repository.Database != dbPostgres {
			l.fail("repository/sessionJdbcUrl", l.from("repository/sessionJdbcUrl"),
				"a session connection exists only on PostgreSQL; %s is %s and repository/jdbcUrl is %s", redactURL(u), dialect, c.Repository.Database)
		}
	}

	// Separate job-store database.
	tm := &c.TaskManager
	if tm.JDBCURL != "" {
		if dialect, err := urlDialect(tm.JDBCURL); err != nil {
			l.fail("taskManager/jdbcUrl", l.from("taskManager/jdbcUrl"), "%v", err)
		} else if tm.Database != "" && tm.Database != dialect {
			l.fail("taskManager/database", l.from("taskManager/database"),
				"%q does not match taskManager/jdbcUrl %s, which is %s", tm.Database, redactURL(tm.JDBCURL), dialect)
		} else {
			tm.Database = dialect
		}
	} else {
		for _, k := range []string{"taskManager/jdbcUser", "taskManager/jdbcPassword", "taskManager/database"} {
			if l.isSet(k) {
				l.warn(k, l.from(k), "ignored without taskManager/jdbcUrl; the job store uses the repository database")
			}
		}
	}

	// Cluster rules.
	if tm.Clustered {
		if c.NodeID == "" && c.NodeIDSource == "" {
			l.fail("nodeId", l.from("taskManager/clustered"),
				"clustered mode (taskManager/clustered=true) needs nodeId or nodeIdSource")
		}
		if !tm.JDBCJobStore {
			l.fail("taskManager/jdbcJobStore", l.from("taskManager/jdbcJobStore"),
				"false (in-memory job store) is only allowed when taskManager/clustered is false")
		}
		if c.Repository.Database == dbSQLite && !tm.LocalNodeClusteringEnabled {
			l.fail("taskManager/clustered", l.from("taskManager/clustered"),
				"clustered mode on SQLite needs taskManager/localNodeClusteringEnabled=true (one host, one file); use PostgreSQL for a cluster")
		}
	} else if c.NodeID == "" && c.NodeIDSource == "" {
		c.NodeID = DefaultNodeID
	}
	l.validateNodeID(c)
	if tm.NodeTimeout <= tm.NodeRegistrationInterval {
		l.fail("taskManager/nodeTimeout", l.from("taskManager/nodeTimeout", "taskManager/nodeRegistrationInterval"),
			"%s must be longer than taskManager/nodeRegistrationInterval (%s)", tm.NodeTimeout, tm.NodeRegistrationInterval)
	}

	l.validateServer(&c.Server)

	if c.URL != "" {
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.fail("url", l.from("url"), "%q is not an absolute http(s) URL", c.URL)
		}
	}
}

const (
	dbSQLite   = "sqlite"
	dbPostgres = "postgresql"
)

// urlDialect tells which database a JDBC-style URL, native DSN or plain path names.
func urlDialect(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	const want = "use jdbc:postgresql://host:5432/db, postgres://host/db, jdbc:sqlite:path, file:path or a file path"
	switch {
	case strings.HasPrefix(s, "jdbc:postgresql://"), strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		u, err := url.Parse(strings.TrimPrefix(s, "jdbc:"))
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("%s names no PostgreSQL host; %s", redactURL(s), want)
		}
		return dbPostgres, nil
	case strings.HasPrefix(s, "jdbc:sqlite:"), strings.HasPrefix(s, "file:"):
		path := strings.TrimPrefix(strings.TrimPrefix(s, "jdbc:sqlite:"), "file:")
		if p, _, _ := strings.Cut(path, "?"); p == "" {
			return "", fmt.Errorf("%q names no SQLite file", s)
		}
		return dbSQLite, nil
	case strings.Contains(s, "://"), strings.HasPrefix(s, "jdbc:"):
		return "", fmt.Errorf("%s is not supported (Cadre runs on PostgreSQL or SQLite); %s", redactURL(s), want)
	case looksLikePath(s):
		return dbSQLite, nil
	}
	return "", fmt.Errorf("%q is not a URL; %s", s, want)
}

// looksLikePath accepts a plain SQLite file path: one with a directory or a database extension.
func looksLikePath(s string) bool {
	if s == "" || strings.ContainsAny(s, "\n\t") {
		return false
	}
	if strings.ContainsAny(s, `/\`) {
		return true
	}
	switch filepath.Ext(s) {
	case ".db", ".sqlite", ".sqlite3":
		return true
	}
	return false
}

// redactURL hides a password in the user info or in a password= query parameter.
func redactURL(s string) string {
	prefix := ""
	rest := s
	if p, ok := strings.CutPrefix(s, "jdbc:"); ok {
		prefix, rest = "jdbc:", p
	}
	u, err := url.Parse(rest)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return fmt.Sprintf("%q", prefix+u.Redacted())
}
