package esdk

import (
	"container/list"
	"context"
	"crypto/sha512"
	"sync"
	"time"
)

// cacheID names a cache entry: a SHA-384 digest (see CachingCMM.encryptID).
type cacheID [sha512.Size384]byte

// cacheEntry holds the materials of one entry, which belong to the cache
// (a copy of what the underlying manager returned): they are only ever
// copied out, under the cache's lock, and their data key is zeroed when the
// entry is removed.
type cacheEntry struct {
	id      cacheID
	elem    *list.Element
	enc     *EncryptionMaterials // one of enc and dec is set
	dec     *DecryptionMaterials
	expires time.Time
	sweep   *time.Timer // removes the entry at the end of its max age
	// Usage of encryption materials, the message that created the entry
	// included.
	messages uint64
	bytes    uint64
}

// flight is one call of the underlying manager that concurrent misses of
// the same entry wait for. Its results are written before done is closed.
type flight struct {
	done     chan struct{}
	waiters  int // callers waiting; guarded by materialsCache.mu
	cancel   context.CancelFunc
	err      error
	enc      *EncryptionMaterials // the starter's own materials
	dec      *DecryptionMaterials
	panicked any
}

// materialsCache is an LRU cache of materials with per-entry expiry, and
// the set of calls in flight to fill it.
type materialsCache struct {
	now      func() time.Time // time.Now; tests replace it
	capacity int

	mu      sync.Mutex
	entries map[cacheID]*cacheEntry
	lru     list.List // of *cacheEntry, most recently used first
	flights map[cacheID]*flight
}

func newMaterialsCache(capacity int, now func() time.Time) *materialsCache {
	return &materialsCache{
		now:      now,
		capacity: capacity,
		entries:  make(map[cacheID]*cacheEntry),
		flights:  make(map[cacheID]*flight),
	}
}

// takeEncryptOrJoin returns a copy of the encryption materials of entry id,
// counting one message of n bytes against it, or, if there is no such entry
// or it is expired or used up (then it is removed), the flight filling it,
// as join does. Both happen under one lock: a caller that missed must not
// see the flight end and the entry arrive between its miss and its join, or
// it would start a second call for an entry that was just filled (and its
// result would replace that entry, uses left and all).
func (c *materialsCache) takeEncryptOrJoin(ctx context.Context, id cacheID, n, maxMessages, maxBytes uint64) (
	m *EncryptionMaterials, f *flight, fctx context.Context, starter bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[id]; e != nil && e.enc != nil {
		if c.now().Before(e.expires) && e.messages < maxMessages && n <= maxBytes-e.bytes {
			e.messages++
			e.bytes += n
			c.lru.MoveToFront(e.elem)
			return e.enc.Clone(), nil, nil, false
		}
		c.removeLocked(e)
	}
	f, fctx, starter = c.joinLocked(ctx, id)
	return nil, f, fctx, starter
}

// takeDecryptOrJoin returns a copy of the decryption materials of entry id,
// or, if there is no such entry or it is expired (then it is removed), the
// flight filling it, under one lock as takeEncryptOrJoin does.
func (c *materialsCache) takeDecryptOrJoin(ctx context.Context, id cacheID) (
	m *DecryptionMaterials, f *flight, fctx context.Context, starter bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[id]; e != nil && e.dec != nil {
		if c.now().Before(e.expires) {
			c.lru.MoveToFront(e.elem)
			return e.dec.Clone(), nil, nil, false
		}
		c.removeLocked(e)
	}
	f, fctx, starter = c.joinLocked(ctx, id)
	return nil, f, fctx, starter
}

// joinLocked returns the flight filling entry id, starting one if there is
// none: then starter is true and the caller must run the call with fctx and
// end it with finish. fctx carries ctx's values but is cancelled only when
// every waiter has left.
func (c *materialsCache) joinLocked(ctx context.Context, id cacheID) (f *flight, fctx context.Context, starter bool) {
	if f := c.flights[id]; f != nil {
		f.waiters++
		return f, nil, false
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
	c.flights[id] = f
	return f, fctx, true
}

// wait waits for f to finish, or for ctx to be done: then the caller leaves
// f, which is cancelled if no one else waits for it, and wait returns ctx's
// error.
func (c *materialsCache) wait(ctx context.Context, id cacheID, f *flight) error {
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
	}
	c.mu.Lock()
	f.waiters--
	abandoned := f.waiters == 0
	if abandoned && c.flights[id] == f {
		// Later callers start afresh rather than join a cancelled call.
		delete(c.flights, id)
	}
	c.mu.Unlock()
	if abandoned {
		f.cancel()
	}
	return context.Cause(ctx)
}

// finish ends flight f: it caches e (if not nil) for maxAge and wakes the
// waiters.
func (c *materialsCache) finish(id cacheID, f *flight, e *cacheEntry, maxAge time.Duration) {
	c.mu.Lock()
	if c.flights[id] == f {
		delete(c.flights, id)
	}
	if e != nil && f.panicked == nil {
		c.putLocked(e, maxAge)
	}
	close(f.done)
	c.mu.Unlock()
	f.cancel()
}

// putLocked inserts e, replacing any entry with its ID, then evicts the least
// recently used entries beyond the capacity and expired ones at the tail.
func (c *materialsCache) putLocked(e *cacheEntry, maxAge time.Duration) {
	now := c.now()
	e.expires = now.Add(maxAge)
	if old := c.entries[e.id]; old != nil {
		c.removeLocked(old)
	}
	e.elem = c.lru.PushFront(e)
	c.entries[e.id] = e
	// Without the sweep, an expired entry that no request looks up would
	// keep its data key in memory until it is evicted.
	e.sweep = time.AfterFunc(maxAge, func() { c.expire(e) })
	for c.lru.Len() > c.capacity {
		c.removeLocked(c.lru.Back().Value.(*cacheEntry))
	}
	for b := c.lru.Back(); b != nil && b != e.elem; b = c.lru.Back() {
		old := b.Value.(*cacheEntry)
		if now.Before(old.expires) {
			break
		}
		c.removeLocked(old)
	}
}

// expire removes e at the end of its max age, if it is still cached.
func (c *materialsCache) expire(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[e.id] == e {
		c.removeLocked(e)
	}
}

// removeLocked drops e and zeroes its data key: every copy handed out was
// made under the lock before, so no one reads it.
func (c *materialsCache) removeLocked(e *cacheEntry) {
	delete(c.entries, e.id)
	c.lru.Remove(e.elem)
	if e.sweep != nil {
		e.sweep.Stop()
	}
	if e.enc != nil {
		clear(e.enc.DataKey())
		for _, k := range e.enc.symmetricKeys {
			clear(k.bytes())
		}
	}
	if e.dec != nil {
		clear(e.dec.DataKey())
		clear(e.dec.SymmetricSigningKey())
	}
}

// len returns the number of entries (for tests).
func (c *materialsCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
