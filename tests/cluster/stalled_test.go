package cluster_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"cadre/apiclient"
	"cadre/node/proctest"
)

// stalledArgs make a task stalled after 2 s without progress, checked twice a second.
var stalledArgs = []string{
	"-Dmidpoint.taskManager.stalledTasksThreshold=2s",
	"-Dmidpoint.taskManager.stalledTasksCheckInterval=500ms",
}

// TestStalledTask runs a noop task whose items take 4 s each on a real node:
// it gets stalledSince (the start of its run) once 2 s pass without an item,
// loses it when the first item completes, and gets it again (since that
// item) when the next one takes as long; the node's cadre_tasks_stalled
// follows.
func TestStalledTask(t *testing.T) {
	c := startCluster(t, 1, stalledArgs...)
	admin := c.admin(0)
	params := map[string]any{"items": 3, "delayMs": 4000}
	oid := admin.CreateTask(t, apiclient.TaskCreate{Name: "slow items", Handler: "noop", Params: &params}).Oid

	stalled := func(want bool) *time.Time {
		t.Helper()
		var got apiclient.Task
		proctest.WaitFor(t, "stalledSince to be set="+map[bool]string{true: "yes", false: "no"}[want], 15*time.Second, func() bool {
			got = admin.Task(t, oid)
			return (got.StalledSince != nil) == want
		})
		if got.ExecutionState != apiclient.ExecutionStateRUNNING {
			t.Fatalf("task is %s, want RUNNING", got.ExecutionState)
		}
		return got.StalledSince
	}
	first := stalled(true)
	if got := admin.Task(t, oid); got.LastRunStart == nil || first.Before(got.LastRunStart.Add(-time.Second)) {
		t.Errorf("stalledSince %s, want about the run's start %v (no item done yet)", first, got.LastRunStart)
	}
	// The gauge follows the mark within the same check round.
	proctest.WaitFor(t, "cadre_tasks_stalled 1 while stalled", 5*time.Second, func() bool { return metric(t, admin, "cadre_tasks_stalled") == "1" })
	stalled(false) // the first item completes
	proctest.WaitFor(t, "cadre_tasks_stalled 0 after progress", 5*time.Second, func() bool { return metric(t, admin, "cadre_tasks_stalled") == "0" })
	second := stalled(true)
	if !second.After(first.Add(3 * time.Second)) {
		t.Errorf("second stall since %s, want when the first item completed (about 4 s after %s)", second, first)
	}
	if status, body := admin.Do(t, http.MethodPost, "/api/v1/tasks/"+oid+"/suspend", nil); status >= 300 {
		t.Fatalf("suspend: %d %v", status, body)
	}
	proctest.WaitFor(t, "the suspended task to lose its stall mark", 15*time.Second, func() bool {
		got := admin.Task(t, oid)
		return got.ExecutionState == apiclient.ExecutionStateSUSPENDED && got.StalledSince == nil
	})
}

// metric reads one unlabelled-by-us series of a node's /metrics (the value
// after the instance_node label), "" when absent.
func metric(t *testing.T, c proctest.Client, name string) string {
	t.Helper()
	resp := c.Request(t, http.MethodGet, "/metrics", nil)
	for _, line := range strings.Split(string(resp.Body), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			fields := strings.Fields(line)
			return fields[len(fields)-1]
		}
	}
	return ""
}
