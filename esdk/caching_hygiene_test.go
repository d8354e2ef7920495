package esdk

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// reuseCMM returns the same materials object on every call, as a manager
// that keeps its materials may: whatever the cache does with its own copy
// must not reach it.
type reuseCMM struct {
	mu  sync.Mutex
	enc *EncryptionMaterials
	dec *DecryptionMaterials
}

func (r *reuseCMM) EncryptionMaterials(_ context.Context, req EncryptionMaterialsRequest) (*EncryptionMaterials, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.enc, nil
}

func (r *reuseCMM) DecryptionMaterials(_ context.Context, req DecryptionMaterialsRequest) (*DecryptionMaterials, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dec, nil
}

func newReuseCMM(t *testing.T) *reuseCMM {
	t.Helper()
	key := bytes.Repeat([]byte{9}, 32)
	enc := &EncryptionMaterials{Suite: AES256GCMHKDFSHA512CommitKey, EncryptedDataKeys: []EncryptedDataKey{{ProviderID: "p", Ciphertext: []byte{1}}}}
	dec := &DecryptionMaterials{Suite: AES256GCMHKDFSHA512CommitKey}
	if err := enc.SetDataKey(key); err != nil {
		t.Fatal(err)
	}
	if err := dec.SetDataKey(key); err != nil {
		t.Fatal(err)
	}
	return &reuseCMM{enc: enc, dec: dec}
}

// TestCachingKeepsItsOwnCopy evicts and expires entries filled by a
// manager that reuses its materials: the cache zeroes its own copy's data
// key, never the manager's.
func TestCachingKeepsItsOwnCopy(t *testing.T) {
	inner := newReuseCMM(t)
	want := bytes.Clone(inner.enc.DataKey())
	c, err := NewCachingCMM(inner, WithCacheCapacity(1))
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c.cache.now = clock.now
	ctx := context.Background()
	dreq := func(v string) DecryptionMaterialsRequest {
		return DecryptionMaterialsRequest{Suite: AES256GCMHKDFSHA512CommitKey, CommitmentPolicy: RequireEncryptRequireDecrypt,
			EncryptedDataKeys: []EncryptedDataKey{{ProviderID: "p", Ciphertext: []byte{1}}}, EncryptionContext: map[string]string{"k": v}}
	}
	enc := func(v string) func() error {
		return func() error {
			_, err := c.EncryptionMaterials(ctx, encReq(map[string]string{"k": v}, 0, 1))
			return err
		}
	}
	dec := func(v string) func() error {
		return func() error {
			_, err := c.DecryptionMaterials(ctx, dreq(v))
			return err
		}
	}
	age := func() error { clock.advance(DefaultCacheMaxAge); return nil }
	steps := []func() error{
		enc("a"), enc("b"), // evicts a
		dec("a"), dec("b"), // evict b, then a
		age, dec("b"), // finds b expired
		age, enc("b"),
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !bytes.Equal(inner.enc.DataKey(), want) || !bytes.Equal(inner.dec.DataKey(), want) {
			t.Fatalf("step %d: the underlying manager's data key was changed (zeroed by the cache?)", i)
		}
	}
	// The caller whose request filled an entry got the manager's own
	// materials; later callers get copies of the cache's.
	m, err := c.EncryptionMaterials(ctx, encReq(map[string]string{"k": "b"}, 0, 1))
	if err != nil || m == inner.enc || !bytes.Equal(m.DataKey(), want) {
		t.Errorf("a hit = %p, %v; want a copy of the cached materials (the manager's are %p)", m, err, inner.enc)
	}
}

// TestCachingDoneContext: a done ctx fails a request before the cache is
// looked up, on a hit as on a miss, with the context's cause.
func TestCachingDoneContext(t *testing.T) {
	c, spy, _ := newCachingSpy(t)
	req := encReq(map[string]string{"k": "v"}, AES256GCMHKDFSHA512CommitKey, 1)
	m := mustEncryptionMaterials(t, c, req) // now cached
	dreq := DecryptionMaterialsRequest{Suite: m.Suite, CommitmentPolicy: RequireEncryptRequireDecrypt,
		EncryptedDataKeys: m.EncryptedDataKeys, EncryptionContext: m.EncryptionContext}
	if _, err := c.DecryptionMaterials(context.Background(), dreq); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("the request was abandoned")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	missReq := encReq(map[string]string{"k": "other"}, AES256GCMHKDFSHA512CommitKey, 1)
	missDReq := dreq
	missDReq.EncryptionContext = map[string]string{"k": "other"}
	for name, call := range map[string]func() (any, error){
		"encrypt hit":  func() (any, error) { return c.EncryptionMaterials(ctx, req) },
		"encrypt miss": func() (any, error) { return c.EncryptionMaterials(ctx, missReq) },
		"decrypt hit":  func() (any, error) { return c.DecryptionMaterials(ctx, dreq) },
		"decrypt miss": func() (any, error) { return c.DecryptionMaterials(ctx, missDReq) },
	} {
		m, err := call()
		if !errors.Is(err, cause) {
			t.Errorf("%s with a cancelled ctx = %v, %v; want the cancel cause", name, m, err)
		}
	}
	if e, d := spy.encrypts.Load(), spy.decrypts.Load(); e != 1 || d != 1 {
		t.Errorf("underlying calls = %d encrypt, %d decrypt; want 1 and 1 (none for a done ctx)", e, d)
	}
	// A hit still counts no use against the entry.
	idx, _ := c.encryptID(req)
	c.cache.mu.Lock()
	uses := c.cache.entries[idx].messages
	c.cache.mu.Unlock()
	if uses != 1 {
		t.Errorf("the entry counts %d messages, want 1", uses)
	}
}

// TestCachingSweep: entries leave the cache at the end of their max age,
// their data key zeroed, with no request to find them expired.
func TestCachingSweep(t *testing.T) {
	const maxAge = 30 * time.Millisecond
	c, err := NewCachingCMM(mustCMM(t, mustAESKeyring(t, bytes.Repeat([]byte{7}, 32))), WithCacheMaxAge(maxAge))
	if err != nil {
		t.Fatal(err)
	}
	m := mustEncryptionMaterials(t, c, encReq(map[string]string{"k": "v"}, AES256GCMHKDFSHA512CommitKey, 1))
	if _, err := c.DecryptionMaterials(context.Background(), DecryptionMaterialsRequest{Suite: m.Suite,
		CommitmentPolicy: RequireEncryptRequireDecrypt, EncryptedDataKeys: m.EncryptedDataKeys, EncryptionContext: m.EncryptionContext}); err != nil {
		t.Fatal(err)
	}
	c.cache.mu.Lock()
	var entries []*cacheEntry
	for _, e := range c.cache.entries {
		entries = append(entries, e)
	}
	c.cache.mu.Unlock()
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2", len(entries))
	}
	deadline := time.Now().Add(20 * time.Second)
	for c.cache.len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left long after their max age", c.cache.len())
		}
		time.Sleep(maxAge)
	}
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	for _, e := range entries {
		var key []byte
		if e.enc != nil {
			key = e.enc.DataKey()
		} else {
			key = e.dec.DataKey()
		}
		if !isZero(key) {
			t.Error("a swept entry's data key was not zeroed")
		}
	}
}
