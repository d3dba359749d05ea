package quartzstore

import (
	"errors"
	"testing"
	"time"
)

func TestNextFireTime(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 500_000_000, time.UTC)
	tests := []struct {
		name string
		tr   Trigger
		want time.Time
		ok   bool
	}{
		{"once has no next", Trigger{Kind: KindOnce}, time.Time{}, false},
		{"interval", Trigger{Kind: KindInterval, Interval: 1500 * time.Millisecond}, at.Add(1500 * time.Millisecond), true},
		{"interval zero", Trigger{Kind: KindInterval}, time.Time{}, false},
		{"cron even seconds", Trigger{Kind: KindCron, Cron: "*/2 * * * * *"}, time.Date(2030, 1, 2, 3, 4, 6, 0, time.UTC), true},
		{"cron hourly descriptor", Trigger{Kind: KindCron, Cron: "@hourly"}, time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC), true},
		{"cron every", Trigger{Kind: KindCron, Cron: "@every 10s"}, time.Date(2030, 1, 2, 3, 4, 15, 0, time.UTC), true},
		{"cron bad", Trigger{Kind: KindCron, Cron: "nope"}, time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NextFireTime(tc.tr, at)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("NextFireTime = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestValidateCron(t *testing.T) {
	for expr, valid := range map[string]bool{
		"*/2 * * * * *": true, "0 0 12 * * MON-FRI": true, "@daily": true, "@every 1m": true,
		"* * * * *": false, "": false, "61 * * * * *": false,
	} {
		err := ValidateCron(expr)
		if (err == nil) != valid || (err != nil && !errors.Is(err, ErrBadCron)) {
			t.Errorf("ValidateCron(%q) = %v, want valid=%v", expr, err, valid)
		}
	}
}
