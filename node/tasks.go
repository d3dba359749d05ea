package node

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"cadre/app/handlers"
	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/domain/task"
	"cadre/infrastructure/csvres"
	"cadre/infrastructure/jobs"
	"cadre/quartzstore"
)

var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func parseCron(expr string) (task.CronSchedule, error) { return cronParser.Parse(expr) }

// singleNode is the cluster view of a non-clustered node.
type singleNode struct{}

func (singleNode) LiveNodes(context.Context) int { return 1 }

// openJobStore opens the job store of DESIGN §2: in the repository database
// (default), in a separate database (taskManager/jdbcUrl), or in memory
// (jdbcJobStore=false).
func (n *Node) openJobStore(ctx context.Context) (quartzstore.Store, error) {
	tm := n.Config.TaskManager
	if !tm.JDBCJobStore {
		return quartzstore.NewMemoryStore(time.Now), nil
	}
	d := n.DB
	if tm.JDBCURL != "" {
		sep, err := db.Open(ctx, db.Options{URL: tm.JDBCURL, Username: tm.JDBCUser, Password: tm.JDBCPassword, MaxPoolSize: n.Config.Repository.MaxPoolSize})
		if err != nil {
			return nil, fmt.Errorf("job store database (taskManager/jdbcUrl): %w", err)
		}
		n.jobDB = sep
		d = sep
	}
	s := quartzstore.NewGormStore(d)
	if err := s.Migrate(ctx, tm.CreateQuartzTables); err != nil {
		return nil, fmt.Errorf("job store tables: %w", err)
	}
	return s, nil
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
	n.Tasks = taskmanager.New(taskmanager.Config{NodeID: n.Config.NodeID, WorkersPerNode: n.Config.TaskManager.WorkerThreadsPerNode, ParseCron: parseCron},
		n.Store, j, n.cluster, hs, n.metrics, time.Now, n.Log)
	n.Scheduler = quartzstore.NewScheduler(store, quartzstore.SchedulerConfig{
		InstanceID:      n.Config.NodeID,
		Threads:         n.Config.TaskManager.Threads,
		CheckInInterval: n.Config.TaskManager.NodeRegistrationInterval,
		InstanceTimeout: n.Config.TaskManager.NodeTimeout,
		Groups:          n.executionGroups,
		Runner:          func(ctx context.Context, f quartzstore.FiredTrigger) error { return n.Tasks.Execute(ctx, f.JobKey) },
		Logger:          n.Log,
	})
	j.SetWake(n.Scheduler.Wake)
	return nil
}

// executionGroups are the groups this node runs: the unnamed group and its own id.
func (n *Node) executionGroups() []string { return []string{"", n.Config.NodeID} }

// maintain runs the task manager's upkeep every registration interval until ctx ends.
func (n *Node) maintain(ctx context.Context) {
	tick := time.NewTicker(n.Config.TaskManager.NodeRegistrationInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := n.Tasks.Maintain(ctx); err != nil && ctx.Err() == nil {
				n.Log.Warn("task maintenance", "err", err)
			}
		}
	}
}

// handlers builds the task handlers of DESIGN §4.
func (n *Node) handlers() map[string]taskmanager.Handler {
	hs := handlers.All(handlers.Deps{Repo: n.Repo, CSV: csvres.New(), Reports: n.Reports, Tasks: n.Store, Sessions: n.Store, Now: time.Now})
	hs[handlers.NameNoop] = handlers.NewNoop()
	return hs
}
