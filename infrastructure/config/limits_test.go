package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"cadre/domain/task"
)

func TestLoadTaskExecutionLimitations(t *testing.T) {
	tests := []struct {
		name, value string
		want        []task.GroupLimit
	}{
		{"midPoint's example", "admin-node:2,sync-jobs,#:13,_:40", []task.GroupLimit{
			{Group: "admin-node", Limit: 2}, {Group: "sync-jobs", Limit: task.Unlimited},
			{Group: "#", Limit: 13}, {Group: "_", Limit: 40}}},
		{"star forms and spaces", " *:0 , reports:* ", []task.GroupLimit{{Group: "*", Limit: 0}, {Group: "reports", Limit: task.Unlimited}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			c := mustLoad(t, []string{"-Dmidpoint.taskManager.taskExecutionLimitations=" + tt.value}, f.env())
			if got := c.TaskManager.TaskExecutionLimitations; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("limits = %+v, want %+v", got, tt.want)
			}
			if len(c.Warnings) > 0 {
				t.Errorf("warnings %q: the key is used now, not ignored", c.Warnings)
			}
		})
	}
}

func TestLoadStalledTasks(t *testing.T) {
	f := setup(t)
	f.xmlFile("<taskManager>\n<stalledTasksThreshold>120</stalledTasksThreshold>\n<stalledTasksCheckInterval>500ms</stalledTasksCheckInterval>\n</taskManager>")
	c := mustLoad(t, nil, f.env())
	if c.TaskManager.StalledTasksThreshold != 2*time.Minute || c.TaskManager.StalledTasksCheckInterval != 500*time.Millisecond {
		t.Errorf("threshold %s interval %s, want 2m (plain number = seconds) and 500ms",
			c.TaskManager.StalledTasksThreshold, c.TaskManager.StalledTasksCheckInterval)
	}
	if len(c.Warnings) > 0 {
		t.Errorf("warnings %q: the keys are used now, not ignored", c.Warnings)
	}
}

func TestLoadLimitErrors(t *testing.T) {
	tests := []struct {
		name, arg, wantKey, wantMsg string
	}{
		{"limit not a number", "taskManager.taskExecutionLimitations=#:x", "taskManager/taskExecutionLimitations", "the limit must be a whole number"},
		{"negative limit", "taskManager.taskExecutionLimitations=_:-1", "taskManager/taskExecutionLimitations", "the limit must be a whole number"},
		{"group twice", "taskManager.taskExecutionLimitations=a:1,a:2", "taskManager/taskExecutionLimitations", `group "a" is listed twice`},
		{"no group name", "taskManager.taskExecutionLimitations=:3", "taskManager/taskExecutionLimitations", "has no group name"},
		{"zero threshold", "taskManager.stalledTasksThreshold=0", "taskManager/stalledTasksThreshold", "must be longer than zero"},
		{"negative interval", "taskManager.stalledTasksCheckInterval=-1s", "taskManager/stalledTasksCheckInterval", "must be longer than zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			_, err := Load([]string{"-Dmidpoint." + tt.arg}, f.env())
			ke := keyError(t, err)
			if ke.Key != tt.wantKey || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %v, want key %s and %q", err, tt.wantKey, tt.wantMsg)
			}
		})
	}
}
