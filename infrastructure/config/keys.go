package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"cadre/domain/task"
)

// key is one configuration key Cadre uses: its slash path under <midpoint> and how a value
// for it is parsed into a Config.
type key struct {
	name  string
	apply func(c *Config, v string) error
}

// keys lists every key Cadre reads, in the order they are applied. midpoint.home is
// handled before the file is read and is not here.
var keys = []key{
	{keyServerPort, integer(func(c *Config) *int { return &c.ServerPort }, 0, 65535)},
	{keyContextPath, text(func(c *Config) *string { return &c.Server.ContextPath })},
	{keyCertificate, text(func(c *Config) *string { return &c.Server.Certificate })},
	{keyCertificateKey, text(func(c *Config) *string { return &c.Server.CertificateKey })},
	{keyTrustCertificate, text(func(c *Config) *string { return &c.Server.TrustCertificate })},
	{"nodeId", text(func(c *Config) *string { return &c.NodeID })},
	{"nodeIdSource", enum(func(c *Config) *string { return &c.NodeIDSource }, "hostname", "random")},
	{"hostName", text(func(c *Config) *string { return &c.HostName })},
	{"httpPort", integer(func(c *Config) *int { return &c.HTTPPort }, 0, 65535)},
	{"url", text(func(c *Config) *string { return &c.URL })},

	{"repository/database", enum(func(c *Config) *string { return &c.Repository.Database }, dbSQLite, dbPostgres)},
	{"repository/jdbcUrl", text(func(c *Config) *string { return &c.Repository.JDBCURL })},
	{"repository/jdbcUsername", text(func(c *Config) *string { return &c.Repository.JDBCUsername })},
	{"repository/jdbcPassword", text(func(c *Config) *string { return &c.Repository.JDBCPassword })},
	{"repository/sessionJdbcUrl", text(func(c *Config) *string { return &c.Repository.SessionJDBCURL })},
	{"repository/maxPoolSize", integer(func(c *Config) *int { return &c.Repository.MaxPoolSize }, 1, 10000)},
	{"repository/missingSchemaAction", enum(func(c *Config) *string { return &c.Repository.MissingSchemaAction }, "create", "warn", "stop")},
	{"repository/upgradeableSchemaAction", enum(func(c *Config) *string { return &c.Repository.UpgradeableSchemaAction }, "upgrade", "warn", "stop")},
	{"repository/initializationFailTimeout", failTimeout(func(c *Config) *time.Duration { return &c.Repository.InitializationFailTimeout })},
	{"repository/globalCacheTtl", duration(func(c *Config) *time.Duration { return &c.Repository.GlobalCacheTTL }, time.Second)},

	{"taskManager/clustered", boolean(func(c *Config) *bool { return &c.TaskManager.Clustered })},
	{"taskManager/threads", integer(func(c *Config) *int { return &c.TaskManager.Threads }, 1, 1000)},
	{"taskManager/jdbcJobStore", boolean(func(c *Config) *bool { return &c.TaskManager.JDBCJobStore })},
	{"taskManager/jdbcUrl", text(func(c *Config) *string { return &c.TaskManager.JDBCURL })},
	{"taskManager/jdbcUser", text(func(c *Config) *string { return &c.TaskManager.JDBCUser })},
	{"taskManager/jdbcPassword", text(func(c *Config) *string { return &c.TaskManager.JDBCPassword })},
	{"taskManager/database", enum(func(c *Config) *string { return &c.TaskManager.Database }, dbSQLite, dbPostgres)},
	{"taskManager/createQuartzTables", boolean(func(c *Config) *bool { return &c.TaskManager.CreateQuartzTables })},
	{"taskManager/nodeRegistrationInterval", duration(func(c *Config) *time.Duration { return &c.TaskManager.NodeRegistrationInterval }, time.Second)},
	{"taskManager/nodeTimeout", duration(func(c *Config) *time.Duration { return &c.TaskManager.NodeTimeout }, time.Second)},
	{"taskManager/localNodeClusteringEnabled", boolean(func(c *Config) *bool { return &c.TaskManager.LocalNodeClusteringEnabled })},
	{"taskManager/workerThreadsPerNode", integer(func(c *Config) *int { return &c.TaskManager.WorkerThreadsPerNode }, 1, 1000)},
	{"taskManager/executionGroups", text(func(c *Config) *string { return &c.TaskManager.ExecutionGroups })},
	{"taskManager/taskExecutionLimitations", limits(func(c *Config) *[]task.GroupLimit { return &c.TaskManager.TaskExecutionLimitations })},
	{"taskManager/stalledTasksThreshold", duration(func(c *Config) *time.Duration { return &c.TaskManager.StalledTasksThreshold }, time.Second)},
	{"taskManager/stalledTasksCheckInterval", duration(func(c *Config) *time.Duration { return &c.TaskManager.StalledTasksCheckInterval }, time.Second)},

	{"administrator/initialPassword", text(func(c *Config) *string { return &c.Administrator.InitialPassword })},
	{"logging/format", enum(func(c *Config) *string { return &c.Logging.Format }, "text", "json")},
	{"reports/download", enum(func(c *Config) *string { return &c.Reports.Download }, "redirect", "proxy")},
	{"resources/allowedDirectories", list(func(c *Config) *[]string { return &c.Resources.AllowedDirectories })},
	{"security/metricsAccess", enum(func(c *Config) *string { return &c.Security.MetricsAccess }, "loopback", "open", "login")},
	{"security/metricsToken", text(func(c *Config) *string { return &c.Security.MetricsToken })},
	{"security/openapiAccess", enum(func(c *Config) *string { return &c.Security.OpenAPIAccess }, "open", "login")},
	{"security/httpReadTimeout", duration(func(c *Config) *time.Duration { return &c.Security.HTTPReadTimeout }, time.Second)},
	{"security/httpWriteTimeout", duration(func(c *Config) *time.Duration { return &c.Security.HTTPWriteTimeout }, time.Second)},
	{"security/httpIdleTimeout", duration(func(c *Config) *time.Duration { return &c.Security.HTTPIdleTimeout }, time.Second)},
	{"security/maxConnections", integer(func(c *Config) *int { return &c.Security.MaxConnections }, 1, 1_000_000)},
	{"security/loginFailuresPerUser", integer(func(c *Config) *int { return &c.Security.LoginFailuresPerUser }, 1, 1_000_000)},
	{"security/loginFailuresPerClient", integer(func(c *Config) *int { return &c.Security.LoginFailuresPerClient }, 1, 1_000_000)},
	{"security/loginThrottleWindow", duration(func(c *Config) *time.Duration { return &c.Security.LoginThrottleWindow }, time.Second)},
	{"security/principalCacheTtl", duration(func(c *Config) *time.Duration { return &c.Security.PrincipalCacheTTL }, time.Second)},
	{"security/trustedProxies", list(func(c *Config) *[]string { return &c.Security.TrustedProxies })},
	{"security/selfApproval", boolean(func(c *Config) *bool { return &c.Security.SelfApproval })},
}

// sections are the elements under <midpoint> that group keys.
var sections = map[string]bool{"repository": true, "taskManager": true, "administrator": true, "logging": true, "reports": true,
	"resources": true, "security": true}

// fileKeys are keys that name a file holding another key's value (trailing newline trimmed).
var fileKeys = map[string]string{"repository/jdbcPasswordFile": "repository/jdbcPassword"}

// midPointKeys are midPoint settings (a whole section when the name has no slash) that Cadre
// accepts for compatibility and ignores with a warning.
var midPointKeys = map[string]bool{
	"repository/repositoryServiceFactoryClass":             true,
	"repository/hibernateHbm2ddl":                          true,
	"repository/hibernateDialect":                          true,
	"repository/driverClassName":                           true,
	"repository/type":                                      true,
	"repository/embedded":                                  true,
	"repository/dataSource":                                true,
	"repository/minPoolSize":                               true,
	"repository/useZip":                                    true,
	"repository/useZipAudit":                               true,
	"repository/fullObjectFormat":                          true,
	"repository/iterativeSearchByPagingBatchSize":          true,
	"taskManager/jdbcDriver":                               true,
	"taskManager/dataSource":                               true,
	"taskManager/useRepositoryConnectionProvider":          true,
	"taskManager/sqlSchemaFile":                            true,
	"taskManager/jdbcDriverDelegateClass":                  true,
	"taskManager/nodeAlivenessTimeout":                     true,
	"taskManager/nodeAlivenessCheckInterval":               true,
	"taskManager/nodeStartupTimeout":                       true,
	"taskManager/nodeStartupDelay":                         true,
	"taskManager/quartzClusterCheckinInterval":             true,
	"taskManager/quartzClusterCheckinGracePeriod":          true,
	"taskManager/stalledTasksRepeatedNotificationInterval": true,
	"taskManager/waitingTasksCheckInterval":                true,
	"taskManager/useThreadInterrupt":                       true,
	"taskManager/checkForTaskConcurrentExecution":          true,
	"taskManager/runNowKeepsOriginalSchedule":              true,
	"taskManager/schedulerInitiallyStopped":                true,
	"taskManager/stopOnInitializationFailure":              true,
	"webApplication":                                       true,
	"audit":                                                true,
	"icf":                                                  true,
	"keystore":                                             true,
	"constants":                                            true,
	"global":                                               true,
	"internals":                                            true,
	"profilingEnabled":                                     true,
	"profilingConfiguration":                               true,
	"jmx":                                                  true,
}

// lookupKey returns the key named name, or nil.
func lookupKey(name string) *key {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i]
		}
	}
	return nil
}

// isLeaf tells whether name (a slash path under <midpoint>) takes a value Cadre reads.
func isLeaf(name string) bool {
	if fileKeys[name] != "" {
		return true
	}
	if base, ok := strings.CutSuffix(name, fileSuffix); ok {
		name = base
	}
	return lookupKey(name) != nil && name != keyServerPort && !serverKeys[name]
}

func text(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		return nil
	}
}

// list accepts comma-separated values, each trimmed; empty items are dropped.
func list(field func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		*field(c) = out
		return nil
	}
}

func enum(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if strings.EqualFold(v, a) {
				*field(c) = a
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
	}
}

// integer accepts a whole number from lo to hi; hi 0 means no upper bound.
func integer(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		switch {
		case hi > 0 && (n < lo || n > hi):
			return fmt.Errorf("%d is out of range %d..%d", n, lo, hi)
		case n < lo:
			return fmt.Errorf("%d is less than %d", n, lo)
		}
		*field(c) = n
		return nil
	}
}

// limits accepts midPoint's taskExecutionLimitations syntax ("admin-node:2,sync,#:13,_:40").
func limits(field func(*Config) *[]task.GroupLimit) func(*Config, string) error {
	return func(c *Config, v string) error {
		ls, err := task.ParseLimits(v)
		if err != nil {
			return err
		}
		*field(c) = ls
		return nil
	}
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch {
		case strings.EqualFold(v, "true"):
			*field(c) = true
		case strings.EqualFold(v, "false"):
			*field(c) = false
		default:
			return fmt.Errorf("%q is not true or false", v)
		}
		return nil
	}
}

// duration accepts Go syntax ("10s", "1m30s") or a plain whole number in unit, the unit midPoint
// uses for that key (seconds for nodeRegistrationInterval, nodeTimeout and stalledTasks*), so a
// value copied from a midPoint configuration means what it meant there. Zero, negative and
// overflowing values are refused.
func duration(field func(*Config) *time.Duration, unit time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v, unit)
		if err != nil {
			return err
		}
		*field(c) = d
		return nil
	}
}

// failTimeout parses a wait bound as HikariCP's initializationFailTimeout
// reads it: a duration (a plain number is milliseconds), where zero means a
// single attempt and any negative value means no bound (WaitForever).
func failTimeout(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		if rest, negative := strings.CutPrefix(v, "-"); negative && !isZero(rest) {
			if _, err := parseDuration(rest, time.Millisecond); err != nil {
				return err
			}
			*field(c) = WaitForever
			return nil
		}
		if isZero(strings.TrimPrefix(v, "-")) {
			*field(c) = 0
			return nil
		}
		d, err := parseDuration(v, time.Millisecond)
		if err != nil {
			return err
		}
		*field(c) = d
		return nil
	}
}

// isZero tells whether v is a zero duration, as a plain number or in Go syntax.
func isZero(v string) bool {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n == 0
	}
	d, err := time.ParseDuration(v)
	return err == nil && d == 0
}

// goDurationRE is Go's duration syntax; a value in it that time.ParseDuration refuses overflowed.
var goDurationRE = regexp.MustCompile(`^[-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$`)

// maxDuration bounds every duration key: longer is surely a mistake (and near int64 overflow).
const maxDuration = 100 * 365 * 24 * time.Hour

func parseDuration(v string, unit time.Duration) (time.Duration, error) {
	unitName := map[time.Duration]string{time.Second: "seconds", time.Millisecond: "milliseconds"}[unit]
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		switch {
		case err != nil || n > int64(maxDuration/unit):
			return 0, fmt.Errorf("%q %s is too long (at most %s)", v, unitName, maxDuration)
		case n <= 0:
			return 0, fmt.Errorf("%q must be longer than zero (a plain number is %s here, as in midPoint)", v, unitName)
		}
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil && goDurationRE.MatchString(v):
		return 0, fmt.Errorf("%q is too long (at most %s)", v, maxDuration)
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration (want %s as in midPoint, like 30, or Go syntax like 500ms or 1m30s)", v, unitName)
	case d <= 0:
		return 0, fmt.Errorf("%q must be longer than zero", v)
	case d > maxDuration:
		return 0, fmt.Errorf("%q is too long (at most %s)", v, maxDuration)
	}
	return d, nil
}
