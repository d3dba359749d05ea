// Package metrics exports a node's Prometheus metrics: task manager and
// bucket events, scheduler lateness, peer liveness, intra-cluster calls,
// cache hits and misses, and database connection pools.
//
// Each Metrics owns its own registry, so tests may build as many as they
// like. Every series carries the constant label instance_node=<node id> of
// the node that exports it; cadre_node_up additionally has a node label
// naming the observed peer.
package metrics

import (
	"database/sql"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// InstanceLabel is the constant label that names the exporting node on
// every series.
const InstanceLabel = "instance_node"

// Results of an intra-cluster call, for PeerCall.
const (
	PeerOK           = "ok"
	PeerError        = "error"
	PeerTimeout      = "timeout"
	PeerUnauthorized = "unauthorized"
)

// LatenessBuckets are the upper bounds, in seconds, of the
// cadre_scheduler_lateness_seconds histogram: 1 ms to 30 s.
var LatenessBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

// Metrics holds a node's collectors and the registry that exports them.
// Build it with New; its methods are safe for concurrent use.
type Metrics struct {
	handler http.Handler

	bucketsClaimed   prometheus.Counter
	bucketsCompleted prometheus.Counter
	bucketsFenced    prometheus.Counter
	taskRuns         *prometheus.CounterVec
	taskFailures     *prometheus.CounterVec
	lateness         prometheus.Histogram
	invalidationLag  prometheus.Histogram
	nodeUp           *prometheus.GaugeVec
	peerCalls        *prometheus.CounterVec
	cacheHits        *prometheus.CounterVec
	cacheMisses      *prometheus.CounterVec
	dbPools          *dbPoolCollector
	tasksStalled     prometheus.Gauge
	repairs          *prometheus.CounterVec
}

// New builds the metrics of node nodeID on a fresh registry (never the
// global one), with the Go runtime and process collectors included.
func New(nodeID string) *Metrics {
	reg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{InstanceLabel: nodeID}, reg)

	m := &Metrics{
		bucketsClaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cadre_buckets_claimed_total",
			Help: "Buckets claimed (delegated) by worker tasks on this node.",
		}),
		bucketsCompleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cadre_buckets_completed_total",
			Help: "Buckets completed by worker tasks on this node.",
		}),
		bucketsFenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cadre_buckets_fenced_total",
			Help: "Bucket completions rejected because the bucket had been handed to another worker (stale epoch).",
		}),
		taskRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadre_task_runs_total",
			Help: "Task runs (or bucket runs) finished on this node, by handler.",
		}, []string{"handler"}),
		taskFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadre_task_failures_total",
			Help: "Task runs (or bucket runs) that failed on this node, by handler.",
		}, []string{"handler"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cadre_scheduler_lateness_seconds",
			Help:    "Delay between a trigger's scheduled fire time and the moment the task started.",
			Buckets: LatenessBuckets,
		}),
		invalidationLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cadre_invalidation_lag_seconds",
			Help:    "Time from another node's change (its change log row, database clock) to this node applying it, by push or from the log.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		nodeUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cadre_node_up",
			Help: "Whether the observed cluster node is up and checking in (1) or not (0), as seen by this node.",
		}, []string{"node"}),
		peerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadre_peer_calls_total",
			Help: "Intra-cluster HTTP calls made by this node, by target node, endpoint and result (ok, error, timeout, unauthorized).",
		}, []string{"target", "endpoint", "result"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadre_cache_hits_total",
			Help: "Cache lookups answered from the cache, by cache and object type.",
		}, []string{"cache", "type"}),
		cacheMisses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadre_cache_misses_total",
			Help: "Cache lookups that went to the repository, by cache and object type.",
		}, []string{"cache", "type"}),
		dbPools: newDBPoolCollector(),
		tasksStalled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cadre_tasks_stalled",
			Help: "Tasks running on this node whose progress has not moved for taskManager/stalledTasksThreshold.",
		}),
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadre_repairs_total",
			Help: "Inconsistent states (left by a database fault or a lost node) the repair pass of this node healed, by kind.",
		}, []string{"kind"}),
	}

	wrapped.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.bucketsClaimed,
		m.bucketsCompleted,
		m.bucketsFenced,
		m.taskRuns,
		m.taskFailures,
		m.lateness,
		m.invalidationLag,
		m.nodeUp,
		m.peerCalls,
		m.cacheHits,
		m.cacheMisses,
		m.dbPools,
		m.tasksStalled,
		m.repairs,
	)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	})
	return m
}

// Handler serves the registry in the Prometheus exposition format, for
// GET /metrics.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Repaired counts one repair of the given kind made by this node.
func (m *Metrics) Repaired(kind string) { m.repairs.WithLabelValues(kind).Inc() }

// DeclareRepairKinds exports cadre_repairs_total at 0 for each kind, so that
// a scrape (and an alert on its rate) sees every kind before its first repair.
func (m *Metrics) DeclareRepairKinds(kinds ...string) {
	for _, k := range kinds {
		m.repairs.WithLabelValues(k)
	}
}

// Repairs is the count of repairs of kind made by this node (for tests).
func (m *Metrics) Repairs(kind string) float64 { return counterValue(m.repairs.WithLabelValues(kind)) }

// BucketClaimed counts a bucket claimed by a worker on this node.
func (m *Metrics) BucketClaimed() { m.bucketsClaimed.Inc() }

// BucketCompleted counts a bucket completed by a worker on this node.
func (m *Metrics) BucketCompleted() { m.bucketsCompleted.Inc() }

// BucketFenced counts a completion refused because of a stale epoch.
func (m *Metrics) BucketFenced() { m.bucketsFenced.Inc() }

// TaskRun counts one finished run of a task with the given handler, and a
// failure as well when failed is true.
func (m *Metrics) TaskRun(handler string, failed bool) {
	m.taskRuns.WithLabelValues(handler).Inc()
	if failed {
		m.taskFailures.WithLabelValues(handler).Inc()
	}
}

// SchedulerLateness observes how late a task started after its scheduled
// fire time. A negative d (an early start) is recorded as zero.
func (m *Metrics) SchedulerLateness(d time.Duration) {
	if d < 0 {
		d = 0
	}
	m.lateness.Observe(d.Seconds())
}

// InvalidationLag observes the time from another node's change to this node applying it.
func (m *Metrics) InvalidationLag(d time.Duration) { m.invalidationLag.Observe(d.Seconds()) }

// NodeUp sets cadre_node_up{node=nodeID} to 1 when up, else 0.
func (m *Metrics) NodeUp(nodeID string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.nodeUp.WithLabelValues(nodeID).Set(v)
}

// ForgetNode drops the cadre_node_up series of a node that left the
// cluster (for instance, one removed by cleanup).
func (m *Metrics) ForgetNode(nodeID string) {
	m.nodeUp.DeleteLabelValues(nodeID)
}

// PeerCall counts an intra-cluster call to node target on endpoint (a path
// pattern such as "/cache/invalidate", not a concrete URL, to keep the
// number of series small) with result PeerOK, PeerError, PeerTimeout or
// PeerUnauthorized.
func (m *Metrics) PeerCall(target, endpoint, result string) {
	m.peerCalls.WithLabelValues(target, endpoint, result).Inc()
}

// CacheHit counts a lookup of an objType object answered by cache
// (for instance "global" or "local").
func (m *Metrics) CacheHit(cache, objType string) {
	m.cacheHits.WithLabelValues(cache, objType).Inc()
}

// CacheMiss counts a lookup of an objType object that cache could not answer.
func (m *Metrics) CacheMiss(cache, objType string) {
	m.cacheMisses.WithLabelValues(cache, objType).Inc()
}

// TasksStalled sets cadre_tasks_stalled: the tasks running on this node that are marked stalled.
func (m *Metrics) TasksStalled(n int) { m.tasksStalled.Set(float64(n)) }

// RegisterDBPool exports the statistics of the connection pool name
// (typically (*sql.DB).Stats), read at every scrape. Registering a name
// again replaces its stats function.
func (m *Metrics) RegisterDBPool(name string, stats func() sql.DBStats) {
	m.dbPools.add(name, stats)
}

// RegisterDBSession exports cadre_db_connections{pool=name} of a single
// connection outside the pools (a node's PostgreSQL session connection):
// in_use 1 while connected reports true.
func (m *Metrics) RegisterDBSession(name string, connected func() bool) {
	m.dbPools.addSession(name, connected)
}

// RegisterDBStatements exports cadre_db_statements_total{pool=name}: the
// statements sent on that pool, read from count at every scrape.
func (m *Metrics) RegisterDBStatements(name string, count func() int64) {
	m.dbPools.addStatements(name, count)
}

// FencedTotal is the current value of cadre_buckets_fenced_total.
func (m *Metrics) FencedTotal() float64 { return counterValue(m.bucketsFenced) }

// CompletedTotal is the current value of cadre_buckets_completed_total.
func (m *Metrics) CompletedTotal() float64 { return counterValue(m.bucketsCompleted) }

func counterValue(c prometheus.Counter) float64 {
	var out dto.Metric
	if err := c.Write(&out); err != nil {
		return 0
	}
	return out.GetCounter().GetValue()
}
