package handlers_test

import (
	"testing"
)

// TestLiveSync runs livesync repeatedly over a growing file, carrying the token.
func TestLiveSync(t *testing.T) {
	e := setup(t)
	const header = "name,fullName"
	params := map[string]any{"resource": e.dir + "/feed.csv"}
	steps := []struct {
		name      string
		rows      []string
		token     string // given to the run; "" on the first
		items     int64
		wantToken string
		fullNames map[string]string // users that must exist with these full names
	}{
		{name: "first run reads every row", rows: []string{"ann,Ann", "ben,Ben"},
			items: 2, wantToken: "2", fullNames: map[string]string{"ann": "Ann", "ben": "Ben"}},
		{name: "nothing new", rows: []string{"ann,Ann", "ben,Ben"}, token: "2",
			items: 0, wantToken: "2"},
		{name: "only appended rows are applied", rows: []string{"ann,Ann Edited", "ben,Ben", "cat,Cat", "dan,Dan", "ben,Ben Again"}, token: "2",
			items: 3, wantToken: "5", fullNames: map[string]string{"ann": "Ann", "cat": "Cat", "dan": "Dan", "ben": "Ben Again"}},
		{name: "a replaced, shorter file is read from the start", rows: []string{"ann,Ann Edited", "eve,Eve"}, token: "5",
			items: 2, wantToken: "2", fullNames: map[string]string{"ann": "Ann Edited", "eve": "Eve"}},
		{name: "a bad token starts over", rows: []string{"ann,Ann Edited", "eve,Eve"}, token: "garbage",
			items: 2, wantToken: "2"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			e.writeCSV(t, "feed.csv", csvOf(header, s.rows...))
			res := e.run(t, "livesync", params, runOpts{token: s.token})
			if res.err != nil || res.errs != 0 {
				t.Fatalf("run: err %v, %d errors\n%s", res.err, res.errs, res.logs)
			}
			if res.items != s.items || res.token != s.wantToken {
				t.Errorf("%d items, token %q; want %d, %q", res.items, res.token, s.items, s.wantToken)
			}
			for name, full := range s.fullNames {
				if u := e.user(t, name); u.FullName != full {
					t.Errorf("%s full name %q, want %q", name, u.FullName, full)
				}
			}
		})
	}
}
