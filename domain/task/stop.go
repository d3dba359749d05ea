package task

import (
	"errors"
	"fmt"
	"time"
)

// ThreadStopAction says what becomes of a task whose run was cut short
// because the node running it died or left the cluster (a drain), after
// midPoint's threadStopAction. The empty value means Restart.
type ThreadStopAction string

// Thread stop actions.
const (
	// StopRestart runs the task again at once on another node (default).
	StopRestart ThreadStopAction = "restart"
	// StopReschedule lets a recurring task wait for its next scheduled time;
	// a single-run task runs again at once, as with StopRestart.
	StopReschedule ThreadStopAction = "reschedule"
	// StopSuspend suspends the task until someone resumes it.
	StopSuspend ThreadStopAction = "suspend"
	// StopClose closes the task with FATAL_ERROR and a message saying why.
	StopClose ThreadStopAction = "close"
)

// ParseThreadStopAction validates an action name; "" is StopRestart.
func ParseThreadStopAction(s string) (ThreadStopAction, error) {
	switch a := ThreadStopAction(s); a {
	case "":
		return StopRestart, nil
	case StopRestart, StopReschedule, StopSuspend, StopClose:
		return a, nil
	}
	return "", fmt.Errorf("%w: threadStopAction must be restart, reschedule, suspend or close (got %q)", ErrInvalid, s)
}

// OrDefault is the action in force: StopRestart when none was set.
func (a ThreadStopAction) OrDefault() ThreadStopAction {
	if a == "" {
		return StopRestart
	}
	return a
}

// ErrDuplicateKey is wrapped by DuplicateKeyError.
var ErrDuplicateKey = errors.New("unique key taken")

// DuplicateKeyError says that a task holding the same unique key is not
// closed yet, and which one it is.
type DuplicateKeyError struct {
	Key string
	// OID of the open task that holds the key.
	OID string
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("task %s with uniqueKey %q is not closed yet", e.OID, e.Key)
}

// Unwrap makes errors.Is(err, ErrDuplicateKey) hold.
func (e *DuplicateKeyError) Unwrap() error { return ErrDuplicateKey }

// HoldsKey reports whether the task keeps its unique key from other tasks:
// it has one and is not closed.
func (t *Task) HoldsKey() bool { return t.UniqueKey != "" && t.State != Closed }

// Close ends a task that will not run (again): CLOSED with result and msg.
// A closed task cannot be closed again.
func (t *Task) Close(result ResultStatus, msg string, now time.Time) error {
	if t.State == Closed {
		return t.illegal("close")
	}
	t.State, t.Node, t.Result, t.Message = Closed, "", result, msg
	t.LastRunFinish = &now
	return nil
}

// AfterNodeLoss applies the task's ThreadStopAction to a run cut short
// because its node died or left; reason says which (it becomes the message
// of a closed task). It reports whether the task is to fire at once, which
// matters only when it is RUNNABLE afterwards:
//
//   - restart: RUNNABLE, fire now;
//   - reschedule: RUNNABLE; a recurring task waits for its next time, a
//     single-run task fires now;
//   - suspend: SUSPENDED;
//   - close: CLOSED with FATAL_ERROR, as the run never finished.
//
// Only a RUNNING standalone task or coordinator loses its run this way; a
// worker ends with its node and its coordinator decides (AfterWorkerLoss).
func (t *Task) AfterNodeLoss(reason string, now time.Time) (fireNow bool, err error) {
	if t.State != Running || t.Role == Worker {
		return false, t.illegal("recover")
	}
	switch t.ThreadStopAction.OrDefault() {
	case StopReschedule:
		t.State, t.Node = Runnable, ""
		return !t.Recurring(), nil
	case StopSuspend:
		t.State, t.Node = Suspended, ""
		return false, nil
	case StopClose:
		return false, t.Close(FatalError, closedBecause(reason), now)
	default:
		t.State, t.Node = Runnable, ""
		return true, nil
	}
}

// AfterWorkerLoss applies a coordinator's ThreadStopAction when one of its
// workers lost its run (its node died or left) and the worker's buckets
// went back to READY. It reports whether the coordinator changed:
//
//   - restart, reschedule: no change; the buckets belong to the run under
//     way, so other workers (or a new one) take them now;
//   - suspend: SUSPENDED, so the READY buckets wait for a resume;
//   - close: CLOSED with FATAL_ERROR; the remaining buckets stay undone.
//
// A coordinator already suspended or closed (another of its workers was lost
// first) is left as it is.
func (t *Task) AfterWorkerLoss(reason string, now time.Time) (changed bool, err error) {
	if t.Role != Coordinator {
		return false, t.illegal("recover the workers of")
	}
	switch t.State {
	case Suspended, Closed:
		return false, nil
	case Running, Waiting:
	default:
		return false, t.illegal("recover the workers of")
	}
	switch t.ThreadStopAction.OrDefault() {
	case StopSuspend:
		t.State, t.Node = Suspended, ""
		return true, nil
	case StopClose:
		return true, t.Close(FatalError, closedBecause(reason), now)
	}
	return false, nil
}

func closedBecause(reason string) string {
	return "closed by threadStopAction=close: " + reason
}
