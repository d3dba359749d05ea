package repository

import (
	"context"
	"sync"
	"time"

	"cadre/domain/object"
)

// LocalCache is the per-task-run cache of DESIGN §7: objects read, query
// results and the versions of objects the run modified. It lives as long as
// one run and is dropped with it; the run's own writes invalidate it.
type LocalCache struct {
	Store
	metrics CacheMetrics

	mu       sync.Mutex
	objects  map[string]object.Object
	names    map[string]object.Object
	queries  map[string]object.Page
	versions map[string]int64
}

// NewLocalCache wraps store for one run.
func NewLocalCache(store Store, m CacheMetrics) *LocalCache {
	return &LocalCache{Store: store, metrics: m, objects: map[string]object.Object{}, names: map[string]object.Object{},
		queries: map[string]object.Page{}, versions: map[string]int64{}}
}

func (c *LocalCache) count(t object.Type, hit bool) {
	if c.metrics == nil {
		return
	}
	if hit {
		c.metrics.CacheHit("local", string(t))
	} else {
		c.metrics.CacheMiss("local", string(t))
	}
}

// Get implements Store.
func (c *LocalCache) Get(ctx context.Context, t object.Type, oid string) (object.Object, error) {
	key := string(t) + "/" + oid
	c.mu.Lock()
	o, ok := c.objects[key]
	c.mu.Unlock()
	c.count(t, ok)
	if ok {
		return clone(o), nil
	}
	o, err := c.Store.Get(ctx, t, oid)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.objects[key] = clone(o)
	c.mu.Unlock()
	return o, nil
}

// GetByName implements Store.
func (c *LocalCache) GetByName(ctx context.Context, t object.Type, name string) (object.Object, error) {
	key := string(t) + "/" + object.NormalizeName(name)
	c.mu.Lock()
	o, ok := c.names[key]
	c.mu.Unlock()
	c.count(t, ok)
	if ok {
		return clone(o), nil
	}
	o, err := c.Store.GetByName(ctx, t, name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.names[key] = clone(o)
	c.mu.Unlock()
	return o, nil
}

// Search implements Store.
func (c *LocalCache) Search(ctx context.Context, q object.Query) (object.Page, error) {
	q = q.Normalize()
	key := queryKey(q)
	c.mu.Lock()
	p, ok := c.queries[key]
	c.mu.Unlock()
	c.count(q.Type, ok)
	if ok {
		return clonePage(p), nil
	}
	p, err := c.Store.Search(ctx, q)
	if err != nil {
		return object.Page{}, err
	}
	c.mu.Lock()
	c.queries[key] = clonePage(p)
	c.mu.Unlock()
	return p, nil
}

// Add implements Store.
func (c *LocalCache) Add(ctx context.Context, o object.Object) error {
	err := c.Store.Add(ctx, o)
	c.forget(o.Type(), o.ObjectMeta().OID, o.ObjectMeta().Version, err == nil)
	return err
}

// Modify implements Store and records the new version.
func (c *LocalCache) Modify(ctx context.Context, t object.Type, oid string, expected int64, now time.Time, change func(object.Object) error) (object.Object, error) {
	o, err := c.Store.Modify(ctx, t, oid, expected, now, change)
	var v int64
	if err == nil {
		v = o.ObjectMeta().Version
	}
	c.forget(t, oid, v, err == nil)
	return o, err
}

// Delete implements Store.
func (c *LocalCache) Delete(ctx context.Context, t object.Type, oid string) error {
	err := c.Store.Delete(ctx, t, oid)
	c.forget(t, oid, 0, false)
	return err
}

// Version is the version this run last wrote of an object (0 if none).
func (c *LocalCache) Version(oid string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.versions[oid]
}

// forget drops what a write may have made stale: the object, its name
// entries and every query of its type.
func (c *LocalCache) forget(t object.Type, oid string, version int64, wrote bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.objects, string(t)+"/"+oid)
	prefix := string(t) + "/"
	for k, o := range c.names {
		if o.ObjectMeta().OID == oid {
			delete(c.names, k)
		}
	}
	for k := range c.queries {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			delete(c.queries, k)
		}
	}
	if wrote {
		c.versions[oid] = version
	} else {
		delete(c.versions, oid)
	}
}

// WithStore returns a service like s that reads and writes through store
// (a run's LocalCache) and tells the same listeners about changes.
func (s *Service) WithStore(store Store) *Service {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return &Service{store: store, hasher: s.hasher, now: s.now, log: s.log, listeners: s.listeners}
}

var _ Store = (*LocalCache)(nil)

// WriteMany implements Store and records the new versions.
func (c *LocalCache) WriteMany(ctx context.Context, objs []object.Object, now time.Time) ([]bool, error) {
	written, err := c.Store.WriteMany(ctx, objs, now)
	for i, o := range objs {
		ok := err == nil && written[i]
		c.forget(o.Type(), o.ObjectMeta().OID, o.ObjectMeta().Version, ok)
	}
	return written, err
}

// AddMany implements Store.
func (c *LocalCache) AddMany(ctx context.Context, objs []object.Object) error {
	err := c.Store.AddMany(ctx, objs)
	for _, o := range objs {
		c.forget(o.Type(), o.ObjectMeta().OID, o.ObjectMeta().Version, err == nil)
	}
	return err
}
