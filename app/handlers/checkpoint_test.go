package handlers_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"

	"cadre/app/handlers"
	"cadre/domain/object"
	"cadre/domain/task"
)

// TestNoopCheckpointsAndRetries: noop checkpoints every checkpointEvery
// items and resumes after the items its checkpoint names; it fails the
// first failFirstAttempts attempts of a bucket or a run.
func TestNoopCheckpointsAndRetries(t *testing.T) {
	e := setup(t)
	e.handlers[handlers.NameNoop] = handlers.NewNoop()
	params := map[string]any{"itemsPerBucket": float64(35), "checkpointEvery": float64(10), "failFirstAttempts": float64(2)}
	tests := []struct {
		name        string
		opts        runOpts
		fails       bool
		items       int64
		checkpoints []string
	}{
		{"first attempt fails", runOpts{bucket: numeric(0, 1)}, true, 0, nil},
		{"second attempt fails", runOpts{bucket: numeric(0, 1), attempts: 1}, true, 0, nil},
		{"third attempt runs from the start", runOpts{bucket: numeric(0, 1), attempts: 2}, false, 35, []string{"10", "20", "30"}},
		{"a resumed attempt does the items after its checkpoint", runOpts{bucket: numeric(0, 1), attempts: 2,
			resume: &task.Checkpoint{Items: 20, Position: "20"}}, false, 15, []string{"30"}},
		{"a standalone run counts the task's attempts", runOpts{attempts: 1}, true, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.run(t, "noop", params, tc.opts)
			if (res.err != nil) != tc.fails || res.items != tc.items || !slices.Equal(res.checkpoints, tc.checkpoints) {
				t.Fatalf("err %v, %d items, checkpoints %v; want failure %v, %d items, checkpoints %v",
					res.err, res.items, res.checkpoints, tc.fails, tc.items, tc.checkpoints)
			}
		})
	}
}

// TestImportResumesFromCheckpoint: import checkpoints after every chunk of
// rows and a resumed run applies only the rows after its checkpoint.
func TestImportResumesFromCheckpoint(t *testing.T) {
	e := setup(t)
	lines := make([]string, 1200)
	for i := range lines {
		lines[i] = bigRow(i)
	}
	params := map[string]any{"resource": e.writeCSV(t, "users.csv", csvOf("name,fullName,emailAddress,enabled", lines...))}

	res := e.run(t, "import", params, runOpts{resume: &task.Checkpoint{Items: 1000, Position: "1000"}})
	if res.err != nil || res.items != 200 || len(res.checkpoints) != 0 {
		t.Fatalf("resumed run: err %v, %d items, checkpoints %v; want the last 200 rows and no checkpoint", res.err, res.items, res.checkpoints)
	}
	users := e.users(t)
	if _, early := users["user00999"]; early || users["user01000"] == nil || len(users) != 201 {
		t.Fatalf("%d users after the resumed run; want rows 1000… only (and administrator)", len(users))
	}

	bucket := e.run(t, "import", params, runOpts{bucket: numeric(0, 1200), resume: &task.Checkpoint{Items: 100, Position: "100"}})
	if bucket.err != nil || bucket.items != 1100 || !slices.Equal(bucket.checkpoints, []string{"600", "1100"}) {
		t.Fatalf("resumed bucket: err %v, %d items, checkpoints %v; want 1100 items, checkpoints [600 1100]", bucket.err, bucket.items, bucket.checkpoints)
	}
}

// TestRecomputeResumesFromCheckpoint: recompute checkpoints the last OID of
// every full page and a resumed run starts after it.
func TestRecomputeResumesFromCheckpoint(t *testing.T) {
	e := setup(t)
	var oids []string
	for i := range 700 {
		oid := fmt.Sprintf("0%07x-0000-4000-8000-000000000000", i)
		e.add(t, &object.User{Meta: object.Meta{OID: oid, Name: fmt.Sprintf("r%04d", i)}, FullName: "Ann Smith", Enabled: true})
		oids = append(oids, oid)
	}
	sort.Strings(oids)
	bucket := &task.Content{OIDFrom: "0", OIDTo: "1"}

	full := e.run(t, "recompute", nil, runOpts{bucket: bucket})
	if full.err != nil || full.items != 700 || !slices.Equal(full.checkpoints, []string{oids[499]}) {
		t.Fatalf("run: err %v, %d items, checkpoints %v; want 700 items and a checkpoint at %s", full.err, full.items, full.checkpoints, oids[499])
	}
	resumed := e.run(t, "recompute", nil, runOpts{bucket: bucket, resume: &task.Checkpoint{Items: 500, Position: oids[499]}})
	if resumed.err != nil || resumed.items != 200 {
		t.Fatalf("resumed run: err %v, %d items; want the 200 users after the checkpoint", resumed.err, resumed.items)
	}
}

// TestReconcileResumesFromCheckpoint: reconcile checkpoints its row pass and
// the start of its disable pass; resumed in the disable pass it applies no
// row again but still spares every user the file names.
func TestReconcileResumesFromCheckpoint(t *testing.T) {
	e := setup(t)
	e.add(t, &object.User{Meta: object.Meta{Name: "gone"}, Enabled: true})
	e.add(t, &object.User{Meta: object.Meta{Name: "kept"}, Enabled: true})
	params := map[string]any{"resource": e.writeCSV(t, "r.csv", csvOf("name,fullName", "kept,Kept Person", "newbie,New Person"))}

	res := e.run(t, "reconcile", params, runOpts{resume: &task.Checkpoint{Items: 2, Position: "user:"}})
	if res.err != nil || res.items != 1 {
		t.Fatalf("resumed in the disable pass: err %v, %d items; want only the one disable", res.err, res.items)
	}
	users := e.users(t)
	if users["gone"].Enabled || !users["kept"].Enabled || users["newbie"] != nil {
		t.Fatalf("after the disable pass: gone enabled %v, kept enabled %v, newbie %v; want gone disabled, kept enabled, no row applied again",
			users["gone"].Enabled, users["kept"].Enabled, users["newbie"] != nil)
	}

	rows := e.run(t, "reconcile", params, runOpts{resume: &task.Checkpoint{Items: 1, Position: "row:1"}})
	if rows.err != nil || rows.items != 1 || !slices.Equal(rows.checkpoints, []string{"user:"}) || e.users(t)["newbie"] == nil {
		t.Fatalf("resumed after row 1: err %v, %d items, checkpoints %v; want row 2 applied and a checkpoint at the disable pass", rows.err, rows.items, rows.checkpoints)
	}
}
