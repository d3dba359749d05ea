package faultproxy_test

import (
	"context"
	"errors"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"cadre/db/dbtest"
	"cadre/node/proctest/faultproxy"
)

// setup starts a proxy in front of the test PostgreSQL server and returns
// it with a URL that reaches the server through it.
func setup(t *testing.T) (*faultproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(dbtest.PostgresAdminURL())
	if err != nil {
		t.Fatal(err)
	}
	probe, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		if dbtest.RequirePostgres() {
			t.Fatalf("PostgreSQL unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set CADRE_REQUIRE_POSTGRES=1 to fail instead", err)
	}
	_ = probe.Close(context.Background())
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	u.Host = p.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return p, u.String()
}

func connect(t *testing.T, dsn string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err == nil {
		t.Cleanup(func() { _ = c.Close(context.Background()) })
	}
	return c, err
}

func ping(c *pgx.Conn, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var one int
	return c.QueryRow(ctx, "SELECT 1").Scan(&one)
}

func TestForwardsAndRefuses(t *testing.T) {
	p, dsn := setup(t)
	c, err := connect(t, dsn)
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	if err := ping(c, 2*time.Second); err != nil {
		t.Fatalf("query through the proxy: %v", err)
	}
	p.Refuse()
	if _, err := connect(t, dsn); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connect while refusing: want ECONNREFUSED, got %v", err)
	}
	if err := ping(c, 2*time.Second); err != nil {
		t.Fatalf("an open connection must survive Refuse: %v", err)
	}
	if err := p.Accept(); err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, dsn); err != nil {
		t.Fatalf("connect after Accept: %v", err)
	}
}

func TestResetEndsOpenConnections(t *testing.T) {
	p, dsn := setup(t)
	c, err := connect(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Reset(); n != 1 {
		t.Fatalf("Reset reset %d connections, want 1", n)
	}
	if err := ping(c, 2*time.Second); err == nil {
		t.Fatal("a query on a reset connection succeeded")
	}
	if _, err := connect(t, dsn); err != nil {
		t.Fatalf("a new connection after Reset: %v", err)
	}
}

func TestRejectAnswersLikePostgreSQL(t *testing.T) {
	p, dsn := setup(t)
	p.Reject(&faultproxy.TooManyClients)
	_, err := connect(t, dsn)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "53300" {
		t.Fatalf("want SQLSTATE 53300, got %v", err)
	}
	p.Reject(nil)
	if _, err := connect(t, dsn); err != nil {
		t.Fatalf("connect after Reject(nil): %v", err)
	}
}

func TestLatencyAndBlackhole(t *testing.T) {
	p, dsn := setup(t)
	c, err := connect(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	p.SetLatency(150 * time.Millisecond)
	start := time.Now()
	if err := ping(c, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("a round trip with 150 ms each way took %v", took)
	}
	p.SetLatency(0)
	lift := p.Blackhole()
	if err := ping(c, 300*time.Millisecond); err == nil {
		t.Fatal("a query answered through a blackhole")
	}
	lift()
	c2, err := connect(t, dsn) // the first one was closed by the timed-out query
	if err != nil {
		t.Fatalf("connect after the blackhole lifted: %v", err)
	}
	if err := ping(c2, 2*time.Second); err != nil {
		t.Fatal(err)
	}
}
