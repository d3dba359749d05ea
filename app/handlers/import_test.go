package handlers_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"cadre/domain/object"
)

// bigRow is data row i of the generated resource.
func bigRow(i int) string {
	return fmt.Sprintf("user%05d,Given%d Family%d,user%05d@example.com,%t", i, i, i, i, i%7 != 0)
}

// TestImportThenReconcile imports 10,000 rows in 100-row buckets on four
// concurrent "workers", re-runs a bucket, then edits the file and reconciles.
func TestImportThenReconcile(t *testing.T) {
	e := setup(t)
	const n, size = 10_000, 100
	lines := make([]string, n)
	for i := range lines {
		lines[i] = bigRow(i)
	}
	const header = "name,fullName,emailAddress,enabled"
	path := e.writeCSV(t, "users.csv", csvOf(header, lines...))
	params := map[string]any{"resource": path}

	t.Run("import in buckets", func(t *testing.T) {
		buckets := make(chan int64)
		var mu sync.Mutex
		var items, errs int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for from := range buckets {
					res := e.run(t, "import", params, runOpts{bucket: numeric(from, from+size)})
					if res.err != nil {
						t.Errorf("bucket %d: %v", from, res.err)
					}
					mu.Lock()
					items, errs = items+res.items, errs+res.errs
					mu.Unlock()
				}
			})
		}
		for from := int64(0); from < n; from += size {
			buckets <- from
		}
		close(buckets)
		wg.Wait()
		if items != n || errs != 0 {
			t.Fatalf("progress = %d items, %d errors; want %d, 0", items, errs, n)
		}
		users := e.users(t)
		if len(users) != n+1 {
			t.Fatalf("%d users, want %d imported + administrator", len(users), n)
		}
		u := users["user04242"]
		if u.FullName != "Given4242 Family4242" || u.EmailAddress != "user04242@example.com" || u.Enabled != (4242%7 != 0) {
			t.Errorf("user04242 = %+v", u)
		}
	})

	t.Run("re-running a bucket changes nothing", func(t *testing.T) {
		before := e.users(t)
		res := e.run(t, "import", params, runOpts{bucket: numeric(3700, 3800)})
		if res.err != nil || res.items != size || res.errs != 0 {
			t.Fatalf("re-run: err %v, %d items, %d errors", res.err, res.items, res.errs)
		}
		if changed := changedUsers(before, e.users(t)); len(changed) != 0 {
			t.Errorf("re-running a bucket changed %v", changed)
		}
	})

	t.Run("reconcile after edits and deletions", func(t *testing.T) {
		before := e.users(t)
		edited := map[string]bool{}
		for i := 500; i < 510; i++ { // 10 edits: full name, e-mail or enabled
			switch i % 3 {
			case 0:
				lines[i] = fmt.Sprintf("user%05d,Renamed %d,user%05d@example.com,%t", i, i, i, i%7 != 0)
			case 1:
				lines[i] = fmt.Sprintf("user%05d,Given%d Family%d,moved%05d@example.org,%t", i, i, i, i, i%7 != 0)
			default:
				lines[i] = fmt.Sprintf("user%05d,Given%d Family%d,user%05d@example.com,%t", i, i, i, i, i%7 == 0)
			}
			edited[fmt.Sprintf("user%05d", i)] = true
		}
		deleted := map[string]bool{} // 5 rows of users who are enabled (none of 9010..9014 is a multiple of 7)
		kept := make([]string, 0, n)
		for i, l := range lines {
			if i >= 9010 && i < 9015 {
				deleted[fmt.Sprintf("user%05d", i)] = true
				continue
			}
			kept = append(kept, l)
		}
		for name := range deleted {
			if !before[name].Enabled {
				t.Fatalf("test data: %s should start enabled", name)
			}
		}
		e.writeCSV(t, "users.csv", csvOf(header, kept...))

		res := e.run(t, "reconcile", params, runOpts{})
		if res.err != nil || res.errs != 0 {
			t.Fatalf("reconcile: err %v, %d errors\n%s", res.err, res.errs, res.logs)
		}
		if want := int64(len(kept) + len(deleted)); res.items != want {
			t.Errorf("reconcile progress = %d items, want %d rows + %d disabled", res.items, len(kept), len(deleted))
		}
		after := e.users(t)
		changed := changedUsers(before, after)
		for _, name := range changed {
			if !edited[name] && !deleted[name] {
				t.Errorf("user %s changed, but it was neither edited nor deleted from the file", name)
			}
		}
		if len(changed) != len(edited)+len(deleted) {
			t.Errorf("%d users changed, want %d edited + %d disabled", len(changed), len(edited), len(deleted))
		}
		for _, l := range kept {
			f := strings.Split(l, ",")
			u := after[f[0]]
			if u == nil || u.FullName != f[1] || u.EmailAddress != f[2] || fmt.Sprint(u.Enabled) != f[3] {
				t.Fatalf("user %s = %+v, file says %q", f[0], u, l)
			}
		}
		for name := range deleted {
			if after[name].Enabled {
				t.Errorf("user %s is not in the file but still enabled", name)
			}
		}
		if a, b := after["administrator"], before["administrator"]; a.Version != b.Version || !a.Enabled {
			t.Errorf("administrator touched: version %d → %d, enabled %t", b.Version, a.Version, a.Enabled)
		}
	})
}

// changedUsers names the users whose version moved (or who appeared).
func changedUsers(before, after map[string]*object.User) []string {
	var out []string
	for name, a := range after {
		if b, ok := before[name]; !ok || b.Version != a.Version {
			out = append(out, name)
		}
	}
	return out
}
