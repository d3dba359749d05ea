package db_test

import (
	"context"
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
