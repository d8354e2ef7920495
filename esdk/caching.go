package esdk

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/datamask/datamask/esdk/internal/format"
)

// Defaults of a [CachingCMM]: those of the AWS Encryption SDK's caching
// materials manager and of Powertools' data masking.
const (
	// DefaultCacheCapacity is the number of entries the cache holds before
	// it evicts the least recently used one.
	DefaultCacheCapacity = 100

	// DefaultCacheMaxAge is how long a cached data key may be used.
	DefaultCacheMaxAge = 300 * time.Second

	// DefaultCacheMaxMessages is how many messages one cached data key may
	// encrypt (2^32), which is also the largest limit accepted.
	DefaultCacheMaxMessages uint64 = 1 << 32

	// DefaultCacheMaxBytes is how many plaintext bytes one cached data key
	// may encrypt (2^63-1), which is also the largest limit accepted.
	DefaultCacheMaxBytes uint64 = 1<<63 - 1
)

// CachingCMM is the AWS Encryption SDK's caching materials manager: it
// reuses the materials of an underlying [MaterialsManager] (and so the data
// keys of its keyrings) for several messages, so that a KMS keyring calls
// KMS once per cache entry instead of once per message.
//
// Encryption materials are cached per encryption context, algorithm suite
// (or its absence from the request) and required context keys. An entry
// serves messages until it is [DefaultCacheMaxAge] old, has encrypted
// [DefaultCacheMaxMessages] messages or would exceed [DefaultCacheMaxBytes]
// plaintext bytes (all configurable); the message that finds it exhausted
// gets new materials. A request whose plaintext length is unknown (-1) or
// alone exceeds the byte limit is never served from the cache, and neither
// is a suite that uses its data key directly (the legacy identity-KDF
// suites), as the specification requires.
//
// Decryption materials are cached per algorithm suite, the set of encrypted
// data keys, the message's encryption context and any reproduced context,
// until they are max-age old. Powertools calls KMS on every decrypt; this
// manager calls it once per distinct data key.
//
// Concurrent requests that miss the same entry wait for one call of the
// underlying manager instead of each making their own. That call runs with
// the values of the first caller's ctx but not its cancellation: it is
// cancelled only when every caller waiting for it has given up.
//
// The cache keeps a copy of the underlying manager's materials, never
// handed out nor modified: the caller whose request filled an entry gets
// the materials as the underlying manager returned them, every later caller
// a copy of the cache's own, so neither the underlying manager nor any
// caller shares memory with the cache. An entry's data key is zeroed when
// the entry leaves the cache: when it is evicted, when a lookup finds it
// used up, and when it expires (a timer removes each entry at the end of
// its max age, so an idle cache keeps no expired data key). The cache holds
// at most [DefaultCacheCapacity] entries (see [WithCacheCapacity]),
// evicting the least recently used. A done ctx fails a request before the
// cache is looked up, hit or miss. Build it with [NewCachingCMM]; it is
// safe for concurrent use.
type CachingCMM struct {
	next        MaterialsManager
	partition   []byte
	maxAge      time.Duration
	maxMessages uint64
	maxBytes    uint64
	cache       *materialsCache
}

var _ MaterialsManager = (*CachingCMM)(nil)

// A CachingOption configures a [CachingCMM] in [NewCachingCMM].
type CachingOption interface {
	applyCaching(*cachingConfig) error
}

type cachingConfig struct {
	capacity    int
	maxAge      time.Duration
	maxMessages uint64
	maxBytes    uint64
	set         map[string]bool
}

type cachingOption func(*cachingConfig) error

func (f cachingOption) applyCaching(c *cachingConfig) error { return f(c) }

func (c *cachingConfig) once(name string) error {
	if c.set[name] {
		return errors.New("esdk: " + name + " given twice")
	}
	c.set[name] = true
	return nil
}

// WithCacheCapacity sets how many entries (encryption and decryption
// materials together) the cache holds before evicting the least recently
// used; n is at least 1. The default is [DefaultCacheCapacity].
func WithCacheCapacity(n int) CachingOption {
	return cachingOption(func(c *cachingConfig) error {
		if err := c.once("WithCacheCapacity"); err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("esdk: WithCacheCapacity: %d is not a capacity: give at least 1", n)
		}
		c.capacity = n
		return nil
	})
}

// WithCacheMaxAge sets how long cached materials may be used after they were
// obtained; d must be positive. The default is [DefaultCacheMaxAge].
func WithCacheMaxAge(d time.Duration) CachingOption {
	return cachingOption(func(c *cachingConfig) error {
		if err := c.once("WithCacheMaxAge"); err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("esdk: WithCacheMaxAge: %v is not a positive duration", d)
		}
		c.maxAge = d
		return nil
	})
}

// WithCacheMaxMessages sets how many messages one cached data key may
// encrypt, from 1 to [DefaultCacheMaxMessages] (2^32, the default).
func WithCacheMaxMessages(n uint64) CachingOption {
	return cachingOption(func(c *cachingConfig) error {
		if err := c.once("WithCacheMaxMessages"); err != nil {
			return err
		}
		if n < 1 || n > DefaultCacheMaxMessages {
			return fmt.Errorf("esdk: WithCacheMaxMessages: %d is not between 1 and 2^32", n)
		}
		c.maxMessages = n
		return nil
	})
}

// WithCacheMaxBytes sets how many plaintext bytes one cached data key may
// encrypt, up to [DefaultCacheMaxBytes] (2^63-1, the default). A message
// longer than n is encrypted under fresh materials that are not cached.
func WithCacheMaxBytes(n uint64) CachingOption {
	return cachingOption(func(c *cachingConfig) error {
		if err := c.once("WithCacheMaxBytes"); err != nil {
			return err
		}
		if n > DefaultCacheMaxBytes {
			return fmt.Errorf("esdk: WithCacheMaxBytes: %d is more than 2^63-1", n)
		}
		c.maxBytes = n
		return nil
	})
}

// NewCachingCMM returns a caching materials manager over next, usually a
// [DefaultCMM] over a KMS keyring, with the defaults above unless opts
// change them.
func NewCachingCMM(next MaterialsManager, opts ...CachingOption) (*CachingCMM, error) {
	if next == nil {
		return nil, errors.New("esdk: NewCachingCMM: materials manager is nil")
	}
	cfg := cachingConfig{
		capacity:    DefaultCacheCapacity,
		maxAge:      DefaultCacheMaxAge,
		maxMessages: DefaultCacheMaxMessages,
		maxBytes:    DefaultCacheMaxBytes,
		set:         map[string]bool{},
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("esdk: NewCachingCMM: nil CachingOption")
		}
		if err := o.applyCaching(&cfg); err != nil {
			return nil, err
		}
	}
	// The partition ID keeps this manager's entries apart from any other's
	// (the specification's default: unique per manager).
	var p [16]byte
	if _, err := rand.Read(p[:]); err != nil {
		return nil, fmt.Errorf("esdk: NewCachingCMM: %w", err)
	}
	return &CachingCMM{
		next:        next,
		partition:   []byte(hex.EncodeToString(p[:])),
		maxAge:      cfg.maxAge,
		maxMessages: cfg.maxMessages,
		maxBytes:    cfg.maxBytes,
		cache:       newMaterialsCache(cfg.capacity, time.Now),
	}, nil
}

// EncryptionMaterials implements [MaterialsManager]: a copy of cached
// materials if an entry for the request has uses left, else materials from
// the underlying manager, a copy of which is cached when the request allows
// it (see [CachingCMM]). A done ctx is returned first; errors of the
// underlying manager are returned as they are.
func (c *CachingCMM) EncryptionMaterials(ctx context.Context, req EncryptionMaterialsRequest) (*EncryptionMaterials, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if !req.CommitmentPolicy.valid() || req.PlaintextLength < 0 || uint64(req.PlaintextLength) > c.maxBytes ||
		(req.Suite != 0 && !req.Suite.DerivesKey()) {
		return c.next.EncryptionMaterials(ctx, req)
	}
	id, ok := c.encryptID(req)
	if !ok {
		return c.next.EncryptionMaterials(ctx, req)
	}
	n := uint64(req.PlaintextLength)
	for {
		m, f, fctx, starter := c.cache.takeEncryptOrJoin(ctx, id, n, c.maxMessages, c.maxBytes)
		if m != nil {
			return m, nil
		}
		if starter {
			go c.fetchEncrypt(fctx, id, f, cloneEncryptRequest(req), n)
		}
		if err := c.cache.wait(ctx, id, f); err != nil {
			return nil, err
		}
		if f.panicked != nil {
			panic(f.panicked)
		}
		if starter || f.err != nil {
			return f.enc, f.err
		}
		// Another caller's materials arrived: take a use of them from
		// the cache like any hit (they may already be used up).
	}
}

// fetchEncrypt asks the underlying manager for materials for the flight f
// and caches them with the starter's message counted.
func (c *CachingCMM) fetchEncrypt(ctx context.Context, id cacheID, f *flight, req EncryptionMaterialsRequest, n uint64) {
	var e *cacheEntry
	defer func() {
		if r := recover(); r != nil {
			f.panicked = r
		}
		c.cache.finish(id, f, e, c.maxAge)
	}()
	m, err := c.next.EncryptionMaterials(ctx, req)
	switch {
	case err != nil:
		f.err = err
	case m == nil:
		f.err = errors.New("esdk: CachingCMM: the underlying materials manager returned no materials and no error")
	case m.Suite.DerivesKey() && (req.Suite == 0 || m.Suite == req.Suite) && m.dataKey != nil:
		// The cache keeps a copy: the underlying manager may keep and reuse
		// m, whose data key the cache zeroes when the entry goes.
		f.enc = m
		e = &cacheEntry{id: id, enc: m.Clone(), messages: 1, bytes: n}
	default:
		f.enc = m
	}
}

// DecryptionMaterials implements [MaterialsManager]: a copy of cached
// materials for the same suite, encrypted data keys and contexts if they are
// not too old, else materials from the underlying manager, a copy of which
// is then cached (except for identity-KDF suites). A done ctx is returned
// first; errors of the underlying manager are returned as they are, and
// never cached.
func (c *CachingCMM) DecryptionMaterials(ctx context.Context, req DecryptionMaterialsRequest) (*DecryptionMaterials, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if !req.CommitmentPolicy.valid() || !req.CommitmentPolicy.allowsDecrypt(req.Suite) || !req.Suite.DerivesKey() {
		return c.next.DecryptionMaterials(ctx, req)
	}
	id, ok := c.decryptID(req)
	if !ok {
		return c.next.DecryptionMaterials(ctx, req)
	}
	for {
		m, f, fctx, starter := c.cache.takeDecryptOrJoin(ctx, id)
		if m != nil {
			return m, nil
		}
		if starter {
			go c.fetchDecrypt(fctx, id, f, cloneDecryptRequest(req))
		}
		if err := c.cache.wait(ctx, id, f); err != nil {
			return nil, err
		}
		if f.panicked != nil {
			panic(f.panicked)
		}
		if starter || f.err != nil {
			return f.dec, f.err
		}
	}
}

func (c *CachingCMM) fetchDecrypt(ctx context.Context, id cacheID, f *flight, req DecryptionMaterialsRequest) {
	var e *cacheEntry
	defer func() {
		if r := recover(); r != nil {
			f.panicked = r
		}
		c.cache.finish(id, f, e, c.maxAge)
	}()
	m, err := c.next.DecryptionMaterials(ctx, req)
	switch {
	case err != nil:
		f.err = err
	case m == nil:
		f.err = errors.New("esdk: CachingCMM: the underlying materials manager returned no materials and no error")
	case m.Suite == req.Suite && m.dataKey != nil:
		f.dec = m
		e = &cacheEntry{id: id, dec: m.Clone()}
	default:
		f.dec = m
	}
}

// cloneEncryptRequest copies what the request shares with its caller: the
// underlying manager may run after the caller has returned.
func cloneEncryptRequest(req EncryptionMaterialsRequest) EncryptionMaterialsRequest {
	req.EncryptionContext = cloneContext(req.EncryptionContext)
	req.RequiredContextKeys = slices.Clone(req.RequiredContextKeys)
	return req
}

func cloneDecryptRequest(req DecryptionMaterialsRequest) DecryptionMaterialsRequest {
	edks := make([]EncryptedDataKey, len(req.EncryptedDataKeys))
	for i, k := range req.EncryptedDataKeys {
		edks[i] = EncryptedDataKey{ProviderID: k.ProviderID, ProviderInfo: slices.Clone(k.ProviderInfo), Ciphertext: slices.Clone(k.Ciphertext)}
	}
	req.EncryptedDataKeys = edks
	req.EncryptionContext = cloneContext(req.EncryptionContext)
	req.ReproducedContext = cloneContext(req.ReproducedContext)
	return req
}

func cloneContext(ec map[string]string) map[string]string {
	if ec == nil {
		return nil
	}
	c := make(map[string]string, len(ec))
	for k, v := range ec {
		c[k] = v
	}
	return c
}

// Cache identifiers follow the caching CMM specification (version 0.4.0,
// appendix A): SHA-384 of resource ID 0x01 (caching CMM), scope ID (0x01
// encrypt, 0x02 decrypt), the partition ID and the request, each part
// followed by a zero byte. Requests the specification's CMM does not know
// (required context keys, a reproduced context) add a suffix that starts
// with two zero bytes, which no non-empty serialized encryption context
// starts with (its pair count is at least 1), so it cannot be mistaken for
// part of the context.
//
// The decryption identifier also ends with the number of encrypted data
// keys (u16), which the specification leaves out. Without it the formula is
// ambiguous: an encrypted data key serialization may start with a zero
// byte, so [A] with one context and [A, B] with another can hash the same
// bytes (TestCachingDecryptIDUnambiguous), and the second request would get
// the first one's data key without its keyring ever checking its context.
// With the count at a known place, the input parses back into one request.
// The identifiers never leave the process, so no other SDK needs them.

// encryptID returns the cache identifier of req, or false if req cannot be
// serialized (the underlying manager will then refuse it).
func (c *CachingCMM) encryptID(req EncryptionMaterialsRequest) (cacheID, bool) {
	ec, err := format.MarshalContext(req.EncryptionContext)
	if err != nil {
		return cacheID{}, false
	}
	b := make([]byte, 0, 16+len(c.partition)+len(ec))
	b = append(b, 0x01, 0, 0x01, 0)
	b = append(b, c.partition...)
	b = append(b, 0)
	if req.Suite == 0 {
		b = append(b, 0x00, 0)
	} else {
		b = append(b, 0x01, 0, byte(req.Suite>>8), byte(req.Suite), 0)
	}
	b = append(b, ec...)
	if len(req.RequiredContextKeys) > 0 {
		keys := slices.Clone(req.RequiredContextKeys)
		slices.Sort(keys)
		keys = slices.Compact(keys)
		if len(keys) > 0xFFFF {
			return cacheID{}, false
		}
		b = append(b, 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(len(keys)))
		for _, k := range keys {
			if len(k) > 0xFFFF {
				return cacheID{}, false
			}
			b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
			b = append(b, k...)
		}
	}
	return sha512.Sum384(b), true
}

// decryptID returns the cache identifier of req, or false if req cannot be
// serialized.
func (c *CachingCMM) decryptID(req DecryptionMaterialsRequest) (cacheID, bool) {
	ec, err := format.MarshalContext(req.EncryptionContext)
	if err != nil {
		return cacheID{}, false
	}
	if len(req.EncryptedDataKeys) > 0xFFFF {
		return cacheID{}, false
	}
	edks := make([][]byte, len(req.EncryptedDataKeys))
	size := 0
	for i, k := range req.EncryptedDataKeys {
		if edks[i], err = k.MarshalBinary(); err != nil {
			return cacheID{}, false
		}
		size += len(edks[i])
	}
	slices.SortFunc(edks, bytes.Compare)
	b := make([]byte, 0, 18+len(c.partition)+size+len(ec))
	b = append(b, 0x01, 0, 0x02, 0)
	b = append(b, c.partition...)
	b = append(b, 0, byte(req.Suite>>8), byte(req.Suite), 0)
	for _, e := range edks {
		b = append(b, e...)
	}
	b = append(b, 0)
	b = append(b, ec...)
	if len(req.ReproducedContext) > 0 {
		rc, err := format.MarshalContext(req.ReproducedContext)
		if err != nil {
			return cacheID{}, false
		}
		b = append(b, 0, 0)
		b = append(b, rc...)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(edks)))
	return sha512.Sum384(b), true
}

// String describes the manager's limits.
func (c *CachingCMM) String() string {
	return "esdk.CachingCMM{Capacity: " + strconv.Itoa(c.cache.capacity) +
		", MaxAge: " + c.maxAge.String() +
		", MaxMessages: " + strconv.FormatUint(c.maxMessages, 10) +
		", MaxBytes: " + strconv.FormatUint(c.maxBytes, 10) + "}"
}

// GoString is String.
func (c *CachingCMM) GoString() string { return c.String() }

// Format prints String for every verb, so that no verb walks into the
// cached materials.
func (c *CachingCMM) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(c.String())) }
