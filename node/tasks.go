package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/robfig/cron/v3"

	appcluster "cadre/app/cluster"
	"cadre/app/handlers"
	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/domain/cluster"
	"cadre/domain/task"
	"cadre/infrastructure/csvres"
	"cadre/infrastructure/jobs"
	"cadre/quartzstore"
)

var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func parseCron(expr string) (task.CronSchedule, error) { return cronParser.Parse(expr) }

// clusterView lets the task manager and the API see the cluster manager,
// which is built after them (it needs the listener's port).
type clusterView struct {
	self string
	// remote switches another node's scheduler through a peer call.
	remote func(ctx context.Context, nodeID string, start bool) error
	// running counts RUNNING tasks per node and execution group.
	running func(ctx context.Context) (map[string]map[string]int64, error)
	m       atomic.Pointer[appcluster.Manager]
}

func (v *clusterView) set(m *appcluster.Manager) { v.m.Store(m) }

// LiveNodes implements taskmanager.Cluster.
func (v *clusterView) LiveNodes(ctx context.Context) []string {
	if m := v.m.Load(); m != nil {
		return m.LiveNodes(ctx)
	}
	return []string{v.self}
}

// Nodes lists the nodes for the API and the dashboard, each with its
// running tasks counted against its execution limits.
func (v *clusterView) Nodes(ctx context.Context) ([]appcluster.NodeView, error) {
	m := v.m.Load()
	if m == nil {
		return nil, errors.New("cluster manager not started")
	}
	views, err := m.Nodes(ctx)
	if err != nil || v.running == nil {
		return views, err
	}
	running, err := v.running(ctx)
	if err != nil {
		return nil, err
	}
	for i := range views {
		views[i].Limits = task.Usage(views[i].ExecutionLimits, views[i].ID, running[views[i].ID])
	}
	return views, nil
}

// SchedulerStop pauses scheduling on the named node: here, or through a peer call.
func (v *clusterView) SchedulerStop(ctx context.Context, nodeID string) error {
	return v.scheduler(ctx, nodeID, false)
}

// SchedulerStart resumes scheduling on the named node.
func (v *clusterView) SchedulerStart(ctx context.Context, nodeID string) error {
	return v.scheduler(ctx, nodeID, true)
}

func (v *clusterView) scheduler(ctx context.Context, nodeID string, start bool) error {
	m := v.m.Load()
	if m == nil {
		return errors.New("cluster manager not started")
	}
	if nodeID != v.self {
		if v.remote == nil {
			return fmt.Errorf("%w: %s is not this node and peer calls are not available", cluster.ErrNotFound, nodeID)
		}
		return v.remote(ctx, nodeID, start)
	}
	if start {
		return m.StartScheduler(ctx)
	}
	return m.StopScheduler(ctx)
}

// openJobStore opens the job store of DESIGN §2: in the repository database
// (default), in a separate database (taskManager/jdbcUrl), or in memory
// (jdbcJobStore=false).
func (n *Node) openJobStore(ctx context.Context) (quartzstore.Store, error) {
	tm := n.Config.TaskManager
	if !tm.JDBCJobStore {
		return quartzstore.NewMemoryStore(n.now), nil
	}
	d := n.DB
	if tm.JDBCURL != "" {
		sep, err := n.openDB(ctx, "taskManager/jdbcUrl", db.Options{URL: tm.JDBCURL, Username: tm.JDBCUser, Password: tm.JDBCPassword, MaxPoolSize: n.Config.Repository.MaxPoolSize,
			ApplicationName: applicationName(n.Config.NodeID)})
		if err != nil {
			return nil, fmt.Errorf("job store database (taskManager/jdbcUrl): %w", err)
		}
		n.jobDB = sep
		d = sep
		n.Metrics.RegisterDBStatements("jobstore", sep.Statements)
		if sqlDB, err := sep.DB.DB(); err == nil {
			n.Metrics.RegisterDBPool("jobstore", sqlDB.Stats)
		}
	}
	s, err := n.newSQLJobStore(d)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx, tm.CreateQuartzTables); err != nil {
		return nil, fmt.Errorf("job store tables (taskManager/createQuartzTables=%t): %w", tm.CreateQuartzTables, err)
	}
	return s, nil
}

// newSQLJobStore builds the job store on d's pool; it counts its statements
// with d's and listens for trigger changes on d's PostgreSQL server: on the
// node's session connection when d is the repository database, else on a
// connection of its own (notifications stay inside one database).
func (n *Node) newSQLJobStore(d *db.DB) (*quartzstore.SQLStore, error) {
	pool, err := d.DB.DB()
	if err != nil {
		return nil, fmt.Errorf("job store pool: %w", err)
	}
	o := quartzstore.SQLOptions{Dialect: quartzstore.SQLite, OnStatement: d.CountStatement}
	if d.Dialect == db.Postgres {
		o.Dialect, o.ListenDSN = quartzstore.Postgres, d.DSN
		if d == n.DB && n.session != nil {
			o.Listen = n.session.Listen
		}
	}
	return quartzstore.NewSQLStore(pool, o)
}

// buildTasks wires the task manager, its handlers and the scheduler.
func (n *Node) buildTasks(ctx context.Context) error {
	store, err := n.openJobStore(ctx)
	if err != nil {
		return err
	}
	n.JobStore = store
	j := jobs.New(store, nil)
	hs := n.handlers()
	n.Tasks = taskmanager.New(taskmanager.Config{NodeID: n.Config.NodeID, WorkersPerNode: n.Config.TaskManager.WorkerThreadsPerNode, ParseCron: parseCron,
		Repo: n.Repo, CacheMetrics: n.Metrics, Go: n.life.Go, Limits: n.executionLimits(),
		StalledThreshold: n.Config.TaskManager.StalledTasksThreshold, StalledCheckInterval: n.Config.TaskManager.StalledTasksCheckInterval,
		Transient: db.IsTransient},
		n.Store, j, &n.clusterView, hs, fenceEvents{n.Metrics, n}, n.now, n.Log)
	n.Scheduler = quartzstore.NewScheduler(store, quartzstore.SchedulerConfig{
		InstanceID:      n.Config.NodeID,
		Threads:         n.Config.TaskManager.Threads,
		CheckInInterval: n.Config.TaskManager.NodeRegistrationInterval,
		InstanceTimeout: n.Config.TaskManager.NodeTimeout,
		Groups:          n.Tasks.ExecutionGroups,
		Runner: func(ctx context.Context, f quartzstore.FiredTrigger) error {
			n.Metrics.SchedulerLateness(f.FiredTime.Sub(f.ScheduledTime))
			return n.Tasks.Execute(ctx, f.JobKey)
		},
		Logger:          n.Log,
		OnOrphanDeleted: repairEvents{n}.orphanDeleted,
	})
	n.Tasks.SetRepairReporter(repairEvents{n})
	j.SetWake(n.Scheduler.Wake)
	n.Tasks.OnSlotFree(n.Scheduler.Wake)
	n.clusterView.running = n.Store.TasksRunningPerGroup
	return nil
}

// executionLimits are this node's execution limitations: midPoint's default
// (the unnamed group and the node's own id unlimited, no other group) with
// taskManager/executionGroups unlimited too, and taskExecutionLimitations
// over them.
func (n *Node) executionLimits() []task.GroupLimit {
	base := task.DefaultLimits(configuredGroups(n.Config.TaskManager.ExecutionGroups)...)
	return task.MergeLimits(base, n.Config.TaskManager.TaskExecutionLimitations)
}

// configuredGroups splits taskManager/executionGroups.
func configuredGroups(s string) []string {
	var groups []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	return groups
}

// handlers builds the task handlers of DESIGN §4.
func (n *Node) handlers() map[string]taskmanager.Handler {
	hs := handlers.All(handlers.Deps{Repo: n.Repo, CSV: csvres.New(n.Config.Resources.AllowedDirectories...), Reports: n.Reports, Tasks: n.Store, Sessions: n.Store, Nodes: n.Store, Now: n.now,
		ApprovalPause: approvalPause(n.Log)})
	hs[handlers.NameNoop] = handlers.NewNoop()
	return hs
}
