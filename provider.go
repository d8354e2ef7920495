package datamask

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/datamask/datamask/esdk"
)

// ESDKProvider is the [Provider] that writes and reads AWS Encryption SDK
// messages (package esdk) with the keys of a keyring: AWS KMS keys (package
// awskms) or a local AES key ([ReadLocalKeyring]). Its messages decrypt in
// Powertools for AWS Lambda and every AWS Encryption SDK given the same
// keys, and it decrypts theirs. Build it with [NewESDKProvider]; it is
// immutable and safe for concurrent use, so build one and share it.
type ESDKProvider struct {
	client      *esdk.Client
	cmm         esdk.MaterialsManager
	keyring     esdk.Keyring
	suite       esdk.Suite
	frameLength int
	cache       *DataKeyCache        // nil when caching is off
	encOpts     []esdk.EncryptOption // suite and frame length
}

var _ Provider = (*ESDKProvider)(nil)

// A ProviderOption configures an [ESDKProvider] in [NewESDKProvider].
type ProviderOption interface {
	applyProvider(*providerConfig) error
}

type providerOption func(*providerConfig) error

func (f providerOption) applyProvider(c *providerConfig) error { return f(c) }

type providerConfig struct {
	suite       esdk.Suite
	frameLength int
	maxEDKs     int
	cache       *DataKeyCache
	noCache     bool
	set         map[string]bool // options given, to refuse repeats
}

func (c *providerConfig) once(name string) error {
	if c.set[name] {
		return fmt.Errorf("datamask: %s given twice", name)
	}
	c.set[name] = true
	return nil
}

// WithSuite sets the algorithm suite of the messages Encrypt writes
// (Decrypt reads the suite from each message). The default is
// [esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384] (0x0578), committing and
// signed, as in Powertools and every AWS Encryption SDK: a reader can tell
// that a message was written by a holder of the signing key, not merely by
// someone able to decrypt. [esdk.AES256GCMHKDFSHA512CommitKey] (0x0478),
// committing but unsigned, is the choice for field-level encryption where
// everyone who can encrypt is trusted: with a cached data key a 1 KiB value
// costs about 5 µs to encrypt and 6 µs to decrypt with it on one core,
// against 175 µs and 480 µs with 0x0578, whose ECDSA P-384 signature is
// made and checked per message (BenchmarkKMS of package awskms, warm
// cache, on a quiet 2-core AMD EPYC VM with Go 1.26).
func WithSuite(s esdk.Suite) ProviderOption {
	return providerOption(func(c *providerConfig) error {
		if s != esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384 && s != esdk.AES256GCMHKDFSHA512CommitKey {
			return fmt.Errorf("datamask: WithSuite: %v cannot encrypt: choose esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384 (0x0578) or esdk.AES256GCMHKDFSHA512CommitKey (0x0478)", s)
		}
		if err := c.once("WithSuite"); err != nil {
			return err
		}
		c.suite = s
		return nil
	})
}

// WithFrameLength sets the frame length of the messages Encrypt writes, 1 to
// [esdk.MaxFrameLength] bytes (default [esdk.DefaultFrameLength], 4096).
// Field values are usually shorter than one frame.
func WithFrameLength(n int) ProviderOption {
	return providerOption(func(c *providerConfig) error {
		if n < 1 || n > esdk.MaxFrameLength {
			return fmt.Errorf("datamask: WithFrameLength: %d is not between 1 and %d", n, esdk.MaxFrameLength)
		}
		if err := c.once("WithFrameLength"); err != nil {
			return err
		}
		c.frameLength = n
		return nil
	})
}

// WithMaxEncryptedDataKeys limits the encrypted data keys of a message, both
// written and read, to n (1 to 65535; default
// [esdk.DefaultMaxEncryptedDataKeys], 10). A message with more is refused
// before any key is tried, because each one can cost a KMS call.
func WithMaxEncryptedDataKeys(n int) ProviderOption {
	return providerOption(func(c *providerConfig) error {
		if n < 1 || n > esdk.NoMaxEncryptedDataKeys {
			return fmt.Errorf("datamask: WithMaxEncryptedDataKeys: %d is not between 1 and %d", n, esdk.NoMaxEncryptedDataKeys)
		}
		if err := c.once("WithMaxEncryptedDataKeys"); err != nil {
			return err
		}
		c.maxEDKs = n
		return nil
	})
}

// DataKeyCache configures the data key cache of an [ESDKProvider] (the AWS
// Encryption SDK's caching materials manager). A zero field takes the
// default, which is also Powertools' default (local_cache_capacity,
// max_cache_age_seconds, max_messages_encrypted, max_bytes_encrypted).
//
// A data key serves every message encrypted under the same encryption
// context until it is MaxAge old or has encrypted MaxMessages messages or
// MaxBytes bytes, so a KMS keyring calls GenerateDataKey once per entry
// instead of once per value; each message still has its own derived key.
// Decryption reuses a data key the cache decrypted for the same encrypted
// data keys and context, so reading the values of one batch calls KMS
// Decrypt once (Powertools calls it for every value). [BindFields] and
// [ContextFrom] add pairs to the context: their values take one data key,
// and one entry, per expression or per record.
type DataKeyCache struct {
	// Capacity is the number of entries, encryption and decryption
	// together, kept before the least recently used is evicted (default
	// 100).
	Capacity int
	// MaxAge is how long a data key may be used (default 300 s).
	MaxAge time.Duration
	// MaxMessages is how many messages one data key may encrypt (at most
	// and by default 2^32).
	MaxMessages uint64
	// MaxBytes is how many plaintext bytes one data key may encrypt (at
	// most and by default 2^63-1).
	MaxBytes uint64
}

// WithDataKeyCache configures the data key cache, which is on by default
// with the defaults of [DataKeyCache].
func WithDataKeyCache(c DataKeyCache) ProviderOption {
	return providerOption(func(pc *providerConfig) error {
		if err := pc.once("WithDataKeyCache"); err != nil {
			return err
		}
		if pc.noCache {
			return errors.New("datamask: WithDataKeyCache conflicts with WithoutDataKeyCache: choose one")
		}
		pc.cache = &c
		return nil
	})
}

// WithoutDataKeyCache turns the data key cache off: every message gets a
// data key of its own, which costs a KMS GenerateDataKey call per
// encrypted value and a KMS Decrypt call per decrypted value. Only use it
// when policy requires one data key per message; all other users should
// keep the cache.
func WithoutDataKeyCache() ProviderOption {
	return providerOption(func(pc *providerConfig) error {
		if pc.cache != nil {
			return errors.New("datamask: WithoutDataKeyCache conflicts with WithDataKeyCache: choose one")
		}
		pc.noCache = true
		return nil
	})
}

// NewESDKProvider returns an AWS Encryption SDK provider that protects data
// keys with k: for AWS KMS keys a keyring of package awskms (several keys:
// the first generates each data key and every other one encrypts it again,
// so any of them decrypts), for a local key [ReadLocalKeyring], or any
// [esdk.Keyring]. Without options it writes suite 0x0578 with 4096-byte
// frames under the commitment policy REQUIRE_ENCRYPT_REQUIRE_DECRYPT, and
// caches data keys ([DataKeyCache]), as Powertools does. A nil keyring is
// refused, including a nil pointer such as the *esdk.RawAESKeyring that
// [ReadLocalKeyring] returns with its error.
func NewESDKProvider(k esdk.Keyring, opts ...ProviderOption) (*ESDKProvider, error) {
	if k == nil {
		return nil, errors.New("datamask: NewESDKProvider: keyring is nil")
	}
	if isNil(k) {
		return nil, fmt.Errorf("datamask: NewESDKProvider: keyring is a nil %T: check the error of the function that returned it", k)
	}
	cfg := providerConfig{
		suite:       esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384,
		frameLength: esdk.DefaultFrameLength,
		maxEDKs:     esdk.DefaultMaxEncryptedDataKeys,
		set:         map[string]bool{},
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("datamask: NewESDKProvider: nil ProviderOption")
		}
		if err := o.applyProvider(&cfg); err != nil {
			return nil, err
		}
	}
	client, err := esdk.NewClient(esdk.WithMaxEncryptedDataKeys(cfg.maxEDKs))
	if err != nil {
		return nil, fmt.Errorf("datamask: NewESDKProvider: %v", err)
	}
	var cmm esdk.MaterialsManager
	if cmm, err = esdk.NewDefaultCMM(k); err != nil {
		return nil, fmt.Errorf("datamask: NewESDKProvider: %v", err)
	}
	if !cfg.noCache {
		if cfg.cache == nil {
			cfg.cache = &DataKeyCache{}
		}
		c := *cfg.cache
		var opts []esdk.CachingOption
		if c.Capacity != 0 {
			opts = append(opts, esdk.WithCacheCapacity(c.Capacity))
		}
		if c.MaxAge != 0 {
			opts = append(opts, esdk.WithCacheMaxAge(c.MaxAge))
		}
		if c.MaxMessages != 0 {
			opts = append(opts, esdk.WithCacheMaxMessages(c.MaxMessages))
		}
		if c.MaxBytes != 0 {
			opts = append(opts, esdk.WithCacheMaxBytes(c.MaxBytes))
		}
		if cmm, err = esdk.NewCachingCMM(cmm, opts...); err != nil {
			return nil, fmt.Errorf("datamask: WithDataKeyCache: %v", err)
		}
		cfg.cache = &DataKeyCache{
			Capacity:    cmp.Or(c.Capacity, esdk.DefaultCacheCapacity),
			MaxAge:      cmp.Or(c.MaxAge, esdk.DefaultCacheMaxAge),
			MaxMessages: cmp.Or(c.MaxMessages, esdk.DefaultCacheMaxMessages),
			MaxBytes:    cmp.Or(c.MaxBytes, esdk.DefaultCacheMaxBytes),
		}
	}
	return &ESDKProvider{
		client:      client,
		cmm:         keyErrorCMM{cmm},
		keyring:     k,
		suite:       cfg.suite,
		frameLength: cfg.frameLength,
		cache:       cfg.cache,
		encOpts:     []esdk.EncryptOption{esdk.WithSuite(cfg.suite), esdk.WithFrameLength(cfg.frameLength)},
	}, nil
}

// isNil reports whether k holds a nil pointer,
// map, slice, func or channel, such as the nil *esdk.RawAESKeyring that
// ReadLocalKeyring returns with its error: stored, it would only fail (or
// panic) at the first Encrypt.
func isNil(k esdk.Keyring) bool {
	switch v := reflect.ValueOf(k); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// Encrypt implements [Provider]: it returns an AWS Encryption SDK message.
// It fails with [*EncryptKeyError] when the keyring cannot produce a data
// key (for example KMS refused GenerateDataKey).
func (p *ESDKProvider) Encrypt(ctx context.Context, plaintext []byte, encryptionContext map[string]string) ([]byte, error) {
	if err := checkContextSize(encryptionContext, contextOverhead(p)); err != nil {
		return nil, err
	}
	opts := append(p.encOpts[:len(p.encOpts):len(p.encOpts)], esdk.WithEncryptionContext(encryptionContext))
	// Key errors come out as *EncryptKeyError (see keyErrorCMM); the
	// others (a cancelled ctx, a failing random source) as they are.
	return p.client.Encrypt(ctx, plaintext, p.cmm, opts...)
}

// Decrypt implements [Provider]. It checks, as soon as the header is parsed
// and before any key is used or KMS called, that the message's encryption
// context, aws-crypto-public-key aside, equals encryptionContext exactly
// ([*ContextMismatchError] otherwise). A malformed or altered message, or
// one of a legacy suite without key commitment, is [ErrDecryptValue]; a
// message no key of the keyring can decrypt is [*DecryptKeyError]. The
// esdk errors stay reachable with [errors.Is] and [errors.As].
func (p *ESDKProvider) Decrypt(ctx context.Context, ciphertext []byte, encryptionContext map[string]string) ([]byte, error) {
	pt, _, err := p.client.Decrypt(ctx, ciphertext, p.cmm, esdk.WithExpectedContext(encryptionContext))
	if err != nil {
		return nil, decryptError(err)
	}
	return pt, nil
}

// publicKeyPairLen is the serialized size of the aws-crypto-public-key
// pair a signed suite adds to the context: two lengths, the key, and the
// base64 of a compressed P-384 point (49 bytes, 68 characters).
var publicKeyPairLen = 4 + len(esdk.PublicKeyContextKey) + base64.StdEncoding.EncodedLen(49)

// contextOverhead returns how many bytes p adds to an encryption context
// when it serializes it.
func contextOverhead(p Provider) int {
	if e, ok := p.(*ESDKProvider); ok && e.suite.Signing() {
		return publicKeyPairLen
	}
	return 0
}

// Suite returns the algorithm suite Encrypt writes.
func (p *ESDKProvider) Suite() esdk.Suite { return p.suite }

// DataKeyCache returns the data key cache's settings, defaults filled in,
// and false if caching is off.
func (p *ESDKProvider) DataKeyCache() (DataKeyCache, bool) {
	if p.cache == nil {
		return DataKeyCache{}, false
	}
	return *p.cache, true
}

// String describes the provider: its suite, frame length, cache and
// keyring (through the keyring's String method, or only its type if it has
// none), never key material.
func (p *ESDKProvider) String() string {
	cache := "off"
	if c := p.cache; c != nil {
		cache = fmt.Sprintf("%d entries, %v, %d messages, %d bytes", c.Capacity, c.MaxAge, c.MaxMessages, c.MaxBytes)
	}
	return fmt.Sprintf("datamask.ESDKProvider(suite %v, frame length %d, data key cache %s, keyring %s)", p.suite, p.frameLength, cache, describeKeyring(p.keyring))
}

// describeKeyring uses a keyring's String method if it has one, else names
// only its type: printing the fields of a keyring of unknown type could
// print its key.
func describeKeyring(k esdk.Keyring) string {
	if s, ok := k.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", k)
}

// GoString is String.
func (p *ESDKProvider) GoString() string { return p.String() }

// Format prints String for every verb.
func (p *ESDKProvider) Format(f fmt.State, verb rune) { fmt.Fprint(f, p.String()) }

// LogValue logs the suite and frame length, never key material.
func (p *ESDKProvider) LogValue() slog.Value {
	return slog.GroupValue(slog.String("suite", p.suite.String()), slog.Int("frame_length", p.frameLength))
}

// keyErrorCMM marks the errors of the materials manager on encrypt, which
// come from the keyring (or a cache in front of it), as key errors.
type keyErrorCMM struct {
	esdk.MaterialsManager
}

func (c keyErrorCMM) EncryptionMaterials(ctx context.Context, req esdk.EncryptionMaterialsRequest) (*esdk.EncryptionMaterials, error) {
	m, err := c.MaterialsManager.EncryptionMaterials(ctx, req)
	if err != nil && !errorIsContext(err) {
		return nil, &EncryptKeyError{Err: err}
	}
	return m, err
}

// decryptError maps an error of esdk's Decrypt to the package's errors,
// keeping it reachable.
func decryptError(err error) error {
	var cme *esdk.ContextMismatchError
	switch {
	case errorIsContext(err):
		return err
	case errors.As(err, &cme):
		return &ContextMismatchError{Keys: cme.Keys, Err: err}
	case errors.Is(err, esdk.ErrInvalidMessage):
		return &decryptValueError{cause: err}
	case errors.Is(err, esdk.ErrLegacySuite):
		return &decryptValueError{reason: "the message uses a legacy algorithm suite without key commitment, which datamask does not read", cause: err}
	case errors.Is(err, esdk.ErrTooManyEncryptedDataKeys):
		return &decryptValueError{reason: "the message has more encrypted data keys than the provider allows (see WithMaxEncryptedDataKeys)", cause: err}
	}
	return &DecryptKeyError{Err: err}
}
