package webui

import (
	"testing"
	"time"
)

func TestAgeBar(t *testing.T) {
	tests := []struct {
		age, timeout   time.Duration
		percent, class string
	}{
		{400 * time.Millisecond, 10 * time.Second, "4.0", "ok"},
		{6 * time.Second, 10 * time.Second, "60.0", "warn"},
		{12 * time.Second, 10 * time.Second, "100.0", "late"},
		{-time.Second, 10 * time.Second, "0.0", "ok"}, // clocks: never below zero
	}
	for _, tc := range tests {
		b := newAgeBar(tc.age, tc.timeout)
		if b.Percent != tc.percent || b.Class != tc.class {
			t.Errorf("age %s of %s: %s%% %s, want %s%% %s", tc.age, tc.timeout, b.Percent, b.Class, tc.percent, tc.class)
		}
	}
	if b := newAgeBar(time.Second, 10*time.Second); b.Label != "last check-in 1.0 s ago; declared dead after 10s" {
		t.Errorf("label %q", b.Label)
	}
}
