package tokenvault

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/ff1"
	"github.com/datamask/datamask/internal/parallel"
)

// Encryption context keys of the vault's messages.
const (
	contextTenant = "datamask:tenant"
	contextPolicy = "datamask:policy"
	contextVault  = "datamask:vault"
)

// vaultKey names the record holding the vault's key, wrapped by the
// provider; the empty tenant is the vault's own.
var vaultKey = Key{Tenant: "", Policy: "", Token: "vault-key-v1"}

// maxCreateRounds bounds the rounds of token collisions a value may meet
// before ErrExhausted.
const maxCreateRounds = 10

// Vault issues tokens for values and gives values back for tokens, within
// a tenant and a named policy. Build it with [Open]; it is safe for
// concurrent use.
type Vault struct {
	store    Store
	provider datamask.Provider
	previous []datamask.Provider
	policies map[string]*policyState
	now      func() time.Time
}

// A Vault is the token vault of datamask.DataMasker's Tokenize and
// Detokenize (datamask.WithTokenVault); its MaxBatch is their batch size.
var _ datamask.TokenVault = (*Vault)(nil)

// policyState is a policy with its keys.
type policyState struct {
	*Policy
	fp  sync.Pool   // of hash.Hash: HMAC-SHA256 under the fingerprint key (convergent)
	ff1 *ff1.Cipher // FormatFF1
}

// An Option configures a [Vault] in [Open].
type Option interface {
	applyVault(*vaultConfig) error
}

type vaultConfig struct {
	previous []datamask.Provider
	now      func() time.Time
}

type vaultOption func(*vaultConfig) error

func (f vaultOption) applyVault(c *vaultConfig) error { return f(c) }

// WithPreviousProviders gives the providers of keys the vault used before
// (a rotated local key, a former KMS key): records, and the vault's key,
// that the current provider cannot decrypt are tried with these, in order.
// [Vault.Rewrap] re-encrypts everything under the current provider, after
// which the previous keys can be retired.
func WithPreviousProviders(ps ...datamask.Provider) Option {
	return vaultOption(func(c *vaultConfig) error {
		if c.previous != nil {
			return errors.New("tokenvault: WithPreviousProviders given twice")
		}
		if len(ps) == 0 {
			return errors.New("tokenvault: WithPreviousProviders: no provider given")
		}
		for _, p := range ps {
			if p == nil {
				return errors.New("tokenvault: WithPreviousProviders: nil provider")
			}
		}
		c.previous = slices.Clone(ps)
		return nil
	})
}

// WithClock sets the clock of expiry (default time.Now), for tests and for
// replaying a sweep at a given time.
func WithClock(now func() time.Time) Option {
	return vaultOption(func(c *vaultConfig) error {
		if now == nil {
			return errors.New("tokenvault: WithClock: nil clock")
		}
		if c.now != nil {
			return errors.New("tokenvault: WithClock given twice")
		}
		c.now = now
		return nil
	})
}

// NewProvider returns the provider the vault is meant to use with keyring k
// (a local key from [datamask.ReadLocalKeyring], or AWS KMS keys of package
// awskms): AWS Encryption SDK messages of suite 0x0478 (committing,
// unsigned: about 5 µs a record with a cached data key, where the signed
// 0x0578 costs about 175 µs to encrypt and 480 µs to decrypt) with the
// data key cache on, so that a batch of 1,000 values costs one KMS call.
// Everyone who can write the vault's records is trusted with its keys
// anyway. Pass datamask.NewESDKProvider's result instead for other
// settings.
func NewProvider(k esdk.Keyring, opts ...datamask.ProviderOption) (*datamask.ESDKProvider, error) {
	return datamask.NewESDKProvider(k, append([]datamask.ProviderOption{datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey)}, opts...)...)
}

// Open returns a vault over store, whose records provider encrypts, serving
// policies (at least one; names unique). The vault's key, from which the
// fingerprint keys of convergent policies and the keys of FF1 policies are
// derived, is read from the store and decrypted with provider; the first
// Open of an empty store creates it. Open fails with [ErrWrongKey] when the
// provider cannot decrypt it. Open does not take ownership of the store:
// close it after the last use of the vault.
func Open(ctx context.Context, store Store, provider datamask.Provider, policies []*Policy, opts ...Option) (*Vault, error) {
	if store == nil {
		return nil, errors.New("tokenvault: Open: store is nil")
	}
	if provider == nil {
		return nil, errors.New("tokenvault: Open: provider is nil")
	}
	if len(policies) == 0 {
		return nil, errors.New("tokenvault: Open: no policy given (BuiltinPolicies returns the built-in ones)")
	}
	var cfg vaultConfig
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("tokenvault: Open: nil Option")
		}
		if err := o.applyVault(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	v := &Vault{store: store, provider: provider, previous: cfg.previous, policies: map[string]*policyState{}, now: cfg.now}
	for _, p := range policies {
		if p == nil {
			return nil, errors.New("tokenvault: Open: nil policy")
		}
		if _, dup := v.policies[p.name]; dup {
			return nil, fmt.Errorf("tokenvault: Open: policy %s given twice", strconv.Quote(p.name))
		}
		v.policies[p.name] = &policyState{Policy: p}
	}
	master, err := v.loadKey(ctx)
	if err != nil {
		return nil, err
	}
	defer clear(master)
	for name, ps := range v.policies {
		switch {
		case ps.spec.Convergent:
			key, err := hkdf.Key(sha256.New, master, nil, "datamask tokenvault fingerprint v1\x00"+name, 32)
			if err != nil {
				return nil, fmt.Errorf("tokenvault: Open: %v", err)
			}
			ps.fp.New = func() any { return hmac.New(sha256.New, key) }
		case ps.spec.Format == FormatFF1:
			key, err := hkdf.Key(sha256.New, master, nil, "datamask tokenvault ff1 v1\x00"+name, 32)
			if err != nil {
				return nil, fmt.Errorf("tokenvault: Open: %v", err)
			}
			if ps.ff1, err = ff1.NewWithAlphabet(key, ff1Alphabet(ps.spec.Charset)); err != nil {
				return nil, fmt.Errorf("tokenvault: Open: %v", err)
			}
			clear(key)
		}
	}
	return v, nil
}

var vaultKeyContext = map[string]string{contextVault: "key"}

// loadKey reads the vault's key, creating it in an empty store.
func (v *Vault) loadKey(ctx context.Context) ([]byte, error) {
	for range 3 {
		recs, err := v.store.Get(ctx, []Key{vaultKey})
		if err != nil {
			return nil, fmt.Errorf("tokenvault: Open: reading the vault's key: %w", err)
		}
		if rec := recs[0]; rec != nil {
			key, _, err := v.decrypt(ctx, rec.Ciphertext, vaultKeyContext)
			if err != nil {
				return nil, v.openError("vault key", err)
			}
			if len(key) != 32 {
				clear(key)
				return nil, ErrTampered
			}
			return key, nil
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("tokenvault: Open: random source: %v", err)
		}
		ct, err := v.provider.Encrypt(ctx, key, vaultKeyContext)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("tokenvault: Open: wrapping the vault's key: %w", err)
		}
		res, err := v.store.Create(ctx, []Record{{Key: vaultKey, Ciphertext: ct}})
		if err != nil {
			return nil, fmt.Errorf("tokenvault: Open: storing the vault's key: %w", err)
		}
		_ = res // created, or another process created it first: read it back
	}
	return nil, errors.New("tokenvault: Open: the store does not keep the vault's key")
}

// decrypt decrypts a message with the provider or, failing that for want
// of a key, with each previous provider; it reports which one (0 current).
func (v *Vault) decrypt(ctx context.Context, ct []byte, ec map[string]string) ([]byte, int, error) {
	pt, err := v.provider.Decrypt(ctx, ct, ec)
	if err == nil || !retryable(err) {
		return pt, 0, err
	}
	for i, p := range v.previous {
		if pt, perr := p.Decrypt(ctx, ct, ec); perr == nil {
			return pt, i + 1, nil
		} else if !retryable(perr) {
			return nil, 0, perr
		}
	}
	return nil, 0, err
}

// retryable reports whether another key might decrypt what failed with err.
func retryable(err error) bool {
	var cme *datamask.ContextMismatchError
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
		!errors.As(err, &cme) && !errors.Is(err, datamask.ErrDecryptValue)
}

// openError maps a provider's decrypt error to the vault's errors.
func (v *Vault) openError(what string, err error) error {
	var cme *datamask.ContextMismatchError
	var dke *datamask.DecryptKeyError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &cme), errors.Is(err, datamask.ErrDecryptValue):
		return ErrTampered
	case errors.As(err, &dke):
		return &keyError{what: what, err: err}
	}
	// A provider of another kind: its error is all we know.
	return &keyError{what: what, err: err}
}

func recordContext(tenant, policy string) map[string]string {
	return map[string]string{contextTenant: tenant, contextPolicy: policy}
}

// policy returns the state of a named policy after checking the tenant.
func (v *Vault) policy(tenant, name string) (*policyState, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	ps, ok := v.policies[name]
	if !ok {
		return nil, &UnknownPolicyError{Name: name}
	}
	return ps, nil
}

// Policies returns the vault's policies, sorted by name.
func (v *Vault) Policies() []*Policy {
	var ps []*Policy
	for _, name := range slices.Sorted(maps.Keys(v.policies)) {
		ps = append(ps, v.policies[name].Policy)
	}
	return ps
}

// String names the vault's policies, never a key.
func (v *Vault) String() string {
	return "tokenvault.Vault(policies " + policyNames(v.policiesMap()) + ")"
}

func (v *Vault) policiesMap() map[string]*Policy {
	m := make(map[string]*Policy, len(v.policies))
	for n, p := range v.policies {
		m[n] = p.Policy
	}
	return m
}

// GoString is String.
func (v *Vault) GoString() string { return v.String() }

// Format prints String for every verb.
func (v *Vault) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(v.String())) }

// LogValue logs the policy names only.
func (v *Vault) LogValue() slog.Value {
	return slog.StringValue(strings.Join(slices.Sorted(maps.Keys(v.policies)), ","))
}

// fingerprint is the keyed fingerprint of value in tenant.
func (ps *policyState) fingerprint(tenant, value string) []byte {
	h := ps.fp.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(value))
	sum := h.Sum(make([]byte, 0, sha256.Size))
	ps.fp.Put(h)
	return sum
}

// A TokenizeOption configures one [Vault.Tokenize] call.
type TokenizeOption interface {
	applyTokenize(*tokenizeConfig) error
}

type tokenizeConfig struct {
	ttl    time.Duration
	ttlSet bool
	meta   map[string]string
}

type tokenizeOption func(*tokenizeConfig) error

func (f tokenizeOption) applyTokenize(c *tokenizeConfig) error { return f(c) }

// WithTTL sets how long the token lives (at least a second), overriding
// the policy's TTL; 0 means forever. A convergent policy returning a token
// the value already has keeps that token's expiry.
func WithTTL(d time.Duration) TokenizeOption {
	return tokenizeOption(func(c *tokenizeConfig) error {
		if c.ttlSet {
			return errors.New("tokenvault: WithTTL given twice")
		}
		if d < 0 || (d > 0 && d < time.Second) {
			return fmt.Errorf("tokenvault: WithTTL: %v is not 0 or at least a second", d)
		}
		c.ttl, c.ttlSet = d, true
		return nil
	})
}

// WithMetadata stores string pairs with the token, encrypted with its value
// ([Vault.Metadata] reads them): at most 32 pairs, keys of 1 to 128 bytes,
// 8 KiB in all. A convergent policy returning a token the value already
// has keeps that token's metadata.
func WithMetadata(m map[string]string) TokenizeOption {
	return tokenizeOption(func(c *tokenizeConfig) error {
		if c.meta != nil {
			return errors.New("tokenvault: WithMetadata given twice")
		}
		if len(m) > maxMetaPairs {
			return fmt.Errorf("tokenvault: WithMetadata: %d pairs, more than %d", len(m), maxMetaPairs)
		}
		total := 0
		for k, val := range m {
			if k == "" || len(k) > maxMetaKeyLen {
				return fmt.Errorf("tokenvault: WithMetadata: a key is empty or longer than %d bytes", maxMetaKeyLen)
			}
			total += len(k) + len(val)
		}
		if total > maxMetaBytes {
			return fmt.Errorf("tokenvault: WithMetadata: %d bytes, more than %d", total, maxMetaBytes)
		}
		c.meta = maps.Clone(m)
		if c.meta == nil {
			c.meta = map[string]string{}
		}
		return nil
	})
}

// Tokenize returns the token of value in tenant under policy: a new token,
// or for a convergent policy the one the value already has (an FF1
// policy computes it). It fails with [*UnknownPolicyError], a
// [*ValueError] (ErrInvalidValue) for a value the format cannot serve,
// [ErrExhausted], or the store's or provider's error.
func (v *Vault) Tokenize(ctx context.Context, tenant, policy, value string, opts ...TokenizeOption) (string, error) {
	var cfg tokenizeConfig
	for _, o := range opts {
		if o == nil {
			return "", errors.New("tokenvault: Tokenize: nil TokenizeOption")
		}
		if err := o.applyTokenize(&cfg); err != nil {
			return "", err
		}
	}
	tokens, errs, err := v.tokenize(ctx, tenant, policy, []string{value}, &cfg)
	if err != nil {
		return "", err
	}
	return tokens[0], errs[0]
}

// TokenizeBatch tokenizes up to [MaxBatch] values of one tenant and policy
// (with the policy's TTL and no metadata) in one store round trip or a few.
// tokens[i] is the token of values[i] when errs[i] is nil; errs[i] is as
// for [Vault.Tokenize]. Equal values of a convergent policy get the same
// token. err, when not nil, fails the whole call: an unknown policy or
// tenant, [ErrTooMany], ctx, or the store or provider failing.
func (v *Vault) TokenizeBatch(ctx context.Context, tenant, policy string, values []string) (tokens []string, errs []error, err error) {
	return v.tokenize(ctx, tenant, policy, values, &tokenizeConfig{})
}

func (v *Vault) tokenize(ctx context.Context, tenant, policy string, values []string, cfg *tokenizeConfig) ([]string, []error, error) {
	ps, err := v.policy(tenant, policy)
	if err != nil {
		return nil, nil, err
	}
	if len(values) > MaxBatch {
		return nil, nil, ErrTooMany
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if (cfg.meta != nil || cfg.ttlSet) && !ps.stored() {
		return nil, nil, fmt.Errorf("%w: ff1 tokens have no record for a TTL or metadata", ErrUnsupported)
	}
	tokens := make([]string, len(values))
	errs := make([]error, len(values))
	if !ps.stored() {
		for i, val := range values {
			if errs[i] = ps.checkValue(val); errs[i] == nil {
				tokens[i], errs[i] = ps.ff1Crypt(ps.ff1, tenant, val, true)
			}
		}
		return tokens, errs, nil
	}
	ttl := ps.spec.TTL
	if cfg.ttlSet {
		ttl = cfg.ttl
	}
	now := v.now()
	var expires time.Time
	if ttl > 0 {
		expires = now.Add(ttl)
	}
	ec := recordContext(tenant, policy)

	var pending []int
	var fps [][]byte
	dupOf := map[int]int{}
	if ps.spec.Convergent {
		fps = make([][]byte, len(values))
		first := map[string]int{}
		var unique []int
		for i, val := range values {
			if errs[i] = ps.checkValue(val); errs[i] != nil {
				continue
			}
			fps[i] = ps.fingerprint(tenant, val)
			if j, ok := first[string(fps[i])]; ok {
				dupOf[i] = j
				continue
			}
			first[string(fps[i])] = i
			unique = append(unique, i)
		}
		if len(unique) > 0 {
			q := make([][]byte, len(unique))
			for k, i := range unique {
				q[k] = fps[i]
			}
			found, err := v.store.GetByFingerprint(ctx, tenant, policy, q)
			if err != nil {
				return nil, nil, err
			}
			for k, i := range unique {
				if found[k] == nil {
					pending = append(pending, i)
					continue
				}
				tok, err, gone := v.existing(ctx, ec, found[k], values[i], now)
				if err != nil && !errors.Is(err, ErrTampered) {
					return nil, nil, err
				}
				if gone {
					pending = append(pending, i)
					continue
				}
				tokens[i], errs[i] = tok, err
			}
		}
	} else {
		for i, val := range values {
			if errs[i] = ps.checkValue(val); errs[i] == nil {
				pending = append(pending, i)
			}
		}
	}

	recs := make([]Record, 0, len(pending))
	for round := 0; len(pending) > 0; round++ {
		if round == maxCreateRounds {
			for _, i := range pending {
				errs[i] = ErrExhausted
			}
			break
		}
		recs = recs[:len(pending)]
		perr := make([]error, len(pending))
		err := forEach(ctx, len(pending), func(k int) {
			i := pending[k]
			tok, err := ps.randomToken(values[i])
			if err != nil {
				perr[k] = err
				return
			}
			p := payload{token: tok, created: now, expires: expires, meta: cfg.meta, value: values[i]}
			ct, err := v.provider.Encrypt(ctx, p.marshal(), ec)
			if err != nil {
				perr[k] = err
				return
			}
			recs[k] = Record{Key: Key{Tenant: tenant, Policy: policy, Token: tok}, Ciphertext: ct, Expires: expires}
			if fps != nil {
				recs[k].Fingerprint = fps[i]
			}
		})
		if err != nil {
			return nil, nil, err
		}
		for _, e := range perr {
			if e != nil {
				return nil, nil, fmt.Errorf("tokenvault: encrypting a record: %w", e)
			}
		}
		res, err := v.store.Create(ctx, recs)
		if err != nil {
			return nil, nil, err
		}
		if len(res) != len(recs) {
			return nil, nil, fmt.Errorf("tokenvault: the store returned %d results for %d records", len(res), len(recs))
		}
		next := pending[:0:0]
		for k, i := range pending {
			switch res[k].Outcome {
			case Created:
				tokens[i] = recs[k].Token
			case TokenTaken:
				next = append(next, i)
			case FingerprintTaken:
				if res[k].Existing == nil {
					return nil, nil, errors.New("tokenvault: the store reported a taken fingerprint without its record")
				}
				tok, err, gone := v.existing(ctx, ec, res[k].Existing, values[i], now)
				if err != nil && !errors.Is(err, ErrTampered) {
					return nil, nil, err
				}
				if gone {
					next = append(next, i)
					continue
				}
				tokens[i], errs[i] = tok, err
			default:
				return nil, nil, fmt.Errorf("tokenvault: the store returned an invalid outcome %d", res[k].Outcome)
			}
		}
		pending = next
	}
	for i, j := range dupOf {
		tokens[i], errs[i] = tokens[j], errs[j]
	}
	return tokens, errs, nil
}

// existing checks the record a convergent policy found for value: it must
// decrypt to value. An expired one is deleted (gone: tokenize the value
// anew). An error other than ErrTampered fails the whole call.
func (v *Vault) existing(ctx context.Context, ec map[string]string, rec *Record, value string, now time.Time) (token string, err error, gone bool) {
	p, err := v.open(ctx, ec, rec)
	if err != nil {
		return "", err, false
	}
	if subtle.ConstantTimeCompare([]byte(p.value), []byte(value)) != 1 {
		return "", ErrTampered, false
	}
	if !p.expires.IsZero() && !now.Before(p.expires) {
		if _, err := v.store.Swap(ctx, rec.Key, rec.Ciphertext, nil); err != nil {
			return "", err, false
		}
		return "", nil, true
	}
	return rec.Token, nil, false
}

// open decrypts a record and checks that it belongs to its key.
func (v *Vault) open(ctx context.Context, ec map[string]string, rec *Record) (*payload, error) {
	pt, _, err := v.decrypt(ctx, rec.Ciphertext, ec)
	if err != nil {
		return nil, v.openError("record", err)
	}
	p, err := parsePayload(pt)
	clear(pt)
	if err != nil || subtle.ConstantTimeCompare([]byte(p.token), []byte(rec.Token)) != 1 {
		return nil, ErrTampered
	}
	return p, nil
}

// forEach runs fn(0..n-1) on up to GOMAXPROCS goroutines (fewer for few
// values) through the module's worker pool: once ctx is done no further
// call starts and ctx's error is returned, and a panic of fn (a provider's,
// a keyring's) is raised again in the caller's goroutine, with its value.
func forEach(ctx context.Context, n int, fn func(int)) error {
	workers := min(runtime.GOMAXPROCS(0), (n+31)/32)
	return parallel.Do(ctx, n, workers, func(_ context.Context, _, i int) error {
		fn(i)
		return nil
	})
}

// Detokenize returns the value of token in tenant under policy. It fails
// with [ErrInvalidToken] for a string that is no token of the policy,
// [ErrNotFound], [ErrExpired], [ErrTampered] for a record altered or moved
// in the store, [ErrWrongKey], or the store's error.
func (v *Vault) Detokenize(ctx context.Context, tenant, policy, token string) (string, error) {
	values, errs, err := v.DetokenizeBatch(ctx, tenant, policy, []string{token})
	if err != nil {
		return "", err
	}
	return values[0], errs[0]
}

// DetokenizeBatch detokenizes up to [MaxBatch] tokens of one tenant and
// policy in one store round trip: values[i] is the value of tokens[i] when
// errs[i] is nil; errs[i] is as for [Vault.Detokenize]. err, when not nil,
// fails the whole call (unknown policy or tenant, [ErrTooMany], ctx, the
// store failing).
func (v *Vault) DetokenizeBatch(ctx context.Context, tenant, policy string, tokens []string) (values []string, errs []error, err error) {
	ps, err := v.policy(tenant, policy)
	if err != nil {
		return nil, nil, err
	}
	if len(tokens) > MaxBatch {
		return nil, nil, ErrTooMany
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	values = make([]string, len(tokens))
	errs = make([]error, len(tokens))
	var keys []Key
	var idx []int
	for i, tok := range tokens {
		if errs[i] = ps.checkToken(tok); errs[i] != nil {
			continue
		}
		if !ps.stored() {
			if values[i], errs[i] = ps.ff1Crypt(ps.ff1, tenant, tok, false); errs[i] != nil {
				errs[i] = ErrInvalidToken
			}
			continue
		}
		keys = append(keys, Key{Tenant: tenant, Policy: policy, Token: tok})
		idx = append(idx, i)
	}
	if len(keys) == 0 {
		return values, errs, nil
	}
	recs, err := v.store.Get(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	if len(recs) != len(keys) {
		return nil, nil, fmt.Errorf("tokenvault: the store returned %d records for %d keys", len(recs), len(keys))
	}
	ec := recordContext(tenant, policy)
	now := v.now()
	err = forEach(ctx, len(keys), func(k int) {
		i := idx[k]
		rec := recs[k]
		if rec == nil {
			errs[i] = ErrNotFound
			return
		}
		if rec.Key != keys[k] {
			errs[i] = ErrTampered
			return
		}
		p, err := v.open(ctx, ec, rec)
		switch {
		case err != nil:
			errs[i] = err
		case !p.expires.IsZero() && !now.Before(p.expires):
			errs[i] = ErrExpired
		default:
			values[i] = p.value
		}
	})
	if err != nil {
		return nil, nil, err
	}
	for _, e := range errs {
		if errors.Is(e, context.Canceled) || errors.Is(e, context.DeadlineExceeded) {
			return nil, nil, e
		}
	}
	return values, errs, nil
}

// Lookup returns the token value already has in tenant under a convergent
// policy, without issuing one: [ErrNotFound] if it has none (or it
// expired). An FF1 policy computes it. Other policies give
// [ErrUnsupported]: their tokens are random, and nothing indexes values.
func (v *Vault) Lookup(ctx context.Context, tenant, policy, value string) (string, error) {
	ps, err := v.policy(tenant, policy)
	if err != nil {
		return "", err
	}
	if !ps.stored() {
		if err := ps.checkValue(value); err != nil {
			return "", err
		}
		return ps.ff1Crypt(ps.ff1, tenant, value, true)
	}
	if !ps.spec.Convergent {
		return "", fmt.Errorf("%w: Lookup needs a convergent policy, and %s is not", ErrUnsupported, strconv.Quote(policy))
	}
	if err := ps.checkValue(value); err != nil {
		return "", err
	}
	recs, err := v.store.GetByFingerprint(ctx, tenant, policy, [][]byte{ps.fingerprint(tenant, value)})
	if err != nil {
		return "", err
	}
	if recs[0] == nil {
		return "", ErrNotFound
	}
	p, err := v.open(ctx, recordContext(tenant, policy), recs[0])
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(p.value), []byte(value)) != 1 {
		return "", ErrTampered
	}
	if !p.expires.IsZero() && !v.now().Before(p.expires) {
		return "", ErrNotFound
	}
	return recs[0].Token, nil
}

// TokenInfo is what [Vault.Metadata] returns about a token.
type TokenInfo struct {
	Created  time.Time
	Expires  time.Time // zero: never
	Metadata map[string]string
}

// Metadata returns the creation time, expiry and metadata of a token
// (decrypting its record, as Detokenize does, without returning the
// value). Errors are those of Detokenize; an FF1 policy gives
// [ErrUnsupported].
func (v *Vault) Metadata(ctx context.Context, tenant, policy, token string) (TokenInfo, error) {
	ps, err := v.policy(tenant, policy)
	if err != nil {
		return TokenInfo{}, err
	}
	if !ps.stored() {
		return TokenInfo{}, fmt.Errorf("%w: ff1 tokens have no record", ErrUnsupported)
	}
	if err := ps.checkToken(token); err != nil {
		return TokenInfo{}, err
	}
	key := Key{Tenant: tenant, Policy: policy, Token: token}
	recs, err := v.store.Get(ctx, []Key{key})
	if err != nil {
		return TokenInfo{}, err
	}
	if recs[0] == nil {
		return TokenInfo{}, ErrNotFound
	}
	p, err := v.open(ctx, recordContext(tenant, policy), recs[0])
	if err != nil {
		return TokenInfo{}, err
	}
	if !p.expires.IsZero() && !v.now().Before(p.expires) {
		return TokenInfo{}, ErrExpired
	}
	return TokenInfo{Created: p.created, Expires: p.expires, Metadata: p.meta}, nil
}

// Delete deletes the record of token in tenant under policy: the value is
// gone from the store, not flagged. It fails with [ErrNotFound] if there
// was none, and [ErrUnsupported] for an FF1 policy (nothing is stored).
func (v *Vault) Delete(ctx context.Context, tenant, policy, token string) error {
	ps, err := v.policy(tenant, policy)
	if err != nil {
		return err
	}
	if !ps.stored() {
		return fmt.Errorf("%w: ff1 tokens have no record to delete (retire the policy's key instead)", ErrUnsupported)
	}
	if err := ps.checkToken(token); err != nil {
		return err
	}
	ok, err := v.store.Delete(ctx, []Key{{Tenant: tenant, Policy: policy, Token: token}})
	if err != nil {
		return err
	}
	if !ok[0] {
		return ErrNotFound
	}
	return nil
}

// DeleteBatch deletes the records of up to [MaxBatch] tokens of one tenant
// and policy in one store call: errs[i] is nil, [ErrNotFound] or
// [ErrInvalidToken] for tokens[i]. err fails the whole call (unknown
// policy or tenant, [ErrTooMany], [ErrUnsupported] for an FF1 policy, the
// store failing).
func (v *Vault) DeleteBatch(ctx context.Context, tenant, policy string, tokens []string) (errs []error, err error) {
	ps, err := v.policy(tenant, policy)
	if err != nil {
		return nil, err
	}
	if !ps.stored() {
		return nil, fmt.Errorf("%w: ff1 tokens have no record to delete (retire the policy's key instead)", ErrUnsupported)
	}
	if len(tokens) > MaxBatch {
		return nil, ErrTooMany
	}
	errs = make([]error, len(tokens))
	var keys []Key
	var idx []int
	for i, tok := range tokens {
		if errs[i] = ps.checkToken(tok); errs[i] == nil {
			keys = append(keys, Key{Tenant: tenant, Policy: policy, Token: tok})
			idx = append(idx, i)
		}
	}
	if len(keys) == 0 {
		return errs, nil
	}
	ok, err := v.store.Delete(ctx, keys)
	if err != nil {
		return nil, err
	}
	for k, i := range idx {
		if !ok[k] {
			errs[i] = ErrNotFound
		}
	}
	return errs, nil
}

// Forget deletes every record of each of values (up to [MaxBatch]) in
// tenant, under every policy, those the vault was not opened with
// included, and returns how many records it deleted: the answer to an
// erasure request. The records are gone, not flagged. Nothing indexes
// random tokens by value, so Forget lists the tenant's records and
// decrypts each (about what detokenizing them all costs: a few seconds per
// million records with a cached data key). FF1 policies store nothing. If
// a record cannot be read (tampered, or under a key the vault lacks),
// Forget goes on with the others and then fails, since it cannot tell
// whether that record held a value.
func (v *Vault) Forget(ctx context.Context, tenant string, values []string) (int, error) {
	if err := checkTenant(tenant); err != nil {
		return 0, err
	}
	if len(values) > MaxBatch {
		return 0, ErrTooMany
	}
	if len(values) == 0 {
		return 0, nil
	}
	wanted := make(map[string]bool, len(values))
	for _, val := range values {
		wanted[val] = true
	}
	deleted, unreadable := 0, 0
	var firstErr error
	cursor := ""
	for {
		page, next, err := v.store.List(ctx, ListRequest{Tenant: tenant, Cursor: cursor, Limit: MaxBatch})
		if err != nil {
			return deleted, err
		}
		match := make([]bool, len(page))
		errs := make([]error, len(page))
		err = forEach(ctx, len(page), func(k int) {
			rec := &page[k]
			p, err := v.open(ctx, recordContext(rec.Tenant, rec.Policy), rec)
			if err != nil {
				errs[k] = err
				return
			}
			match[k] = wanted[p.value]
		})
		if err != nil {
			return deleted, err
		}
		for k := range page {
			if err := errs[k]; err != nil {
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					return deleted, err
				}
				unreadable++
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if !match[k] {
				continue
			}
			ok, err := v.store.Swap(ctx, page[k].Key, page[k].Ciphertext, nil)
			if err != nil {
				return deleted, err
			}
			if ok {
				deleted++
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if unreadable > 0 {
		return deleted, fmt.Errorf("tokenvault: Forget: %d records of the tenant could not be read, so a value may remain in them: %w", unreadable, firstErr)
	}
	return deleted, nil
}

// Sweep deletes every expired record and returns how many it deleted.
// Expired tokens do not detokenize before they are swept; Sweep frees
// their space. Run it now and then (the CLI's "datamask vault sweep").
func (v *Vault) Sweep(ctx context.Context) (int, error) {
	now := v.now()
	total := 0
	for {
		n, err := v.store.DeleteExpired(ctx, now, MaxBatch)
		total += n
		if err != nil || n < MaxBatch {
			return total, err
		}
	}
}

// Rewrap re-encrypts the vault's key and every record under the current
// provider, keeping every token, and returns how many records it
// rewrapped. Open the vault with the new keys as its provider and the old
// ones in [WithPreviousProviders]; after Rewrap the old keys are no longer
// needed. Records changed or deleted while Rewrap runs are left as they
// are (they are already current, or gone). A record that no key decrypts
// stops Rewrap with its error; run it again after fixing the keys: what was
// done is kept.
func (v *Vault) Rewrap(ctx context.Context) (int, error) {
	recs, err := v.store.Get(ctx, []Key{vaultKey})
	if err != nil {
		return 0, err
	}
	if recs[0] == nil {
		return 0, errors.New("tokenvault: Rewrap: the vault's key is missing from the store")
	}
	if _, err := v.rewrapOne(ctx, recs[0], vaultKeyContext, "vault key"); err != nil {
		return 0, err
	}
	n := 0
	cursor := ""
	for {
		page, next, err := v.store.List(ctx, ListRequest{Cursor: cursor, Limit: MaxBatch})
		if err != nil {
			return n, err
		}
		perr := make([]error, len(page))
		done := make([]bool, len(page))
		err = forEach(ctx, len(page), func(k int) {
			rec := &page[k]
			if rec.Tenant == "" {
				return // the vault's own, done above
			}
			done[k], perr[k] = v.rewrapOne(ctx, rec, recordContext(rec.Tenant, rec.Policy), "record")
		})
		if err != nil {
			return n, err
		}
		for k := range page {
			if perr[k] != nil {
				return n, perr[k]
			}
			if done[k] {
				n++
			}
		}
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}

// rewrapOne re-encrypts one record (or the vault's key) and reports
// whether it replaced it.
func (v *Vault) rewrapOne(ctx context.Context, rec *Record, ec map[string]string, what string) (bool, error) {
	pt, _, err := v.decrypt(ctx, rec.Ciphertext, ec)
	if err != nil {
		return false, v.openError(what, err)
	}
	defer clear(pt)
	if what == "record" {
		p, err := parsePayload(pt)
		if err != nil || subtle.ConstantTimeCompare([]byte(p.token), []byte(rec.Token)) != 1 {
			return false, ErrTampered
		}
	}
	ct, err := v.provider.Encrypt(ctx, pt, ec)
	if err != nil {
		return false, fmt.Errorf("tokenvault: Rewrap: %w", err)
	}
	next := *rec
	next.Ciphertext = ct
	return v.store.Swap(ctx, rec.Key, rec.Ciphertext, &next)
}
