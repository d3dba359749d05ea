package repository

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"cadre/domain/object"
)

// GlobalCacheTypes are the types the per-node global cache holds (DESIGN §7):
// they change rarely and are read often. Users are never globally cached.
var GlobalCacheTypes = []object.Type{object.TypeSystemConfiguration, object.TypeArchetype, object.TypeObjectTemplate}

// DefaultCacheTTL is the time-to-live backstop: a node that missed an
// invalidation converges within it.
const DefaultCacheTTL = 60 * time.Second

// CacheMetrics counts cache hits and misses per cache and type.
type CacheMetrics interface {
	CacheHit(cache, objType string)
	CacheMiss(cache, objType string)
}

// GlobalCache is a Store that keeps objects and query results of the
// globally cached types for up to a TTL. Local writes invalidate at once;
// peers' writes arrive through Invalidate.
type GlobalCache struct {
	Store
	ttl     time.Duration
	now     func() time.Time
	metrics CacheMetrics

	mu        sync.Mutex
	coldUntil time.Time                            // no caching before this (see HoldOff)
	objects   map[string]cacheEntry[object.Object] // type/oid
	names     map[string]cacheEntry[object.Object] // type/name
	queries   map[string]cacheEntry[object.Page]   // type/query
}

type cacheEntry[T any] struct {
	value T
	until time.Time
}

// NewGlobalCache wraps store.
func NewGlobalCache(store Store, ttl time.Duration, now func() time.Time, m CacheMetrics) *GlobalCache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &GlobalCache{Store: store, ttl: ttl, now: now, metrics: m, objects: map[string]cacheEntry[object.Object]{},
		names: map[string]cacheEntry[object.Object]{}, queries: map[string]cacheEntry[object.Page]{}}
}

func cached(t object.Type) bool { return slices.Contains(GlobalCacheTypes, t) }

func (c *GlobalCache) hit(t object.Type, ok bool) {
	if c.metrics == nil {
		return
	}
	if ok {
		c.metrics.CacheHit("global", string(t))
	} else {
		c.metrics.CacheMiss("global", string(t))
	}
}

// HoldOff makes the cache pass every read through until t. A node that just
// joined is not yet in its peers' lists, so it could miss their
// invalidations; it caches nothing until they have had time to learn of it
// (a few check-in intervals).
func (c *GlobalCache) HoldOff(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.coldUntil = t
}

func lookup[T any](c *GlobalCache, m map[string]cacheEntry[T], key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := m[key]
	if !ok || !c.now().Before(e.until) {
		var zero T
		return zero, false
	}
	return e.value, true
}

func store[T any](c *GlobalCache, m map[string]cacheEntry[T], key string, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Before(c.coldUntil) {
		return
	}
	m[key] = cacheEntry[T]{value: v, until: c.now().Add(c.ttl)}
}

// Get implements Store; cached types are served from memory. Callers get a copy.
func (c *GlobalCache) Get(ctx context.Context, t object.Type, oid string) (object.Object, error) {
	if !cached(t) {
		return c.Store.Get(ctx, t, oid)
	}
	key := string(t) + "/" + oid
	if o, ok := lookup(c, c.objects, key); ok {
		c.hit(t, true)
		return clone(o), nil
	}
	c.hit(t, false)
	o, err := c.Store.Get(ctx, t, oid)
	if err != nil {
		return nil, err
	}
	store(c, c.objects, key, clone(o))
	return o, nil
}

// GetByName implements Store.
func (c *GlobalCache) GetByName(ctx context.Context, t object.Type, name string) (object.Object, error) {
	if !cached(t) {
		return c.Store.GetByName(ctx, t, name)
	}
	key := string(t) + "/" + object.NormalizeName(name)
	if o, ok := lookup(c, c.names, key); ok {
		c.hit(t, true)
		return clone(o), nil
	}
	c.hit(t, false)
	o, err := c.Store.GetByName(ctx, t, name)
	if err != nil {
		return nil, err
	}
	store(c, c.names, key, clone(o))
	return o, nil
}

// Search implements Store; query results of cached types are kept too.
func (c *GlobalCache) Search(ctx context.Context, q object.Query) (object.Page, error) {
	if !cached(q.Type) {
		return c.Store.Search(ctx, q)
	}
	q = q.Normalize()
	key := queryKey(q)
	if p, ok := lookup(c, c.queries, key); ok {
		c.hit(q.Type, true)
		return clonePage(p), nil
	}
	c.hit(q.Type, false)
	p, err := c.Store.Search(ctx, q)
	if err != nil {
		return object.Page{}, err
	}
	store(c, c.queries, key, clonePage(p))
	return p, nil
}

// queryKey names a normalized query in the query caches.
func queryKey(q object.Query) string {
	return fmt.Sprintf("%s/%q/%q/%q/%d/%d", q.Type, q.Name, q.NameContains, q.After, q.Limit, q.Offset)
}

func clonePage(p object.Page) object.Page {
	out := object.Page{Total: p.Total, TotalEstimated: p.TotalEstimated, Next: p.Next, Items: make([]object.Object, len(p.Items))}
	for i, o := range p.Items {
		out.Items[i] = clone(o)
	}
	return out
}

// Add implements Store and invalidates locally.
func (c *GlobalCache) Add(ctx context.Context, o object.Object) error {
	defer c.Invalidate(o.Type(), o.ObjectMeta().OID)
	return c.Store.Add(ctx, o)
}

// Modify implements Store and invalidates locally.
func (c *GlobalCache) Modify(ctx context.Context, t object.Type, oid string, expected int64, now time.Time, change func(object.Object) error) (object.Object, error) {
	defer c.Invalidate(t, oid)
	return c.Store.Modify(ctx, t, oid, expected, now, change)
}

// Delete implements Store and invalidates locally.
func (c *GlobalCache) Delete(ctx context.Context, t object.Type, oid string) error {
	defer c.Invalidate(t, oid)
	return c.Store.Delete(ctx, t, oid)
}

// Invalidate drops a cached object (and every query and name entry of its
// type, which may include it); an empty type drops everything.
func (c *GlobalCache) Invalidate(t object.Type, oid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t == "" {
		clear(c.objects)
		clear(c.names)
		clear(c.queries)
		return
	}
	prefix := string(t) + "/"
	for _, m := range []map[string]cacheEntry[object.Object]{c.objects, c.names} {
		for k := range m {
			if len(k) > len(prefix) && k[:len(prefix)] == prefix && (oid == "" || m[k].value.ObjectMeta().OID == oid) {
				delete(m, k)
			}
		}
	}
	for k := range c.queries {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			delete(c.queries, k)
		}
	}
}

// Cached reports whether a type is globally cached.
func Cached(t object.Type) bool { return cached(t) }

// WriteMany implements Store and invalidates locally.
func (c *GlobalCache) WriteMany(ctx context.Context, objs []object.Object, now time.Time) ([]bool, error) {
	defer func() {
		for _, o := range objs {
			c.Invalidate(o.Type(), o.ObjectMeta().OID)
		}
	}()
	return c.Store.WriteMany(ctx, objs, now)
}

// AddMany implements Store and invalidates locally.
func (c *GlobalCache) AddMany(ctx context.Context, objs []object.Object) error {
	defer func() {
		for _, o := range objs {
			c.Invalidate(o.Type(), o.ObjectMeta().OID)
		}
	}()
	return c.Store.AddMany(ctx, objs)
}
