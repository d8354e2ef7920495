package esdk

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// spyCMM counts the calls to a materials manager and can hold them at a
// gate, fail them or panic in them.
type spyCMM struct {
	next               MaterialsManager
	encrypts, decrypts atomic.Int64
	gate               chan struct{} // if not nil, calls wait until it is closed or their ctx is done
	ctxDone            atomic.Int64  // calls that saw their ctx done at the gate
	panicWith          any
}

func (s *spyCMM) hold(ctx context.Context) error {
	if s.panicWith != nil {
		panic(s.panicWith)
	}
	if s.gate == nil {
		return nil
	}
	select {
	case <-s.gate:
		return nil
	case <-ctx.Done():
		s.ctxDone.Add(1)
		return ctx.Err()
	}
}

func (s *spyCMM) EncryptionMaterials(ctx context.Context, req EncryptionMaterialsRequest) (*EncryptionMaterials, error) {
	s.encrypts.Add(1)
	if err := s.hold(ctx); err != nil {
		return nil, err
	}
	return s.next.EncryptionMaterials(ctx, req)
}

func (s *spyCMM) DecryptionMaterials(ctx context.Context, req DecryptionMaterialsRequest) (*DecryptionMaterials, error) {
	s.decrypts.Add(1)
	if err := s.hold(ctx); err != nil {
		return nil, err
	}
	return s.next.DecryptionMaterials(ctx, req)
}

// fakeClock is the time of a cache under test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newCachingSpy returns a caching manager over a spy over a raw AES default
// manager, with a fake clock.
func newCachingSpy(t testing.TB, opts ...CachingOption) (*CachingCMM, *spyCMM, *fakeClock) {
	t.Helper()
	spy := &spyCMM{next: mustCMM(t, mustAESKeyring(t, bytes.Repeat([]byte{7}, 32)))}
	c, err := NewCachingCMM(spy, opts...)
	if err != nil {
		t.Fatalf("NewCachingCMM() = %v", err)
	}
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c.cache.now = clock.now
	return c, spy, clock
}

func encReq(ec map[string]string, suite Suite, n int64) EncryptionMaterialsRequest {
	return EncryptionMaterialsRequest{Suite: suite, EncryptionContext: ec, CommitmentPolicy: RequireEncryptRequireDecrypt, PlaintextLength: n}
}

func mustEncryptionMaterials(t testing.TB, mm MaterialsManager, req EncryptionMaterialsRequest) *EncryptionMaterials {
	t.Helper()
	m, err := mm.EncryptionMaterials(context.Background(), req)
	if err != nil {
		t.Fatalf("EncryptionMaterials(%v) = %v", req.EncryptionContext, err)
	}
	return m
}

// TestCachingEncryptThroughClient encrypts 1,000 messages (100 signed ones,
// slow under the race detector) under one context with the caching
// manager: the underlying manager is asked once, every
// message carries the same encrypted data key (and, signed, the same
// verification key), and every message decrypts without the cache.
func TestCachingEncryptThroughClient(t *testing.T) {
	for _, tt := range []struct {
		suite Suite
		n     int
	}{{AES256GCMHKDFSHA512CommitKey, 1000}, {AES256GCMHKDFSHA512CommitKeyECDSAP384, 100}} {
		suite := tt.suite
		t.Run(suite.String(), func(t *testing.T) {
			t.Parallel()
			c, spy, _ := newCachingSpy(t)
			client := mustClient(t)
			plain := mustCMM(t, mustAESKeyring(t, bytes.Repeat([]byte{7}, 32)))
			ec := map[string]string{"tenant": "acme"}
			var first *Header
			for i := range tt.n {
				pt := []byte(fmt.Sprintf("message %d", i))
				msg, err := client.Encrypt(context.Background(), pt, c, WithSuite(suite), WithEncryptionContext(ec))
				if err != nil {
					t.Fatalf("Encrypt(%d) = %v", i, err)
				}
				got, h, err := client.Decrypt(context.Background(), msg, plain, WithExpectedContext(ec))
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("Decrypt(message %d) = %q, %v, want %q", i, got, err, pt)
				}
				if first == nil {
					first = h
					continue
				}
				if !bytes.Equal(h.EncryptedDataKeys[0].Ciphertext, first.EncryptedDataKeys[0].Ciphertext) ||
					h.EncryptionContext[PublicKeyContextKey] != first.EncryptionContext[PublicKeyContextKey] {
					t.Fatalf("message %d has another encrypted data key or verification key than message 0", i)
				}
			}
			if n := spy.encrypts.Load(); n != 1 {
				t.Errorf("%d encrypts made %d underlying EncryptionMaterials calls, want 1", tt.n, n)
			}
		})
	}
}

// TestCachingEncryptPartitions checks that entries are per context, suite
// (or none requested) and required keys, and that repeats hit.
func TestCachingEncryptPartitions(t *testing.T) {
	c, spy, _ := newCachingSpy(t)
	a := map[string]string{"k": "a"}
	reqs := []EncryptionMaterialsRequest{
		encReq(nil, 0, 10),
		encReq(map[string]string{}, AES256GCMHKDFSHA512CommitKey, 10),
		encReq(nil, AES256GCMHKDFSHA512CommitKeyECDSAP384, 10),
		encReq(a, 0, 10),
		encReq(a, AES256GCMHKDFSHA512CommitKey, 10),
		encReq(map[string]string{"k": "b"}, AES256GCMHKDFSHA512CommitKey, 10),
		encReq(map[string]string{"k": "a", "l": ""}, AES256GCMHKDFSHA512CommitKey, 10),
		{Suite: AES256GCMHKDFSHA512CommitKey, EncryptionContext: a, CommitmentPolicy: RequireEncryptRequireDecrypt, PlaintextLength: 10, RequiredContextKeys: []string{"k"}},
	}
	keys := map[string]int{}
	for round := range 3 {
		for i, req := range reqs {
			m := mustEncryptionMaterials(t, c, req)
			if round == 0 {
				keys[string(m.DataKey())] = i
			} else if j, ok := keys[string(m.DataKey())]; !ok || j != i {
				t.Fatalf("round %d: request %d got the data key of request %d (found %v)", round, i, j, ok)
			}
			if req.Suite != 0 && m.Suite != req.Suite {
				t.Fatalf("request %d: suite %v, want %v", i, m.Suite, req.Suite)
			}
		}
	}
	if len(keys) != len(reqs) {
		t.Errorf("%d requests got %d distinct data keys, want %d", len(reqs), len(keys), len(reqs))
	}
	if n := spy.encrypts.Load(); n != int64(len(reqs)) {
		t.Errorf("3 rounds of %d requests made %d underlying calls, want %d", len(reqs), n, len(reqs))
	}
}

// TestCachingEncryptLimits checks each limit: a message over a limit gets
// new materials, and requests the specification excludes never use the
// cache.
func TestCachingEncryptLimits(t *testing.T) {
	ec := map[string]string{"purpose": "limits"}
	tests := []struct {
		name      string
		opts      []CachingOption
		lengths   []int64 // one request per length
		wantCalls int64
	}{
		{"defaults", nil, repeat(100, 25), 1},
		{"messages=10", []CachingOption{WithCacheMaxMessages(10)}, repeat(10, 25), 3},
		{"messages=1", []CachingOption{WithCacheMaxMessages(1)}, repeat(10, 5), 5},
		{"bytes=100", []CachingOption{WithCacheMaxBytes(100)}, repeat(10, 25), 3},
		{"bytes=100/exact", []CachingOption{WithCacheMaxBytes(100)}, []int64{60, 40, 1, 100, 0}, 3},
		{"bytes=100/over", []CachingOption{WithCacheMaxBytes(100)}, repeat(101, 5), 5},
		{"bytes=0/empty", []CachingOption{WithCacheMaxBytes(0)}, repeat(0, 5), 1},
		{"unknown-length", nil, repeat(-1, 5), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, spy, _ := newCachingSpy(t, tt.opts...)
			for _, n := range tt.lengths {
				mustEncryptionMaterials(t, c, encReq(ec, AES256GCMHKDFSHA512CommitKey, n))
			}
			if n := spy.encrypts.Load(); n != tt.wantCalls {
				t.Errorf("%d requests made %d underlying calls, want %d", len(tt.lengths), n, tt.wantCalls)
			}
		})
	}
}

func repeat(n int64, count int) []int64 {
	s := make([]int64, count)
	for i := range s {
		s[i] = n
	}
	return s
}

// TestCachingMaxAge checks that encryption and decryption entries serve
// until they are max-age old, and not at that age.
func TestCachingMaxAge(t *testing.T) {
	const maxAge = 10 * time.Second
	c, spy, clock := newCachingSpy(t, WithCacheMaxAge(maxAge))
	ec := map[string]string{"purpose": "age"}
	req := encReq(ec, AES256GCMHKDFSHA512CommitKey, 1)
	m := mustEncryptionMaterials(t, c, req)
	dreq := DecryptionMaterialsRequest{
		Suite: m.Suite, CommitmentPolicy: RequireEncryptRequireDecrypt,
		EncryptedDataKeys: m.EncryptedDataKeys, EncryptionContext: m.EncryptionContext,
	}
	if _, err := c.DecryptionMaterials(context.Background(), dreq); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance          time.Duration
		wantEnc, wantDec int64
	}{
		{0, 1, 1},
		{maxAge - time.Nanosecond, 1, 1},
		{time.Nanosecond, 2, 2}, // exactly max-age old: expired
		{maxAge / 2, 2, 2},
		{maxAge / 2, 3, 3},
	}
	for i, s := range steps {
		clock.advance(s.advance)
		mustEncryptionMaterials(t, c, req)
		if _, err := c.DecryptionMaterials(context.Background(), dreq); err != nil {
			t.Fatal(err)
		}
		if e, d := spy.encrypts.Load(), spy.decrypts.Load(); e != s.wantEnc || d != s.wantDec {
			t.Fatalf("step %d: %d encrypt and %d decrypt calls, want %d and %d", i, e, d, s.wantEnc, s.wantDec)
		}
	}
}

// TestCachingDecrypt decrypts 1,000 messages that share a data key with one
// underlying call, and checks what separates decryption entries.
func TestCachingDecrypt(t *testing.T) {
	ctx := context.Background()
	client := mustClient(t)
	kr := mustAESKeyring(t, bytes.Repeat([]byte{7}, 32))
	enc, err := NewCachingCMM(mustCMM(t, kr))
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"tenant": "acme"}
	msgs := make([][]byte, 1000)
	for i := range msgs {
		if msgs[i], err = client.Encrypt(ctx, []byte(fmt.Sprint(i)), enc, WithEncryptionContext(ec), WithSuite(AES256GCMHKDFSHA512CommitKey)); err != nil {
			t.Fatal(err)
		}
	}
	c, spy, _ := newCachingSpy(t)
	for i, msg := range msgs {
		pt, _, err := client.Decrypt(ctx, msg, c, WithExpectedContext(ec))
		if err != nil || string(pt) != fmt.Sprint(i) {
			t.Fatalf("Decrypt(message %d) = %q, %v", i, pt, err)
		}
	}
	if n := spy.decrypts.Load(); n != 1 {
		t.Errorf("1000 decrypts of messages under one data key made %d underlying calls, want 1", n)
	}

	// Distinct data keys are distinct entries; a reproduced context is
	// part of the entry.
	plain := mustCMM(t, kr)
	other, err := client.Encrypt(ctx, []byte("x"), plain, WithEncryptionContext(ec))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := client.Decrypt(ctx, other, c); err != nil {
			t.Fatal(err)
		}
		if _, _, err := client.Decrypt(ctx, other, c, WithReproducedContext(map[string]string{"tenant": "acme"})); err != nil {
			t.Fatal(err)
		}
		// Pairs the message lacks are bound to the data key (raw AES): a
		// fresh entry, and a failure that is not cached.
		if _, _, err := client.Decrypt(ctx, other, c, WithReproducedContext(map[string]string{"extra": "x"})); !errors.Is(err, ErrNoDecryptKey) {
			t.Fatalf("Decrypt(reproduced extra pair) = %v, want ErrNoDecryptKey", err)
		}
	}
	if n := spy.decrypts.Load(); n != 6 {
		t.Errorf("after the other message: %d underlying calls, want 6 (1 + 2 entries + 3 failures)", n)
	}
}

// TestCachingDecryptErrorsNotCached checks that a failure is returned as it
// is and asked again next time.
func TestCachingDecryptErrorsNotCached(t *testing.T) {
	ctx := context.Background()
	client := mustClient(t)
	msg, err := client.Encrypt(ctx, []byte("x"), mustCMM(t, mustAESKeyring(t, bytes.Repeat([]byte{1}, 32))))
	if err != nil {
		t.Fatal(err)
	}
	c, spy, _ := newCachingSpy(t) // another key
	for i := range 3 {
		_, _, err := client.Decrypt(ctx, msg, c)
		var nk *NoDecryptKeyError
		if !errors.As(err, &nk) {
			t.Fatalf("Decrypt(wrong key) = %v, want *NoDecryptKeyError", err)
		}
		if n := spy.decrypts.Load(); n != int64(i+1) {
			t.Fatalf("decrypt %d: %d underlying calls, want %d", i, n, i+1)
		}
	}
}

// TestCachingLegacySuites checks that identity-KDF suites bypass the cache
// and HKDF legacy suites use it.
func TestCachingLegacySuites(t *testing.T) {
	ctx := context.Background()
	kr := mustAESKeyring(t, bytes.Repeat([]byte{7}, 32))
	client := mustClient(t, WithCommitmentPolicy(RequireEncryptAllowLegacyDecrypt))
	for _, tt := range []struct {
		suite     uint16
		wantCalls int64
	}{
		{0x0014, 3}, {0x0046, 3}, {0x0078, 3}, {0x0178, 1}, {0x0378, 1}, {0x0478, 1},
	} {
		t.Run(fmt.Sprintf("%04x", tt.suite), func(t *testing.T) {
			c, spy, _ := newCachingSpy(t)
			msg := buildMessage(t, kr, msgSpec{suite: tt.suite, frameLen: 64, plaintext: []byte("old")})
			for range 3 {
				if pt, _, err := client.Decrypt(ctx, msg, c); err != nil || string(pt) != "old" {
					t.Fatalf("Decrypt() = %q, %v", pt, err)
				}
			}
			if n := spy.decrypts.Load(); n != tt.wantCalls {
				t.Errorf("3 decrypts made %d underlying calls, want %d", n, tt.wantCalls)
			}
			if Suite(tt.suite).DerivesKey() {
				return
			}
			// Nor are they cached on encrypt (no Client writes them; ask
			// the manager directly).
			for range 2 {
				_, err := c.EncryptionMaterials(ctx, encReq(nil, Suite(tt.suite), 1))
				if err == nil {
					t.Fatalf("EncryptionMaterials(suite %04x) succeeded, want the default manager's refusal", tt.suite)
				}
			}
			if n := spy.encrypts.Load(); n != 2 {
				t.Errorf("2 encrypt requests for suite %04x made %d underlying calls, want 2", tt.suite, n)
			}
		})
	}
	// The policy is checked before the cache: a strict request for a
	// legacy suite reaches the underlying manager, which refuses it.
	c, _, _ := newCachingSpy(t)
	msg := buildMessage(t, kr, msgSpec{suite: 0x0178, frameLen: 64, plaintext: []byte("old")})
	if _, _, err := client.Decrypt(ctx, msg, c); err != nil {
		t.Fatal(err)
	}
	h := mustHeader(t, msg)
	_, err := c.DecryptionMaterials(ctx, DecryptionMaterialsRequest{
		Suite: h.Suite, CommitmentPolicy: RequireEncryptRequireDecrypt, EncryptedDataKeys: h.EncryptedDataKeys, EncryptionContext: h.EncryptionContext,
	})
	if !errors.Is(err, ErrLegacySuite) {
		t.Errorf("DecryptionMaterials(legacy suite, strict policy) with a cached entry = %v, want ErrLegacySuite", err)
	}
}

func mustHeader(t testing.TB, msg []byte) *Header {
	t.Helper()
	kr := mustAESKeyring(t, bytes.Repeat([]byte{7}, 32))
	_, h, err := mustClient(t, WithCommitmentPolicy(RequireEncryptAllowLegacyDecrypt)).Decrypt(context.Background(), msg, mustCMM(t, kr))
	if err != nil {
		t.Fatalf("Decrypt() = %v", err)
	}
	return h
}

// TestCachingLRU checks eviction of the least recently used entry and that
// its data key is zeroed.
func TestCachingLRU(t *testing.T) {
	c, spy, _ := newCachingSpy(t, WithCacheCapacity(2))
	req := func(v string) EncryptionMaterialsRequest {
		return encReq(map[string]string{"k": v}, AES256GCMHKDFSHA512CommitKey, 1)
	}
	mustEncryptionMaterials(t, c, req("a"))
	idA, _ := c.encryptID(req("a"))
	c.cache.mu.Lock()
	entryA := c.cache.entries[idA]
	c.cache.mu.Unlock()
	if entryA == nil || isZero(entryA.enc.DataKey()) {
		t.Fatal("no entry with a data key for a")
	}
	mustEncryptionMaterials(t, c, req("b"))
	mustEncryptionMaterials(t, c, req("a")) // a is now the most recent
	mustEncryptionMaterials(t, c, req("c")) // evicts b
	if n := spy.encrypts.Load(); n != 3 {
		t.Fatalf("a, b, a, c: %d underlying calls, want 3", n)
	}
	mustEncryptionMaterials(t, c, req("a"))
	mustEncryptionMaterials(t, c, req("c"))
	if n := spy.encrypts.Load(); n != 3 {
		t.Fatalf("a and c again: %d underlying calls, want 3 (both cached)", n)
	}
	mustEncryptionMaterials(t, c, req("b")) // evicts a
	if n, l := spy.encrypts.Load(), c.cache.len(); n != 4 || l != 2 {
		t.Fatalf("b again: %d underlying calls and %d entries, want 4 and 2", n, l)
	}
	if !isZero(entryA.enc.DataKey()) {
		t.Error("the evicted entry's data key was not zeroed")
	}
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return len(b) > 0
}

// TestCachingCopies checks that callers get copies: changing what one got
// changes nothing for the next.
func TestCachingCopies(t *testing.T) {
	c, _, _ := newCachingSpy(t)
	ec := map[string]string{"k": "v"}
	req := encReq(ec, AES256GCMHKDFSHA512CommitKeyECDSAP384, 1)
	m1 := mustEncryptionMaterials(t, c, req)
	want := bytes.Clone(m1.DataKey())
	wantEDK := bytes.Clone(m1.EncryptedDataKeys[0].Ciphertext)
	m1.EncryptionContext["k"] = "changed"
	m1.EncryptedDataKeys[0] = EncryptedDataKey{ProviderID: "changed"}
	m1.EncryptedDataKeys = append(m1.EncryptedDataKeys, EncryptedDataKey{ProviderID: "extra"})
	clear(m1.DataKey())
	ec["k"] = "caller changed the request's map" // the cache kept its own copy
	m2 := mustEncryptionMaterials(t, c, encReq(map[string]string{"k": "v"}, AES256GCMHKDFSHA512CommitKeyECDSAP384, 1))
	if !bytes.Equal(m2.DataKey(), want) || m2.EncryptionContext["k"] != "v" || len(m2.EncryptedDataKeys) != 1 ||
		!bytes.Equal(m2.EncryptedDataKeys[0].Ciphertext, wantEDK) || m2.SigningKey() == nil {
		t.Errorf("second materials = %v, want the first ones unchanged", m2)
	}

	d := DecryptionMaterialsRequest{Suite: m2.Suite, CommitmentPolicy: RequireEncryptRequireDecrypt,
		EncryptedDataKeys: m2.EncryptedDataKeys, EncryptionContext: m2.EncryptionContext}
	d1, err := c.DecryptionMaterials(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	clear(d1.DataKey())
	d1.EncryptionContext["k"] = "changed"
	d2, err := c.DecryptionMaterials(context.Background(), d)
	if err != nil || !bytes.Equal(d2.DataKey(), want) || d2.EncryptionContext["k"] != "v" || d2.VerificationKey() == nil {
		t.Errorf("second decryption materials = %v, %v, want the first ones unchanged", d2, err)
	}
}

// waitForWaiters waits until n callers wait for the flight of id.
func waitForWaiters(t *testing.T, c *CachingCMM, id cacheID, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.cache.mu.Lock()
		f := c.cache.flights[id]
		got := 0
		if f != nil {
			got = f.waiters
		}
		c.cache.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait for the flight, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCachingConcurrentMisses starts 100 goroutines that miss the same entry
// at once: they wait for one underlying call, or, when each data key may
// serve only m messages, for 100/m calls.
func TestCachingConcurrentMisses(t *testing.T) {
	const goroutines = 100
	for _, tt := range []struct {
		maxMessages uint64
		wantCalls   int64
	}{
		{DefaultCacheMaxMessages, 1}, {10, 10}, {1, 100},
	} {
		t.Run(fmt.Sprintf("messages=%d", tt.maxMessages), func(t *testing.T) {
			c, spy, _ := newCachingSpy(t, WithCacheMaxMessages(tt.maxMessages))
			spy.gate = make(chan struct{})
			req := encReq(map[string]string{"k": "v"}, 0, 64)
			id, _ := c.encryptID(req)
			keys := make([][]byte, goroutines)
			var wg sync.WaitGroup
			for i := range goroutines {
				wg.Go(func() {
					m, err := c.EncryptionMaterials(context.Background(), req)
					if err != nil {
						t.Errorf("EncryptionMaterials() = %v", err)
						return
					}
					keys[i] = bytes.Clone(m.DataKey())
				})
			}
			waitForWaiters(t, c, id, goroutines)
			close(spy.gate)
			wg.Wait()
			if n := spy.encrypts.Load(); n != tt.wantCalls {
				t.Errorf("%d concurrent misses made %d underlying calls, want %d", goroutines, n, tt.wantCalls)
			}
			uses := map[string]uint64{}
			for _, k := range keys {
				uses[string(k)]++
			}
			for _, n := range uses {
				if n > tt.maxMessages {
					t.Errorf("a data key served %d messages, more than the limit %d", n, tt.maxMessages)
				}
			}
		})
	}

	t.Run("decrypt", func(t *testing.T) {
		c, spy, _ := newCachingSpy(t)
		m := mustEncryptionMaterials(t, c, encReq(nil, 0, 1))
		spy.gate = make(chan struct{})
		req := DecryptionMaterialsRequest{Suite: m.Suite, CommitmentPolicy: RequireEncryptRequireDecrypt,
			EncryptedDataKeys: m.EncryptedDataKeys, EncryptionContext: m.EncryptionContext}
		id, _ := c.decryptID(req)
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				d, err := c.DecryptionMaterials(context.Background(), req)
				if err != nil || !bytes.Equal(d.DataKey(), m.DataKey()) {
					t.Errorf("DecryptionMaterials() = %v, %v, want the data key", d, err)
				}
			})
		}
		waitForWaiters(t, c, id, goroutines)
		close(spy.gate)
		wg.Wait()
		if n := spy.decrypts.Load(); n != 1 {
			t.Errorf("%d concurrent decrypt misses made %d underlying calls, want 1", goroutines, n)
		}
	})
}

// TestCachingCancel checks that the shared call outlives a cancelled
// caller while others wait, and is cancelled once all have gone.
func TestCachingCancel(t *testing.T) {
	req := encReq(map[string]string{"k": "v"}, 0, 1)

	t.Run("one-leaves", func(t *testing.T) {
		c, spy, _ := newCachingSpy(t)
		spy.gate = make(chan struct{})
		id, _ := c.encryptID(req)
		ctx, cancel := context.WithCancel(context.Background())
		starterErr := make(chan error, 1)
		go func() {
			_, err := c.EncryptionMaterials(ctx, req)
			starterErr <- err
		}()
		waitForWaiters(t, c, id, 1)
		follower := make(chan error, 1)
		go func() {
			_, err := c.EncryptionMaterials(context.Background(), req)
			follower <- err
		}()
		waitForWaiters(t, c, id, 2)
		cancel()
		if err := <-starterErr; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller: EncryptionMaterials() = %v, want context.Canceled", err)
		}
		close(spy.gate)
		if err := <-follower; err != nil {
			t.Errorf("waiting caller: EncryptionMaterials() = %v, want materials", err)
		}
		if n, d := spy.encrypts.Load(), spy.ctxDone.Load(); n != 1 || d != 0 {
			t.Errorf("%d underlying calls, %d cancelled, want 1 and 0", n, d)
		}
	})

	t.Run("all-leave", func(t *testing.T) {
		c, spy, _ := newCachingSpy(t)
		spy.gate = make(chan struct{})
		id, _ := c.encryptID(req)
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				_, err := c.EncryptionMaterials(ctx, req)
				errs <- err
			}()
		}
		waitForWaiters(t, c, id, 3)
		cancel()
		for range 3 {
			if err := <-errs; !errors.Is(err, context.Canceled) {
				t.Errorf("EncryptionMaterials() = %v, want context.Canceled", err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for spy.ctxDone.Load() != 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if d := spy.ctxDone.Load(); d != 1 {
			t.Fatalf("the abandoned underlying call saw its ctx done %d times, want 1", d)
		}
		// A new caller starts a new call rather than join the dead one.
		close(spy.gate)
		if _, err := c.EncryptionMaterials(context.Background(), req); err != nil {
			t.Fatalf("EncryptionMaterials() after the abandoned call = %v", err)
		}
		if n := spy.encrypts.Load(); n != 2 {
			t.Errorf("%d underlying calls, want 2", n)
		}
	})
}

// TestCachingPanic checks that a panic of the underlying manager reaches
// the caller, not the goroutine that ran the call.
func TestCachingPanic(t *testing.T) {
	c, spy, _ := newCachingSpy(t)
	spy.panicWith = "boom"
	for _, call := range []func(){
		func() { c.EncryptionMaterials(context.Background(), encReq(nil, 0, 1)) },
		func() {
			c.DecryptionMaterials(context.Background(), DecryptionMaterialsRequest{Suite: AES256GCMHKDFSHA512CommitKey,
				CommitmentPolicy: RequireEncryptRequireDecrypt, EncryptedDataKeys: []EncryptedDataKey{{ProviderID: "p"}}})
		},
	} {
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recover() = %v, want boom", r)
				}
			}()
			call()
		}()
	}
	if n := c.cache.len(); n != 0 {
		t.Errorf("%d entries after panics, want 0", n)
	}
}

func TestNewCachingCMMRejects(t *testing.T) {
	next := mustCMM(t, mustAESKeyring(t, bytes.Repeat([]byte{7}, 32)))
	tests := []struct {
		name string
		next MaterialsManager
		opts []CachingOption
		want string
	}{
		{"nil-manager", nil, nil, "materials manager is nil"},
		{"nil-option", next, []CachingOption{nil}, "nil CachingOption"},
		{"capacity-0", next, []CachingOption{WithCacheCapacity(0)}, "WithCacheCapacity: 0"},
		{"age-0", next, []CachingOption{WithCacheMaxAge(0)}, "WithCacheMaxAge: 0s"},
		{"age-negative", next, []CachingOption{WithCacheMaxAge(-time.Second)}, "not a positive duration"},
		{"messages-0", next, []CachingOption{WithCacheMaxMessages(0)}, "between 1 and 2^32"},
		{"messages-2^32+1", next, []CachingOption{WithCacheMaxMessages(1<<32 + 1)}, "between 1 and 2^32"},
		{"bytes-2^63", next, []CachingOption{WithCacheMaxBytes(1 << 63)}, "more than 2^63-1"},
		{"twice", next, []CachingOption{WithCacheMaxAge(time.Second), WithCacheMaxAge(time.Minute)}, "WithCacheMaxAge given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCachingCMM(tt.next, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "esdk: ") {
				t.Errorf("NewCachingCMM() = %v, %v, want an error containing %q", c, err, tt.want)
			}
		})
	}
	for _, opts := range [][]CachingOption{
		{WithCacheCapacity(1), WithCacheMaxAge(time.Nanosecond), WithCacheMaxMessages(1), WithCacheMaxBytes(0)},
		{WithCacheMaxMessages(DefaultCacheMaxMessages), WithCacheMaxBytes(DefaultCacheMaxBytes)},
	} {
		if _, err := NewCachingCMM(next, opts...); err != nil {
			t.Errorf("NewCachingCMM(limits) = %v, want a manager", err)
		}
	}
}

// TestCachingCacheIDs checks the identifiers against the specification's
// formulas (caching-cmm.md 0.4.0, appendix A), written out byte by byte,
// with datamask's suffixes: the decryption identifier ends with the number
// of encrypted data keys (see TestCachingDecryptIDUnambiguous).
func TestCachingCacheIDs(t *testing.T) {
	c, _, _ := newCachingSpy(t)
	c.partition = []byte("partition-1")
	ec := map[string]string{"b": "2", "a": "1"}
	serializedEC := []byte{0, 2, 0, 1, 'a', 0, 1, '1', 0, 1, 'b', 0, 1, '2'}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	got, _ := c.encryptID(encReq(ec, 0, 1))
	want := sha512.Sum384(cat([]byte{1, 0, 1, 0}, []byte("partition-1"), []byte{0, 0, 0}, serializedEC))
	if got != cacheID(want) {
		t.Errorf("encryptID(no suite) = %x, want %x", got, want)
	}
	got, _ = c.encryptID(encReq(ec, AES256GCMHKDFSHA512CommitKey, 1))
	want = sha512.Sum384(cat([]byte{1, 0, 1, 0}, []byte("partition-1"), []byte{0, 1, 0, 0x04, 0x78, 0}, serializedEC))
	if got != cacheID(want) {
		t.Errorf("encryptID(suite 0478) = %x, want %x", got, want)
	}
	got, _ = c.encryptID(encReq(nil, AES256GCMHKDFSHA512CommitKey, 1))
	want = sha512.Sum384(cat([]byte{1, 0, 1, 0}, []byte("partition-1"), []byte{0, 1, 0, 0x04, 0x78, 0}))
	if got != cacheID(want) {
		t.Errorf("encryptID(suite 0478, empty context) = %x, want %x", got, want)
	}

	edk1 := EncryptedDataKey{ProviderID: "p", ProviderInfo: []byte("i"), Ciphertext: []byte{9}}
	edk2 := EncryptedDataKey{ProviderID: "a", ProviderInfo: []byte("z"), Ciphertext: []byte{1, 2}}
	ser1 := []byte{0, 1, 'p', 0, 1, 'i', 0, 1, 9}
	ser2 := []byte{0, 1, 'a', 0, 1, 'z', 0, 2, 1, 2}
	want = sha512.Sum384(cat([]byte{1, 0, 2, 0}, []byte("partition-1"), []byte{0, 0x05, 0x78, 0}, ser2, ser1, []byte{0}, serializedEC, []byte{0, 2}))
	for _, edks := range [][]EncryptedDataKey{{edk1, edk2}, {edk2, edk1}} {
		got, _ = c.decryptID(DecryptionMaterialsRequest{Suite: AES256GCMHKDFSHA512CommitKeyECDSAP384, EncryptedDataKeys: edks, EncryptionContext: ec})
		if got != cacheID(want) {
			t.Errorf("decryptID(%s first) = %x, want %x", edks[0].ProviderID, got, want)
		}
	}
	// A reproduced context, unknown to the specification, is a suffix.
	got, _ = c.decryptID(DecryptionMaterialsRequest{Suite: AES256GCMHKDFSHA512CommitKeyECDSAP384, EncryptedDataKeys: []EncryptedDataKey{edk2, edk1},
		EncryptionContext: ec, ReproducedContext: map[string]string{"a": "1"}})
	want2 := sha512.Sum384(cat([]byte{1, 0, 2, 0}, []byte("partition-1"), []byte{0, 0x05, 0x78, 0}, ser2, ser1, []byte{0}, serializedEC,
		[]byte{0, 0, 0, 1, 0, 1, 'a', 0, 1, '1'}, []byte{0, 2}))
	if got != cacheID(want2) || got == cacheID(want) {
		t.Errorf("decryptID(reproduced context) = %x, want %x", got, want2)
	}
}

// TestCachingSecretsNeverPrinted formats the manager after it cached
// materials and checks no data key appears.
func TestCachingSecretsNeverPrinted(t *testing.T) {
	c, _, _ := newCachingSpy(t)
	m := mustEncryptionMaterials(t, c, encReq(map[string]string{"k": "secret-value"}, 0, 1))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		out := fmt.Sprintf(verb, c)
		if leaks(out, m.DataKey()) || strings.Contains(out, "secret-value") {
			t.Errorf("Sprintf(%q, cmm) = %q reveals the data key or a context value", verb, out)
		}
	}
	if got, want := c.String(), "esdk.CachingCMM{Capacity: 100, MaxAge: 5m0s, MaxMessages: 4294967296, MaxBytes: 9223372036854775807}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// boundKeyring decrypts every encrypted data key to key, but only under the
// encryption context bound, as a KMS key bound to a context would.
type boundKeyring struct {
	key   []byte
	bound map[string]string
}

func (k *boundKeyring) OnEncrypt(context.Context, *EncryptionMaterials) error {
	return errors.New("boundKeyring: decrypt only")
}

func (k *boundKeyring) OnDecrypt(_ context.Context, m *DecryptionMaterials, _ []EncryptedDataKey) error {
	if !maps.Equal(m.EncryptionContext, k.bound) {
		return &NoDecryptKeyError{Errors: []error{errors.New("boundKeyring: another encryption context")}}
	}
	return m.SetDataKey(k.key)
}

// TestCachingDecryptIDUnambiguous builds two decryption requests whose
// identifiers collide under the specification's formula, where the sorted
// encrypted data keys are concatenated without their number: [A] with
// context ec1, and [A, B] with an empty context, where B's serialization
// followed by the separator is the separator followed by ec1's
// serialization. The second request must not be served the first one's
// data key: its context differs, and the keyring (like KMS) would refuse it.
func TestCachingDecryptIDUnambiguous(t *testing.T) {
	// B = u16 0 (provider ID "") || u16 256 || info || u16 1 || "y".
	info := append([]byte{3, 'a', 'b', 'c', 0, 254}, bytes.Repeat([]byte{'x'}, 250)...)
	a := EncryptedDataKey{ProviderID: "", ProviderInfo: nil, Ciphertext: []byte{1}}
	b := EncryptedDataKey{ProviderID: "", ProviderInfo: info, Ciphertext: []byte{'y'}}
	// ec1 serializes as one pair: u16 3, "abc", u16 254, then the 250 'x'
	// of info, B's ciphertext length and ciphertext, and the separator.
	ec1 := map[string]string{"abc": strings.Repeat("x", 250) + "\x00\x01y\x00"}
	serB, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	serEC1, err := MarshalEncryptionContext(ec1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append([]byte{0}, serEC1...), append(serB, 0)) {
		t.Fatalf("test setup: 0 || ec1 = %x, want B || 0 = %x", append([]byte{0}, serEC1...), append(serB, 0))
	}

	req1 := DecryptionMaterialsRequest{Suite: AES256GCMHKDFSHA512CommitKey, CommitmentPolicy: RequireEncryptRequireDecrypt,
		EncryptedDataKeys: []EncryptedDataKey{a}, EncryptionContext: ec1}
	req2 := DecryptionMaterialsRequest{Suite: AES256GCMHKDFSHA512CommitKey, CommitmentPolicy: RequireEncryptRequireDecrypt,
		EncryptedDataKeys: []EncryptedDataKey{a, b}, EncryptionContext: map[string]string{}}

	spy := &spyCMM{next: mustCMM(t, &boundKeyring{key: bytes.Repeat([]byte{5}, 32), bound: ec1})}
	c, err := NewCachingCMM(spy)
	if err != nil {
		t.Fatal(err)
	}
	id1, ok1 := c.decryptID(req1)
	id2, ok2 := c.decryptID(req2)
	if !ok1 || !ok2 || id1 == id2 {
		t.Errorf("decryptID([A], ec1) = %x, %v and decryptID([A, B], {}) = %x, %v, want two different identifiers", id1, ok1, id2, ok2)
	}

	ctx := context.Background()
	if _, err := c.DecryptionMaterials(ctx, req1); err != nil {
		t.Fatalf("DecryptionMaterials([A], ec1) = %v", err)
	}
	m, err := c.DecryptionMaterials(ctx, req2)
	var nk *NoDecryptKeyError
	if !errors.As(err, &nk) {
		t.Errorf("DecryptionMaterials([A, B], {}) = %v, %v, want a *NoDecryptKeyError from the keyring", m, err)
	}
	if got := spy.decrypts.Load(); got != 2 {
		t.Errorf("underlying DecryptionMaterials calls = %d, want 2", got)
	}
}
