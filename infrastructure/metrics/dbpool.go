package metrics

import (
	"database/sql"
	"maps"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// dbPoolCollector reads sql.DBStats of every registered pool at scrape time.
type dbPoolCollector struct {
	open, inUse, idle, waitCount, waitSeconds, statements, connections *prometheus.Desc

	mu         sync.Mutex
	pools      map[string]func() sql.DBStats
	statementN map[string]func() int64
	sessions   map[string]func() bool
}

func newDBPoolCollector() *dbPoolCollector {
	pool := []string{"pool"}
	return &dbPoolCollector{
		open: prometheus.NewDesc("cadre_db_open_connections",
			"Open connections of the database pool, in use or idle.", pool, nil),
		inUse: prometheus.NewDesc("cadre_db_in_use_connections",
			"Connections of the database pool currently in use.", pool, nil),
		idle: prometheus.NewDesc("cadre_db_idle_connections",
			"Idle connections of the database pool.", pool, nil),
		waitCount: prometheus.NewDesc("cadre_db_wait_count_total",
			"Times a caller waited for a connection of the database pool.", pool, nil),
		waitSeconds: prometheus.NewDesc("cadre_db_wait_seconds_total",
			"Total time callers waited for a connection of the database pool, in seconds.", pool, nil),
		statements: prometheus.NewDesc("cadre_db_statements_total",
			"Statements this node sent on the database pool (gorm's and the explicit hot-path SQL).", pool, nil),
		connections: prometheus.NewDesc("cadre_db_connections",
			"Database connections this node holds, per pool (repository, jobstore, session: the one connection outside the pools) and state (in_use, idle); the session connection counts as in use while connected.",
			[]string{"pool", "state"}, nil),
		pools:      make(map[string]func() sql.DBStats),
		statementN: make(map[string]func() int64),
		sessions:   make(map[string]func() bool),
	}
}

func (c *dbPoolCollector) addStatements(name string, count func() int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statementN[name] = count
}

func (c *dbPoolCollector) addSession(name string, connected func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions[name] = connected
}

func (c *dbPoolCollector) add(name string, stats func() sql.DBStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pools[name] = stats
}

// Describe implements prometheus.Collector.
func (c *dbPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.inUse
	ch <- c.idle
	ch <- c.waitCount
	ch <- c.waitSeconds
	ch <- c.statements
	ch <- c.connections
}

// Collect implements prometheus.Collector. Stats functions run outside the
// lock so a slow pool cannot block registration.
func (c *dbPoolCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pools := maps.Clone(c.pools)
	statements := maps.Clone(c.statementN)
	sessions := maps.Clone(c.sessions)
	c.mu.Unlock()

	for name, connected := range sessions {
		n := 0.0
		if connected() {
			n = 1
		}
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, n, name, "in_use")
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, 0, name, "idle")
	}

	for name, count := range statements {
		ch <- prometheus.MustNewConstMetric(c.statements, prometheus.CounterValue, float64(count()), name)
	}
	for name, stats := range pools {
		s := stats()
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenConnections), name)
		ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(s.InUse), name)
		ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.Idle), name)
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(s.InUse), name, "in_use")
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(s.Idle), name, "idle")
		ch <- prometheus.MustNewConstMetric(c.waitCount, prometheus.CounterValue, float64(s.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(c.waitSeconds, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
	}
}
