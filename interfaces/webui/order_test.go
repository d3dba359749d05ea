package webui

import (
	"slices"
	"testing"
)

func TestNaturalCompare(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"worker tasks", []string{"demo worker 10", "demo worker 2", "demo worker 11", "demo worker 1"},
			[]string{"demo worker 1", "demo worker 2", "demo worker 10", "demo worker 11"}},
		{"node ids", []string{"node10", "node9", "node1", "alpha"}, []string{"alpha", "node1", "node9", "node10"}},
		{"leading zeros", []string{"w010", "w9", "w10"}, []string{"w9", "w10", "w010"}},
		{"plain text", []string{"b", "a", "ab"}, []string{"a", "ab", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Clone(tc.in)
			slices.SortFunc(got, naturalCompare)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
