package proctest

import (
	"testing"
	"time"

	"cadre/apiclient"
)

// TestGeneratedClientDrivesANode runs the typed helpers, which go through the
// generated client, against a real process.
func TestGeneratedClientDrivesANode(t *testing.T) {
	t.Parallel()
	p := setup(t, "typed")
	admin := p.Admin()

	nodes := admin.Nodes(t)
	if len(nodes) != 1 || nodes[0].NodeId != "typed" || nodes[0].OperationalState != apiclient.NodeOperationalStateUP {
		t.Fatalf("nodes: %+v, want node typed UP", nodes)
	}

	perNode := 2
	params := map[string]any{"itemsPerBucket": 5}
	created := admin.CreateTask(t, apiclient.TaskCreate{Name: "typed", Handler: "noop", Params: &params,
		Bucketing: apiclient.NumericBucketing(0, 12, 1), Workers: &apiclient.Workers{PerNode: &perNode}})
	if created.Oid == "" || created.Name != "typed" {
		t.Fatalf("created: %+v", created)
	}
	done := admin.WaitTaskClosed(t, created.Oid, 60*time.Second)
	if done.ResultStatus != apiclient.TaskResultStatusSUCCESS || done.Progress.ItemsProcessed != 60 || done.Progress.BucketsComplete != 12 {
		t.Fatalf("closed task: result %s, progress %+v; want SUCCESS with 60 items in 12 buckets", done.ResultStatus, done.Progress)
	}
	if got := admin.Task(t, created.Oid); got.RunCount != 1 {
		t.Fatalf("runCount %d, want 1", got.RunCount)
	}
}
