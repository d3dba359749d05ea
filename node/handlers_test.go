package node_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/task"
	"cadre/interfaces/httpapi/openapitest"
	"cadre/node/nodetest"
)

func writeCSV(t *testing.T, path string, rows []string) {
	t.Helper()
	data := "name,fullName,emailAddress,enabled\n" + strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runToClose(t *testing.T, n *nodetest.Node, in taskmanager.CreateTask) *task.Task {
	t.Helper()
	created, err := n.Tasks.Create(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, in.Name+" to close", 120*time.Second, func() bool { return taskState(t, n, created.OID).State == task.Closed })
	return taskState(t, n, created.OID)
}

func TestImportReconcileReport(t *testing.T) {
	resources := t.TempDir()
	n := nodetest.Start(t, "sqlite", "-Dmidpoint.resources.allowedDirectories="+resources)
	ctx := context.Background()
	path := filepath.Join(resources, "hr.csv")
	const total = 10000
	rows := make([]string, total)
	for i := range rows {
		rows[i] = fmt.Sprintf("u%05d,User %d,u%05d@example.com,true", i, i, i)
	}
	writeCSV(t, path, rows)

	imported := runToClose(t, n, taskmanager.CreateTask{Name: "import", Handler: "import", Params: map[string]any{"resource": path},
		Bucketing: &task.Bucketing{Numeric: &task.Numeric{From: 0, To: total, BucketSize: 250}}, Workers: &task.Workers{Total: 4}})
	if imported.Result != task.Success || imported.Progress.ItemsProcessed != total {
		t.Fatalf("import: %s, %+v, %s", imported.Result, imported.Progress, imported.Message)
	}
	count, _ := n.Store.Count(ctx, object.TypeUser)
	if count != total+1 { // + administrator
		t.Fatalf("want %d users after import, got %d", total+1, count)
	}

	// Edit 10 rows, delete 5, then reconcile.
	for i := 0; i < 10; i++ {
		rows[i*100] = fmt.Sprintf("u%05d,Renamed %d,new%d@example.com,true", i*100, i, i)
	}
	deleted := map[string]bool{}
	kept := rows[:0:0]
	for i, r := range rows {
		if i >= 5000 && i < 5005 {
			deleted[fmt.Sprintf("u%05d", i)] = true
			continue
		}
		kept = append(kept, r)
	}
	writeCSV(t, path, kept)
	rec := runToClose(t, n, taskmanager.CreateTask{Name: "reconcile", Handler: "reconcile", Params: map[string]any{"resource": path}})
	if rec.Result != task.Success {
		t.Fatalf("reconcile: %s %s", rec.Result, rec.Message)
	}
	for i := 0; i < 10; i++ {
		o, err := n.Store.GetByName(ctx, object.TypeUser, fmt.Sprintf("u%05d", i*100))
		if err != nil {
			t.Fatal(err)
		}
		if u := o.(*object.User); u.FullName != fmt.Sprintf("Renamed %d", i) || u.EmailAddress != fmt.Sprintf("new%d@example.com", i) || !u.Enabled {
			t.Fatalf("edited row %d not applied: %+v", i, u)
		}
	}
	for name := range deleted {
		o, err := n.Store.GetByName(ctx, object.TypeUser, name)
		if err != nil {
			t.Fatal(err)
		}
		if o.(*object.User).Enabled {
			t.Fatalf("%s was deleted from the file but is still enabled", name)
		}
	}
	admin, _ := n.Store.GetByName(ctx, object.TypeUser, "administrator")
	if !admin.(*object.User).Enabled {
		t.Fatal("reconcile disabled the administrator")
	}

	rep := runToClose(t, n, taskmanager.CreateTask{Name: "report", Handler: "report", Params: map[string]any{"name": "All users"}})
	if rep.Result != task.Success {
		t.Fatalf("report: %s %s", rep.Result, rep.Message)
	}
	o, err := n.Store.GetByName(ctx, object.TypeReport, "All users")
	if err != nil {
		t.Fatal(err)
	}
	report := o.(*object.Report)
	if report.Node != n.Config.NodeID || report.Task != rep.OID {
		t.Fatalf("report object: %+v", report)
	}
	req, _ := http.NewRequest("GET", n.URL+"/api/v1/reports/"+report.OID+"/download", nil)
	req.SetBasicAuth("administrator", nodetest.AdminPassword)
	resp, err := openapitest.New(t).Client(t, nil).Do(req) // checked against openapi.yaml
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if resp.StatusCode != 200 || len(lines) != total+1+1 { // header + administrator + users
		t.Fatalf("download: status %d, %d lines", resp.StatusCode, len(lines))
	}
	if !strings.HasPrefix(lines[0], "name,") {
		t.Fatalf("report header: %q", lines[0])
	}
}
