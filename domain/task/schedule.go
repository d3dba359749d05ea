package task

import (
	"fmt"
	"time"
)

// Misfire policies: what to do with a fire time missed by more than the threshold.
const (
	MisfireFireNow = "fireNow" // run once now, then continue the schedule (default)
	MisfireSkip    = "skip"    // wait for the next scheduled time
)

// Schedule says when a task runs; the zero value runs once, now.
type Schedule struct {
	// Cron is a 6-field expression with seconds ("*/2 * * * * *").
	Cron string `json:"cron,omitempty"`
	// Interval in seconds between runs.
	Interval int64  `json:"interval,omitempty"`
	Misfire  string `json:"misfire,omitempty"`
}

// CronSchedule is what the domain needs of a parsed cron expression.
type CronSchedule interface{ Next(time.Time) time.Time }

// IsZero reports a single-run schedule.
func (s Schedule) IsZero() bool { return s.Cron == "" && s.Interval == 0 }

// MaxInterval is the longest schedule interval, in seconds: ten years.
const MaxInterval = 10 * 366 * 24 * 3600

// Validate checks the schedule; parse validates the cron expression. A cron
// expression that never fires after now (a day that does not exist, such as
// February 30) is refused, as is an interval above MaxInterval.
func (s Schedule) Validate(parse func(string) (CronSchedule, error), now time.Time) error {
	if s.Cron != "" && s.Interval != 0 {
		return fmt.Errorf("%w: schedule has both cron and interval", ErrInvalid)
	}
	if s.Interval < 0 || s.Interval > MaxInterval {
		return fmt.Errorf("%w: schedule interval must be 1..%d seconds (got %d)", ErrInvalid, MaxInterval, s.Interval)
	}
	if s.Cron != "" {
		c, err := parse(s.Cron)
		if err != nil {
			return fmt.Errorf("%w: bad cron expression %q: %v", ErrInvalid, s.Cron, err)
		}
		if c.Next(now).IsZero() {
			return fmt.Errorf("%w: cron expression %q never fires", ErrInvalid, s.Cron)
		}
	}
	switch s.Misfire {
	case "", MisfireFireNow, MisfireSkip:
	default:
		return fmt.Errorf("%w: misfire must be %q or %q", ErrInvalid, MisfireFireNow, MisfireSkip)
	}
	return nil
}

// Workers says how many worker tasks a coordinator creates.
type Workers struct {
	// PerNode workers for every live node (default taskManager/workerThreadsPerNode).
	PerNode int `json:"perNode,omitempty"`
	// Total workers, regardless of nodes; wins over PerNode.
	Total int `json:"total,omitempty"`
}

// Count is the number of workers to create for liveNodes nodes.
func (w Workers) Count(liveNodes, defaultPerNode int) int {
	if w.Total > 0 {
		return w.Total
	}
	per := w.PerNode
	if per <= 0 {
		per = defaultPerNode
	}
	return max(1, per*max(1, liveNodes))
}

// Validate checks the workers definition.
func (w Workers) Validate() error {
	if w.PerNode < 0 || w.Total < 0 || w.PerNode > 1000 || w.Total > 10000 {
		return fmt.Errorf("%w: workers perNode must be 0..1000 and total 0..10000", ErrInvalid)
	}
	return nil
}
