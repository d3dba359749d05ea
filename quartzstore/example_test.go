package quartzstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"cadre/quartzstore"
)

// A scheduler over an in-memory store runs a job once, as soon as it is scheduled.
func Example() {
	ctx := context.Background()
	store := quartzstore.NewMemoryStore(nil) // nil: the host clock
	ran := make(chan string)
	sched := quartzstore.NewScheduler(store, quartzstore.SchedulerConfig{
		InstanceID: "example",
		Runner: func(_ context.Context, f quartzstore.FiredTrigger) error {
			ran <- f.JobKey + " says " + f.Data["greeting"]
			return nil
		},
	})
	if err := sched.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = sched.Stop(ctx) }()

	job := quartzstore.Job{Key: "hello", Data: map[string]string{"greeting": "hi"}}
	// A once trigger without NextFireTime fires at the store's now.
	if err := store.JobsSchedule(ctx, job, quartzstore.Trigger{Key: "hello-now", Kind: quartzstore.KindOnce}); err != nil {
		log.Fatal(err)
	}
	sched.Wake() // start at once instead of at the next poll
	fmt.Println(<-ran)
	// Output: hello says hi
}

// A store on SQLite: open the pool with immediate transactions, build the
// store, create its tables, schedule a cron job.
func ExampleNewSQLStore() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "quartzstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	pool, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "jobs.db")+"?_txlock=immediate&_busy_timeout=10000&_journal_mode=WAL")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := quartzstore.NewSQLStore(pool, quartzstore.SQLOptions{Dialect: quartzstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx, true); err != nil {
		log.Fatal(err)
	}
	nightly := quartzstore.Trigger{Key: "report-nightly", Kind: quartzstore.KindCron, Cron: "0 30 2 * * *"}
	if err := store.JobsSchedule(ctx, quartzstore.Job{Key: "report", RequestRecovery: true}, nightly); err != nil {
		log.Fatal(err)
	}
	triggers, err := store.TriggersListByJob(ctx, "report")
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range triggers {
		fmt.Printf("%s: %s %q, next at %02d:%02d:%02d UTC\n", t.Key, t.Kind, t.Cron,
			t.NextFireTime.Hour(), t.NextFireTime.Minute(), t.NextFireTime.Second())
	}
	// Output: report-nightly: cron "0 30 2 * * *", next at 02:30:00 UTC
}
