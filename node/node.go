// Package node is the composition root: it opens the databases, builds the
// adapters and the application, and runs one Cadre node. main.go and the
// tests both use it, so they run exactly the same wiring.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"cadre/app/approval"
	"cadre/app/auth"
	appcluster "cadre/app/cluster"
	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/infrastructure/config"
	"cadre/infrastructure/gormrepo"
	"cadre/infrastructure/metrics"
	"cadre/infrastructure/peer"
	"cadre/infrastructure/pgsession"
	"cadre/infrastructure/reportfiles"
	"cadre/interfaces/httpapi"
	"cadre/interfaces/webui"
	"cadre/quartzstore"
)

// ClockSkewEnv shifts this node's local clock (a Go duration such as "1h"),
// for tests proving that liveness never depends on local clocks.
const ClockSkewEnv = "CADRE_TEST_CLOCK_SKEW"

// Version is the build version, shown in node rows and on the dashboard.
var Version = "0.1.0"

// Node is one running Cadre node.
type Node struct {
	Config *config.Config
	Log    *slog.Logger
	DB     *db.DB
	Repo   *repository.Service
	Auth   *auth.Service
	Store  *gormrepo.Repo
	// InstanceID is new at every start; it tells two processes with one node id apart.
	InstanceID string
	Started    time.Time
	// GeneratedPassword is the administrator password made on first start, if any.
	GeneratedPassword string

	Tasks *taskmanager.Manager
	// Approvals decides approval cases (roles held for approval).
	Approvals *approval.Service
	Reports   *reportfiles.Dir
	JobStore  quartzstore.Store
	Scheduler *quartzstore.Scheduler
	Cluster   *appcluster.Manager
	// Cache is the global per-node cache (DESIGN §7).
	Cache *repository.GlobalCache
	// Peers calls other nodes over signed HTTP.
	Peers *peer.Client

	now         func() time.Time // the local clock (skewable in tests)
	migrations  db.MigrationSet
	peerDir     *peerDirectory
	jobDB       *db.DB // separate job-store database, when configured
	clusterView clusterView
	Metrics     *metrics.Metrics
	engine      *gin.Engine
	// front serves HTTP: made by Listen before the node, or by Start.
	front *Front
	// openDB opens a database: once (New), or waiting for it (Front.Open).
	openDB opener
	ready  atomic.Bool

	// samples feed the dashboard's charts.
	samples sampler
	// session is the node's one connection outside the pool on PostgreSQL
	// (liveness lock, LISTEN, check-ins); nil on SQLite.
	session *pgsession.Session
	// lockKey is the liveness lock the session holds (0: none).
	lockKey int64
	// nodeSeries tracks the cadre_node_up series per node row.
	nodeSeries nodeSeries
	// life owns every background goroutine of the node; Stop ends them.
	life *lifetime
	// follower applies other nodes' changes from the change log (changelog.go).
	follower *repository.Follower
	caughtUp caughtUp
}

// New opens the repository, migrates it, bootstraps an empty one, resolves
// the node id and builds the application and the HTTP handler. It does not
// listen or schedule yet. It tries the database once; Listen and Front.Open
// start a node that waits for it.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Node, error) {
	return build(ctx, cfg, log, uuid.NewString(), openOnce)
}

// build is New with the given instance id (a Front's, which /healthz has
// shown already) and a way to open the databases.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, instanceID string, open opener) (*Node, error) {
	n := &Node{Config: cfg, Log: log, Started: time.Now(), InstanceID: instanceID, now: time.Now, life: newLifetime(), openDB: open}
	if skew := os.Getenv(ClockSkewEnv); skew != "" {
		d, err := time.ParseDuration(skew)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: %w", ClockSkewEnv, skew, err)
		}
		n.now = func() time.Time { return time.Now().Add(d) }
		log.Warn("local clock skewed for testing", "skew", d)
	}
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil { // holds the SQLite file and reports
		return nil, fmt.Errorf("create midpoint.home %s: %w", cfg.Home, err)
	}
	d, err := n.openDB(ctx, "repository/jdbcUrl", db.Options{URL: cfg.Repository.JDBCURL, Username: cfg.Repository.JDBCUsername,
		Password: cfg.Repository.JDBCPassword, MaxPoolSize: cfg.Repository.MaxPoolSize, ApplicationName: applicationName(cfg.NodeID)})
	if err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	n.DB = d
	n.migrations = db.RepositoryMigrations(d.Dialect)
	if _, err := d.Migrate(ctx, n.migrations, cfg.Repository.MissingSchemaAction, cfg.Repository.UpgradeableSchemaAction, log); err != nil {
		d.Close()
		return nil, fmt.Errorf("repository schema: %w", err)
	}
	n.Store = gormrepo.New(d)
	id, err := n.resolveNodeID(ctx)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("nodeId: %w", err)
	}
	cfg.NodeID = id
	n.Log = log.With("node", id)
	log = n.Log
	for _, w := range cfg.Warnings {
		log.Warn("configuration: " + w)
	}
	n.Metrics = metrics.New(id)
	for _, k := range taskmanager.RepairKinds {
		n.Metrics.DeclareRepairKinds(string(k))
	}
	if sqlDB, err := d.DB.DB(); err == nil {
		n.Metrics.RegisterDBPool("repository", sqlDB.Stats)
	}
	n.Metrics.RegisterDBStatements("repository", d.Statements)
	if err := n.openSession(); err != nil {
		d.Close()
		return nil, err
	}
	n.Cache = repository.NewGlobalCache(n.Store, cfg.Repository.GlobalCacheTTL, n.now, n.Metrics)
	n.Repo = repository.NewService(n.Cache, auth.BcryptHasher{}, n.now, log)
	n.Auth = auth.NewService(n.Store, n.Store, id, n.now)
	sec := cfg.Security
	n.Auth.UsePrincipalTTL(sec.PrincipalCacheTTL)
	n.Auth.UseThrottle(&auth.Throttle{Store: n.Store, PerUser: sec.LoginFailuresPerUser, PerClient: sec.LoginFailuresPerClient, Window: sec.LoginThrottleWindow})
	n.buildFollower()
	n.Repo.OnChange(func(ctx context.Context, c repository.Change) {
		effect, user := auth.EffectOf(c)
		if err := n.Auth.Apply(ctx, effect, user); err != nil {
			log.Error("apply session effect", "user", user, "err", err)
		}
	})
	n.GeneratedPassword, err = n.Repo.Bootstrap(ctx, cfg.Administrator.InitialPassword)
	if err != nil {
		n.closeDBs()
		return nil, fmt.Errorf("bootstrap repository: %w", err)
	}
	n.clusterView.self = id
	n.Reports = reportfiles.New(filepath.Join(cfg.Home, "reports"))
	if err := n.buildTasks(ctx); err != nil {
		n.closeDBs()
		return nil, err
	}
	n.Approvals = approval.NewService(n.Repo, n.Tasks, n.now, log, approval.Options{SelfApproval: sec.SelfApproval})
	n.engine, _ = httpapi.NewRouter(httpapi.Deps{NodeID: id, Consistency: n.consistency(), InstanceID: n.InstanceID, Repo: n.Repo, Auth: n.Auth, Tasks: n.Tasks,
		Nodes: &n.clusterView, Reports: n.Reports, Peers: &peerDirectory{n: n}, ReportDownload: cfg.Reports.Download, Ready: n.readyCheck, Log: log,
		TrustedProxies: sec.TrustedProxies, OpenAPIAccess: sec.OpenAPIAccess, Approvals: n.Approvals, EndSessions: n.endSessions})
	n.engine.GET("/metrics", httpapi.Guard(sec.MetricsAccess, sec.MetricsToken, "security/metricsAccess", n.Auth, log), gin.WrapH(n.Metrics.Handler()))
	n.buildPeers()
	webui.Register(n.engine, webui.Deps{
		NodeID: id, Repo: n.Repo, Auth: n.Auth, Log: log, Tasks: n.Tasks, Approvals: n.Approvals,
		Nodes:             n.clusterView.Nodes,
		Reachability:      n.peerReach,
		SchedulerStop:     n.clusterView.SchedulerStop,
		SchedulerStart:    n.clusterView.SchedulerStart,
		SetURLOverride:    n.clusterView.SetURLOverride,
		ReportDownloadURL: func(oid string) string { return "/api/v1/reports/" + oid + "/download" },
		Activity:          n.Store.EventsPage,
		EndSessions:       n.endSessions,
		Samples:           n.samples.Samples,
		Info: func(ctx context.Context) webui.NodeInfo {
			return webui.NodeInfo{NodeID: id, URL: n.URL(), Database: string(n.DB.Dialect), Started: n.Started, Version: Version}
		},
	})
	return n, nil
}

// Handler is the node's HTTP handler (API, web UI, health).
func (n *Node) Handler() http.Handler { return n.engine }

func (n *Node) readyCheck(ctx context.Context) error {
	if !n.ready.Load() {
		return errors.New("starting")
	}
	if n.Cluster != nil && !n.Cluster.Registered() {
		return errors.New("not registered: ERROR: node id conflict")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := n.DB.Ping(ctx); err != nil { // /readyz shows the cause (hosts, users) to logged-in callers only
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
}

// Start listens on server.port (0 = any free port) unless Listen already
// does, serves the node's handler there, registers the node, recovers work
// left by its previous run and starts scheduling.
func (n *Node) Start(ctx context.Context) error {
	if n.front == nil {
		f, err := listen(n.Config, n.Log, n.InstanceID)
		if err != nil {
			return err
		}
		n.front = f
	}
	n.front.serve(n.engine)
	n.buildCluster(n.front.Port())
	if n.Config.TaskManager.Clustered {
		// Peers learn of this node at their next check-in; until they surely
		// have, cache nothing they might need to invalidate.
		warm := n.now().Add(3 * n.Config.TaskManager.NodeRegistrationInterval)
		n.Cache.HoldOff(warm)
		n.Auth.HoldOff(warm)
		if err := n.followLog(ctx); err != nil {
			return err
		}
	}
	n.Scheduler.Pause() // the cluster manager resumes it once the node may schedule
	if n.session != nil {
		_ = n.session.Start(ctx)
	}
	if err := n.Cluster.Start(ctx); err != nil {
		return err
	}
	if n.Cluster.Registered() {
		if _, _, err := n.Tasks.RecoverNode(ctx, n.Config.NodeID); err != nil {
			return fmt.Errorf("recover tasks of the previous run: %w", err)
		}
	}
	if err := n.Scheduler.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start scheduler: %w", err)
	}
	n.Tasks.StartRepair()
	n.ready.Store(true)
	n.Log.Info("node ready", "url", n.URL(), "database", string(n.DB.Dialect), "home", absPath(n.Config.Home),
		"clustered", n.Config.TaskManager.Clustered)
	return nil
}

// LocalURL is where this node listens.
func (n *Node) LocalURL() string {
	port := n.Config.ServerPort
	if n.front != nil {
		port = n.front.Port()
	}
	return fmt.Sprintf("%s://localhost:%d%s", n.scheme(), port, n.Config.Server.ContextPath)
}

// Stop shuts the HTTP server down first, then drains the task manager (no
// new claims; running work is released to other nodes), stops the
// scheduler, marks the node DOWN, ends the node's background work (peer
// calls in flight are cancelled) and waits for it, and only then closes the
// databases.
func (n *Node) Stop(ctx context.Context) error {
	n.ready.Store(false)
	var errs []error
	if n.front != nil {
		errs = append(errs, n.front.Close(ctx))
	}
	if n.Cluster != nil {
		n.Scheduler.Pause()
		errs = append(errs, n.Tasks.Drain(ctx))
		errs = append(errs, n.Scheduler.Stop(ctx))
		errs = append(errs, n.Cluster.Stop(ctx))
	}
	if n.session != nil { // after the node is DOWN, so no peer mistakes the stop for a crash
		errs = append(errs, n.session.Stop(ctx))
	}
	errs = append(errs, n.life.stop(ctx))
	n.Peers.CloseIdleConnections()
	n.closeDBs()
	return errors.Join(errs...)
}

func (n *Node) closeDBs() {
	if n.jobDB != nil {
		_ = n.jobDB.Close()
	}
	_ = n.DB.Close()
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
