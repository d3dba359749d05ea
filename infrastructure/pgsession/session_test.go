package pgsession_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"cadre/db"
	"cadre/db/dbtest"
	"cadre/infrastructure/pglock"
	"cadre/infrastructure/pgsession"
)

func setup(t *testing.T) (*db.DB, *pglock.Probe) {
	t.Helper()
	d, err := db.Open(t.Context(), db.Options{URL: dbtest.Postgres(t), MaxPoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	sqlDB, err := d.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	return d, pglock.NewProbe(sqlDB)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// notes collects the payloads a listener received.
type notes struct {
	mu  sync.Mutex
	got []string
}

func (n *notes) add(p string) {
	n.mu.Lock()
	n.got = append(n.got, p)
	n.mu.Unlock()
}

func (n *notes) has(p string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Contains(n.got, p)
}

func (n *notes) count(p string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, g := range n.got {
		if g == p {
			c++
		}
	}
	return c
}

// sessions counts the backends of the session (by its lock) and of its
// application name.
func backends(t *testing.T, d *db.DB, app string) int {
	t.Helper()
	var n int
	if err := d.Raw("SELECT count(*) FROM pg_stat_activity WHERE application_name = ?", app).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSessionLockListenAndDo: one connection holds the liveness lock,
// receives notifications and runs statements at once, even while the pool
// is busy; a held lock is not free to the probe, the probe never keeps it
// from its holder; a terminated session is re-established with its lock and
// LISTEN; Stop frees the lock.
func TestSessionLockListenAndDo(t *testing.T) {
	d, probe := setup(t)
	const key, other = int64(4711), int64(4712)
	const app = "pgsession test"
	s := pgsession.New(d.DSN+"&application_name=pgsession+test", key, slog.New(slog.DiscardHandler))
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lock to be taken", s.Held)
	var got notes
	lctx, stopListening := context.WithCancel(context.Background())
	listened := make(chan error, 1)
	go func() { listened <- s.Listen(lctx, "cadre_test", got.add) }()
	waitFor(t, "the first (re)connect notice", func() bool { return got.has("") })
	if err := d.Exec("SELECT pg_notify('cadre_test', 'one')").Error; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "notification one", func() bool { return got.has("one") })

	// Both pool connections busy: a statement on the session still runs at once.
	sqlDB, _ := d.DB.DB()
	busy, release := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = sqlDB.ExecContext(busy, "SELECT pg_sleep(30)") }()
	}
	waitFor(t, "the pool to be busy", func() bool { return sqlDB.Stats().InUse == 2 })
	start := time.Now()
	var now time.Time
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := s.Do(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&now)
	})
	cancel()
	if err != nil || now.IsZero() {
		t.Fatalf("Do while the pool is busy: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Do took %s while the pool was busy", took)
	}
	release()
	wg.Wait()

	free := func() []int64 {
		f, err := probe.FreeLocks(context.Background(), []int64{key, other})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for range 20 { // probing takes and releases at once: the holder keeps it, the free key stays free
		if got := free(); !slices.Equal(got, []int64{other}) {
			t.Fatalf("free locks %v; want only %d", got, other)
		}
	}
	if n := backends(t, d, app); n != 1 {
		t.Errorf("%d backends named %q; want the one session connection", n, app)
	}

	var cut int
	if err := d.Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND ((classid::bigint << 32) | objid::bigint) = ?`, key).Scan(&cut).Error; err != nil {
		t.Fatal(err)
	}
	if cut != 1 {
		t.Fatalf("terminated %d holder sessions, want 1", cut)
	}
	waitFor(t, "the lock to be re-taken", func() bool { return s.Takes() == 2 && s.Held() })
	waitFor(t, "the reconnect notice", func() bool { return got.count("") >= 2 })
	if got := free(); slices.Contains(got, key) {
		t.Fatalf("free locks %v after the re-take", got)
	}
	if err := d.Exec("SELECT pg_notify('cadre_test', 'two')").Error; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "notification two after the reconnect", func() bool { return got.has("two") })
	stopListening()
	if err := <-listened; !errors.Is(err, context.Canceled) {
		t.Errorf("Listen returned %v after its context ended", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lock to be free after Stop", func() bool { return slices.Contains(free(), key) })
	if err := s.Do(ctx, func(context.Context, *pgx.Conn) error { return nil }); !errors.Is(err, pgsession.ErrNotConnected) {
		t.Errorf("Do after Stop: %v, want ErrNotConnected", err)
	}
}

// TestSessionFindsThePrimaryOfSeveralHosts: on a multi-host URL whose first
// host refuses connections, the session connects to the next one that
// accepts writes, as it does again after a failover.
func TestSessionFindsThePrimaryOfSeveralHosts(t *testing.T) {
	d, _ := setup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now: refused
	u, err := url.Parse(d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	dsn, err := db.SessionDSN("jdbc:postgresql://"+dead+","+u.Host+u.Path+"?targetServerType=primary", u.User.Username(), password, "")
	if err != nil {
		t.Fatal(err)
	}
	s := pgsession.New(dsn, 4713, slog.New(slog.DiscardHandler))
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	waitFor(t, "the lock on the second host", s.Held)
	var readOnly string
	ok, err := s.QueryRow(t.Context(), "SHOW transaction_read_only", nil, &readOnly)
	if !ok || err != nil || readOnly != "off" {
		t.Errorf("on the session: transaction_read_only %q, ok %v, err %v; want off", readOnly, ok, err)
	}
}
