package db_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"cadre/db"
	"cadre/db/dbtest"
)

// TestApplicationName: a node's PostgreSQL connections carry the name it
// gives them, so pg_stat_activity tells the nodes apart; a name the user
// put in the URL wins.
func TestApplicationName(t *testing.T) {
	url := dbtest.Postgres(t)
	for _, tc := range []struct{ url, want string }{
		{url, "cadre pid=1 node1"},
		{url + "&application_name=mine", "mine"},
	} {
		d, err := db.Open(context.Background(), db.Options{URL: tc.url, MaxPoolSize: 1, ApplicationName: "cadre pid=1 node1"})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := d.Raw("SHOW application_name").Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		d.Close()
		if got != tc.want {
			t.Errorf("application_name on %s = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// TestParseURLPostgres: pgJDBC's URL forms, midPoint's multi-host failover
// URL among them, become pgx URLs with the equivalent settings.
func TestParseURLPostgres(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"jdbc:postgresql://db:5432/cadre", "postgres://db:5432/cadre?sslmode=disable"},
		{"jdbc:postgresql://h1:5432,h2:5433/cadre?targetServerType=primary",
			"postgres://h1:5432,h2:5433/cadre?sslmode=disable&target_session_attrs=read-write"},
		{"jdbc:postgresql://h1,h2:5433/cadre?targetServerType=master", "postgres://h1,h2:5433/cadre?sslmode=disable&target_session_attrs=read-write"},
		{"jdbc:postgresql://h1:5432,h2:5432/cadre?targetServerType=preferPrimary", "postgres://h1:5432,h2:5432/cadre?sslmode=disable&target_session_attrs=read-write"},
		{"jdbc:postgresql://h1:5432,h2:5432/cadre?targetServerType=secondary", "postgres://h1:5432,h2:5432/cadre?sslmode=disable&target_session_attrs=read-only"},
		{"jdbc:postgresql://h1:5432,h2:5432/cadre?targetServerType=preferSecondary", "postgres://h1:5432,h2:5432/cadre?sslmode=disable&target_session_attrs=prefer-standby"},
		{"jdbc:postgresql://h1:5432,h2:5432/cadre?targetServerType=any", "postgres://h1:5432,h2:5432/cadre?sslmode=disable&target_session_attrs=any"},
		{"jdbc:postgresql://[::1]:5432,[::2]:5433/cadre?targetServerType=primary",
			"postgres://[::1]:5432,[::2]:5433/cadre?sslmode=disable&target_session_attrs=read-write"},
		{"postgres://u:p@h1:1,h2:2/cadre?target_session_attrs=primary&targetServerType=primary",
			"postgres://u:p@h1:1,h2:2/cadre?sslmode=disable&target_session_attrs=primary"},
		{"jdbc:postgresql://db/cadre?prepareThreshold=0", "postgres://db/cadre?default_query_exec_mode=exec&sslmode=disable"},
		{"jdbc:postgresql://db/cadre?prepareThreshold=5", "postgres://db/cadre?sslmode=disable"},
		{"jdbc:postgresql://db/cadre?currentSchema=s1&loadBalanceHosts=true", "postgres://db/cadre?search_path=s1&sslmode=disable"},
	} {
		dialect, dsn, err := db.ParseURL(tc.url, "", "")
		if err != nil || dialect != db.Postgres || dsn != tc.want {
			t.Errorf("ParseURL(%s) = %s, %s, %v; want %s", tc.url, dialect, dsn, err, tc.want)
		}
	}
	_, dsn, err := db.ParseURL("jdbc:postgresql://h1:5432,h2:5433/cadre", "ann", "s3cret")
	if want := "postgres://ann:s3cret@h1:5432,h2:5433/cadre?sslmode=disable"; err != nil || dsn != want {
		t.Errorf("with credentials: %s, %v; want %s", dsn, err, want)
	}
	for _, bad := range []string{
		"jdbc:postgresql:///cadre",
		"jdbc:postgresql://h1:5432,/cadre",
		"jdbc:postgresql://h1:99999/cadre",
		"jdbc:postgresql://h1:5432,h2:x/cadre",
		"jdbc:postgresql://h1/cadre?targetServerType=leader",
		"jdbc:postgresql://h1/cadre?prepareThreshold=none",
	} {
		if _, dsn, err := db.ParseURL(bad, "", ""); !errors.Is(err, db.ErrBadURL) {
			t.Errorf("ParseURL(%s) = %s, %v; want ErrBadURL", bad, dsn, err)
		}
	}
}

// TestMultiHostURLFindsThePrimary: with a host that refuses connections
// first in the list, a multi-host URL connects to the next one, which
// accepts writes.
func TestMultiHostURLFindsThePrimary(t *testing.T) {
	u, err := url.Parse(strings.TrimPrefix(dbtest.Postgres(t), "jdbc:"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now: refused
	multi := "jdbc:postgresql://" + dead + "," + u.Host + u.Path + "?targetServerType=primary"
	d, err := db.Open(context.Background(), db.Options{URL: multi, MaxPoolSize: 1})
	if err != nil {
		t.Fatalf("open %s: %v", multi, err)
	}
	defer d.Close()
	var readOnly string
	if err := d.Raw("SHOW transaction_read_only").Scan(&readOnly).Error; err != nil || readOnly != "off" {
		t.Errorf("transaction_read_only = %q, %v; want off", readOnly, err)
	}
}
