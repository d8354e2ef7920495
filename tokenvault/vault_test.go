package tokenvault_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
	"github.com/datamask/datamask/tokenvault/storetest"
)

var bg = context.Background()

func newStore(t testing.TB) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clock is a settable clock for expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	store    *boltstore.Store
	provider *datamask.ESDKProvider
	vault    *tokenvault.Vault
	clock    *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{store: newStore(t), provider: storetest.Provider(t), clock: &clock{now: time.Now()}}
	var err error
	f.vault, err = tokenvault.Open(bg, f.store, f.provider, storetest.Policies(t), tokenvault.WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// secrets collects values and tokens that no error text may hold.
type secrets struct {
	mu   sync.Mutex
	list []string
}

func (s *secrets) add(v ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, v...)
}

// check fails if err's text holds a secret.
func (s *secrets) check(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := err.Error()
	for _, v := range s.list {
		if len(v) >= 4 && strings.Contains(msg, v) {
			t.Errorf("error %q holds a value or token", msg)
		}
	}
}

func TestTamperMoveExpiryWrongKey(t *testing.T) {
	f := newFixture(t)
	var sec secrets
	value := "4111-1111-1111-1111"
	tok, err := f.vault.Tokenize(bg, "acme", tokenvault.PolicyCard, value)
	if err != nil {
		t.Fatal(err)
	}
	sec.add(value, tok, "1111-1111")
	key := tokenvault.Key{Tenant: "acme", Policy: tokenvault.PolicyCard, Token: tok}
	rec := get(t, f.store, key)

	expect := func(name string, got string, err error, want error) {
		t.Helper()
		sec.check(t, err)
		if !errors.Is(err, want) || got != "" {
			t.Errorf("%s: Detokenize = %q, %v, want %v", name, got, err, want)
		}
	}

	// Every byte flipped in the stored message: refused.
	for i := 0; i < len(rec.Ciphertext); i++ {
		bad := *rec
		bad.Ciphertext = append([]byte(nil), rec.Ciphertext...)
		bad.Ciphertext[i] ^= 0x01
		swap(t, f.store, key, rec.Ciphertext, &bad)
		got, err := f.vault.Detokenize(bg, "acme", tokenvault.PolicyCard, tok)
		sec.check(t, err)
		if err == nil || got != "" {
			t.Fatalf("byte %d flipped: Detokenize = value, %v", i, err)
		}
		if !errors.Is(err, tokenvault.ErrTampered) && !errors.Is(err, tokenvault.ErrWrongKey) {
			t.Fatalf("byte %d flipped: %v, want ErrTampered (or ErrWrongKey where the flip hits the wrapped key)", i, err)
		}
		swap(t, f.store, key, bad.Ciphertext, rec)
	}
	if got, err := f.vault.Detokenize(bg, "acme", tokenvault.PolicyCard, tok); err != nil || got != value {
		t.Fatalf("restored record: %v", err)
	}

	// Moved to another token of the same tenant and policy.
	other, err := f.vault.Tokenize(bg, "acme", tokenvault.PolicyCard, "5500-0000-0000-0004")
	if err != nil {
		t.Fatal(err)
	}
	sec.add(other)
	okey := tokenvault.Key{Tenant: "acme", Policy: tokenvault.PolicyCard, Token: other}
	orec := get(t, f.store, okey)
	moved := *orec
	moved.Ciphertext = rec.Ciphertext
	swap(t, f.store, okey, orec.Ciphertext, &moved)
	got, err := f.vault.Detokenize(bg, "acme", tokenvault.PolicyCard, other)
	expect("moved to another token", got, err, tokenvault.ErrTampered)

	// Moved to another tenant, or another policy, under the same token.
	for _, k := range []tokenvault.Key{
		{Tenant: "globex", Policy: tokenvault.PolicyCard, Token: tok},
		{Tenant: "acme", Policy: tokenvault.PolicySSN, Token: tok},
	} {
		create(t, f.store, tokenvault.Record{Key: k, Ciphertext: rec.Ciphertext})
		got, err := f.vault.Detokenize(bg, k.Tenant, k.Policy, tok)
		if k.Policy == tokenvault.PolicySSN {
			// A card token is no SSN token: refused before the store.
			if !errors.Is(err, tokenvault.ErrInvalidToken) && !errors.Is(err, tokenvault.ErrTampered) {
				t.Errorf("moved to policy ssn: %v", err)
			}
			sec.check(t, err)
			continue
		}
		expect("moved to tenant globex", got, err, tokenvault.ErrTampered)
	}

	// Expired: refused at the TTL, whatever the store says of expiry.
	etok, err := f.vault.Tokenize(bg, "acme", tokenvault.PolicyOpaque, "temporary", tokenvault.WithTTL(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sec.add(etok)
	ekey := tokenvault.Key{Tenant: "acme", Policy: tokenvault.PolicyOpaque, Token: etok}
	erec := get(t, f.store, ekey)
	forever := *erec
	forever.Expires = time.Time{} // the store "forgets" the expiry
	swap(t, f.store, ekey, erec.Ciphertext, &forever)
	if got, err := f.vault.Detokenize(bg, "acme", tokenvault.PolicyOpaque, etok); err != nil || got != "temporary" {
		t.Fatalf("before expiry: %q, %v", got, err)
	}
	f.clock.Add(time.Minute)
	got, err = f.vault.Detokenize(bg, "acme", tokenvault.PolicyOpaque, etok)
	expect("expired", got, err, tokenvault.ErrExpired)
	if _, err := f.vault.Metadata(bg, "acme", tokenvault.PolicyOpaque, etok); !errors.Is(err, tokenvault.ErrExpired) {
		t.Errorf("Metadata of an expired token = %v", err)
	}

	// Wrong key: Open says so; a record under a key the vault lacks too.
	wrong := storetest.Provider(t)
	_, err = tokenvault.Open(bg, f.store, wrong, storetest.Policies(t))
	sec.check(t, err)
	var dke *datamask.DecryptKeyError
	if !errors.Is(err, tokenvault.ErrWrongKey) || !errors.As(err, &dke) {
		t.Fatalf("Open with a wrong key = %v, want ErrWrongKey with a *datamask.DecryptKeyError", err)
	}
	if !strings.Contains(err.Error(), "keys") {
		t.Errorf("wrong key error %q does not say so", err)
	}
	rotated, err := tokenvault.Open(bg, f.store, wrong, storetest.Policies(t), tokenvault.WithPreviousProviders(f.provider))
	if err != nil {
		t.Fatal(err)
	}
	ntok, err := rotated.Tokenize(bg, "acme", tokenvault.PolicyOpaque, "under the new key")
	if err != nil {
		t.Fatal(err)
	}
	sec.add(ntok)
	got, err = f.vault.Detokenize(bg, "acme", tokenvault.PolicyOpaque, ntok)
	expect("record under another key", got, err, tokenvault.ErrWrongKey)
	if got, err := rotated.Detokenize(bg, "acme", tokenvault.PolicyCard, tok); err != nil || got != value {
		t.Fatalf("the rotated vault reads old records through the previous provider: %v", err)
	}
}

func TestConvergentTamperedFingerprint(t *testing.T) {
	f := newFixture(t)
	a, err := f.vault.Tokenize(bg, "acme", "convergent", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.vault.Tokenize(bg, "acme", "convergent", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.vault.Tokenize(bg, "acme", "convergent", "alice@example.com"); err != nil || again != a {
		t.Fatalf("convergent Tokenize twice gave two tokens (%v)", err)
	}
	// Someone with write access to the store points alice's fingerprint
	// at bob's record: bob's record now claims alice's fingerprint.
	akey := tokenvault.Key{Tenant: "acme", Policy: "convergent", Token: a}
	bkey := tokenvault.Key{Tenant: "acme", Policy: "convergent", Token: b}
	arec, brec := get(t, f.store, akey), get(t, f.store, bkey)
	if ok, _ := f.store.Delete(bg, []tokenvault.Key{akey}); !ok[0] {
		t.Fatal("Delete")
	}
	forged := *brec
	forged.Fingerprint = arec.Fingerprint
	swap(t, f.store, bkey, brec.Ciphertext, &forged)
	if tok, err := f.vault.Lookup(bg, "acme", "convergent", "alice@example.com"); !errors.Is(err, tokenvault.ErrTampered) || tok != "" {
		t.Fatalf("Lookup through a forged fingerprint = %q, %v, want ErrTampered", tok, err)
	}
	if tok, err := f.vault.Tokenize(bg, "acme", "convergent", "alice@example.com"); !errors.Is(err, tokenvault.ErrTampered) || tok != "" {
		t.Fatalf("Tokenize through a forged fingerprint = %q, %v, want ErrTampered", tok, err)
	}
}

func TestConvergentExpiredIsReissued(t *testing.T) {
	f := newFixture(t)
	p, err := tokenvault.NewPolicy("cvg-ttl", tokenvault.PolicySpec{Format: tokenvault.FormatRandom, Convergent: true, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v, err := tokenvault.Open(bg, f.store, f.provider, []*tokenvault.Policy{p}, tokenvault.WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t1, err := v.Tokenize(bg, "acme", "cvg-ttl", "v")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(30 * time.Minute)
	if t2, _ := v.Tokenize(bg, "acme", "cvg-ttl", "v"); t2 != t1 {
		t.Fatal("a live convergent token was not reused")
	}
	f.clock.Add(30 * time.Minute)
	if _, err := v.Lookup(bg, "acme", "cvg-ttl", "v"); !errors.Is(err, tokenvault.ErrNotFound) {
		t.Fatalf("Lookup of an expired token = %v, want ErrNotFound", err)
	}
	t3, err := v.Tokenize(bg, "acme", "cvg-ttl", "v")
	if err != nil || t3 == t1 {
		t.Fatalf("Tokenize after expiry = same token or %v, want a new one", err)
	}
	if _, err := v.Detokenize(bg, "acme", "cvg-ttl", t1); !errors.Is(err, tokenvault.ErrNotFound) {
		t.Fatalf("the expired token = %v, want ErrNotFound (deleted when reissued)", err)
	}
}

func TestMetadataAndOptions(t *testing.T) {
	f := newFixture(t)
	tok, err := f.vault.Tokenize(bg, "acme", tokenvault.PolicyOpaque, "v", tokenvault.WithMetadata(map[string]string{"source": "orders", "field": "card"}), tokenvault.WithTTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.vault.Metadata(bg, "acme", tokenvault.PolicyOpaque, tok)
	if err != nil {
		t.Fatal(err)
	}
	if info.Metadata["source"] != "orders" || info.Metadata["field"] != "card" || len(info.Metadata) != 2 {
		t.Errorf("Metadata = %v", info.Metadata)
	}
	if !info.Expires.Equal(f.clock.Now().Add(time.Hour)) || !info.Created.Equal(f.clock.Now()) {
		t.Errorf("Created %v, Expires %v, want now and now+1h", info.Created, info.Expires)
	}
	for _, tc := range []struct {
		name string
		opts []tokenvault.TokenizeOption
	}{
		{"ttl below a second", []tokenvault.TokenizeOption{tokenvault.WithTTL(time.Millisecond)}},
		{"negative ttl", []tokenvault.TokenizeOption{tokenvault.WithTTL(-time.Hour)}},
		{"ttl twice", []tokenvault.TokenizeOption{tokenvault.WithTTL(time.Hour), tokenvault.WithTTL(time.Hour)}},
		{"metadata twice", []tokenvault.TokenizeOption{tokenvault.WithMetadata(nil), tokenvault.WithMetadata(nil)}},
		{"empty metadata key", []tokenvault.TokenizeOption{tokenvault.WithMetadata(map[string]string{"": "x"})}},
		{"big metadata", []tokenvault.TokenizeOption{tokenvault.WithMetadata(map[string]string{"k": strings.Repeat("x", 9000)})}},
		{"nil option", []tokenvault.TokenizeOption{nil}},
	} {
		if _, err := f.vault.Tokenize(bg, "acme", tokenvault.PolicyOpaque, "v", tc.opts...); err == nil {
			t.Errorf("%s: Tokenize succeeded", tc.name)
		}
	}
	if _, err := f.vault.Tokenize(bg, "acme", "ff1", "4111111111111111", tokenvault.WithTTL(time.Hour)); !errors.Is(err, tokenvault.ErrUnsupported) {
		t.Errorf("ff1 with a TTL = %v, want ErrUnsupported", err)
	}
}

func TestCallErrors(t *testing.T) {
	f := newFixture(t)
	v := f.vault
	var upe *tokenvault.UnknownPolicyError
	if _, err := v.Tokenize(bg, "acme", "nope", "v"); !errors.As(err, &upe) || upe.Name != "nope" {
		t.Errorf("unknown policy: %v", err)
	}
	for _, tenant := range []string{"", "a\x00b", "a\nb", strings.Repeat("t", 257), "bad\xffutf8"} {
		if _, err := v.Tokenize(bg, tenant, tokenvault.PolicyOpaque, "v"); err == nil {
			t.Errorf("tenant %q accepted", tenant)
		}
	}
	if _, _, err := v.TokenizeBatch(bg, "acme", tokenvault.PolicyOpaque, make([]string, tokenvault.MaxBatch+1)); !errors.Is(err, tokenvault.ErrTooMany) {
		t.Errorf("1001 values: %v, want ErrTooMany", err)
	}
	if _, _, err := v.DetokenizeBatch(bg, "acme", tokenvault.PolicyOpaque, make([]string, tokenvault.MaxBatch+1)); !errors.Is(err, tokenvault.ErrTooMany) {
		t.Errorf("1001 tokens: %v, want ErrTooMany", err)
	}
	if _, err := v.Lookup(bg, "acme", tokenvault.PolicyOpaque, "v"); !errors.Is(err, tokenvault.ErrUnsupported) {
		t.Errorf("Lookup on a random policy: %v, want ErrUnsupported", err)
	}
	if err := v.Delete(bg, "acme", "ff1", "4111111111111111"); !errors.Is(err, tokenvault.ErrUnsupported) {
		t.Errorf("Delete on ff1: %v, want ErrUnsupported", err)
	}
	if _, err := v.Metadata(bg, "acme", "ff1", "4111111111111111"); !errors.Is(err, tokenvault.ErrUnsupported) {
		t.Errorf("Metadata on ff1: %v, want ErrUnsupported", err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := v.Tokenize(ctx, "acme", tokenvault.PolicyOpaque, "v"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled ctx: %v", err)
	}
	// Per-value errors in a batch; the others succeed.
	tokens, errs, err := v.TokenizeBatch(bg, "acme", tokenvault.PolicyCard, []string{"4111 1111 1111 1111", "not a card", "", "4111 1111 1111 1112"})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], tokenvault.ErrInvalidValue) || !errors.Is(errs[2], tokenvault.ErrInvalidValue) || errs[3] != nil {
		t.Errorf("batch errors = %v", errs)
	}
	if tokens[1] != "" || tokens[0] == "" {
		t.Errorf("batch tokens = %q", tokens)
	}
	for _, bad := range []string{"", "tok_short", "tok_" + strings.Repeat("A", 23), "xyz_" + strings.Repeat("A", 22), "tok_" + strings.Repeat("!", 22)} {
		if _, err := v.Detokenize(bg, "acme", tokenvault.PolicyOpaque, bad); !errors.Is(err, tokenvault.ErrInvalidToken) {
			t.Errorf("Detokenize(%q) = %v, want ErrInvalidToken", bad, err)
		}
	}
	if _, err := v.Detokenize(bg, "acme", tokenvault.PolicyOpaque, "tok_"+strings.Repeat("A", 22)); !errors.Is(err, tokenvault.ErrNotFound) {
		t.Errorf("an unknown token: %v, want ErrNotFound", err)
	}
}

func TestOpenErrors(t *testing.T) {
	s := newStore(t)
	p := storetest.Provider(t)
	pol := storetest.Policies(t)
	for _, tc := range []struct {
		name string
		fn   func() (*tokenvault.Vault, error)
	}{
		{"nil store", func() (*tokenvault.Vault, error) { return tokenvault.Open(bg, nil, p, pol) }},
		{"nil provider", func() (*tokenvault.Vault, error) { return tokenvault.Open(bg, s, nil, pol) }},
		{"no policy", func() (*tokenvault.Vault, error) { return tokenvault.Open(bg, s, p, nil) }},
		{"duplicate policy", func() (*tokenvault.Vault, error) { return tokenvault.Open(bg, s, p, append(pol, pol[0])) }},
		{"nil option", func() (*tokenvault.Vault, error) { return tokenvault.Open(bg, s, p, pol, nil) }},
		{"nil clock", func() (*tokenvault.Vault, error) { return tokenvault.Open(bg, s, p, pol, tokenvault.WithClock(nil)) }},
		{"no previous", func() (*tokenvault.Vault, error) {
			return tokenvault.Open(bg, s, p, pol, tokenvault.WithPreviousProviders())
		}},
	} {
		if v, err := tc.fn(); err == nil || v != nil {
			t.Errorf("%s: Open succeeded", tc.name)
		}
	}
	v, err := tokenvault.Open(bg, s, p, pol)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(f, v); !strings.HasPrefix(got, "tokenvault.Vault(policies ") {
			t.Errorf("Sprintf(%q) = %q", f, got)
		}
	}
}

// TestNoSecretsInErrors drives every error path with recognisable values
// and tokens and checks that no error text holds them.
func TestNoSecretsInErrors(t *testing.T) {
	f := newFixture(t)
	var sec secrets
	values := []string{"4111-2222-3333-4444", "secret-value-éé", "jane.doe.secret@example.com", "123-45-6789", "\x00\x01binary"}
	sec.add(values...)
	for _, p := range f.vault.Policies() {
		for _, v := range values {
			tok, err := f.vault.Tokenize(bg, "acme", p.Name(), v)
			sec.check(t, err)
			sec.add(tok)
			_, err = f.vault.Lookup(bg, "acme", p.Name(), v)
			sec.check(t, err)
			_, err = f.vault.Detokenize(bg, "acme", p.Name(), v) // a value as a token
			sec.check(t, err)
			_, err = f.vault.Detokenize(bg, "other", p.Name(), tok)
			sec.check(t, err)
			err = f.vault.Delete(bg, "acme", p.Name(), v)
			sec.check(t, err)
			_, err = f.vault.Metadata(bg, "acme", p.Name(), v)
			sec.check(t, err)
		}
		_, errs, err := f.vault.DetokenizeBatch(bg, "acme", p.Name(), values)
		sec.check(t, err)
		for _, e := range errs {
			sec.check(t, e)
		}
	}
	_, err := f.vault.Forget(bg, "acme", values[1:2])
	sec.check(t, err)
	_, err = tokenvault.Open(bg, f.store, storetest.Provider(t), storetest.Policies(t))
	sec.check(t, err)
}

// TestForgetEveryPolicy: Forget finds a value's records under every policy
// of the tenant, those the vault was not opened with included, and only in
// that tenant.
func TestForgetEveryPolicy(t *testing.T) {
	f := newFixture(t)
	policies := []string{tokenvault.PolicyOpaque, "uuid", "convergent", tokenvault.PolicyEmail}
	var toks []string
	for _, p := range policies {
		tok, err := f.vault.Tokenize(bg, "acme", p, "ana@example.com")
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	keep, err := f.vault.Tokenize(bg, "acme", tokenvault.PolicyOpaque, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.vault.Tokenize(bg, "globex", tokenvault.PolicyOpaque, "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// A vault opened with one policy only still forgets them all.
	narrow, err := openWith(f, tokenvault.BuiltinPolicies()[3:])
	if err != nil {
		t.Fatal(err)
	}
	n, err := narrow.Forget(bg, "acme", []string{"ana@example.com", "nobody@example.com"})
	if err != nil || n != 4 {
		t.Fatalf("Forget = %d, %v, want 4", n, err)
	}
	recs, _, err := f.store.List(bg, tokenvault.ListRequest{Tenant: "acme", Limit: 100})
	if err != nil || len(recs) != 1 || recs[0].Token != keep {
		t.Fatalf("after Forget the tenant holds %d records, want bob's only (%v)", len(recs), err)
	}
	if got, err := f.vault.Detokenize(bg, "globex", tokenvault.PolicyOpaque, other); err != nil || got != "ana@example.com" {
		t.Fatalf("Forget in acme touched globex: %v", err)
	}
	if _, err := f.vault.Forget(bg, "acme", make([]string, tokenvault.MaxBatch+1)); !errors.Is(err, tokenvault.ErrTooMany) {
		t.Fatalf("Forget of 1001 values: %v", err)
	}
	for i, p := range policies {
		if _, err := f.vault.Detokenize(bg, "acme", p, toks[i]); !errors.Is(err, tokenvault.ErrNotFound) {
			t.Errorf("%s token after Forget: %v, want ErrNotFound", p, err)
		}
	}
}

// batchTokenizer is the interface the root package will define for
// DataMasker.Tokenize and Detokenize (it cannot import tokenvault, which
// imports it): the Vault must keep satisfying it.
type batchTokenizer interface {
	TokenizeBatch(ctx context.Context, tenant, policy string, values []string) (tokens []string, errs []error, err error)
	DetokenizeBatch(ctx context.Context, tenant, policy string, tokens []string) (values []string, errs []error, err error)
}

var _ batchTokenizer = (*tokenvault.Vault)(nil)

func TestDeleteBatch(t *testing.T) {
	f := newFixture(t)
	a, _ := f.vault.Tokenize(bg, "acme", tokenvault.PolicySSN, "123-45-6789")
	b, _ := f.vault.Tokenize(bg, "acme", tokenvault.PolicySSN, "987-65-4321")
	errs, err := f.vault.DeleteBatch(bg, "acme", tokenvault.PolicySSN, []string{a, "not a token", "000-00-0000", b, a})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], tokenvault.ErrInvalidToken) || !errors.Is(errs[2], tokenvault.ErrNotFound) || errs[3] != nil || !errors.Is(errs[4], tokenvault.ErrNotFound) {
		t.Fatalf("DeleteBatch errs = %v", errs)
	}
	for _, tok := range []string{a, b} {
		if _, err := f.vault.Detokenize(bg, "acme", tokenvault.PolicySSN, tok); !errors.Is(err, tokenvault.ErrNotFound) {
			t.Fatalf("after DeleteBatch: %v", err)
		}
	}
	if _, err := f.vault.DeleteBatch(bg, "acme", "ff1", []string{"1234567"}); !errors.Is(err, tokenvault.ErrUnsupported) {
		t.Fatalf("DeleteBatch on ff1: %v", err)
	}
	if _, err := f.vault.DeleteBatch(bg, "acme", tokenvault.PolicySSN, make([]string, tokenvault.MaxBatch+1)); !errors.Is(err, tokenvault.ErrTooMany) {
		t.Fatalf("DeleteBatch of 1001: %v", err)
	}
}
