package task_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"cadre/domain/task"
)

// bounds renders numeric contents as "[a,b) [c,d) …".
func bounds(cs []task.Content) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		if c.From == nil || c.To == nil {
			parts[i] = fmt.Sprintf("%+v", c)
			continue
		}
		parts[i] = fmt.Sprintf("[%d,%d)", *c.From, *c.To)
	}
	return strings.Join(parts, " ")
}

func TestSegmentNumericBounds(t *testing.T) {
	tests := []struct {
		name string
		n    task.Numeric
		want string
	}{
		{"size divides the range", task.Numeric{From: 0, To: 9, BucketSize: 3}, "[0,3) [3,6) [6,9)"},
		{"last bucket partial", task.Numeric{From: 0, To: 10, BucketSize: 3}, "[0,3) [3,6) [6,9) [9,10)"},
		{"size larger than the range", task.Numeric{From: 5, To: 7, BucketSize: 100}, "[5,7)"},
		{"negative range", task.Numeric{From: -5, To: 5, BucketSize: 5}, "[-5,0) [0,5)"},
		{"numberOfBuckets rounds the size up", task.Numeric{From: 0, To: 10, NumberOfBuckets: 3}, "[0,4) [4,8) [8,10)"},
		{"numberOfBuckets divides the range", task.Numeric{From: 100, To: 200, NumberOfBuckets: 4}, "[100,125) [125,150) [150,175) [175,200)"},
		{"more buckets asked than values", task.Numeric{From: 0, To: 3, NumberOfBuckets: 10}, "[0,1) [1,2) [2,3)"},
		{"one bucket", task.Numeric{From: 1, To: 2, NumberOfBuckets: 1}, "[1,2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := task.Bucketing{Numeric: &tt.n}
			if err := b.Validate(); err != nil {
				t.Fatalf("Validate = %v", err)
			}
			got, err := b.Segment()
			if err != nil {
				t.Fatal(err)
			}
			if bounds(got) != tt.want {
				t.Fatalf("buckets = %s, want %s", bounds(got), tt.want)
			}
		})
	}
}

func TestSegmentOIDPrefix(t *testing.T) {
	tests := []struct {
		depth       int
		count       int
		first, last task.Content
	}{
		{1, 16, task.Content{OIDFrom: "0", OIDTo: "1"}, task.Content{OIDFrom: "f"}},
		{2, 256, task.Content{OIDFrom: "00", OIDTo: "01"}, task.Content{OIDFrom: "ff"}},
		{3, 4096, task.Content{OIDFrom: "000", OIDTo: "001"}, task.Content{OIDFrom: "fff"}},
		{4, 65536, task.Content{OIDFrom: "0000", OIDTo: "0001"}, task.Content{OIDFrom: "ffff"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("depth %d", tt.depth), func(t *testing.T) {
			got, err := task.Bucketing{OIDPrefix: &task.OIDPrefix{Depth: tt.depth}}.Segment()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.count || got[0] != tt.first || got[len(got)-1] != tt.last {
				t.Fatalf("%d buckets from %+v to %+v, want %d from %+v to %+v", len(got), got[0], got[len(got)-1], tt.count, tt.first, tt.last)
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].OIDTo != got[i].OIDFrom {
					t.Fatalf("bucket %d ends at %q but bucket %d starts at %q: a gap or an overlap", i-1, got[i-1].OIDTo, i, got[i].OIDFrom)
				}
			}
		})
	}
}

// TestOIDInExactlyOneBucket: every OID, in either case, is processed by one
// bucket of a prefix segmentation, never by none or two.
func TestOIDInExactlyOneBucket(t *testing.T) {
	buckets, err := task.Bucketing{OIDPrefix: &task.OIDPrefix{Depth: 2}}.Segment()
	if err != nil {
		t.Fatal(err)
	}
	for _, oid := range []string{
		"00000000-0000-0000-0000-000000000000", "0fffffff-ffff-ffff-ffff-ffffffffffff", "10000000-0000-0000-0000-000000000000",
		"7F3A2B1C-0000-4000-8000-000000000001", "ffffffff-ffff-ffff-ffff-ffffffffffff", "a0b1c2d3-e4f5-4000-8000-00000000abcd",
	} {
		var in []string
		for _, b := range buckets {
			if b.ContainsOID(oid) {
				in = append(in, b.OIDFrom)
			}
		}
		if want := strings.ToLower(oid[:2]); len(in) != 1 || in[0] != want {
			t.Errorf("%s is in buckets %v, want exactly [%s]", oid, in, want)
		}
	}
}

func TestSegmentExplicit(t *testing.T) {
	got, err := task.Bucketing{Explicit: []string{"hr", "sales", "it"}}.Segment()
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, c := range got {
		values = append(values, c.Value)
	}
	if fmt.Sprint(values) != "[hr sales it]" {
		t.Fatalf("explicit buckets = %v, want one per value in the given order", values)
	}
}

func TestSegmentRefusesInvalid(t *testing.T) {
	n := &task.Numeric{From: 0, To: 10, BucketSize: 1}
	tests := []struct {
		name string
		b    task.Bucketing
		err  string
	}{
		{"nothing set", task.Bucketing{}, "exactly one of"},
		{"numeric and explicit", task.Bucketing{Numeric: n, Explicit: []string{"a"}}, "exactly one of"},
		{"numeric and oidPrefix", task.Bucketing{Numeric: n, OIDPrefix: &task.OIDPrefix{Depth: 1}}, "exactly one of"},
		{"empty explicit list", task.Bucketing{Explicit: []string{}}, "explicit bucketing needs 1.."},
		{"too many explicit values", task.Bucketing{Explicit: make([]string, task.MaxBuckets+1)}, "explicit bucketing needs 1.."},
		{"oidPrefix depth 0", task.Bucketing{OIDPrefix: &task.OIDPrefix{Depth: 0}}, "depth must be 1..4"},
		{"oidPrefix depth 5", task.Bucketing{OIDPrefix: &task.OIDPrefix{Depth: 5}}, "depth must be 1..4"},
		{"numeric bucket size over the limit", task.Bucketing{Numeric: &task.Numeric{From: 0, To: task.MaxBuckets + 1, BucketSize: 1}}, "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.b.Segment()
			verr := tt.b.Validate()
			for _, e := range []error{err, verr} {
				if !errors.Is(e, task.ErrInvalid) || !strings.Contains(e.Error(), tt.err) {
					t.Fatalf("Segment = %v, Validate = %v; want ErrInvalid with %q", err, verr, tt.err)
				}
			}
		})
	}
}
