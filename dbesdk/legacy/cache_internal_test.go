package legacy

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestKeyCache(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := newKeyCache(2, time.Minute)
	c.now = func() time.Time { return now }
	ctx := context.Background()
	var fetches int
	fetch := func(context.Context) (*kmsKeys, error) { fetches++; return &kmsKeys{}, nil }
	id := func(b byte) [32]byte { return [32]byte{b} }

	a, _ := c.get(ctx, id(1), fetch)
	if a2, _ := c.get(ctx, id(1), fetch); a2 != a || fetches != 1 {
		t.Errorf("second get: %d fetches, same keys %v; want 1, true", fetches, a2 == a)
	}
	now = now.Add(time.Minute) // expired at exactly maxAge
	if _, _ = c.get(ctx, id(1), fetch); fetches != 2 {
		t.Errorf("after maxAge: %d fetches, want 2", fetches)
	}
	c.get(ctx, id(2), fetch)
	c.get(ctx, id(1), fetch) // 1 is now the most recent
	c.get(ctx, id(3), fetch) // evicts 2
	if c.len() != 2 {
		t.Errorf("len() = %d, want 2", c.len())
	}
	fetches = 0
	c.get(ctx, id(1), fetch)
	c.get(ctx, id(3), fetch)
	if fetches != 0 {
		t.Errorf("recent keys refetched %d times", fetches)
	}
	c.get(ctx, id(2), fetch)
	if fetches != 1 {
		t.Errorf("evicted key: %d fetches, want 1", fetches)
	}

	// A failed fetch is not cached, and waiters try again themselves.
	fail := errors.New("boom")
	if _, err := c.get(ctx, id(9), func(context.Context) (*kmsKeys, error) { return nil, fail }); err != fail {
		t.Errorf("get() = %v, want the fetch error", err)
	}
	var calls atomic.Int32
	release := make(chan struct{})
	slowFail := func(context.Context) (*kmsKeys, error) {
		if calls.Add(1) == 1 {
			<-release
			return nil, fail
		}
		return &kmsKeys{}, nil
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.get(ctx, id(8), slowFail) })
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed != 1 || calls.Load() != 2 {
		t.Errorf("leader failed: %d callers failed, %d fetches; want 1 and 2", failed, calls.Load())
	}
	// A waiter whose context ends stops waiting.
	block := make(chan struct{})
	go c.get(ctx, id(7), func(context.Context) (*kmsKeys, error) { <-block; return &kmsKeys{}, nil })
	time.Sleep(10 * time.Millisecond)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.get(cctx, id(7), fetch); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: get() = %v, want context.Canceled", err)
	}
	close(block)
}
