package metrics

import (
	"database/sql"
	"maps"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// dbPoolCollector reads sql.DBStats of every registered pool at scrape time.
type dbPoolCollector struct {
	open, inUse, idle, waitCount, waitSeconds, statements *prometheus.Desc

	mu         sync.Mutex
	pools      map[string]func() sql.DBStats
	statementN map[string]func() int64
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
		pools:      make(map[string]func() sql.DBStats),
		statementN: make(map[string]func() int64),
	}
}

func (c *dbPoolCollector) addStatements(name string, count func() int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statementN[name] = count
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
}

// Collect implements prometheus.Collector. Stats functions run outside the
// lock so a slow pool cannot block registration.
func (c *dbPoolCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pools := maps.Clone(c.pools)
	statements := maps.Clone(c.statementN)
	c.mu.Unlock()

	for name, count := range statements {
		ch <- prometheus.MustNewConstMetric(c.statements, prometheus.CounterValue, float64(count()), name)
	}
	for name, stats := range pools {
		s := stats()
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenConnections), name)
		ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(s.InUse), name)
		ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.Idle), name)
		ch <- prometheus.MustNewConstMetric(c.waitCount, prometheus.CounterValue, float64(s.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(c.waitSeconds, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
	}
}
