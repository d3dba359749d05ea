package taskmanager

import (
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"cadre/domain/task"
)

func TestLimiterHoldsTheLimitUnderConcurrentStarts(t *testing.T) {
	l := newLimiter("n1", []task.GroupLimit{{Group: "#", Limit: 2}, {Group: "_", Limit: task.Unlimited}})
	var now, peak atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := l.reserve("n1")
			if err != nil {
				return
			}
			n := now.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			now.Add(-1)
			s.release()
			s.release() // idempotent: a second release frees nothing more
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("%d workers pinned here ran at once, limit 2", p)
	}
	if l.running[0] != 0 {
		t.Errorf("%d slots still held after every release", l.running[0])
	}
}

func TestLimiterGroupsLeaveFullGroupsToOtherNodes(t *testing.T) {
	freed := 0
	l := newLimiter("n1", []task.GroupLimit{{Group: "_", Limit: task.Unlimited}, {Group: "#", Limit: 1}, {Group: "never", Limit: 0}, {Group: "*", Limit: 0}})
	l.onFree = func() { freed++ }
	if got, want := l.groups(), []string{"", "n1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("groups = %q, want %q", got, want)
	}
	s, err := l.reserve("n1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.reserve("n1"); err == nil {
		t.Fatal("a second worker pinned here got a slot past #:1")
	}
	if got, want := l.groups(), []string{""}; !reflect.DeepEqual(got, want) {
		t.Errorf("groups at the limit = %q, want %q", got, want)
	}
	if !l.excludes("n1") || l.excludes("") {
		t.Error("a full group must be excluded from acquisition, the open unnamed group not")
	}
	for _, g := range []string{"never", "n2"} {
		if _, err := l.reserve(g); err == nil {
			t.Errorf("group %q got a slot; its limit is 0", g)
		}
	}
	s.release()
	if freed != 1 {
		t.Errorf("release woke the scheduler %d times, want 1", freed)
	}
	if got, want := l.groups(), []string{"", "n1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("groups after release = %q, want %q", got, want)
	}
}

func TestLimiterOpenStarMeansAnyGroup(t *testing.T) {
	l := newLimiter("n1", []task.GroupLimit{{Group: "*", Limit: 1}})
	if l.groups() != nil {
		t.Fatalf("groups = %q, want nil (any) with an open *", l.groups())
	}
	s, err := l.reserve("reports")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release()
	if got := l.groups(); got == nil || len(got) != 0 {
		t.Errorf("groups with * full and nothing else = %q, want none", got)
	}
}

func TestDefaultLimitsKeepTodaysGroups(t *testing.T) {
	l := newLimiter("n1", nil)
	if got, want := l.groups(), []string{"", "n1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("default groups = %q, want the unnamed group and the node's own, as without limits", got)
	}
}
