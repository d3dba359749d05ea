package webui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// TestTaskBucketTableShowsRetriesAndCheckpoints: the task page lists the
// buckets with something to tell — a failed attempt waiting for its retry, a
// checkpoint — with attempts, last error and checkpoint, and leaves out the
// buckets that simply ran.
func TestTaskBucketTableShowsRetriesAndCheckpoints(t *testing.T) {
	t.Parallel()
	e := setupTasks(t)
	ctx := context.Background()
	b := e.admin(t)
	bucketing := &task.Bucketing{Numeric: &task.Numeric{From: 0, To: 3, BucketSize: 1}}
	coord := e.create(t, taskmanager.CreateTask{Name: "flaky", Bucketing: bucketing, Suspended: true,
		Retry: &task.Retry{MaxAttempts: 3, BackoffMs: 60_000}})
	contents, err := bucketing.Segment()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.node.Store.BucketsCreate(ctx, coord.OID, contents); err != nil {
		t.Fatal(err)
	}
	held, err := e.node.Store.BucketsClaim(ctx, taskmanager.BucketsClaimParams{TaskOID: coord.OID, Worker: "w", Node: "node-a", Now: time.Now(), Limit: 2})
	if err != nil || len(held) != 2 {
		t.Fatalf("claim: %v, %d buckets", err, len(held))
	}
	if ok, err := e.node.Store.BucketsRetry(ctx, taskmanager.BucketRetry{TaskOID: coord.OID, Seq: held[0].Seq, Epoch: held[0].Epoch,
		Error: "resource unreadable", NotBefore: time.Now().Add(time.Minute)}); err != nil || !ok {
		t.Fatalf("retry release: %v, %v", ok, err)
	}
	if ok, err := e.node.Store.BucketsCheckpoint(ctx, taskmanager.BucketCheckpoint{TaskOID: coord.OID, Seq: held[1].Seq, Epoch: held[1].Epoch,
		Checkpoint: task.Checkpoint{Items: 40, Position: "40"}}); err != nil || !ok {
		t.Fatalf("checkpoint: %v, %v", ok, err)
	}

	p := b.get("/ui/tasks/" + coord.OID)
	p.expect(t, http.StatusOK, `<table class="list compact buckets-eventful">`,
		`data-seq="1"`, "retry at", `<td data-label="Attempts" class="num attempts">1</td>`, "resource unreadable",
		`data-seq="2"`, `<td data-label="Checkpoint" class="checkpoint">40 items (40)</td>`)
	if strings.Contains(p.body, `data-seq="3"`) {
		t.Error("a bucket that has nothing to tell is listed")
	}
}
