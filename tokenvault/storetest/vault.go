package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/tokenvault"
)

// Provider returns a vault provider ([tokenvault.NewProvider]) over a new
// random local AES key, for tests and benchmarks.
func Provider(t testing.TB) *datamask.ESDKProvider {
	t.Helper()
	k, err := esdk.NewRawAESKeyring("datamask", "default", randBytes(t, 32))
	if err != nil {
		t.Fatal(err)
	}
	p, err := tokenvault.NewProvider(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Policies are the policies the suite and the benchmarks use: the built-in
// ones, and "convergent" (random, convergent), "uuid", "ff1" (digits),
// "short" (preserve, digits, 5 digits of space: tokens collide often) and
// "ttl" (random, one hour).
func Policies(t testing.TB) []*tokenvault.Policy {
	t.Helper()
	ps := tokenvault.BuiltinPolicies()
	for _, p := range []struct {
		name string
		spec tokenvault.PolicySpec
	}{
		{"convergent", tokenvault.PolicySpec{Format: tokenvault.FormatRandom, Prefix: "cvg_", Convergent: true}},
		{"uuid", tokenvault.PolicySpec{Format: tokenvault.FormatUUID}},
		{"ff1", tokenvault.PolicySpec{Format: tokenvault.FormatFF1, Charset: tokenvault.CharsetDigits}},
		{"short", tokenvault.PolicySpec{Format: tokenvault.FormatPreserve, Charset: tokenvault.CharsetDigits}},
		{"ttl", tokenvault.PolicySpec{Format: tokenvault.FormatRandom, TTL: time.Hour}},
	} {
		pol, err := tokenvault.NewPolicy(p.name, p.spec)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, pol)
	}
	return ps
}

func openVault(t testing.TB, s tokenvault.Store, opts ...tokenvault.Option) *tokenvault.Vault {
	t.Helper()
	v, err := tokenvault.Open(bg, s, Provider(t), Policies(t), opts...)
	if err != nil {
		t.Fatalf("tokenvault.Open: %v", err)
	}
	return v
}

// sample returns a value policy accepts, distinct for each i.
func sample(policy string, i int) string {
	switch policy {
	case tokenvault.PolicyCard, "ff1":
		return fmt.Sprintf("4111-%04d-%04d-1111", i/10000%10000, i%10000)
	case tokenvault.PolicySSN:
		// The last four digits, which the policy keeps, vary first: each
		// group of values sharing them has its own token space of 10^5.
		return fmt.Sprintf("%03d-%02d-%04d", i/1000000%1000, i/10000%100, i%10000)
	case tokenvault.PolicyEmail:
		return fmt.Sprintf("user.%06d@example.com", i)
	case "short":
		return fmt.Sprintf("%05d", i%100000)
	}
	return "value number " + strconv.Itoa(i)
}

// testVaultRoundTrip tokenizes and detokenizes through every policy,
// deletes, forgets, sweeps and rewraps on the store.
func testVaultRoundTrip(t *testing.T, s tokenvault.Store) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cur := Provider(t)
	v, err := tokenvault.Open(bg, s, cur, Policies(t), tokenvault.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range v.Policies() {
		name := p.Name()
		values := make([]string, 50)
		for i := range values {
			values[i] = sample(name, i)
		}
		tokens, errs, err := v.TokenizeBatch(bg, "acme", name, values)
		if err != nil {
			t.Fatalf("%s: TokenizeBatch: %v", name, err)
		}
		for i, e := range errs {
			if e != nil {
				t.Fatalf("%s: TokenizeBatch value %d: %v", name, i, e)
			}
		}
		got, errs, err := v.DetokenizeBatch(bg, "acme", name, tokens)
		if err != nil {
			t.Fatalf("%s: DetokenizeBatch: %v", name, err)
		}
		for i := range got {
			if errs[i] != nil || got[i] != values[i] {
				t.Fatalf("%s: DetokenizeBatch token %d = %v, want the value", name, i, errs[i])
			}
		}
		// Another tenant does not see them.
		_, errs, err = v.DetokenizeBatch(bg, "globex", name, tokens[:1])
		if err != nil {
			t.Fatal(err)
		}
		if name == "ff1" {
			continue // vaultless: another tenant's tweak gives another value
		}
		if !errors.Is(errs[0], tokenvault.ErrNotFound) {
			t.Fatalf("%s: Detokenize in another tenant = %v, want ErrNotFound", name, errs[0])
		}
	}

	// Delete and Forget remove records.
	tok, err := v.Tokenize(bg, "acme", tokenvault.PolicyOpaque, "forget me")
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := v.Tokenize(bg, "acme", tokenvault.PolicyOpaque, "forget me")
	if err != nil {
		t.Fatal(err)
	}
	ctok, err := v.Tokenize(bg, "acme", "convergent", "forget me")
	if err != nil {
		t.Fatal(err)
	}
	keep, err := v.Tokenize(bg, "globex", tokenvault.PolicyOpaque, "forget me")
	if err != nil {
		t.Fatal(err)
	}
	n, err := v.Forget(bg, "acme", []string{"forget me"})
	if err != nil || n != 3 {
		t.Fatalf("Forget = %d, %v, want 3", n, err)
	}
	for _, tk := range [][2]string{{tokenvault.PolicyOpaque, tok}, {tokenvault.PolicyOpaque, tok2}, {"convergent", ctok}} {
		if _, err := v.Detokenize(bg, "acme", tk[0], tk[1]); !errors.Is(err, tokenvault.ErrNotFound) {
			t.Fatalf("Detokenize after Forget = %v, want ErrNotFound", err)
		}
	}
	if got, err := v.Detokenize(bg, "globex", tokenvault.PolicyOpaque, keep); err != nil || got != "forget me" {
		t.Fatalf("Forget in acme removed globex's token: %v", err)
	}
	if err := v.Delete(bg, "globex", tokenvault.PolicyOpaque, keep); err != nil {
		t.Fatal(err)
	}
	if err := v.Delete(bg, "globex", tokenvault.PolicyOpaque, keep); !errors.Is(err, tokenvault.ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}

	// Expiry: the token stops detokenizing at its TTL, and Sweep deletes it.
	etok, err := v.Tokenize(bg, "acme", "ttl", "short-lived")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if _, err := v.Detokenize(bg, "acme", "ttl", etok); !errors.Is(err, tokenvault.ErrExpired) {
		t.Fatalf("Detokenize at expiry = %v, want ErrExpired", err)
	}
	// The 50 tokens of the round trip above expire too.
	if n, err := v.Sweep(bg); err != nil || n != 51 {
		t.Fatalf("Sweep = %d, %v, want 51", n, err)
	}
	if _, err := v.Detokenize(bg, "acme", "ttl", etok); !errors.Is(err, tokenvault.ErrNotFound) {
		t.Fatalf("Detokenize after Sweep = %v, want ErrNotFound", err)
	}

	// Rewrap under a new key keeps every token.
	rtok, err := v.Tokenize(bg, "acme", tokenvault.PolicyCard, "4111 1111 1111 1111")
	if err != nil {
		t.Fatal(err)
	}
	old := Provider(t)
	if _, err := tokenvault.Open(bg, s, old, Policies(t)); !errors.Is(err, tokenvault.ErrWrongKey) {
		t.Fatalf("Open with another key = %v, want ErrWrongKey", err)
	}
	// Reopen with a new key, the vault's own as the previous one.
	v2, err := tokenvault.Open(bg, s, old, Policies(t), tokenvault.WithPreviousProviders(cur), tokenvault.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	n, err = v2.Rewrap(bg)
	if err != nil || n < 300 {
		t.Fatalf("Rewrap = %d, %v, want every record (more than 300)", n, err)
	}
	v3, err := tokenvault.Open(bg, s, old, Policies(t), tokenvault.WithClock(clock))
	if err != nil {
		t.Fatalf("Open with the new key alone after Rewrap: %v", err)
	}
	if got, err := v3.Detokenize(bg, "acme", tokenvault.PolicyCard, rtok); err != nil || got != "4111 1111 1111 1111" {
		t.Fatalf("Detokenize after Rewrap: %v", err)
	}
	ff1tok, err := v.Tokenize(bg, "acme", "ff1", sample("ff1", 7))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v3.Detokenize(bg, "acme", "ff1", ff1tok); err != nil || got != sample("ff1", 7) {
		t.Fatalf("ff1 after Rewrap: %v (the vault's key must survive rewrapping)", err)
	}
}

// testVaultConvergentConcurrency: 100 goroutines tokenize the same 20
// values, in batches and one by one, under a convergent policy: every
// value gets exactly one token.
func testVaultConvergentConcurrency(t *testing.T, s tokenvault.Store) {
	v := openVault(t, s)
	const goroutines = 100
	values := make([]string, 20)
	for i := range values {
		values[i] = "customer " + strconv.Itoa(i)
	}
	got := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			if g%2 == 0 {
				tokens, errs, err := v.TokenizeBatch(bg, "acme", "convergent", values)
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range errs {
					if e != nil {
						t.Error(e)
						return
					}
				}
				got[g] = tokens
				return
			}
			for i := range values {
				j := (i + g) % len(values) // another order
				tok, err := v.Tokenize(bg, "acme", "convergent", values[j])
				if err != nil {
					t.Error(err)
					return
				}
				if got[g] == nil {
					got[g] = make([]string, len(values))
				}
				got[g][j] = tok
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for g := 1; g < goroutines; g++ {
		for i := range values {
			if got[g][i] != got[0][i] {
				t.Fatalf("value %d got two tokens under a convergent policy (goroutines 0 and %d)", i, g)
			}
		}
	}
	seen := map[string]bool{}
	for i, tok := range got[0] {
		if seen[tok] {
			t.Fatalf("two values share a token")
		}
		seen[tok] = true
		if look, err := v.Lookup(bg, "acme", "convergent", values[i]); err != nil || look != tok {
			t.Fatalf("Lookup = %v, want the token", err)
		}
	}
	// Exactly one record per value.
	recs := listAll(t, s, tokenvault.ListRequest{Tenant: "acme", Policy: "convergent", Limit: 100})
	if len(recs) != len(values) {
		t.Fatalf("the store holds %d records for %d values", len(recs), len(values))
	}
}

// testVaultRandomConcurrency: 100 goroutines tokenize distinct values
// under a policy with a small token space (5 digits, so tokens collide and
// are retried): no token is issued twice, and each detokenizes to its
// value.
func testVaultRandomConcurrency(t *testing.T, s tokenvault.Store) {
	v := openVault(t, s)
	const goroutines, per = 100, 20
	tokens := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			values := make([]string, per)
			for i := range values {
				values[i] = sample("short", g*per+i)
			}
			var err error
			var errs []error
			if g%2 == 0 {
				tokens[g], errs, err = v.TokenizeBatch(bg, "acme", "short", values)
			} else {
				for _, val := range values {
					tok, e := v.Tokenize(bg, "acme", "short", val)
					tokens[g] = append(tokens[g], tok)
					errs = append(errs, e)
				}
			}
			if err != nil {
				t.Error(err)
				return
			}
			for _, e := range errs {
				if e != nil {
					t.Error(e)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := map[string]int{}
	for g := range goroutines {
		for i, tok := range tokens[g] {
			id := g*per + i
			if prev, dup := seen[tok]; dup {
				t.Fatalf("one token issued for values %d and %d", prev, id)
			}
			seen[tok] = id
			if tok == sample("short", id) {
				t.Fatalf("value %d is its own token", id)
			}
		}
		got, errs, err := v.DetokenizeBatch(bg, "acme", "short", tokens[g])
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if errs[i] != nil || got[i] != sample("short", g*per+i) {
				t.Fatalf("token of value %d does not detokenize to it: %v", g*per+i, errs[i])
			}
		}
	}
}
