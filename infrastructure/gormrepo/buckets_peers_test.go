package gormrepo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"cadre/app/taskmanager"
	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
)

// The bucket rules across processes: each node claims and completes
// through its own connection pool, so the atomicity and fencing the task
// store promises must hold between pools, not only between goroutines.

var claimAt = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// coordinatorWith adds a coordinator with n numeric buckets through r.
func coordinatorWith(t *testing.T, r *gormrepo.Repo, n int) string {
	t.Helper()
	ctx := context.Background()
	oid := uuid.NewString()
	c := &task.Task{OID: oid, Name: "coord " + oid, Handler: "noop", Role: task.Coordinator, State: task.Waiting,
		Result: task.InProgress, Version: 1, CreatedAt: claimAt, ModifiedAt: claimAt, Params: map[string]any{}}
	if err := r.TasksAdd(ctx, c); err != nil {
		t.Fatal(err)
	}
	contents := make([]task.Content, n)
	for i := range contents {
		from, to := int64(i), int64(i+1)
		contents[i] = task.Content{From: &from, To: &to}
	}
	if err := r.BucketsCreate(ctx, oid, contents); err != nil {
		t.Fatal(err)
	}
	return oid
}

// TestBucketClaimsOnTwoConnections: claimers on two pools of one database
// take every bucket exactly once between them.
func TestBucketClaimsOnTwoConnections(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dbs := newDatabases(dialect)
			a := dbs.fresh(t)
			pools := []*gormrepo.Repo{a, dbs.peer(t, a)}
			const buckets, claimers = 200, 6
			oid := coordinatorWith(t, a, buckets)
			var (
				mu   sync.Mutex
				seen = map[int64]string{}
				wg   sync.WaitGroup
				errs = make(chan error, claimers)
			)
			for i := range claimers {
				r, worker := pools[i%2], fmt.Sprintf("w%d", i)
				wg.Go(func() {
					for {
						bs, err := r.BucketsClaim(context.Background(), taskmanager.BucketsClaimParams{TaskOID: oid, Worker: worker, Node: worker, Now: claimAt, Limit: 5})
						if err != nil {
							errs <- err
							return
						}
						if len(bs) == 0 {
							return
						}
						mu.Lock()
						for _, b := range bs {
							if other, dup := seen[b.Seq]; dup {
								errs <- fmt.Errorf("bucket %d claimed by %s and %s", b.Seq, other, worker)
							}
							seen[b.Seq] = worker
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if len(seen) != buckets {
				t.Fatalf("%d buckets claimed, want all %d", len(seen), buckets)
			}
		})
	}
}

// TestFencingAfterReclaimAcrossNodes: node A claims through its pool; node
// B, on its own pool, releases A's buckets (A was declared dead) and claims
// them again. A's late completions are fenced; B's count, once.
func TestFencingAfterReclaimAcrossNodes(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dbs := newDatabases(dialect)
			nodeA := dbs.fresh(t)
			nodeB := dbs.peer(t, nodeA)
			oid := coordinatorWith(t, nodeA, 3)
			held, err := nodeA.BucketsClaim(ctx, taskmanager.BucketsClaimParams{TaskOID: oid, Worker: "wa", Node: "A", Now: claimAt, Limit: 3})
			if err != nil || len(held) != 3 {
				t.Fatalf("A claims %d buckets, %v; want 3", len(held), err)
			}
			if n, err := nodeB.BucketsReleaseNode(ctx, "A"); err != nil || n != 3 {
				t.Fatalf("B releases %d of A's buckets, %v; want 3", n, err)
			}
			again, err := nodeB.BucketsClaim(ctx, taskmanager.BucketsClaimParams{TaskOID: oid, Worker: "wb", Node: "B", Now: claimAt, Limit: 3})
			if err != nil || len(again) != 3 {
				t.Fatalf("B reclaims %d buckets, %v; want 3", len(again), err)
			}
			complete := func(r *gormrepo.Repo, bs []task.Bucket) []bool {
				cs := make([]taskmanager.BucketCompletion, len(bs))
				for i, b := range bs {
					cs[i] = taskmanager.BucketCompletion{TaskOID: oid, Seq: b.Seq, Epoch: b.Epoch, Items: 1}
				}
				ok, err := r.BucketsComplete(ctx, cs, claimAt)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if ok := complete(nodeA, held); fmt.Sprint(ok) != "[false false false]" {
				t.Fatalf("A's late completions counted %v, want all fenced", ok)
			}
			if ok := complete(nodeB, again); fmt.Sprint(ok) != "[true true true]" {
				t.Fatalf("B's completions counted %v, want all", ok)
			}
			c, err := nodeA.BucketsCount(ctx, oid)
			if err != nil {
				t.Fatal(err)
			}
			if c.Complete != 3 || c.Items != 3 {
				t.Fatalf("counts = %+v, want 3 COMPLETE with 3 items: each bucket counted once", c)
			}
		})
	}
}
