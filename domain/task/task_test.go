package task

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	now       = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	allStates = []ExecutionState{Runnable, Running, Waiting, Suspended, Closed}
	hourly    = Schedule{Interval: 3600}
)

// transition is one row of a state-machine table: a task in state (with
// role and schedule) gets a change; want is the state afterwards, or "" when
// the change must be refused with ErrIllegalState and leave the task as it was.
type transition struct {
	name     string
	role     Role
	schedule Schedule
	state    ExecutionState
	change   func(*Task) error
	want     ExecutionState
}

func (tr transition) run(t *testing.T) *Task {
	t.Helper()
	role := tr.role
	if role == "" {
		role = Standalone
	}
	tk := &Task{OID: "t1", Role: role, Schedule: tr.schedule, State: tr.state, Node: "node1", Result: InProgress}
	before := *tk
	err := tr.change(tk)
	if tr.want == "" {
		if !errors.Is(err, ErrIllegalState) {
			t.Fatalf("err = %v, want ErrIllegalState", err)
		}
		if tk.State != before.State || tk.Node != before.Node || tk.Result != before.Result {
			t.Fatalf("a refused change altered the task: %+v, was %+v", tk, before)
		}
		return tk
	}
	if err != nil {
		t.Fatalf("err = %v, want state %s", err, tr.want)
	}
	if tk.State != tr.want {
		t.Fatalf("state = %s, want %s", tk.State, tr.want)
	}
	return tk
}

// every builds one row per execution state, with the wanted outcome per state
// ("" = refused).
func every(name string, role Role, schedule Schedule, change func(*Task) error, want map[ExecutionState]ExecutionState) []transition {
	out := make([]transition, 0, len(allStates))
	for _, s := range allStates {
		out = append(out, transition{name: name + " from " + string(s), role: role, schedule: schedule, state: s, change: change, want: want[s]})
	}
	return out
}

func TestTransitions(t *testing.T) {
	start := func(tk *Task) error { return tk.Start("node2", now) }
	finish := func(tk *Task) error { return tk.Finish(Success, "", now) }
	var rows []transition
	rows = append(rows, every("start", Standalone, Schedule{}, start, map[ExecutionState]ExecutionState{Runnable: Running})...)
	rows = append(rows, every("wait (coordinator)", Coordinator, Schedule{}, (*Task).Wait, map[ExecutionState]ExecutionState{Running: Waiting})...)
	rows = append(rows, every("wait (standalone)", Standalone, Schedule{}, (*Task).Wait, nil)...)
	rows = append(rows, every("finish single run", Standalone, Schedule{}, finish, map[ExecutionState]ExecutionState{Running: Closed, Waiting: Closed})...)
	rows = append(rows, every("finish recurring", Standalone, hourly, finish, map[ExecutionState]ExecutionState{Running: Runnable, Waiting: Runnable})...)
	rows = append(rows, every("finish recurring worker", Worker, hourly, finish, map[ExecutionState]ExecutionState{Running: Closed, Waiting: Closed})...)
	rows = append(rows, every("release", Standalone, Schedule{}, (*Task).Release, map[ExecutionState]ExecutionState{Running: Runnable})...)
	rows = append(rows, every("suspend", Standalone, Schedule{}, (*Task).Suspend,
		map[ExecutionState]ExecutionState{Runnable: Suspended, Running: Suspended, Waiting: Suspended, Suspended: Suspended})...)
	rows = append(rows, every("resume", Standalone, Schedule{}, func(tk *Task) error { return tk.Resume(false) },
		map[ExecutionState]ExecutionState{Suspended: Runnable})...)
	rows = append(rows, every("resume coordinator with buckets", Coordinator, Schedule{}, func(tk *Task) error { return tk.Resume(true) },
		map[ExecutionState]ExecutionState{Suspended: Waiting})...)
	rows = append(rows, every("resume coordinator without buckets", Coordinator, Schedule{}, func(tk *Task) error { return tk.Resume(false) },
		map[ExecutionState]ExecutionState{Suspended: Runnable})...)
	rows = append(rows, every("run now", Standalone, Schedule{}, (*Task).RunNow,
		map[ExecutionState]ExecutionState{Runnable: Runnable, Suspended: Runnable, Closed: Runnable})...)
	rows = append(rows, every("close", Standalone, Schedule{}, func(tk *Task) error { return tk.Close(FatalError, "gone", now) },
		map[ExecutionState]ExecutionState{Runnable: Closed, Running: Closed, Waiting: Closed, Suspended: Closed})...)
	for _, tr := range rows {
		t.Run(tr.name, func(t *testing.T) { tr.run(t) })
	}
}

// TestTransitionSideEffects checks what the states table cannot: the node,
// result and counters a transition sets.
func TestTransitionSideEffects(t *testing.T) {
	t.Run("start takes the node, counts the run and clears the last message", func(t *testing.T) {
		tk := &Task{State: Runnable, Message: "old", Result: Success}
		if err := tk.Start("node2", now); err != nil {
			t.Fatal(err)
		}
		if tk.Node != "node2" || tk.RunCount != 1 || tk.Result != InProgress || tk.Message != "" || !tk.LastRunStart.Equal(now) {
			t.Fatalf("after start: %+v", tk)
		}
	})
	t.Run("finish records the result and frees the node", func(t *testing.T) {
		tk := &Task{State: Running, Node: "node2"}
		if err := tk.Finish(PartialError, "2 of 10 items failed", now); err != nil {
			t.Fatal(err)
		}
		if tk.Node != "" || tk.Result != PartialError || tk.Message != "2 of 10 items failed" || !tk.LastRunFinish.Equal(now) {
			t.Fatalf("after finish: %+v", tk)
		}
	})
	for name, change := range map[string]func(*Task) error{
		"release": (*Task).Release, "suspend": (*Task).Suspend,
		"close": func(tk *Task) error { return tk.Close(FatalError, "x", now) },
	} {
		t.Run(name+" frees the node", func(t *testing.T) {
			tk := &Task{State: Running, Node: "node2"}
			if err := change(tk); err != nil || tk.Node != "" {
				t.Fatalf("after %s: node %q, err %v", name, tk.Node, err)
			}
		})
	}
}

func TestParseThreadStopAction(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ThreadStopAction
	}{
		{"", StopRestart}, {"restart", StopRestart}, {"reschedule", StopReschedule}, {"suspend", StopSuspend}, {"close", StopClose},
	} {
		if got, err := ParseThreadStopAction(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseThreadStopAction(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"Restart", "stop", "retry", " close"} {
		_, err := ParseThreadStopAction(bad)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "threadStopAction") {
			t.Errorf("ParseThreadStopAction(%q): err %v, want ErrInvalid naming threadStopAction", bad, err)
		}
	}
}

// TestAfterNodeLoss: every state × action × schedule for a task whose node
// died or left. Only a RUNNING standalone task or coordinator is recovered.
func TestAfterNodeLoss(t *testing.T) {
	type outcome struct {
		state   ExecutionState
		fireNow bool
	}
	actions := []ThreadStopAction{"", StopRestart, StopReschedule, StopSuspend, StopClose}
	want := map[ThreadStopAction]map[bool]outcome{ // action → recurring → outcome of a RUNNING task
		"":             {false: {Runnable, true}, true: {Runnable, true}},
		StopRestart:    {false: {Runnable, true}, true: {Runnable, true}},
		StopReschedule: {false: {Runnable, true}, true: {Runnable, false}},
		StopSuspend:    {false: {Suspended, false}, true: {Suspended, false}},
		StopClose:      {false: {Closed, false}, true: {Closed, false}},
	}
	for _, role := range []Role{Standalone, Coordinator, Worker} {
		for _, recurring := range []bool{false, true} {
			for _, action := range actions {
				for _, state := range allStates {
					name := string(role) + "/" + map[bool]string{false: "single", true: "recurring"}[recurring] + "/" + string(action.OrDefault()) + "/" + string(state)
					if action == "" {
						name += " (unset)"
					}
					t.Run(name, func(t *testing.T) {
						tk := &Task{Role: role, State: state, Node: "node2", Result: InProgress, ThreadStopAction: action}
						if recurring {
							tk.Schedule = hourly
						}
						fireNow, err := tk.AfterNodeLoss("node node2 died", now)
						if state != Running || role == Worker {
							if !errors.Is(err, ErrIllegalState) || tk.State != state || tk.Node != "node2" {
								t.Fatalf("err %v, state %s, node %q; want ErrIllegalState and the task unchanged", err, tk.State, tk.Node)
							}
							return
						}
						w := want[action][recurring]
						if err != nil || tk.State != w.state || fireNow != w.fireNow || tk.Node != "" {
							t.Fatalf("state %s, fireNow %v, node %q, err %v; want %s, fireNow %v, no node", tk.State, fireNow, tk.Node, err, w.state, w.fireNow)
						}
						if w.state == Closed {
							if tk.Result != FatalError || tk.Message != "closed by threadStopAction=close: node node2 died" || !tk.LastRunFinish.Equal(now) {
								t.Fatalf("closed with %s %q at %v; want FATAL_ERROR with the reason", tk.Result, tk.Message, tk.LastRunFinish)
							}
						} else if tk.Result != InProgress {
							t.Fatalf("result %s; only close sets a result", tk.Result)
						}
					})
				}
			}
		}
	}
}

// TestAfterWorkerLoss: a coordinator whose worker lost its run, by state and
// action; restart and reschedule leave it waiting for its other workers.
func TestAfterWorkerLoss(t *testing.T) {
	for _, action := range []ThreadStopAction{"", StopRestart, StopReschedule, StopSuspend, StopClose} {
		for _, state := range allStates {
			t.Run(string(action.OrDefault())+"/"+string(state), func(t *testing.T) {
				c := &Task{Role: Coordinator, State: state, Result: InProgress, ThreadStopAction: action}
				changed, err := c.AfterWorkerLoss("node node2 died", now)
				switch {
				case state == Runnable:
					if !errors.Is(err, ErrIllegalState) || c.State != Runnable {
						t.Fatalf("err %v, state %s; a RUNNABLE coordinator has no workers to lose", err, c.State)
					}
				case state == Suspended || state == Closed:
					if err != nil || changed || c.State != state {
						t.Fatalf("changed %v, state %s, err %v; want it left as it was", changed, c.State, err)
					}
				case action == StopSuspend:
					if err != nil || !changed || c.State != Suspended {
						t.Fatalf("changed %v, state %s, err %v; want SUSPENDED", changed, c.State, err)
					}
				case action == StopClose:
					if err != nil || !changed || c.State != Closed || c.Result != FatalError || !strings.Contains(c.Message, "node node2 died") {
						t.Fatalf("changed %v, state %s, %s %q, err %v; want CLOSED, FATAL_ERROR with the reason", changed, c.State, c.Result, c.Message, err)
					}
				default:
					if err != nil || changed || c.State != state {
						t.Fatalf("changed %v, state %s, err %v; want it unchanged", changed, c.State, err)
					}
				}
			})
		}
	}
	for _, role := range []Role{Standalone, Worker} {
		t.Run("refused for a "+string(role), func(t *testing.T) {
			tk := &Task{Role: role, State: Running, ThreadStopAction: StopClose}
			if _, err := tk.AfterWorkerLoss("x", now); !errors.Is(err, ErrIllegalState) || tk.State != Running {
				t.Fatalf("err %v, state %s; want ErrIllegalState, unchanged", err, tk.State)
			}
		})
	}
}

func TestHoldsKey(t *testing.T) {
	for _, state := range allStates {
		if got := (&Task{UniqueKey: "k", State: state}).HoldsKey(); got != (state != Closed) {
			t.Errorf("a %s task with a key: HoldsKey = %v", state, got)
		}
		if (&Task{State: state}).HoldsKey() {
			t.Errorf("a %s task without a key holds one", state)
		}
	}
	err := error(&DuplicateKeyError{Key: "nightly", OID: "abc"})
	if !errors.Is(err, ErrDuplicateKey) || !strings.Contains(err.Error(), "abc") || !strings.Contains(err.Error(), "nightly") {
		t.Fatalf("DuplicateKeyError: %v", err)
	}
}
