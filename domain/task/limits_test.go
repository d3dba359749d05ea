package task

import (
	"reflect"
	"testing"
)

func TestLimitForPicksTheGoverningEntry(t *testing.T) {
	ls := MergeLimits(DefaultLimits("reports"), []GroupLimit{{"#", 1}, {"sync", 2}})
	tests := []struct {
		group, want string
	}{
		{"", "_"},
		{"node1", "#"},
		{"reports", "reports"},
		{"sync", "sync"},
		{"node2", "*"}, // another node's pinned workers
		{"other", "*"},
	}
	for _, tt := range tests {
		i := LimitFor(ls, tt.group, "node1")
		if i < 0 || ls[i].Group != tt.want {
			t.Errorf("LimitFor(%q) = %d, want the %q entry of %v", tt.group, i, tt.want, ls)
		}
	}
	if got := FormatLimits(ls); got != "_:*,#:1,reports:*,*:0,sync:2" {
		t.Errorf("merged limits = %s", got)
	}
	if i := LimitFor([]GroupLimit{{"a", 1}}, "b", "n"); i != -1 {
		t.Errorf("a group no entry governs got entry %d, want -1", i)
	}
}

func TestLimitsRoundTrip(t *testing.T) {
	ls, err := ParseLimits("admin-node:2, sync-jobs ,#:13,_:40,*:0,x:*")
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseLimits(FormatLimits(ls))
	if err != nil || !reflect.DeepEqual(ls, again) {
		t.Errorf("round trip %v -> %q -> %v (%v)", ls, FormatLimits(ls), again, err)
	}
}

func TestUsageCountsRunningTasksPerEntry(t *testing.T) {
	ls := []GroupLimit{{"_", Unlimited}, {"#", 1}, {"*", 0}}
	got := Usage(ls, "n1", map[string]int64{"": 3, "n1": 1, "elsewhere": 2})
	want := []LimitUse{{ls[0], 3}, {ls[1], 1}, {ls[2], 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("usage = %+v, want %+v", got, want)
	}
}
