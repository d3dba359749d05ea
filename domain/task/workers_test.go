package task_test

import (
	"errors"
	"testing"

	"cadre/domain/task"
)

func TestWorkersCount(t *testing.T) {
	tests := []struct {
		name           string
		w              task.Workers
		liveNodes      int
		defaultPerNode int
		want           int
	}{
		{"default per node on every live node", task.Workers{}, 3, 4, 12},
		{"perNode overrides the default", task.Workers{PerNode: 2}, 3, 4, 6},
		{"total wins over perNode and nodes", task.Workers{PerNode: 2, Total: 5}, 3, 4, 5},
		{"total below the node count", task.Workers{Total: 1}, 3, 4, 1},
		{"no live node counts as one", task.Workers{PerNode: 2}, 0, 4, 2},
		{"no per-node number makes one worker in all", task.Workers{}, 3, 0, 1},
		{"nothing at all makes one worker", task.Workers{}, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Count(tt.liveNodes, tt.defaultPerNode); got != tt.want {
				t.Fatalf("Count(%d, %d) = %d, want %d", tt.liveNodes, tt.defaultPerNode, got, tt.want)
			}
		})
	}
}

func TestWorkersValidate(t *testing.T) {
	tests := []struct {
		w  task.Workers
		ok bool
	}{
		{task.Workers{}, true},
		{task.Workers{PerNode: 1000}, true},
		{task.Workers{Total: 10000}, true},
		{task.Workers{PerNode: 1001}, false},
		{task.Workers{Total: 10001}, false},
		{task.Workers{PerNode: -1}, false},
		{task.Workers{Total: -1}, false},
	}
	for _, tt := range tests {
		err := tt.w.Validate()
		if tt.ok && err != nil || !tt.ok && !errors.Is(err, task.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ok %v", tt.w, err, tt.ok)
		}
	}
}
