package task_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"cadre/domain/task"
)

// parseCron parses as the node does: six fields with seconds, or a
// descriptor. robfig's schedule satisfies task.CronSchedule unnamed.
func parseCron(expr string) (task.CronSchedule, error) {
	return cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor).Parse(expr)
}

func TestScheduleValidate(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		s    task.Schedule
		err  string // "" when valid
	}{
		{"single run", task.Schedule{}, ""},
		{"interval", task.Schedule{Interval: 60}, ""},
		{"longest interval", task.Schedule{Interval: task.MaxInterval}, ""},
		{"interval over ten years", task.Schedule{Interval: task.MaxInterval + 1}, "interval must be"},
		{"negative interval", task.Schedule{Interval: -1}, "interval must be"},
		{"cron with seconds", task.Schedule{Cron: "*/2 * * * * *"}, ""},
		{"cron descriptor", task.Schedule{Cron: "@every 5s"}, ""},
		{"five-field cron lacks seconds", task.Schedule{Cron: "0 12 * * *"}, "bad cron expression"},
		{"garbage cron", task.Schedule{Cron: "every day"}, "bad cron expression"},
		{"cron on a day that never comes", task.Schedule{Cron: "0 0 0 30 2 *"}, "never fires"},
		{"cron and interval", task.Schedule{Cron: "0 * * * * *", Interval: 60}, "both cron and interval"},
		{"misfire fireNow", task.Schedule{Interval: 60, Misfire: task.MisfireFireNow}, ""},
		{"misfire skip", task.Schedule{Cron: "0 0 * * * *", Misfire: task.MisfireSkip}, ""},
		{"unknown misfire", task.Schedule{Interval: 60, Misfire: "later"}, "misfire must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate(parseCron, at)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, task.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Validate = %v, want ErrInvalid with %q", err, tt.err)
			}
		})
	}
}

func TestScheduleIsZero(t *testing.T) {
	for _, tt := range []struct {
		s    task.Schedule
		want bool
	}{
		{task.Schedule{}, true},
		{task.Schedule{Misfire: task.MisfireSkip}, true},
		{task.Schedule{Interval: 1}, false},
		{task.Schedule{Cron: "@daily"}, false},
	} {
		if got := tt.s.IsZero(); got != tt.want {
			t.Errorf("%+v.IsZero() = %v, want %v", tt.s, got, tt.want)
		}
		if got := (&task.Task{Schedule: tt.s}).Recurring(); got == tt.want {
			t.Errorf("task with %+v: Recurring() = %v, want %v", tt.s, got, !tt.want)
		}
	}
}
