package taskmanager

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"cadre/domain/task"
)

// errAtLimit: the task's execution group has no free slot on this node.
var errAtLimit = errors.New("execution group at its limit on this node")

// postponeBase is how long a fire refused at a limit waits when this node
// cannot keep itself from acquiring it again at once (a group under an open
// "*"); a jitter of up to the same again spreads the retries.
const postponeBase = time.Second

// limiter enforces the node's execution limitations: it counts the tasks
// running here per limitation entry and hands out slots, so no more than an
// entry's limit run at once. A slot is reserved before a task turns RUNNING
// and released after its run ends.
type limiter struct {
	node   string
	limits []task.GroupLimit

	mu      sync.Mutex
	running []int // per entry of limits
	onFree  func()
}

func newLimiter(node string, limits []task.GroupLimit) *limiter {
	if limits == nil {
		limits = task.DefaultLimits()
	}
	return &limiter{node: node, limits: limits, running: make([]int, len(limits)), onFree: func() {}}
}

// slot is a reserved place for one run; release is idempotent.
type slot struct {
	l     *limiter
	entry int
	once  sync.Once
}

func (s *slot) release() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		s.l.mu.Lock()
		s.l.running[s.entry]--
		onFree := s.l.onFree
		s.l.mu.Unlock()
		onFree()
	})
}

// reserve takes a slot for a task of group, or reports errAtLimit.
func (l *limiter) reserve(group string) (*slot, error) {
	i := task.LimitFor(l.limits, group, l.node)
	if i < 0 {
		return nil, errAtLimit
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim := l.limits[i].Limit; lim != task.Unlimited && l.running[i] >= lim {
		return nil, errAtLimit
	}
	l.running[i]++
	return &slot{l: l, entry: i}, nil
}

// groups lists the execution groups this node may take a task of now, for
// the scheduler's acquisition: nil means any group (an open "*" entry). A
// group whose entry is full or 0 is left out, so the trigger stays for
// other nodes instead of being taken and refused here.
func (l *limiter) groups() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []string{}
	for i, e := range l.limits {
		if e.Limit == 0 || (e.Limit != task.Unlimited && l.running[i] >= e.Limit) {
			continue
		}
		switch e.Group {
		case task.LimitOthers:
			return nil
		case task.LimitUnnamed:
			out = append(out, "")
		case task.LimitThisNode:
			out = append(out, l.node)
		default:
			out = append(out, e.Group)
		}
	}
	return out
}

// excludes reports whether groups() leaves group out now, so a refused fire
// of it can go back to the job store at once without this node taking it again.
func (l *limiter) excludes(group string) bool {
	gs := l.groups()
	if gs == nil {
		return false
	}
	for _, g := range gs {
		if g == group {
			return false
		}
	}
	return true
}

// ExecutionGroups lists the execution groups this node may start a task of
// now (nil = any): its limitations without the groups at their limit. The
// scheduler asks before every acquisition.
func (m *Manager) ExecutionGroups() []string { return m.limits.groups() }

// OnSlotFree sets what is called when a running task frees its slot (the
// scheduler's wake-up, so a trigger left for a full group is taken at once).
func (m *Manager) OnSlotFree(f func()) {
	m.limits.mu.Lock()
	defer m.limits.mu.Unlock()
	m.limits.onFree = f
}

// Limits are this node's effective execution limitations.
func (m *Manager) Limits() []task.GroupLimit { return m.limits.limits }

// refuse gives a fire this node has no slot for back to the job store: at
// once when this node no longer acquires the group (another node takes it,
// or this one when a slot frees), otherwise after a short pause, so this node
// does not take and refuse it in a loop.
func (m *Manager) refuse(ctx context.Context, t *task.Task) error {
	if m.limits.excludes(t.ExecutionGroup) {
		return m.sched.Schedule(ctx, t, true)
	}
	return m.sched.Postpone(ctx, t, postponeBase+rand.N(postponeBase))
}
