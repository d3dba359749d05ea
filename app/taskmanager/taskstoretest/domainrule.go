package taskstoretest

import (
	"context"
	"testing"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// completeAsDomain checks the store's fencing against the domain's rule:
// for buckets READY, DELEGATED (at a first and at a later epoch) and
// COMPLETE, a completion at a stale, the current and a future epoch counts
// exactly when task.Bucket.Complete accepts it, and leaves the bucket in the
// state the domain's Complete leaves it in.
func completeAsDomain(t *testing.T, s, _ taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, s, 4)
	first := claim(t, s, oid, "w1", "gone", 3) // seqs 1-3 at epoch 1; seq 4 stays READY
	if _, err := s.BucketsReleaseNode(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	claim(t, s, oid, "w2", "n", 2) // seqs 1-2 again, at epoch 2; seq 3 READY at epoch 1
	if ok, err := s.BucketsComplete(ctx, []taskmanager.BucketCompletion{{TaskOID: oid, Seq: 2, Epoch: 2, Items: 1}}, t0); err != nil || !ok[0] {
		t.Fatalf("complete seq 2 at epoch 2 = %v, %v", ok, err)
	}
	if first[0].Epoch != 1 {
		t.Fatalf("first claim at epoch %d, want 1", first[0].Epoch)
	}
	for seq := int64(1); seq <= 4; seq++ {
		for _, delta := range []int64{-1, 1, 0} { // stale, future, then current
			stored := bucket(t, s, oid, seq)
			want := stored
			epoch := stored.Epoch + delta
			counts := want.Complete(epoch, 9, t0) == nil
			ok, err := s.BucketsComplete(ctx, []taskmanager.BucketCompletion{{TaskOID: oid, Seq: seq, Epoch: epoch, Items: 9}}, t0)
			if err != nil {
				t.Fatal(err)
			}
			if ok[0] != counts {
				t.Fatalf("seq %d %s at epoch %d, completion at epoch %d: store counted %v, Bucket.Complete says %v",
					seq, stored.State, stored.Epoch, epoch, ok[0], counts)
			}
			after := bucket(t, s, oid, seq)
			if after.State != want.State || after.Epoch != want.Epoch || after.ItemsProcessed != want.ItemsProcessed {
				t.Fatalf("seq %d after a completion at epoch %d: stored %s epoch %d items %d, the domain leaves %s epoch %d items %d",
					seq, epoch, after.State, after.Epoch, after.ItemsProcessed, want.State, want.Epoch, want.ItemsProcessed)
			}
		}
	}
	if got := bucket(t, s, oid, 4); got.State != task.BucketReady {
		t.Fatalf("seq 4 = %s, want READY: a bucket nobody claimed completes at no epoch", got.State)
	}
}
