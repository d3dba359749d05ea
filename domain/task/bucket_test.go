package task

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func numeric(from, to, size, n int64) Bucketing {
	return Bucketing{Numeric: &Numeric{From: from, To: to, BucketSize: size, NumberOfBuckets: n}}
}

// TestNumericSegmentation covers the int64 limits: the definitions that
// overflowed (and hung, or divided by zero) are refused at once, and spans
// wider than int64 segment exactly.
func TestNumericSegmentation(t *testing.T) {
	tests := []struct {
		name    string
		b       Bucketing
		buckets int    // want this many buckets, or
		err     string // an ErrInvalid containing this
	}{
		{name: "plain", b: numeric(0, 10, 3, 0), buckets: 4},
		{name: "by count", b: numeric(0, 10, 0, 3), buckets: 3},
		{name: "span over int64, size 1", b: numeric(-9e18, 9e18, 1, 0), err: "more than the 1000000 allowed"},
		{name: "whole int64 range, two buckets", b: numeric(0, math.MaxInt64, math.MaxInt64-1, 0), buckets: 2},
		{name: "whole int64 range by count", b: numeric(math.MinInt64, math.MaxInt64, 0, 10), buckets: 10},
		{name: "whole int64 range, huge size", b: numeric(math.MinInt64, math.MaxInt64, math.MaxInt64, 0), buckets: 3},
		{name: "one bucket per value at the top", b: numeric(math.MaxInt64-5, math.MaxInt64, 1, 0), buckets: 5},
		{name: "too many buckets by count", b: numeric(0, 10, 0, MaxBuckets+1), err: "at most 1000000 buckets"},
		{name: "more buckets than values", b: numeric(0, 3, 0, 10), buckets: 3},
		{name: "negative size", b: numeric(0, 10, -1, 0), err: "positive bucketSize"},
		{name: "negative count", b: numeric(0, 10, 0, -1), err: "positive numberOfBuckets"},
		{name: "empty range", b: numeric(5, 5, 1, 0), err: "to > from"},
		{name: "neither", b: numeric(0, 10, 0, 0), err: "bucketSize or numberOfBuckets"},
		{name: "both", b: numeric(0, 10, 1, 1), err: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			var got []Content
			var err, verr error
			go func() {
				defer close(done)
				verr = tt.b.Validate()
				got, err = tt.b.Segment()
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("segmentation did not finish within 10 s")
			}
			if tt.err != "" {
				for _, e := range []error{verr, err} {
					if !errors.Is(e, ErrInvalid) || !strings.Contains(e.Error(), tt.err) {
						t.Fatalf("err = %v, want ErrInvalid with %q", e, tt.err)
					}
				}
				return
			}
			if verr != nil || err != nil {
				t.Fatalf("Validate = %v, Segment = %v", verr, err)
			}
			if len(got) != tt.buckets {
				t.Fatalf("%d buckets, want %d", len(got), tt.buckets)
			}
			checkCover(t, *tt.b.Numeric, got)
		})
	}
}

// checkCover asserts the buckets cover [From, To) in order, without gaps,
// overlaps or empty buckets.
func checkCover(t *testing.T, n Numeric, got []Content) {
	t.Helper()
	next := n.From
	for i, c := range got {
		if c.From == nil || c.To == nil || *c.From != next || *c.To <= *c.From {
			t.Fatalf("bucket %d = [%v, %v), want it to start at %d and be non-empty", i, deref(c.From), deref(c.To), next)
		}
		next = *c.To
	}
	if next != n.To {
		t.Fatalf("buckets end at %d, want %d", next, n.To)
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// FuzzSegment: any numeric definition is either refused with ErrInvalid or
// segments into at most MaxBuckets contiguous, non-empty buckets covering
// [From, To); Validate and Segment agree. The seed corpus is in
// testdata/fuzz/FuzzSegment and runs with every `go test`.
func FuzzSegment(f *testing.F) {
	f.Add(int64(0), int64(100000), int64(100), int64(0))
	f.Add(int64(-9e18), int64(9e18), int64(1), int64(0))
	f.Add(int64(0), int64(math.MaxInt64), int64(math.MaxInt64-1), int64(0))
	f.Add(int64(math.MinInt64), int64(math.MaxInt64), int64(0), int64(10))
	f.Fuzz(func(t *testing.T, from, to, size, n int64) {
		b := numeric(from, to, size, n)
		verr := b.Validate()
		if verr != nil {
			if !errors.Is(verr, ErrInvalid) {
				t.Fatalf("Validate = %v, not ErrInvalid", verr)
			}
			if _, err := b.Segment(); err == nil {
				t.Fatalf("Validate = %v but Segment succeeds", verr)
			}
			return
		}
		if _, count, _ := b.Numeric.count(); count > 20000 {
			return // valid; too many buckets to build on every fuzz input
		}
		got, err := b.Segment()
		if err != nil {
			t.Fatalf("Validate passes but Segment = %v", err)
		}
		if len(got) == 0 || len(got) > MaxBuckets {
			t.Fatalf("%d buckets", len(got))
		}
		checkCover(t, *b.Numeric, got)
	})
}
