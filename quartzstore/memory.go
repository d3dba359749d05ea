package quartzstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a Store for one process (jdbcJobStore=false): nothing survives
// a restart and nothing is shared. All methods take one mutex.
type MemoryStore struct {
	now func() time.Time

	mu        sync.Mutex
	jobs      map[string]Job
	triggers  map[string]Trigger
	fired     map[string]FiredTrigger
	instances map[string]Instance
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store whose Now is now (time.Now when nil).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{
		now:       now,
		jobs:      map[string]Job{},
		triggers:  map[string]Trigger{},
		fired:     map[string]FiredTrigger{},
		instances: map[string]Instance{},
	}
}

// Now returns the injected clock in UTC.
func (s *MemoryStore) Now(context.Context) (time.Time, error) { return s.now().UTC(), nil }

// JobsUpsert implements Store.
func (s *MemoryStore) JobsUpsert(_ context.Context, job Job) error {
	if job.Key == "" {
		return fmt.Errorf("upsert job: empty key")
	}
	job.Data = maps.Clone(job.Data)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[job.Key] = job
	for k, t := range s.triggers {
		if t.JobKey == job.Key {
			t.Group = job.Group
			s.triggers[k] = t
		}
	}
	return nil
}

// JobsGet implements Store.
func (s *MemoryStore) JobsGet(_ context.Context, key string) (Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[key]
	if !ok {
		return Job{}, fmt.Errorf("job %q: %w", key, ErrNotFound)
	}
	j.Data = maps.Clone(j.Data)
	return j, nil
}

// JobsDelete implements Store.
func (s *MemoryStore) JobsDelete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[key]; !ok {
		return fmt.Errorf("job %q: %w", key, ErrNotFound)
	}
	delete(s.jobs, key)
	for k, t := range s.triggers {
		if t.JobKey == key {
			delete(s.triggers, k)
		}
	}
	return nil
}

// JobsSchedule implements Store.
func (s *MemoryStore) JobsSchedule(ctx context.Context, job Job, t Trigger) error {
	t.JobKey = job.Key
	if _, err := validateTrigger(t, s.now().UTC()); err != nil {
		return err // nothing written, as in one transaction
	}
	if err := s.JobsUpsert(ctx, job); err != nil {
		return err
	}
	return s.TriggersUpsert(ctx, t)
}

// TriggersUpsert implements Store.
func (s *MemoryStore) TriggersUpsert(_ context.Context, t Trigger) error {
	t, err := validateTrigger(t, s.now().UTC())
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[t.JobKey]
	if !ok {
		return fmt.Errorf("trigger %q: job %q: %w", t.Key, t.JobKey, ErrNotFound)
	}
	t.Group = j.Group
	s.triggers[t.Key] = t
	return nil
}

// TriggersGet implements Store.
func (s *MemoryStore) TriggersGet(_ context.Context, key string) (Trigger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.triggers[key]
	if !ok {
		return Trigger{}, fmt.Errorf("trigger %q: %w", key, ErrNotFound)
	}
	return t, nil
}

// TriggersDelete implements Store.
func (s *MemoryStore) TriggersDelete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.triggers[key]; !ok {
		return fmt.Errorf("trigger %q: %w", key, ErrNotFound)
	}
	delete(s.triggers, key)
	return nil
}

// TriggersListByJob implements Store.
func (s *MemoryStore) TriggersListByJob(_ context.Context, jobKey string) ([]Trigger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Trigger
	for _, t := range s.triggers {
		if t.JobKey == jobKey {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b Trigger) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// TriggersPause implements Store.
func (s *MemoryStore) TriggersPause(_ context.Context, key string) error {
	return s.setPaused(key, true)
}

// TriggersResume implements Store.
func (s *MemoryStore) TriggersResume(_ context.Context, key string) error {
	return s.setPaused(key, false)
}

func (s *MemoryStore) setPaused(key string, paused bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.triggers[key]
	if !ok {
		return fmt.Errorf("trigger %q: %w", key, ErrNotFound)
	}
	t.Paused = paused
	s.triggers[key] = t
	return nil
}

// dueTriggers lists unpaused triggers of the groups due by limit, oldest first.
func (s *MemoryStore) dueTriggers(groups []string, limit time.Time) []Trigger {
	var due []Trigger
	for _, t := range s.triggers {
		if t.Paused || t.NextFireTime.After(limit) {
			continue
		}
		if groups != nil && !slices.Contains(groups, t.Group) {
			continue
		}
		due = append(due, t)
	}
	slices.SortFunc(due, func(a, b Trigger) int {
		return cmp.Or(a.NextFireTime.Compare(b.NextFireTime), cmp.Compare(a.Key, b.Key))
	})
	return due
}

// TriggersAcquireNext implements Store.
func (s *MemoryStore) TriggersAcquireNext(_ context.Context, p TriggersAcquireNextParams) ([]FiredTrigger, error) {
	now := utcMillis(p.Now)
	s.mu.Lock()
	defer s.mu.Unlock()
	due := s.dueTriggers(p.Groups, now.Add(p.Lookahead))
	if len(due) > max(p.MaxCount, 1) {
		due = due[:max(p.MaxCount, 1)]
	}
	var out []FiredTrigger
	for _, t := range due {
		plan := planFire(t, now, p.MisfireThreshold)
		if plan.keep {
			t.NextFireTime = plan.next
			if plan.fire {
				t.PrevFireTime = plan.scheduled
			}
			s.triggers[t.Key] = t
		} else {
			delete(s.triggers, t.Key)
		}
		if !plan.fire {
			continue
		}
		j, ok := s.jobs[t.JobKey]
		if !ok {
			continue
		}
		f := FiredTrigger{
			FireID: fireID(t.Key, plan.scheduled), TriggerKey: t.Key, JobKey: t.JobKey, Group: t.Group,
			InstanceID: p.InstanceID, ScheduledTime: plan.scheduled, FiredTime: now,
			Recovering: t.Recovering, Data: maps.Clone(j.Data),
		}
		if _, dup := s.fired[f.FireID]; dup {
			continue
		}
		s.fired[f.FireID] = f
		f.Data = maps.Clone(f.Data)
		out = append(out, f)
	}
	return out, nil
}

// TriggersNextFireTime implements Store.
func (s *MemoryStore) TriggersNextFireTime(_ context.Context, p TriggersNextFireTimeParams) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for _, t := range s.triggers {
		if t.Paused || (p.Groups != nil && !slices.Contains(p.Groups, t.Group)) {
			continue
		}
		if next.IsZero() || t.NextFireTime.Before(next) {
			next = t.NextFireTime
		}
	}
	return next, !next.IsZero(), nil
}

// FiredTriggersComplete implements Store.
func (s *MemoryStore) FiredTriggersComplete(_ context.Context, fireID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.fired[fireID]; !ok {
		return fmt.Errorf("fired trigger %q: %w", fireID, ErrNotFound)
	}
	delete(s.fired, fireID)
	return nil
}

// FiredTriggersList implements Store.
func (s *MemoryStore) FiredTriggersList(context.Context) ([]FiredTrigger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FiredTrigger, 0, len(s.fired))
	for _, f := range s.fired {
		f.Data = maps.Clone(f.Data)
		out = append(out, f)
	}
	sortFired(out)
	return out, nil
}

func sortFired(fs []FiredTrigger) {
	slices.SortFunc(fs, func(a, b FiredTrigger) int {
		return cmp.Or(a.FiredTime.Compare(b.FiredTime), cmp.Compare(a.FireID, b.FireID))
	})
}

// InstancesCheckIn implements Store.
func (s *MemoryStore) InstancesCheckIn(_ context.Context, p InstancesCheckInParams) error {
	if p.ID == "" {
		return fmt.Errorf("check in: empty instance id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instances[p.ID] = Instance{ID: p.ID, LastCheckIn: utcMillis(p.Now), Interval: p.Interval.Truncate(time.Millisecond)}
	return nil
}

// InstancesList implements Store.
func (s *MemoryStore) InstancesList(context.Context) ([]Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Collect(maps.Values(s.instances))
	slices.SortFunc(out, func(a, b Instance) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// InstancesRecover implements Store.
func (s *MemoryStore) InstancesRecover(_ context.Context, p InstancesRecoverParams) (RecoverResult, error) {
	var res RecoverResult
	if p.Timeout <= 0 {
		return res, nil
	}
	now := utcMillis(p.Now)
	cutoff := now.Add(-p.Timeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, in := range s.instances {
		if id != p.Self && in.LastCheckIn.Before(cutoff) {
			delete(s.instances, id)
			res.InstanceIDs = append(res.InstanceIDs, id)
		}
	}
	slices.Sort(res.InstanceIDs)
	var lost []FiredTrigger
	for id, f := range s.fired {
		if f.InstanceID == p.Self {
			continue
		}
		if _, alive := s.instances[f.InstanceID]; alive {
			continue
		}
		if !slices.Contains(res.InstanceIDs, f.InstanceID) && !f.FiredTime.Before(cutoff) {
			continue // an orphan not yet old enough
		}
		delete(s.fired, id)
		lost = append(lost, f)
	}
	sortFired(lost)
	for _, f := range lost {
		j, ok := s.jobs[f.JobKey]
		if !ok || !j.RequestRecovery {
			continue
		}
		key := recoveryTriggerKey(j.Key)
		if _, exists := s.triggers[key]; exists {
			continue
		}
		s.triggers[key] = Trigger{
			Key: key, JobKey: j.Key, Kind: KindOnce, Misfire: MisfireFireNow, Group: j.Group,
			NextFireTime: now, Recovering: true,
		}
		res.JobKeys = append(res.JobKeys, j.Key)
	}
	return res, nil
}

// InstancesRemove implements Store.
func (s *MemoryStore) InstancesRemove(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fired {
		if f.InstanceID == id {
			return nil // keep it: peers recover its fires once it times out
		}
	}
	delete(s.instances, id)
	return nil
}
