package hierarchy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/datamask/datamask/esdk"
)

// BranchKeyStore is where a [Keyring] gets branch keys. [*KeyStore] (a
// DynamoDB table protected by AWS KMS) implements it; implementations
// must be safe for concurrent use and return materials the caller owns.
type BranchKeyStore interface {
	// GetActiveBranchKey returns the active version of a branch key, which
	// the keyring encrypts under.
	GetActiveBranchKey(ctx context.Context, branchKeyID string) (*BranchKeyMaterials, error)
	// GetBranchKeyVersion returns one version of a branch key, which the
	// keyring decrypts with.
	GetBranchKeyVersion(ctx context.Context, branchKeyID, version string) (*BranchKeyMaterials, error)
}

// BranchKeyIDSupplier chooses the branch key of each message or item from
// its encryption context, for tables and services shared by tenants that
// each have their own branch key. The keyring calls it on every encrypt and
// decrypt; it must be safe for concurrent use.
//
// For DynamoDB items (package dbesdk), give the attribute naming the
// tenant the action SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT: a string value
// is then in the context as "aws-crypto-attr." + its name. The table's
// logical name is under "aws-crypto-table-name".
type BranchKeyIDSupplier interface {
	BranchKeyID(ctx context.Context, encryptionContext map[string]string) (string, error)
}

// BranchKeyIDSupplierFunc is a function that is a [BranchKeyIDSupplier].
type BranchKeyIDSupplierFunc func(ctx context.Context, encryptionContext map[string]string) (string, error)

// BranchKeyID calls f.
func (f BranchKeyIDSupplierFunc) BranchKeyID(ctx context.Context, encryptionContext map[string]string) (string, error) {
	return f(ctx, encryptionContext)
}

// DefaultCacheCapacity is the number of branch key versions a [Keyring]
// caches unless [WithCacheCapacity] says otherwise, as in the AWS keyring.
const DefaultCacheCapacity = 1000

// Keyring is the AWS KMS Hierarchical keyring: it wraps each data key (or,
// for the DB-ESDK suites, each intermediate key) with AES-256-GCM under a
// key derived from a branch key, which it gets from a [BranchKeyStore] and
// caches for a time to live. With the branch key cached, encrypting and
// decrypting call neither AWS KMS nor DynamoDB: one KMS Decrypt per branch
// key version per time to live serves any number of messages or items,
// whatever their encryption contexts. Its encrypted data keys are those of
// the AWS SDKs' hierarchical keyrings (provider ID "aws-kms-hierarchy",
// the branch key id as provider info), so each decrypts what the other
// writes.
//
// Build it with [NewKeyring] or [NewKeyringWithSupplier]; it is safe for
// concurrent use, and it is an [esdk.Keyring] for the AWS Encryption SDK
// suites and the DB-ESDK suites alike.
type Keyring struct {
	store       BranchKeyStore
	branchKeyID string
	supplier    BranchKeyIDSupplier
	ttl         time.Duration
	cache       *branchKeyCache
}

var _ esdk.Keyring = (*Keyring)(nil)

// A KeyringOption configures [NewKeyring] and [NewKeyringWithSupplier].
type KeyringOption interface {
	applyKeyring(*keyringConfig) error
}

type keyringConfig struct {
	capacity int
}

type keyringOption func(*keyringConfig) error

func (f keyringOption) applyKeyring(c *keyringConfig) error { return f(c) }

// WithCacheCapacity sets how many branch key versions the keyring caches
// (default [DefaultCacheCapacity]); the least recently used leave first.
// The active version of each branch key encrypted under and each version
// decrypted with take one entry each.
func WithCacheCapacity(n int) KeyringOption {
	return keyringOption(func(c *keyringConfig) error {
		if c.capacity != 0 {
			return errors.New("WithCacheCapacity given twice")
		}
		if n < 1 {
			return fmt.Errorf("WithCacheCapacity(%d): the capacity must be at least 1", n)
		}
		c.capacity = n
		return nil
	})
}

// NewKeyring returns a hierarchical keyring that encrypts under the active
// version of branch key branchKeyID of store and decrypts what any of its
// versions encrypted. ttl is how long a branch key version fetched from
// the store (one KMS Decrypt) is used before it is fetched again: a
// version rotated in by [KeyStore.VersionKey] is used for encrypting, and
// revoked KMS access takes effect, within ttl. It must be positive; the AWS
// SDKs' examples use 5 to 10 minutes.
func NewKeyring(store BranchKeyStore, branchKeyID string, ttl time.Duration, opts ...KeyringOption) (*Keyring, error) {
	if branchKeyID == "" || !utf8.ValidString(branchKeyID) {
		return nil, errors.New("hierarchy: NewKeyring: the branch key id is empty or not UTF-8 (KeyStore.CreateKey returns one)")
	}
	return newKeyring("NewKeyring", store, branchKeyID, nil, ttl, opts)
}

// NewKeyringWithSupplier is [NewKeyring] for several branch keys: supplier
// chooses the branch key of each message or item from its encryption
// context (a tenant, say, for a table shared by tenants that each have
// their own branch key). The cache holds the versions of every branch key
// used.
func NewKeyringWithSupplier(store BranchKeyStore, supplier BranchKeyIDSupplier, ttl time.Duration, opts ...KeyringOption) (*Keyring, error) {
	if supplier == nil {
		return nil, errors.New("hierarchy: NewKeyringWithSupplier: the supplier is nil")
	}
	return newKeyring("NewKeyringWithSupplier", store, "", supplier, ttl, opts)
}

func newKeyring(fn string, store BranchKeyStore, id string, supplier BranchKeyIDSupplier, ttl time.Duration, opts []KeyringOption) (*Keyring, error) {
	if store == nil {
		return nil, fmt.Errorf("hierarchy: %s: the branch key store is nil", fn)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("hierarchy: %s: the time to live is %v: it must be positive, such as 5*time.Minute", fn, ttl)
	}
	var c keyringConfig
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("hierarchy: %s: nil KeyringOption", fn)
		}
		if err := o.applyKeyring(&c); err != nil {
			return nil, fmt.Errorf("hierarchy: %s: %v", fn, err)
		}
	}
	if c.capacity == 0 {
		c.capacity = DefaultCacheCapacity
	}
	return &Keyring{store: store, branchKeyID: id, supplier: supplier, ttl: ttl, cache: newBranchKeyCache(ttl, c.capacity)}, nil
}

// branchKey returns the branch key id of a message or item of context ec.
func (k *Keyring) branchKey(ctx context.Context, ec map[string]string) (string, error) {
	if k.supplier == nil {
		return k.branchKeyID, nil
	}
	id, err := k.supplier.BranchKeyID(ctx, ec)
	if err != nil {
		return "", fmt.Errorf("hierarchy: the branch key id supplier: %w", err)
	}
	if id == "" || !utf8.ValidString(id) {
		return "", errors.New("hierarchy: the branch key id supplier returned an empty or non-UTF-8 branch key id")
	}
	return id, nil
}

// active returns a copy of the active version of branch key id.
func (k *Keyring) active(ctx context.Context, id string) (*BranchKeyMaterials, error) {
	return k.cache.get(ctx, cacheKey{id: id}, func(ctx context.Context) (*BranchKeyMaterials, error) {
		m, err := k.store.GetActiveBranchKey(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := checkMaterials(m, id, ""); err != nil {
			return nil, err
		}
		return m, nil
	})
}

// version returns a copy of version of branch key id.
func (k *Keyring) version(ctx context.Context, id, version string) (*BranchKeyMaterials, error) {
	return k.cache.get(ctx, cacheKey{decrypt: true, id: id, version: version}, func(ctx context.Context) (*BranchKeyMaterials, error) {
		m, err := k.store.GetBranchKeyVersion(ctx, id, version)
		if err != nil {
			return nil, err
		}
		if err := checkMaterials(m, id, version); err != nil {
			return nil, err
		}
		return m, nil
	})
}

// checkMaterials checks what a branch key store returned for branch key id
// (and version, if not empty).
func checkMaterials(m *BranchKeyMaterials, id, version string) error {
	switch {
	case m == nil:
		return errors.New("hierarchy: the branch key store returned no materials and no error")
	case m.BranchKeyID != id:
		return fmt.Errorf("hierarchy: the branch key store answered for branch key %q when asked for %q", m.BranchKeyID, id)
	case len(m.Key()) != BranchKeyLen:
		return fmt.Errorf("hierarchy: the branch key store returned a %d-byte branch key, want %d", len(m.Key()), BranchKeyLen)
	case version != "" && m.Version != version:
		return fmt.Errorf("hierarchy: the branch key store returned version %q of branch key %q when asked for %q", m.Version, id, version)
	}
	if _, ok := parseUUID(m.Version); !ok {
		return fmt.Errorf("hierarchy: the branch key store returned a version of branch key %q that is not a UUID", id)
	}
	return nil
}

func encryptKeyError(err error) error { return &esdk.EncryptKeyError{Err: err} }

// OnEncrypt implements [esdk.Keyring]. It generates the data key if m has
// none, gets the active branch key (from the cache, or from the store:
// then one KMS Decrypt), and adds one encrypted data key: the data key
// wrapped under the branch key, or for the DB-ESDK suites a fresh
// intermediate key wrapped so and the data key sealed under it. Errors are
// [*esdk.EncryptKeyError]s whose cause keeps the store's errors (and AWS
// errors) reachable with errors.Is and errors.As; a done ctx is returned
// as it is.
func (k *Keyring) OnEncrypt(ctx context.Context, m *esdk.EncryptionMaterials) error {
	n := m.Suite.DataKeyLen()
	if n == 0 {
		return fmt.Errorf("hierarchy: keyring: unknown algorithm suite %v", m.Suite)
	}
	id, err := k.branchKey(ctx, m.EncryptionContext)
	if err != nil {
		return encryptKeyError(err)
	}
	ec, err := esdk.MarshalEncryptionContext(m.EncryptionContext)
	if err != nil {
		return encryptKeyError(fmt.Errorf("hierarchy: %v", err))
	}
	bk, err := k.active(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return encryptKeyError(fmt.Errorf("hierarchy: active branch key %q: %w", id, inner(err)))
	}
	defer bk.zero()
	version, _ := parseUUID(bk.Version) // checked by checkMaterials

	if m.DataKey() == nil {
		dk := make([]byte, n)
		defer clear(dk)
		rand.Read(dk)
		if err := m.SetDataKey(dk); err != nil {
			return encryptKeyError(fmt.Errorf("hierarchy: %v", err))
		}
	}
	edk := esdk.EncryptedDataKey{ProviderID: ProviderID, ProviderInfo: []byte(id)}
	var intermediate []byte
	if m.Suite.IntermediateKeyWrapping() {
		intermediate = make([]byte, n)
		defer clear(intermediate)
		rand.Read(intermediate)
		edk.Ciphertext = wrapKey(bk.Key(), id, version, ec, intermediate)
	} else {
		edk.Ciphertext = wrapKey(bk.Key(), id, version, ec, m.DataKey())
	}
	if err := m.AddEncryptedDataKey(edk, intermediate); err != nil {
		return encryptKeyError(fmt.Errorf("hierarchy: %v", err))
	}
	return nil
}

// OnDecrypt implements [esdk.Keyring]. It tries, in order, the encrypted
// data keys of provider "aws-kms-hierarchy" whose branch key id is the
// keyring's (or the supplier's for m's context): for each, it gets the
// branch key version the ciphertext names (from the cache, or from the
// store: then one KMS Decrypt) and unwraps the key under it. If none
// succeeds it returns an [*esdk.NoDecryptKeyError] with the cause of each
// attempt (store and AWS errors stay reachable with errors.As). A done ctx
// stops it and is returned as it is.
func (k *Keyring) OnDecrypt(ctx context.Context, m *esdk.DecryptionMaterials, edks []esdk.EncryptedDataKey) error {
	if m.DataKey() != nil {
		return nil
	}
	n := m.Suite.DataKeyLen()
	if n == 0 {
		return fmt.Errorf("hierarchy: keyring: unknown algorithm suite %v", m.Suite)
	}
	id, err := k.branchKey(ctx, m.EncryptionContext)
	if err != nil {
		return &esdk.NoDecryptKeyError{Errors: []error{err}}
	}
	ec, err := esdk.MarshalEncryptionContext(m.EncryptionContext)
	if err != nil {
		return &esdk.NoDecryptKeyError{Errors: []error{fmt.Errorf("hierarchy: %v", err)}}
	}
	var errs []error
	var others []string
	for i, e := range edks {
		if e.ProviderID != ProviderID {
			continue
		}
		if !utf8.Valid(e.ProviderInfo) {
			errs = append(errs, fmt.Errorf("hierarchy: encrypted data key %d: its branch key id is not UTF-8", i+1))
			continue
		}
		if string(e.ProviderInfo) != id {
			if len(others) < 3 {
				others = append(others, strconv.Quote(string(e.ProviderInfo)))
			}
			continue
		}
		if err := k.decryptOne(ctx, m, id, e, ec); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, fmt.Errorf("hierarchy: encrypted data key %d: %w", i+1, inner(err)))
			continue
		}
		return nil
	}
	if errs == nil {
		msg := fmt.Sprintf("hierarchy: no encrypted data key of branch key %q", id)
		if others != nil {
			msg += " (the message has some of branch keys " + strings.Join(others, ", ") + ")"
		}
		errs = []error{errors.New(msg)}
	}
	return &esdk.NoDecryptKeyError{Errors: errs}
}

// decryptOne sets m's data key from encrypted data key e of branch key id.
func (k *Keyring) decryptOne(ctx context.Context, m *esdk.DecryptionMaterials, id string, e esdk.EncryptedDataKey, ec []byte) error {
	ct, ok := m.KeyringCiphertext(e.Ciphertext)
	if !ok {
		return errCiphertext
	}
	w, err := parseCiphertext(ct, m.Suite.DataKeyLen())
	if err != nil {
		return err
	}
	version := formatUUID(w.version)
	bk, err := k.version(ctx, id, version)
	if err != nil {
		return fmt.Errorf("branch key %q version %s: %w", id, version, inner(err))
	}
	defer bk.zero()
	key, err := unwrapKey(bk.Key(), id, w, ec)
	if err != nil {
		return fmt.Errorf("branch key %q version %s: %v", id, version, err)
	}
	defer clear(key)
	if m.Suite.IntermediateKeyWrapping() {
		err = m.SetIntermediateKey(e.Ciphertext, key)
	} else {
		err = m.SetDataKey(key)
	}
	if err != nil {
		return fmt.Errorf("branch key %q version %s: %v", id, version, err)
	}
	return nil
}

// String describes the keyring: its branch key id (or that a supplier
// chooses it), time to live and cache capacity.
func (k *Keyring) String() string {
	id := strconv.Quote(k.branchKeyID)
	if k.supplier != nil {
		id = "supplied"
	}
	return "hierarchy.Keyring{BranchKeyID: " + id + ", TTL: " + k.ttl.String() + ", CacheCapacity: " + strconv.Itoa(k.cache.capacity) + "}"
}

// GoString is String.
func (k *Keyring) GoString() string { return k.String() }

// Format prints String for every verb.
func (k *Keyring) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue logs what String shows.
func (k *Keyring) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", ProviderID),
		slog.String("branch_key_id", k.branchKeyID),
		slog.Bool("supplier", k.supplier != nil),
		slog.Duration("ttl", k.ttl),
		slog.Int("cache_capacity", k.cache.capacity),
	)
}
