package gormrepo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"cadre/app/taskmanager"
	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
)

// TestBucketsProgress: progress counts COMPLETE buckets for the worker and
// node that completed them; delegated and ready ones do not count.
func TestBucketsProgress(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			r := gormrepo.New(openMigrated(t, dialect))
			for _, oid := range []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"} {
				tk := &task.Task{OID: oid, Name: oid, Handler: "noop", Role: task.Coordinator, State: task.Running, Result: task.InProgress}
				if err := r.TasksAdd(ctx, tk); err != nil {
					t.Fatal(err)
				}
			}
			const coord = "11111111-1111-4111-8111-111111111111"
			contents := make([]task.Content, 6)
			for i := range contents {
				from, to := int64(i), int64(i+1)
				contents[i] = task.Content{From: &from, To: &to}
			}
			if err := r.BucketsCreate(ctx, coord, contents); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			claim := func(worker, node string) *task.Bucket {
				bs, err := r.BucketsClaim(ctx, taskmanager.BucketsClaimParams{TaskOID: coord, Worker: worker, Node: node, Now: now})
				if err != nil || len(bs) != 1 {
					t.Fatalf("claim: %v %v", bs, err)
				}
				return &bs[0]
			}
			complete := func(b *task.Bucket, items, errs int64) {
				ok, err := r.BucketsComplete(ctx, []taskmanager.BucketCompletion{{TaskOID: coord, Seq: b.Seq, Epoch: b.Epoch, Items: items, Errors: errs}}, now)
				if err != nil || !ok[0] {
					t.Fatalf("complete bucket %d: counted %v, %v", b.Seq, ok, err)
				}
			}
			complete(claim("w1", "node1"), 10, 0)
			complete(claim("w1", "node1"), 10, 1)
			complete(claim("w2", "node2"), 7, 0)
			claim("w2", "node2") // delegated, not counted
			complete(claim("w10", "node2"), 3, 0)

			got, err := r.BucketsProgress(ctx, coord)
			if err != nil {
				t.Fatal(err)
			}
			want := []taskmanager.BucketProgress{
				{Worker: "w1", Node: "node1", Buckets: 2, Items: 20, Errors: 1},
				{Worker: "w10", Node: "node2", Buckets: 1, Items: 3},
				{Worker: "w2", Node: "node2", Buckets: 1, Items: 7},
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			// The summary is the count and the progress from one query.
			counts, summed, err := r.BucketsSummary(ctx, coord)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(summed, want) {
				t.Fatalf("summary progress %+v\nwant %+v", summed, want)
			}
			if c, err := r.BucketsCount(ctx, coord); err != nil || counts != c || counts.Complete != 4 || counts.Delegated != 1 || counts.Ready != 1 {
				t.Fatalf("summary counts %+v, BucketsCount %+v (%v)", counts, c, err)
			}
			done, err := r.BucketsCompletedBetween(ctx, now.Add(-time.Second), now)
			if err != nil || done["node1"] != 2 || done["node2"] != 2 || len(done) != 2 {
				t.Fatalf("completed in the last second: %v %v", done, err)
			}
			if later, err := r.BucketsCompletedBetween(ctx, now, now.Add(time.Second)); err != nil || len(later) != 0 {
				t.Fatalf("completed after now: %v %v", later, err)
			}
			if running, err := r.TasksRunningPerNode(ctx); err != nil || running[""] != 2 {
				t.Fatalf("running per node: %v %v", running, err)
			}
			if none, err := r.BucketsProgress(ctx, "22222222-2222-4222-8222-222222222222"); err != nil || len(none) != 0 {
				t.Fatalf("another task: %v %v", none, err)
			}
		})
	}
}
