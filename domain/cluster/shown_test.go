package cluster

import "testing"

func TestShownSchedulerState(t *testing.T) {
	tests := []struct {
		name  string
		state OperationalState
		sched SchedulerState
		alive bool
		want  SchedulerState
	}{
		{"live and running", Up, SchedulerRunning, true, SchedulerRunning},
		{"live and paused", Up, SchedulerPaused, true, SchedulerPaused},
		{"killed, row still says RUNNING", Down, SchedulerRunning, false, SchedulerStopped},
		{"stopped gracefully", Down, SchedulerPaused, false, SchedulerStopped},
		{"silent, not yet declared dead", Up, SchedulerRunning, false, SchedulerUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &Node{OperationalState: tc.state, SchedulerState: tc.sched}
			if got := n.ShownSchedulerState(tc.alive); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
