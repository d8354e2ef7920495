package hierarchy

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// cacheKey names a cache entry: the active version of a branch key (for
// encrypting) or one version (for decrypting), as the two scopes of the
// AWS keyring's cache identifiers. The cache belongs to one keyring, so
// the key store and partition need not be part of the key.
type cacheKey struct {
	decrypt bool
	id      string
	version string // "" for the active version
}

// cacheEntry holds materials that belong to the cache: they are only
// copied out, under the cache's lock, and their key is zeroed when the
// entry leaves the cache.
type cacheEntry struct {
	key     cacheKey
	mat     *BranchKeyMaterials
	created time.Time
	elem    *list.Element
	sweep   *time.Timer // removes the entry when its time to live ends
}

// flight is one fetch from the key store that concurrent misses of the same
// entry wait for.
type flight struct {
	done     chan struct{}
	finished bool // done is closed; guarded by the cache's mu
	waiters  int  // callers still to collect mat; guarded by the cache's mu
	mat      *BranchKeyMaterials
	err      error
}

// branchKeyCache is an LRU cache of branch key materials with a time to
// live per entry, and the fetches in flight to fill it.
type branchKeyCache struct {
	ttl      time.Duration
	capacity int
	now      func() time.Time // time.Now; tests replace it

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	lru     list.List // of *cacheEntry, most recently used first
	flights map[cacheKey]*flight
}

func newBranchKeyCache(ttl time.Duration, capacity int) *branchKeyCache {
	return &branchKeyCache{
		ttl: ttl, capacity: capacity, now: time.Now,
		entries: map[cacheKey]*cacheEntry{}, flights: map[cacheKey]*flight{},
	}
}

// errFetchPanicked is what waiters of a fetch that panicked get.
var errFetchPanicked = errors.New("hierarchy: the branch key store panicked")

// get returns a copy of the materials of key, from the cache or, on a miss,
// from fetch, which fills the cache. Concurrent misses of one key share one
// fetch; a waiter whose own ctx ends stops waiting, and if the fetch fails
// only because its starter's ctx ended, the others fetch again. The caller
// owns the returned copy (and should zero it).
func (c *branchKeyCache) get(ctx context.Context, key cacheKey, fetch func(context.Context) (*BranchKeyMaterials, error)) (*BranchKeyMaterials, error) {
	for {
		c.mu.Lock()
		if e := c.entries[key]; e != nil {
			if c.now().Sub(e.created) < c.ttl {
				c.lru.MoveToFront(e.elem)
				m := e.mat.clone()
				c.mu.Unlock()
				return m, nil
			}
			c.removeLocked(e)
		}
		if f := c.flights[key]; f != nil {
			f.waiters++
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				c.mu.Lock()
				c.leaveLocked(f)
				c.mu.Unlock()
				return nil, ctx.Err()
			}
			c.mu.Lock()
			var m *BranchKeyMaterials
			if f.err == nil {
				m = f.mat.clone()
			}
			c.leaveLocked(f)
			c.mu.Unlock()
			if f.err != nil {
				if (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
					continue // the fetch's starter gave up, not this caller
				}
				return nil, f.err
			}
			return m, nil
		}
		f := &flight{done: make(chan struct{})}
		c.flights[key] = f
		c.mu.Unlock()
		return c.fill(ctx, key, f, fetch)
	}
}

// fill runs fetch for the flight f it started and finishes f, even if fetch
// panics (the panic goes on to the caller, and the waiters get an error).
func (c *branchKeyCache) fill(ctx context.Context, key cacheKey, f *flight, fetch func(context.Context) (*BranchKeyMaterials, error)) (m *BranchKeyMaterials, err error) {
	finished := false
	defer func() {
		if !finished {
			c.finish(key, f, nil, errFetchPanicked)
		}
	}()
	m, err = fetch(ctx)
	if err == nil && m == nil {
		err = errors.New("hierarchy: the branch key store returned no materials and no error")
	}
	finished = true
	c.finish(key, f, m, err)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// finish ends flight f with materials m (put in the cache) or err.
func (c *branchKeyCache) finish(key cacheKey, f *flight, m *BranchKeyMaterials, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.flights, key)
	f.err = err
	if err == nil {
		c.putLocked(key, m.clone())
		if f.waiters > 0 {
			f.mat = m.clone()
		}
	}
	f.finished = true
	close(f.done)
}

// leaveLocked records that a waiter of f is done with it; the last one
// zeroes f's copy of the key.
func (c *branchKeyCache) leaveLocked(f *flight) {
	f.waiters--
	if f.waiters == 0 && f.finished {
		f.mat.zero()
	}
}

// putLocked adds m under key, replacing any entry of that key and evicting
// the least recently used entries beyond capacity.
func (c *branchKeyCache) putLocked(key cacheKey, m *BranchKeyMaterials) {
	if old := c.entries[key]; old != nil {
		c.removeLocked(old)
	}
	for c.lru.Len() >= c.capacity {
		c.removeLocked(c.lru.Back().Value.(*cacheEntry))
	}
	e := &cacheEntry{key: key, mat: m, created: c.now()}
	e.elem = c.lru.PushFront(e)
	c.entries[key] = e
	e.sweep = time.AfterFunc(c.ttl, func() { c.expire(e) })
}

// expire removes e at the end of its time to live, if it is still cached.
func (c *branchKeyCache) expire(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[e.key] == e {
		c.removeLocked(e)
	}
}

// removeLocked removes e and zeroes its key.
func (c *branchKeyCache) removeLocked(e *cacheEntry) {
	delete(c.entries, e.key)
	c.lru.Remove(e.elem)
	e.sweep.Stop()
	e.mat.zero()
}

// len returns the number of entries.
func (c *branchKeyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *branchKeyCache) String() string {
	return fmt.Sprintf("TTL %v, capacity %d", c.ttl, c.capacity)
}
