package legacy

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// keyCache keeps the keys derived from decrypted Direct KMS data keys, least
// recently used first out, each for at most maxAge. Concurrent lookups of a
// key that is not cached share one fetch.
type keyCache struct {
	capacity int
	maxAge   time.Duration
	now      func() time.Time

	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, most recently used at the front
	entries map[[32]byte]*list.Element
	flights map[[32]byte]*flight
}

type cacheEntry struct {
	id      [32]byte
	keys    *kmsKeys
	expires time.Time
}

type flight struct {
	done chan struct{}
	keys *kmsKeys
	err  error
}

func newKeyCache(capacity int, maxAge time.Duration) *keyCache {
	return &keyCache{
		capacity: capacity,
		maxAge:   maxAge,
		now:      time.Now,
		lru:      list.New(),
		entries:  map[[32]byte]*list.Element{},
		flights:  map[[32]byte]*flight{},
	}
}

// lookupLocked returns the live entry for id, dropping it if it expired.
func (c *keyCache) lookupLocked(id [32]byte) *kmsKeys {
	el, ok := c.entries[id]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.lru.Remove(el)
		delete(c.entries, id)
		return nil
	}
	c.lru.MoveToFront(el)
	return e.keys
}

func (c *keyCache) putLocked(id [32]byte, keys *kmsKeys) {
	if el, ok := c.entries[id]; ok {
		e := el.Value.(*cacheEntry)
		e.keys, e.expires = keys, c.now().Add(c.maxAge)
		c.lru.MoveToFront(el)
		return
	}
	c.entries[id] = c.lru.PushFront(&cacheEntry{id: id, keys: keys, expires: c.now().Add(c.maxAge)})
	for c.lru.Len() > c.capacity {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).id)
	}
}

func (c *keyCache) put(id [32]byte, keys *kmsKeys) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(id, keys)
}

// get returns the cached keys for id, or fetches them once for all
// concurrent callers. If the fetch fails, callers that were waiting for it
// try again with their own context rather than inherit an error that may
// be the first caller's (its context ended).
func (c *keyCache) get(ctx context.Context, id [32]byte, fetch func(context.Context) (*kmsKeys, error)) (*kmsKeys, error) {
	for {
		c.mu.Lock()
		if keys := c.lookupLocked(id); keys != nil {
			c.mu.Unlock()
			return keys, nil
		}
		if f, ok := c.flights[id]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
				if f.err == nil {
					return f.keys, nil
				}
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		f := &flight{done: make(chan struct{})}
		c.flights[id] = f
		c.mu.Unlock()

		keys, err := fetch(ctx)

		c.mu.Lock()
		delete(c.flights, id)
		if err == nil {
			c.putLocked(id, keys)
		}
		f.keys, f.err = keys, err
		close(f.done)
		c.mu.Unlock()
		return keys, err
	}
}

// len returns the number of cached keys, expired ones included.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
