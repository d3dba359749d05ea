package chaos

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"cadre/db/dbtest"
	"cadre/node/proctest"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Replicated is a PostgreSQL primary and its streaming standby: two
// clusters of the installed PostgreSQL (Debian's postgresql-common tools) on
// free loopback ports, made for one test and dropped when it ends. Nothing
// here touches the shared server on 5432.
type Replicated struct {
	Version          string // PostgreSQL major version, e.g. "15"
	Primary, Standby PGCluster
	Database         string
	// Promotion is how long pg_ctl promote took in Failover.
	Promotion time.Duration
}

// PGCluster is one cluster made with pg_createcluster.
type PGCluster struct {
	Name    string
	Port    int
	DataDir string
}

// NewReplicated creates a primary with database "cadre", a standby made
// with pg_basebackup streaming from it, and waits until the standby is in
// recovery and has the database. It skips tb when pg_createcluster is not
// installed, unless CADRE_REQUIRE_POSTGRES=1. Both clusters are dropped
// when tb ends, whether it passed or not.
func NewReplicated(tb testing.TB) *Replicated {
	tb.Helper()
	if _, err := exec.LookPath("pg_createcluster"); err != nil {
		if dbtest.RequirePostgres() {
			tb.Fatalf("pg_createcluster not found and CADRE_REQUIRE_POSTGRES=1: the failover test needs postgresql-common and a PostgreSQL server package: %v", err)
		}
		tb.Skipf("SKIP: pg_createcluster not found (install postgresql-common and postgresql; CADRE_REQUIRE_POSTGRES=1 makes this a failure): %v", err)
	}
	version, err := pgVersion()
	if err != nil {
		tb.Fatal(err)
	}
	dropLeftovers(tb, version)
	suffix := randomHex(4)
	r := &Replicated{Version: version, Database: "cadre",
		Primary: PGCluster{Name: "cadre_t_" + suffix + "_p"},
		Standby: PGCluster{Name: "cadre_t_" + suffix + "_s"}}
	for _, c := range []*PGCluster{&r.Primary, &r.Standby} {
		c.Port = proctest.FreePort(tb)
		c.DataDir = filepath.Join("/var/lib/postgresql", version, c.Name)
	}
	// Registered before anything is made: a half-made pair is dropped too.
	tb.Cleanup(func() {
		for _, c := range []PGCluster{r.Standby, r.Primary} {
			if out, err := exec.Command("pg_dropcluster", version, c.Name, "--stop").CombinedOutput(); err != nil &&
				!strings.Contains(string(out), "does not exist") {
				tb.Logf("pg_dropcluster %s %s: %v\n%s", version, c.Name, err, out)
			}
		}
	})

	r.create(tb, r.Primary)
	r.ctl(tb, r.Primary, "start")
	primary := r.open(tb, r.Primary, "postgres")
	if _, err := primary.Exec("CREATE DATABASE " + r.Database); err != nil {
		tb.Fatalf("create database on the primary: %v", err)
	}
	primary.Close()

	r.create(tb, r.Standby)
	entries, err := os.ReadDir(r.Standby.DataDir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(r.Standby.DataDir, e.Name())); err != nil {
			tb.Fatal(err)
		}
	}
	run(tb, 2*time.Minute, asPostgres("pg_basebackup", "-h", "127.0.0.1", "-p", fmt.Sprint(r.Primary.Port), "-U", "postgres",
		"-D", r.Standby.DataDir, "-R", "-X", "stream", "--checkpoint=fast", "-w")...)
	r.ctl(tb, r.Standby, "start")
	standby := r.open(tb, r.Standby, r.Database) // the database has arrived
	defer standby.Close()
	var inRecovery bool
	if err := standby.QueryRow("SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || !inRecovery {
		tb.Fatalf("standby %s: pg_is_in_recovery() = %v, %v; want true", r.Standby.Name, inRecovery, err)
	}
	return r
}

// leftoverAge is how old a cadre_t_ cluster must be before a new test drops
// it: a test whose process was killed (go test's -timeout) ran no cleanup,
// and its servers live on. A run of one case takes a minute or two.
const leftoverAge = time.Hour

// dropLeftovers drops clusters of earlier test runs that outlived them.
func dropLeftovers(tb testing.TB, version string) {
	dirs, _ := filepath.Glob(filepath.Join("/etc/postgresql", version, "cadre_t_*"))
	for _, dir := range dirs {
		fi, err := os.Stat(filepath.Join(dir, "pg_hba.conf"))
		if err != nil || time.Since(fi.ModTime()) < leftoverAge {
			continue
		}
		name := filepath.Base(dir)
		out, err := exec.Command("pg_dropcluster", version, name, "--stop").CombinedOutput()
		tb.Logf("dropped cluster %s %s left by an earlier test run: %v %s", version, name, err, out)
	}
}

// URL is midPoint's multi-host JDBC form of the database, which leads a
// client to whichever of the two is the writable primary: what an operator
// copies from a midPoint configuration.
func (r *Replicated) URL() string {
	return fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d,127.0.0.1:%d/%s?targetServerType=primary&user=postgres",
		r.Primary.Port, r.Standby.Port, r.Database)
}

// Failover stops the primary at once (as a crash would: no checkpoint, every
// session cut) and promotes the standby, and returns when the standby
// accepts writes.
func (r *Replicated) Failover(tb testing.TB) {
	tb.Helper()
	r.ctl(tb, r.Primary, "stop", "-m", "immediate")
	start := time.Now()
	run(tb, time.Minute, asPostgres(filepath.Join("/usr/lib/postgresql", r.Version, "bin", "pg_ctl"), "promote", "-w", "-D", r.Standby.DataDir)...)
	r.Promotion = time.Since(start)
	tb.Logf("standby %s promoted in %s", r.Standby.Name, r.Promotion.Round(time.Millisecond))
}

// create makes cluster c (not started) and lets loopback clients in without
// a password, replication included.
func (r *Replicated) create(tb testing.TB, c PGCluster) {
	tb.Helper()
	run(tb, 2*time.Minute, "pg_createcluster", r.Version, c.Name, "--port", fmt.Sprint(c.Port), "--start-conf", "manual",
		"-o", "max_connections=60", "-o", "shared_buffers=16MB",
		"-o", "fsync=off", "-o", "full_page_writes=off")
	hba := "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join("/etc/postgresql", r.Version, c.Name, "pg_hba.conf"), []byte(hba), 0o640); err != nil {
		tb.Fatal(err)
	}
}

func (r *Replicated) ctl(tb testing.TB, c PGCluster, action string, opts ...string) {
	tb.Helper()
	args := append([]string{"pg_ctlcluster", "--skip-systemctl-redirect", r.Version, c.Name, action}, opts...)
	run(tb, time.Minute, args...)
}

// open connects to database name on c, waiting up to 30 s for it.
func (r *Replicated) open(tb testing.TB, c PGCluster, name string) *sql.DB {
	tb.Helper()
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, name)
	d, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = d.PingContext(ctx)
		cancel()
		if err == nil {
			return d
		}
		if time.Now().After(deadline) {
			d.Close()
			tb.Fatalf("connect to %s: %v", dsn, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// asPostgres runs a PostgreSQL program as the postgres user when the test
// runs as root (the server programs refuse root).
func asPostgres(argv ...string) []string {
	if os.Geteuid() == 0 {
		return append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	return argv
}

func run(tb testing.TB, timeout time.Duration, argv ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// pgVersion is the newest PostgreSQL major version installed.
func pgVersion() (string, error) {
	dirs, err := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if err != nil || len(dirs) == 0 {
		return "", fmt.Errorf("no /usr/lib/postgresql/*/bin/pg_ctl: a PostgreSQL server package is needed")
	}
	versions := make([]string, len(dirs))
	for i, d := range dirs {
		versions[i] = filepath.Base(filepath.Dir(filepath.Dir(d)))
	}
	sort.Slice(versions, func(i, j int) bool {
		return len(versions[i]) < len(versions[j]) || len(versions[i]) == len(versions[j]) && versions[i] < versions[j]
	})
	return versions[len(versions)-1], nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
