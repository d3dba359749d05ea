// Package node is the composition root: it opens the databases, builds the
// adapters and the application, and runs one Cadre node. main.go and the
// component tests both use it, so they run exactly the same wiring.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/infrastructure/config"
	"cadre/infrastructure/gormrepo"
	"cadre/infrastructure/reportfiles"
	"cadre/interfaces/httpapi"
	"cadre/interfaces/webui"
	"cadre/quartzstore"
)

// Version is the build version, shown in node rows and on the dashboard.
var Version = "0.1.0"

// Node is one running Cadre node.
type Node struct {
	Config  *config.Config
	Log     *slog.Logger
	DB      *db.DB
	Repo    *repository.Service
	Auth    *auth.Service
	Store   *gormrepo.Repo
	Started time.Time
	// GeneratedPassword is the administrator password made on first start, if any.
	GeneratedPassword string

	Tasks     *taskmanager.Manager
	Reports   *reportfiles.Dir
	JobStore  quartzstore.Store
	Scheduler *quartzstore.Scheduler

	jobDB    *db.DB // separate job-store database, when configured
	cluster  taskmanager.Cluster
	metrics  taskmanager.Metrics
	engine   *gin.Engine
	server   *http.Server
	listener net.Listener
	ready    atomic.Bool
	stopBg   context.CancelFunc
	bgDone   chan struct{}
}

// New opens the repository, migrates it, bootstraps an empty one and builds
// the HTTP handler. It does not listen yet.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Node, error) {
	n := &Node{Config: cfg, Log: log, Started: time.Now()}
	if err := os.MkdirAll(cfg.Home, 0o755); err != nil {
		return nil, fmt.Errorf("create midpoint.home %s: %w", cfg.Home, err)
	}
	d, err := db.Open(ctx, db.Options{URL: cfg.Repository.JDBCURL, Username: cfg.Repository.JDBCUsername,
		Password: cfg.Repository.JDBCPassword, MaxPoolSize: cfg.Repository.MaxPoolSize})
	if err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	n.DB = d
	if _, err := d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), cfg.Repository.MissingSchemaAction, cfg.Repository.UpgradeableSchemaAction, log); err != nil {
		d.Close()
		return nil, fmt.Errorf("repository schema: %w", err)
	}
	n.Store = gormrepo.New(d)
	n.Repo = repository.NewService(n.Store, auth.BcryptHasher{}, time.Now, log)
	n.Auth = auth.NewService(n.Store, n.Store, cfg.NodeID, time.Now)
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
	n.cluster = singleNode{}
	n.Reports = reportfiles.New(filepath.Join(cfg.Home, "reports"))
	if err := n.buildTasks(ctx); err != nil {
		n.closeDBs()
		return nil, err
	}
	n.engine, _ = httpapi.NewRouter(httpapi.Deps{NodeID: cfg.NodeID, Repo: n.Repo, Auth: n.Auth, Tasks: n.Tasks, Reports: n.Reports,
		ReportDownload: cfg.Reports.Download, Ready: n.readyCheck, Log: log})
	webui.Register(n.engine, webui.Deps{
		NodeID: cfg.NodeID, Repo: n.Repo, Auth: n.Auth, Log: log,
		Info: func(ctx context.Context) webui.NodeInfo {
			return webui.NodeInfo{NodeID: cfg.NodeID, URL: n.LocalURL(), Database: string(n.DB.Dialect), Started: n.Started, Version: Version}
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
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := n.DB.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
}

// StartServices recovers work left by an earlier run of this node and
// starts the scheduler and the maintenance loop.
func (n *Node) StartServices(ctx context.Context) error {
	if _, _, err := n.Tasks.RecoverNode(ctx, n.Config.NodeID); err != nil {
		return fmt.Errorf("recover tasks of the previous run: %w", err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.stopBg, n.bgDone = cancel, make(chan struct{})
	if err := n.Scheduler.Start(bg); err != nil {
		cancel()
		return fmt.Errorf("start scheduler: %w", err)
	}
	go func() {
		defer close(n.bgDone)
		n.maintain(bg)
	}()
	return nil
}

// Start listens on server.port and starts background services.
func (n *Node) Start(ctx context.Context) error {
	if err := n.StartServices(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", n.Config.ServerPort))
	if err != nil {
		return fmt.Errorf("listen on server.port %d: %w", n.Config.ServerPort, err)
	}
	n.listener = ln
	n.server = &http.Server{Handler: n.engine, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := n.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.Log.Error("http server", "err", err)
		}
	}()
	n.ready.Store(true)
	n.Log.Info("node ready", "url", n.LocalURL(), "database", string(n.DB.Dialect), "home", absPath(n.Config.Home))
	return nil
}

// MarkReady lets tests that serve the handler themselves pass /readyz.
func (n *Node) MarkReady() { n.ready.Store(true) }

// LocalURL is where this node listens.
func (n *Node) LocalURL() string {
	port := n.Config.ServerPort
	if n.listener != nil {
		port = n.listener.Addr().(*net.TCPAddr).Port
	}
	return fmt.Sprintf("http://localhost:%d", port)
}

// Stop shuts the HTTP server down first, then drains the task manager (no
// new claims; running work is released to other nodes), stops the scheduler
// and closes the databases.
func (n *Node) Stop(ctx context.Context) error {
	n.ready.Store(false)
	var errs []error
	if n.server != nil {
		errs = append(errs, n.server.Shutdown(ctx))
	}
	if n.stopBg != nil {
		n.Scheduler.Pause()
		errs = append(errs, n.Tasks.Drain(ctx))
		errs = append(errs, n.Scheduler.Stop(ctx))
		n.stopBg()
		<-n.bgDone
	}
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
