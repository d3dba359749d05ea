// Package pgbouncer_test runs real cadre processes whose pool goes through
// a real PgBouncer in transaction mode while their session connections
// (liveness lock, LISTEN, check-ins) go straight to PostgreSQL, as an
// operator would run them next to PgBouncer (docs/connections.md).
package pgbouncer_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"cadre/apiclient"
	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
	"cadre/node/proctest"
)

// pgbouncerBinary finds pgbouncer, or skips the test (fails it under
// CADRE_REQUIRE_POSTGRES=1, as .ci/run installs it).
func pgbouncerBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/local/bin/pgbouncer"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if dbtest.RequirePostgres() {
		t.Fatal("pgbouncer is not installed and CADRE_REQUIRE_POSTGRES=1 (apt-get install pgbouncer)")
	}
	t.Skip("SKIP: pgbouncer is not installed (apt-get install pgbouncer; CADRE_REQUIRE_POSTGRES=1 makes this a failure)")
	return ""
}

// startPgBouncer runs pgbouncer in transaction mode on a free loopback port
// in front of the PostgreSQL server of direct (a postgres:// URL), with at
// most serverConns server connections, and returns direct's URL through it.
// As root it runs as the postgres user (pgbouncer refuses root), in a
// directory that user can read.
func startPgBouncer(t *testing.T, direct string, serverConns int) string {
	t.Helper()
	bin := pgbouncerBinary(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cadre-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	port := proctest.FreePort(t)
	user := u.User.Username()
	conf := fmt.Sprintf(`[databases]
* = host=%s port=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
admin_users = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = %s
pidfile = %s
`, u.Hostname(), u.Port(), port, filepath.Join(dir, "userlist.txt"), user, serverConns, filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
	for name, content := range map[string]string{"pgbouncer.ini": conf, "userlist.txt": fmt.Sprintf("%q \"\"\n", user)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres"}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	through := *u
	through.Host = fmt.Sprintf("127.0.0.1:%d", port)
	proctest.WaitFor(t, "pgbouncer to accept connections", 10*time.Second, func() bool {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			so, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
			t.Fatalf("pgbouncer exited:\n%s%s", so, log)
		default:
		}
		c, err := net.DialTimeout("tcp", through.Host, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return through.String()
}

// serverTransactions reads how many transactions pgbouncer passed to
// database name (its admin console, simple protocol only).
func serverTransactions(t *testing.T, through, name string) int64 {
	t.Helper()
	u, _ := url.Parse(through)
	u.Path = "/pgbouncer"
	q := u.Query()
	q.Set("default_query_exec_mode", "simple_protocol")
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("pgbouncer admin console: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SHOW STATS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		m, err := pgx.RowToMap(rows)
		if err != nil {
			t.Fatal(err)
		}
		if m["database"] == name {
			n, ok := m["total_xact_count"].(pgtype.Numeric) // pgbouncer sends numeric
			v, err := n.Int64Value()
			if !ok || err != nil || !v.Valid {
				t.Fatalf("SHOW STATS total_xact_count %v (%T): %v", m["total_xact_count"], m["total_xact_count"], err)
			}
			total = v.Int64
		}
	}
	return total
}

// TestThreeNodesThroughPgBouncer: three clustered nodes whose pools go
// through PgBouncer in transaction mode (prepareThreshold=0, as pgJDBC users
// set it) with fewer server connections than the nodes' pools hold, and
// whose session connections go straight to PostgreSQL, finish a bucketed
// task with every bucket completed exactly once, and declare nobody dead.
func TestThreeNodesThroughPgBouncer(t *testing.T) {
	direct := dbtest.Postgres(t)
	through := startPgBouncer(t, direct, 4)
	sep := "?"
	if strings.Contains(through, "?") {
		sep = "&"
	}
	pooled := through + sep + "prepareThreshold=0"
	args := append(proctest.ClusterArgs(pooled), "-Dmidpoint.repository.sessionJdbcUrl="+direct)
	var nodes []*proctest.Proc
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, proctest.Start(t, fmt.Sprintf("node%d", i), args...))
	}
	d, err := db.Open(context.Background(), db.Options{URL: direct, MaxPoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	repo := gormrepo.New(d)
	proctest.WaitFor(t, "3 live nodes", 20*time.Second, func() bool {
		ns, err := repo.NodesList(context.Background())
		if err != nil {
			return false
		}
		now, _ := repo.Now(context.Background())
		live := 0
		for _, n := range ns {
			if n.Live(now, proctest.Timeout) && n.SchedulerState == "RUNNING" {
				live++
			}
		}
		return live == 3
	})

	const buckets, items = 300, 2
	perNode := 2
	params := map[string]any{"itemsPerBucket": items, "delayMs": 5}
	oid := nodes[0].Admin().CreateTask(t, apiclient.TaskCreate{Name: "noop through pgbouncer", Handler: "noop", Params: &params,
		Bucketing: apiclient.NumericBucketing(0, buckets, 1), Workers: &apiclient.Workers{PerNode: &perNode}}).Oid
	got := nodes[0].Admin().WaitTaskClosed(t, oid, 90*time.Second)
	if got.ResultStatus != apiclient.TaskResultStatusSUCCESS {
		t.Fatalf("task closed with %s, want SUCCESS", got.ResultStatus)
	}
	completions, err := repo.BucketCompletions(context.Background(), oid)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := repo.BucketsList(context.Background(), oid)
	if err != nil {
		t.Fatal(err)
	}
	perNodeDone := map[string]int{}
	for _, b := range bs {
		if b.State != task.BucketComplete || completions[b.Seq] != 1 {
			t.Fatalf("bucket %d: state %s, completed %d times", b.Seq, b.State, completions[b.Seq])
		}
		perNodeDone[b.Node]++
	}
	if len(bs) != buckets {
		t.Fatalf("%d buckets, want %d", len(bs), buckets)
	}
	t.Logf("buckets per node: %v", perNodeDone)
	if len(perNodeDone) < 2 {
		t.Errorf("all buckets on one node (%v): the cluster did not share the work", perNodeDone)
	}

	dbName := strings.TrimPrefix(mustParse(t, direct).Path, "/")
	if n := serverTransactions(t, through, dbName); n < buckets {
		t.Errorf("pgbouncer passed %d transactions to %s; the pools did not go through it", n, dbName)
	}
	for _, p := range nodes {
		log := p.Log()
		for _, bad := range []string{"node is dead", "prepared statement", "liveness lock not taken", "session connection lost"} {
			if strings.Contains(log, bad) {
				t.Errorf("%s logged %q:\n%s", p.NodeID, bad, log)
			}
		}
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
