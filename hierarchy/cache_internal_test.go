package hierarchy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func testMaterials(t testing.TB, id string, b byte) *BranchKeyMaterials {
	t.Helper()
	m, err := NewBranchKeyMaterials(id, newUUID(), bytes.Repeat([]byte{b}, BranchKeyLen), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fetcher returns a fetch function counting its calls.
func fetcher(t testing.TB, id string, b byte, calls *int) func(context.Context) (*BranchKeyMaterials, error) {
	return func(context.Context) (*BranchKeyMaterials, error) {
		*calls++
		return testMaterials(t, id, b), nil
	}
}

// TestCacheTTL: an entry serves until its time to live ends (on a fake
// clock), then the next get fetches again; the expired entry's key is
// zeroed.
func TestCacheTTL(t *testing.T) {
	c := newBranchKeyCache(time.Minute, 10)
	now := time.Unix(1_700_000_000, 0)
	c.now = func() time.Time { return now }
	calls := 0
	key := cacheKey{id: "bk"}
	first, err := c.get(context.Background(), key, fetcher(t, "bk", 1, &calls))
	if err != nil {
		t.Fatal(err)
	}
	cached := c.entries[key].mat
	now = now.Add(59 * time.Second)
	if m, _ := c.get(context.Background(), key, fetcher(t, "bk", 2, &calls)); calls != 1 || !bytes.Equal(m.Key(), first.Key()) {
		t.Errorf("get() within the time to live fetched (%d calls) or returned another key", calls)
	}
	now = now.Add(time.Second)
	if m, _ := c.get(context.Background(), key, fetcher(t, "bk", 2, &calls)); calls != 2 || m.Key()[0] != 2 {
		t.Errorf("get() at the end of the time to live = key %x after %d calls, want a new fetch", m.Key()[0], calls)
	}
	if !bytes.Equal(cached.Key(), make([]byte, BranchKeyLen)) {
		t.Error("the expired entry's key was not zeroed")
	}
	// The caller's copies are its own: zeroing them leaves the cache's.
	m, _ := c.get(context.Background(), key, fetcher(t, "bk", 3, &calls))
	m.zero()
	if again, _ := c.get(context.Background(), key, fetcher(t, "bk", 3, &calls)); again.Key()[0] != 2 {
		t.Error("zeroing a returned copy changed the cached key")
	}
}

// TestCacheSweep: the timer of an entry removes it, zeroing its key, when
// its time to live ends, whether or not it is used again.
func TestCacheSweep(t *testing.T) {
	c := newBranchKeyCache(20*time.Millisecond, 10)
	calls := 0
	if _, err := c.get(context.Background(), cacheKey{id: "bk"}, fetcher(t, "bk", 1, &calls)); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	m := c.entries[cacheKey{id: "bk"}].mat
	c.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for c.len() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.len() != 0 {
		t.Fatal("the entry was not swept")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !bytes.Equal(m.Key(), make([]byte, BranchKeyLen)) {
		t.Error("the swept entry's key was not zeroed")
	}
}

// TestCacheCapacity: beyond capacity the least recently used entry leaves
// (zeroed); versions and the active key are separate entries.
func TestCacheCapacity(t *testing.T) {
	c := newBranchKeyCache(time.Hour, 2)
	calls := 0
	get := func(k cacheKey) {
		if _, err := c.get(context.Background(), k, fetcher(t, k.id, 1, &calls)); err != nil {
			t.Fatal(err)
		}
	}
	a, b, v := cacheKey{id: "a"}, cacheKey{id: "b"}, cacheKey{decrypt: true, id: "a", version: "v"}
	get(a)
	get(b)
	get(a) // a is now the most recent
	evicted := c.entries[b].mat
	get(v) // evicts b
	if calls != 3 || c.len() != 2 || c.entries[b] != nil || c.entries[a] == nil {
		t.Errorf("after a, b, a, v with capacity 2: %d fetches, %d entries, b cached %v; want 3, 2, false", calls, c.len(), c.entries[b] != nil)
	}
	if !bytes.Equal(evicted.Key(), make([]byte, BranchKeyLen)) {
		t.Error("the evicted entry's key was not zeroed")
	}
	get(b)
	if calls != 4 {
		t.Errorf("b after its eviction: %d fetches, want 4", calls)
	}
}

// TestCacheFlight: concurrent misses share one fetch; a failed fetch is
// not cached and its error reaches every waiter; a panicking fetch panics
// in its caller and fails its waiters.
func TestCacheFlight(t *testing.T) {
	c := newBranchKeyCache(time.Hour, 10)
	release := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	slow := func(b byte, err error) func(context.Context) (*BranchKeyMaterials, error) {
		return func(context.Context) (*BranchKeyMaterials, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			<-release
			if err != nil {
				return nil, err
			}
			return testMaterials(t, "bk", b), nil
		}
	}
	run := func(key cacheKey, fetch func(context.Context) (*BranchKeyMaterials, error)) []error {
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() {
				m, err := c.get(context.Background(), key, fetch)
				if err == nil && m.Key()[0] != 5 {
					err = fmt.Errorf("got key %x", m.Key()[0])
				}
				errs[i] = err
			})
		}
		// Let the callers pile up on the one fetch, then release it.
		for {
			c.mu.Lock()
			f := c.flights[key]
			waiting := f != nil && f.waiters == len(errs)-1
			c.mu.Unlock()
			if waiting {
				break
			}
			time.Sleep(time.Millisecond)
		}
		release <- struct{}{}
		wg.Wait()
		return errs
	}
	for _, err := range run(cacheKey{id: "ok"}, slow(5, nil)) {
		if err != nil {
			t.Errorf("get() = %v", err)
		}
	}
	if calls != 1 {
		t.Errorf("20 concurrent misses made %d fetches, want 1", calls)
	}
	boom := errors.New("boom")
	calls = 0
	for _, err := range run(cacheKey{id: "fail"}, slow(5, boom)) {
		if !errors.Is(err, boom) {
			t.Errorf("get(failing fetch) = %v, want boom", err)
		}
	}
	if calls != 1 || c.entries[cacheKey{id: "fail"}] != nil {
		t.Errorf("a failed fetch: %d calls, cached %v; want 1 call, not cached", calls, c.entries[cacheKey{id: "fail"}] != nil)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a panicking fetch did not panic in its caller")
			}
		}()
		c.get(context.Background(), cacheKey{id: "panic"}, func(context.Context) (*BranchKeyMaterials, error) { panic("store bug") })
	}()
	if len(c.flights) != 0 {
		t.Error("a panicking fetch left its flight behind")
	}
}

// TestDeriveWrappingKey checks the stack HMAC of deriveWrappingKey against
// crypto/hmac over the KDF input of NIST SP 800-108 counter mode.
func TestDeriveWrappingKey(t *testing.T) {
	for i := range 20 {
		bk := bytes.Repeat([]byte{byte(i), byte(3 * i)}, BranchKeyLen/2)
		salt := bytes.Repeat([]byte{byte(7 * i)}, saltLen)
		mac := hmac.New(sha256.New, bk)
		mac.Write([]byte{0, 0, 0, 1})
		mac.Write([]byte("aws-kms-hierarchy"))
		mac.Write([]byte{0})
		mac.Write(salt)
		mac.Write([]byte{0, 0, 1, 0})
		var got [32]byte
		deriveWrappingKey(&got, bk, salt)
		if want := mac.Sum(nil); !bytes.Equal(got[:], want) {
			t.Errorf("deriveWrappingKey(key %d) = %x, want %x", i, got, want)
		}
	}
}
