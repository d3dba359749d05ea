// Command riverbench runs J no-op River jobs on PostgreSQL with N client
// processes of W workers each and prints one line with the rate, for the
// `compare` figure of Cadre's `make bench` (DESIGN §10). It lives in its own
// Go module (bench/river) so that Cadre's go.mod never depends on River.
//
// One run:
//
//  1. With -fresh, the database named in -dsn is dropped and created again
//     (only names starting with cadre_bench are accepted); otherwise it must
//     be empty of River jobs. The database is left in place afterwards, for
//     inspection (the benchmark in bench/ gives each run its own and drops it).
//  2. River's schema is migrated in (rivermigrate, up).
//  3. All J jobs are inserted with InsertMany in batches of 1,000, BEFORE any
//     client starts, so the clients only fetch, work and complete.
//  4. N client processes (this program again, -role client) connect and
//     build their River client, then report ready. The clock starts when the
//     coordinator tells the first of them to start, and stops when it sees
//     all J jobs completed in river_job (polled every 10 ms) — the same way
//     Cadre's throughput figure polls its task until CLOSED.
//  5. The share is read from river_job.attempted_by (the client IDs are
//     proc1…procN); retried counts jobs that needed more than one attempt.
//
// Modes: `defaults` leaves FetchCooldown (100 ms) and FetchPollInterval (1 s)
// at River's defaults; `fast` sets both to River's minimum, 1 ms, the fastest
// fetch settings River accepts. Every other setting is River's default, with
// one queue of -workers MaxWorkers and pgxpool's default pool size.
// -fetch-cooldown and -fetch-poll override a mode's two settings (on this
// 2-core machine a poll of 10 ms, 100 ms or 1 s with a 1 ms cooldown was no
// faster than 1 ms, within the noise).
//
// Usage, from bench/river:
//
//	go run ./cmd/riverbench -fresh -jobs 5000 -procs 3 -mode fast   # database cadre_bench_river
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// defaultDSN is the run's own database on the local PostgreSQL.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/cadre_bench_river?sslmode=disable"

// insertBatch is how many jobs one InsertMany call inserts.
const insertBatch = 1000

// pollEvery is how often the coordinator counts completed jobs.
const pollEvery = 10 * time.Millisecond

type options struct {
	role     string
	dsn      string
	fresh    bool
	jobs     int
	procs    int
	workers  int
	mode     string
	id       string
	deadline time.Duration
	cooldown time.Duration // overrides the mode's FetchCooldown when set
	poll     time.Duration // overrides the mode's FetchPollInterval when set
}

func main() {
	var o options
	flag.StringVar(&o.role, "role", "coordinator", "coordinator (the run) or client (one River client process, started by the coordinator)")
	flag.StringVar(&o.dsn, "dsn", defaultDSN, "PostgreSQL URL of the run's database")
	flag.BoolVar(&o.fresh, "fresh", false, "drop and create the database named in -dsn first (name must start with cadre_bench)")
	flag.IntVar(&o.jobs, "jobs", 5000, "no-op jobs to insert and work")
	flag.IntVar(&o.procs, "procs", 1, "client processes")
	flag.IntVar(&o.workers, "workers", 100, "MaxWorkers of the queue in each client")
	flag.StringVar(&o.mode, "mode", "defaults", "defaults or fast (FetchCooldown and FetchPollInterval 1 ms)")
	flag.StringVar(&o.id, "id", "", "client ID (role client)")
	flag.DurationVar(&o.deadline, "deadline", 10*time.Minute, "give up when the jobs are not all completed by then")
	flag.DurationVar(&o.cooldown, "fetch-cooldown", 0, "FetchCooldown, overriding the mode's (0: the mode's)")
	flag.DurationVar(&o.poll, "fetch-poll", 0, "FetchPollInterval, overriding the mode's (0: the mode's)")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch o.role {
	case "coordinator":
		err = coordinate(ctx, o, logger)
	case "client":
		err = runClient(ctx, o, logger, os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown -role %q", o.role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "riverbench %s: %v\n", o.role, err)
		os.Exit(1)
	}
}

// noopArgs is the job every client works: nothing.
type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// fetchSettings returns FetchCooldown and FetchPollInterval of the mode,
// or of -fetch-cooldown and -fetch-poll when set; zero leaves River's
// default.
func fetchSettings(o options) (cooldown, poll time.Duration, err error) {
	switch o.mode {
	case "defaults":
	case "fast":
		cooldown, poll = river.FetchCooldownMin, river.FetchPollIntervalMin
	default:
		return 0, 0, fmt.Errorf("unknown -mode %q (defaults or fast)", o.mode)
	}
	return cmp.Or(o.cooldown, cooldown), cmp.Or(o.poll, poll), nil
}

// coordinate prepares the database, inserts the jobs, starts the client
// processes, times them and prints the result line.
func coordinate(ctx context.Context, o options, logger *slog.Logger) error {
	if o.jobs <= 0 || o.procs <= 0 || o.workers <= 0 {
		return fmt.Errorf("-jobs, -procs and -workers must be positive")
	}
	cooldown, poll, err := fetchSettings(o)
	if err != nil {
		return err
	}
	if o.fresh {
		if err := recreateDatabase(ctx, o.dsn); err != nil {
			return err
		}
	}
	pool, err := pgxpool.New(ctx, o.dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := insertJobs(ctx, pool, driver, o.jobs, logger); err != nil {
		return err
	}

	clients, err := startClients(ctx, o)
	if err != nil {
		return err
	}
	defer clients.kill()
	if err := clients.waitReady(ctx, time.Minute); err != nil {
		return err
	}
	start := time.Now()
	if err := clients.sendGo(); err != nil {
		return err
	}
	if err := waitCompleted(ctx, pool, o.jobs, o.deadline, clients); err != nil {
		return err
	}
	seconds := time.Since(start).Seconds()
	if err := clients.stop(time.Minute); err != nil {
		return err
	}

	share, retried, err := readShare(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Printf("river noop mode=%s procs=%d workers=%d jobs=%d fetch_cooldown=%s fetch_poll=%s seconds=%.3f jobs_per_s=%.0f retried=%d share=%s\n",
		o.mode, o.procs, o.workers, o.jobs, orDefault(cooldown, river.FetchCooldownDefault), orDefault(poll, river.FetchPollIntervalDefault),
		seconds, float64(o.jobs)/seconds, retried, share)
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// recreateDatabase drops and creates the database named in dsn, through the
// server's `postgres` database.
func recreateDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("parse -dsn: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !strings.HasPrefix(name, "cadre_bench") {
		return fmt.Errorf("-fresh drops the database; refusing %q (its name must start with cadre_bench)", name)
	}
	u.Path = "/postgres"
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") { // pgxpool's settings; a plain connection refuses them
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("connect to the postgres database: %w", err)
	}
	defer conn.Close(context.Background())
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return nil
}

// insertJobs inserts n no-op jobs with an insert-only client, after checking
// that the database holds no job yet.
func insertJobs(ctx context.Context, pool *pgxpool.Pool, driver *riverpgxv5.Driver, n int, logger *slog.Logger) error {
	var existing int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM river_job").Scan(&existing); err != nil {
		return fmt.Errorf("count jobs: %w", err)
	}
	if existing != 0 {
		return fmt.Errorf("the database already holds %d River jobs; use a fresh one (-fresh)", existing)
	}
	inserter, err := river.NewClient(driver, &river.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("insert-only client: %w", err)
	}
	for done := 0; done < n; {
		batch := make([]river.InsertManyParams, min(insertBatch, n-done))
		for i := range batch {
			batch[i] = river.InsertManyParams{Args: noopArgs{}}
		}
		if _, err := inserter.InsertMany(ctx, batch); err != nil {
			return fmt.Errorf("insert jobs %d–%d: %w", done+1, done+len(batch), err)
		}
		done += len(batch)
	}
	return nil
}

// waitCompleted polls river_job until n jobs are completed, the deadline
// passes or a client process exits early.
func waitCompleted(ctx context.Context, pool *pgxpool.Pool, n int, deadline time.Duration, clients *clientProcs) error {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		var done int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE state = 'completed'").Scan(&done); err != nil {
			return fmt.Errorf("count completed jobs (%d of %d seen so far): %w", done, n, err)
		}
		if done == n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d jobs completed: %w", done, n, ctx.Err())
		case err := <-clients.exited:
			return fmt.Errorf("a client exited with %d of %d jobs completed: %w", done, n, err)
		case <-tick.C:
		}
	}
}

// readShare returns the share of completed jobs per client (by the last
// client ID in attempted_by) and how many jobs took more than one attempt.
func readShare(ctx context.Context, pool *pgxpool.Pool) (string, int, error) {
	rows, err := pool.Query(ctx, `SELECT coalesce(attempted_by[array_length(attempted_by, 1)], ''), count(*)
		FROM river_job WHERE state = 'completed' GROUP BY 1`)
	if err != nil {
		return "", 0, fmt.Errorf("read share: %w", err)
	}
	perClient := map[string]int{}
	total := 0
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return "", 0, fmt.Errorf("read share: %w", err)
		}
		perClient[id] = n
		total += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", 0, fmt.Errorf("read share: %w", err)
	}
	var retried int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE attempt > 1").Scan(&retried); err != nil {
		return "", 0, fmt.Errorf("count retried jobs: %w", err)
	}
	ids := make([]string, 0, len(perClient))
	for id := range perClient {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%s:%.0f%%", id, 100*float64(perClient[id])/float64(total)))
	}
	return strings.Join(parts, ","), retried, nil
}

// clientProcs are the running client processes. Each reads commands on its
// stdin ("go" starts the River client; end of input stops it) and writes
// "ready" on its stdout once connected.
type clientProcs struct {
	cmds   []*exec.Cmd
	stdins []io.WriteCloser
	ready  chan error
	exited chan error // one value per process that exits, nil on success
}

func startClients(ctx context.Context, o options) (*clientProcs, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	c := &clientProcs{ready: make(chan error, o.procs), exited: make(chan error, o.procs)}
	for i := 1; i <= o.procs; i++ {
		id := fmt.Sprintf("proc%d", i)
		cmd := exec.Command(self, "-role", "client", "-id", id, "-dsn", o.dsn, "-mode", o.mode,
			"-workers", fmt.Sprint(o.workers), "-fetch-cooldown", o.cooldown.String(), "-fetch-poll", o.poll.String())
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			c.kill()
			return nil, fmt.Errorf("stdin of %s: %w", id, err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			c.kill()
			return nil, fmt.Errorf("stdout of %s: %w", id, err)
		}
		if err := cmd.Start(); err != nil {
			c.kill()
			return nil, fmt.Errorf("start %s: %w", id, err)
		}
		c.cmds = append(c.cmds, cmd)
		c.stdins = append(c.stdins, stdin)
		go func() {
			sc := bufio.NewScanner(stdout)
			if sc.Scan() && sc.Text() == "ready" {
				c.ready <- nil
			} else {
				c.ready <- fmt.Errorf("%s did not report ready", id)
			}
			_, _ = io.Copy(io.Discard, stdout)
			if err := cmd.Wait(); err != nil {
				c.exited <- fmt.Errorf("%s: %w", id, err)
			} else {
				c.exited <- nil
			}
		}()
	}
	return c, nil
}

func (c *clientProcs) waitReady(ctx context.Context, within time.Duration) error {
	timeout := time.After(within)
	for range c.cmds {
		select {
		case err := <-c.ready:
			if err != nil {
				return err
			}
		case <-timeout:
			return fmt.Errorf("client processes not ready after %v", within)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (c *clientProcs) sendGo() error {
	for i, w := range c.stdins {
		if _, err := io.WriteString(w, "go\n"); err != nil {
			return fmt.Errorf("start proc%d: %w", i+1, err)
		}
	}
	return nil
}

// stop closes every client's stdin, which stops its River client, and waits
// for all of them to exit.
func (c *clientProcs) stop(within time.Duration) error {
	for _, w := range c.stdins {
		_ = w.Close()
	}
	timeout := time.After(within)
	var errs []error
	for range c.cmds {
		select {
		case err := <-c.exited:
			errs = append(errs, err)
		case <-timeout:
			return fmt.Errorf("client processes still running %v after stop", within)
		}
	}
	c.cmds = nil
	return errors.Join(errs...)
}

// kill ends the client processes that are still running.
func (c *clientProcs) kill() {
	for _, cmd := range c.cmds {
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}
}

// runClient is one client process: it connects, builds a River client with
// one queue of o.workers workers, says "ready", starts on "go" and stops
// gracefully at the end of its input.
func runClient(ctx context.Context, o options, logger *slog.Logger, in io.Reader, out io.Writer) error {
	cooldown, poll, err := fetchSettings(o)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, o.dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		ID:                o.id,
		Logger:            logger,
		FetchCooldown:     cooldown,
		FetchPollInterval: poll,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.workers}},
		Workers:           workers,
	})
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	if _, err := io.WriteString(out, "ready\n"); err != nil {
		return fmt.Errorf("report ready: %w", err)
	}
	sc := bufio.NewScanner(in)
	if !sc.Scan() || sc.Text() != "go" {
		return nil // the coordinator gave up before starting
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start river client: %w", err)
	}
	for sc.Scan() { // until the coordinator closes our input
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop river client: %w", err)
	}
	return nil
}
