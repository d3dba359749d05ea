package quartzstore

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// cronCache keeps parsed schedules; expressions are few and reused on every fire.
var cronCache sync.Map // string → cron.Schedule

func parseCron(expr string) (cron.Schedule, error) {
	if s, ok := cronCache.Load(expr); ok {
		return s.(cron.Schedule), nil
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadCron, expr, err)
	}
	cronCache.Store(expr, s)
	return s, nil
}

// ValidateCron checks a cron expression: six fields with seconds
// ("0 */5 * * * *") or a descriptor ("@hourly", "@every 30s"). The error wraps ErrBadCron.
func ValidateCron(expr string) error {
	_, err := parseCron(expr)
	return err
}

// NextFireTime returns the first fire time of t after the fire at "after": for
// an interval trigger after+Interval, for a cron trigger the next time of the
// expression strictly after "after" (in UTC). ok is false for a once trigger, a
// bad cron expression or an interval <= 0. The result is truncated to milliseconds.
func NextFireTime(t Trigger, after time.Time) (time.Time, bool) {
	after = after.UTC()
	switch t.Kind {
	case KindInterval:
		if t.Interval < time.Millisecond {
			return time.Time{}, false
		}
		return utcMillis(after.Add(t.Interval)), true
	case KindCron:
		s, err := parseCron(t.Cron)
		if err != nil {
			return time.Time{}, false
		}
		next := s.Next(after)
		if next.IsZero() {
			return time.Time{}, false
		}
		return utcMillis(next.UTC()), true
	}
	return time.Time{}, false
}

// validateTrigger checks t and fills defaults. now is used for a zero NextFireTime.
func validateTrigger(t Trigger, now time.Time) (Trigger, error) {
	if t.Key == "" || t.JobKey == "" {
		return t, fmt.Errorf("%w: key and job key are required", ErrInvalidTrigger)
	}
	switch t.Misfire {
	case "":
		t.Misfire = MisfireFireNow
	case MisfireFireNow, MisfireSkip:
	default:
		return t, fmt.Errorf("%w: trigger %q: unknown misfire policy %q", ErrInvalidTrigger, t.Key, t.Misfire)
	}
	switch t.Kind {
	case KindOnce:
	case KindInterval:
		if t.Interval < time.Millisecond {
			return t, fmt.Errorf("%w: trigger %q: interval %v must be at least 1ms", ErrInvalidTrigger, t.Key, t.Interval)
		}
		t.Interval = t.Interval.Truncate(time.Millisecond)
	case KindCron:
		if err := ValidateCron(t.Cron); err != nil {
			return t, fmt.Errorf("trigger %q: %w", t.Key, err)
		}
	default:
		return t, fmt.Errorf("%w: trigger %q: unknown kind %q", ErrInvalidTrigger, t.Key, t.Kind)
	}
	if t.NextFireTime.IsZero() {
		if t.Kind == KindCron {
			next, ok := NextFireTime(t, now)
			if !ok {
				return t, fmt.Errorf("%w: trigger %q: cron %q never fires", ErrInvalidTrigger, t.Key, t.Cron)
			}
			t.NextFireTime = next
		} else {
			t.NextFireTime = now
		}
	}
	t.NextFireTime = utcMillis(t.NextFireTime)
	t.PrevFireTime = utcMillis(t.PrevFireTime)
	return t, nil
}

// fireID names one fire of a trigger: key@scheduled-unix-ms.
func fireID(triggerKey string, scheduled time.Time) string {
	return triggerKey + "@" + strconv.FormatInt(toMillis(scheduled), 10)
}

// recoveryTriggerKey names the one-shot trigger that re-fires a dead instance's job.
func recoveryTriggerKey(jobKey string) string { return "recover:" + jobKey }

// firePlan is what acquisition does with one claimed trigger.
type firePlan struct {
	fire      bool      // insert a fired trigger
	scheduled time.Time // the scheduled time being fired (FireID, PrevFireTime)
	keep      bool      // the trigger stays (else it is deleted)
	next      time.Time // its new NextFireTime when kept
}

// planFire decides the fate of a trigger claimed at now, applying the misfire policy.
func planFire(t Trigger, now time.Time, threshold time.Duration) firePlan {
	sched := t.NextFireTime
	misfired := sched.Before(now.Add(-threshold))
	if !misfired {
		next, ok := NextFireTime(t, sched)
		return firePlan{fire: true, scheduled: sched, keep: ok, next: next}
	}
	if t.Misfire == MisfireSkip && t.Kind != KindOnce {
		next, ok := nextAfter(t, sched, now)
		return firePlan{fire: false, keep: ok, next: next}
	}
	// fireNow: one fire now for the missed time(s), then on from now.
	next, ok := NextFireTime(t, now)
	return firePlan{fire: true, scheduled: sched, keep: ok, next: next}
}

// nextAfter returns the first fire time of t strictly after now, keeping the
// phase of an interval trigger (sched + k*Interval).
func nextAfter(t Trigger, sched, now time.Time) (time.Time, bool) {
	if t.Kind == KindInterval {
		if t.Interval < time.Millisecond {
			return time.Time{}, false
		}
		k := now.Sub(sched)/t.Interval + 1
		return utcMillis(sched.Add(k * t.Interval)), true
	}
	return NextFireTime(t, now)
}
