package tokenvault_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
	"github.com/datamask/datamask/tokenvault/storetest"
)

func class(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return 'd'
	case c >= 'a' && c <= 'z':
		return 'l'
	case c >= 'A' && c <= 'Z':
		return 'u'
	}
	return c // a separator is its own class
}

func luhn(s string) bool {
	sum, k := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < '0' || s[i] > '9' {
			continue
		}
		d := int(s[i] - '0')
		if k%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		k++
	}
	return sum%10 == 0
}

func isSep(c byte) bool { return len(alnumIndexes(string(c), 1)) == 0 }

// alnumIndexes returns the positions of letters and digits of s[:end].
func alnumIndexes(s string, end int) []int {
	var idx []int
	for i := 0; i < end; i++ {
		if class(s[i]) == 'd' || class(s[i]) == 'l' || class(s[i]) == 'u' {
			idx = append(idx, i)
		}
	}
	return idx
}

func randomShaped(r *rand.Rand, pattern string) string {
	b := []byte(pattern)
	for i, c := range b {
		switch c {
		case '9':
			b[i] = byte('0' + r.IntN(10))
		case 'a':
			b[i] = byte('a' + r.IntN(26))
		case 'A':
			b[i] = byte('A' + r.IntN(26))
		}
	}
	return string(b)
}

// TestPreserveProperties tokenizes thousands of random values per
// preserve policy and checks each token: same length, same class at every
// position, separators and kept characters unchanged, Luhn as asked, never
// the value itself, and no token issued twice.
func TestPreserveProperties(t *testing.T) {
	f := newFixture(t)
	r := rand.New(rand.NewPCG(5, 6))
	mk := func(name string, spec tokenvault.PolicySpec) *tokenvault.Policy {
		p, err := tokenvault.NewPolicy(name, spec)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	policies := []*tokenvault.Policy{
		mk("card", tokenvault.PolicySpec{Format: tokenvault.FormatPreserve, Charset: tokenvault.CharsetDigits, KeepLast: 4, Luhn: tokenvault.LuhnInvalid}),
		mk("card-valid", tokenvault.PolicySpec{Format: tokenvault.FormatPreserve, Charset: tokenvault.CharsetDigits, KeepFirst: 6, KeepLast: 4, Luhn: tokenvault.LuhnValid}),
		mk("ssn", tokenvault.PolicySpec{Format: tokenvault.FormatPreserve, Charset: tokenvault.CharsetDigits, KeepLast: 4}),
		mk("email", tokenvault.PolicySpec{Format: tokenvault.FormatPreserve, KeepFrom: "@"}),
		mk("mixed", tokenvault.PolicySpec{Format: tokenvault.FormatPreserve, KeepFirst: 2}),
	}
	v, err := openWith(f, policies)
	if err != nil {
		t.Fatal(err)
	}
	patterns := map[string][]string{
		"card":       {"9999-9999-9999-9999", "9999 9999 9999 9999", "9999999999999999", "999999999999999", "9999-999999-99999"},
		"card-valid": {"9999999999999999", "9999 9999 9999 9999 999"},
		"ssn":        {"999-99-9999", "999999999"},
		"email":      {"aaaaa.aaaaa@example.com", "aaaa+99@aa.aa", "Aaaaaa_9@sub.example.org", "a.b.c.d.e.f@x@y.z"},
		"mixed":      {"AA-99aa-AAAA-9999", "Ref: AAA/99999/aaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	}
	for _, p := range policies {
		spec := p.Spec()
		seen := map[string]bool{}
		for _, pattern := range patterns[p.Name()] {
			values := make([]string, 1000)
			for i := range values {
				values[i] = randomShaped(r, pattern)
			}
			tokens, errs, err := v.TokenizeBatch(bg, "acme", p.Name(), values)
			if err != nil {
				t.Fatal(err)
			}
			for i, tok := range tokens {
				val := values[i]
				if errs[i] != nil {
					t.Fatalf("%s: %q: %v", p.Name(), pattern, errs[i])
				}
				if seen[tok] {
					t.Fatalf("%s: a token issued twice", p.Name())
				}
				seen[tok] = true
				if tok == val {
					t.Fatalf("%s: a value is its own token", p.Name())
				}
				if len(tok) != len(val) {
					t.Fatalf("%s: token of %d bytes for a value of %d", p.Name(), len(tok), len(val))
				}
				for j := range val {
					if class(tok[j]) != class(val[j]) {
						t.Fatalf("%s: pattern %q: position %d changed class", p.Name(), pattern, j)
					}
				}
				end := len(val)
				if spec.KeepFrom != "" {
					end = strings.LastIndex(val, spec.KeepFrom)
					if tok[end:] != val[end:] {
						t.Fatalf("%s: the part from %q changed", p.Name(), spec.KeepFrom)
					}
				}
				idx := alnumIndexes(val, end)
				for k, j := range idx {
					kept := k < spec.KeepFirst || k >= len(idx)-spec.KeepLast
					if kept && tok[j] != val[j] {
						t.Fatalf("%s: kept character %d changed", p.Name(), k)
					}
				}
				switch spec.Luhn {
				case tokenvault.LuhnValid:
					if !luhn(tok) {
						t.Fatalf("%s: token fails the Luhn check", p.Name())
					}
				case tokenvault.LuhnInvalid:
					if luhn(tok) {
						t.Fatalf("%s: token passes the Luhn check", p.Name())
					}
				}
			}
			back, errs, err := v.DetokenizeBatch(bg, "acme", p.Name(), tokens)
			if err != nil {
				t.Fatal(err)
			}
			for i := range back {
				if errs[i] != nil || back[i] != values[i] {
					t.Fatalf("%s: detokenize %d: %v", p.Name(), i, errs[i])
				}
			}
		}
	}
}

func openWith(f *fixture, ps []*tokenvault.Policy) (*tokenvault.Vault, error) {
	return tokenvault.Open(bg, f.store, f.provider, ps, tokenvault.WithClock(f.clock.Now))
}

func TestRandomAndUUIDFormats(t *testing.T) {
	f := newFixture(t)
	p256, err := tokenvault.NewPolicy("long", tokenvault.PolicySpec{Format: tokenvault.FormatRandom, Prefix: "cus_", Bits: 256})
	if err != nil {
		t.Fatal(err)
	}
	v, err := openWith(f, append(storetest.Policies(t), p256))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		policy string
		re     *regexp.Regexp
	}{
		{tokenvault.PolicyOpaque, regexp.MustCompile(`^tok_[A-Za-z0-9_-]{22}$`)},
		{"long", regexp.MustCompile(`^cus_[A-Za-z0-9_-]{43}$`)},
		{"uuid", regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)},
	} {
		values := make([]string, 1000)
		for i := range values {
			values[i] = "same value" // a random policy gives each its own token
		}
		tokens, errs, err := v.TokenizeBatch(bg, "acme", tc.policy, values)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, tok := range tokens {
			if errs[i] != nil || !tc.re.MatchString(tok) || seen[tok] {
				t.Fatalf("%s: token %d does not match %v or repeats (%v)", tc.policy, i, tc.re, errs[i])
			}
			seen[tok] = true
		}
	}
	long := strings.Repeat("x", tokenvault.MaxValueLength)
	if _, err := v.Tokenize(bg, "acme", tokenvault.PolicyOpaque, long); err != nil {
		t.Errorf("a value of MaxValueLength: %v", err)
	}
	if _, err := v.Tokenize(bg, "acme", tokenvault.PolicyOpaque, long+"x"); !errors.Is(err, tokenvault.ErrInvalidValue) {
		t.Errorf("a value over MaxValueLength: %v", err)
	}
}

func TestFF1Format(t *testing.T) {
	f := newFixture(t)
	alnum, err := tokenvault.NewPolicy("ff1-alnum", tokenvault.PolicySpec{Format: tokenvault.FormatFF1, KeepLast: 4})
	if err != nil {
		t.Fatal(err)
	}
	v, err := openWith(f, append(storetest.Policies(t), alnum))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct{ policy, pattern string }{
		{"ff1", "9999-9999-9999-9999"},
		{"ff1", "999999"},
		{"ff1-alnum", "AAaa-9999-aaaa"},
	} {
		for range 300 {
			val := randomShaped(r, tc.pattern)
			tok, err := v.Tokenize(bg, "acme", tc.policy, val)
			if err != nil {
				t.Fatalf("%s %q: %v", tc.policy, tc.pattern, err)
			}
			if len(tok) != len(val) {
				t.Fatalf("length changed")
			}
			for j := range val {
				if isSep(val[j]) != isSep(tok[j]) || (isSep(val[j]) && tok[j] != val[j]) {
					t.Fatalf("%s: separator at %d changed", tc.policy, j)
				}
			}
			if tc.policy == "ff1-alnum" && tok[len(tok)-4:] != val[len(val)-4:] {
				t.Fatalf("kept characters changed")
			}
			again, _ := v.Tokenize(bg, "acme", tc.policy, val)
			if again != tok {
				t.Fatal("ff1 is not deterministic")
			}
			if other, _ := v.Tokenize(bg, "globex", tc.policy, val); other == tok && len(val) > 8 {
				t.Fatal("ff1 gives the same token in two tenants")
			}
			if look, err := v.Lookup(bg, "acme", tc.policy, val); err != nil || look != tok {
				t.Fatalf("Lookup = %v", err)
			}
			back, err := v.Detokenize(bg, "acme", tc.policy, tok)
			if err != nil || back != val {
				t.Fatalf("Detokenize = %v", err)
			}
		}
	}
	if _, err := v.Tokenize(bg, "acme", "ff1", "12345"); !errors.Is(err, tokenvault.ErrInvalidValue) {
		t.Errorf("5 digits under ff1: %v, want ErrInvalidValue", err)
	}
	if _, err := v.Tokenize(bg, "acme", "ff1", "-1234567"); err != nil {
		t.Errorf("a sign is a separator in the ff1 policy: %v", err)
	}
}

func TestValueRefusals(t *testing.T) {
	f := newFixture(t)
	v := f.vault
	for _, tc := range []struct {
		policy, value, want string
	}{
		{tokenvault.PolicyCard, "4111-1111-1111-111a", "letter"},
		{tokenvault.PolicyCard, "4111", "keeps 4"},
		{tokenvault.PolicyCard, "", "empty"},
		{tokenvault.PolicySSN, "12-6789", "fewer than 10000 tokens"},
		{tokenvault.PolicySSN, "１２３-45-6789", "printable ASCII"},
		{tokenvault.PolicyEmail, "no-at-sign.example.com", `no "@"`},
		{tokenvault.PolicyEmail, "ab@example.com", "fewer than 10000"},
		{tokenvault.PolicyEmail, "tab\there@example.com", "printable ASCII"},
		{"ff1", "12345", "too few"},
		{"ff1", strings.Repeat("1", tokenvault.MaxShapedLength+1), "more than 4096"},
		{tokenvault.PolicyOpaque, "", "empty"},
	} {
		_, err := v.Tokenize(bg, "acme", tc.policy, tc.value)
		var ve *tokenvault.ValueError
		if !errors.As(err, &ve) || !errors.Is(err, tokenvault.ErrInvalidValue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Tokenize(%q) = %v, want a ValueError saying %q", tc.policy, tc.value, err, tc.want)
			continue
		}
		if ve.Policy != tc.policy {
			t.Errorf("ValueError.Policy = %q", ve.Policy)
		}
		if len(tc.value) > 3 && strings.Contains(err.Error(), tc.value) {
			t.Errorf("error %q holds the value", err)
		}
	}
}

// FuzzDetokenize feeds arbitrary strings as tokens of every policy: no
// panic, only the vault's errors, never the string in the error.
func FuzzDetokenize(f *testing.F) {
	fx := newFixture(f)
	for _, s := range []string{"tok_AAAAAAAAAAAAAAAAAAAAAA", "9b2e4c1a-0000-4000-8000-000000000000", "4111-1111-1111-1111", "a@b", "", "\xff\xfe", "123-45-6789"} {
		f.Add(s)
	}
	policies := fx.vault.Policies()
	f.Fuzz(func(t *testing.T, token string) {
		for _, p := range policies {
			val, err := fx.vault.Detokenize(bg, "acme", p.Name(), token)
			if p.Spec().Format == tokenvault.FormatFF1 {
				if err == nil {
					continue // any string of the domain decrypts
				}
			}
			if err == nil {
				t.Fatalf("%s: a fuzzed token detokenized to %q", p.Name(), val)
			}
			if !errors.Is(err, tokenvault.ErrInvalidToken) && !errors.Is(err, tokenvault.ErrNotFound) {
				t.Fatalf("%s: error %v", p.Name(), err)
			}
			if len(token) >= 4 && strings.Contains(err.Error(), token) {
				t.Fatalf("error %q holds the token", err)
			}
		}
	})
}

func ExampleVault() {
	dir, err := os.MkdirTemp("", "vault")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	keyText, _ := datamask.GenerateLocalKey() // or datamask.ReadLocalKeyring("datamask.key")
	keyring, err := datamask.NewLocalKeyring(keyText)
	if err != nil {
		panic(err)
	}
	provider, err := tokenvault.NewProvider(keyring)
	if err != nil {
		panic(err)
	}
	store, err := boltstore.Open(filepath.Join(dir, "datamask-vault.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	v, err := tokenvault.Open(ctx, store, provider, tokenvault.BuiltinPolicies())
	if err != nil {
		panic(err)
	}

	token, err := v.Tokenize(ctx, "acme", tokenvault.PolicySSN, "123-45-6789")
	if err != nil {
		panic(err)
	}
	fmt.Println(len(token), token[3:4], token[6:])
	value, err := v.Detokenize(ctx, "acme", tokenvault.PolicySSN, token)
	if err != nil {
		panic(err)
	}
	fmt.Println(value)
	_, err = v.Detokenize(ctx, "globex", tokenvault.PolicySSN, token)
	fmt.Println(err)
	_, err = v.Tokenize(ctx, "acme", tokenvault.PolicySSN, "12-6789")
	fmt.Println(err)
	// Output:
	// 11 - -6789
	// 123-45-6789
	// tokenvault: no such token in this tenant and policy
	// tokenvault: policy "ssn" cannot tokenize this value: its 2 changing letters and digits allow fewer than 10000 tokens (keep fewer characters, or use another format)
}

// TestSpaceExhausted fills a policy's whole token space (4 digits: 10,000
// tokens): no token is ever issued twice, and once collisions keep coming
// values get ErrExhausted instead of a duplicate or another format.
func TestSpaceExhausted(t *testing.T) {
	f := newFixture(t)
	p, err := tokenvault.NewPolicy("pin", tokenvault.PolicySpec{Format: tokenvault.FormatPreserve, Charset: tokenvault.CharsetDigits})
	if err != nil {
		t.Fatal(err)
	}
	v, err := openWith(f, []*tokenvault.Policy{p})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	exhausted := 0
	for lo := 0; lo < 10000; lo += tokenvault.MaxBatch {
		values := make([]string, tokenvault.MaxBatch)
		for i := range values {
			values[i] = fmt.Sprintf("%04d", lo+i)
		}
		tokens, errs, err := v.TokenizeBatch(bg, "acme", "pin", values)
		if err != nil {
			t.Fatal(err)
		}
		for i, tok := range tokens {
			switch {
			case errors.Is(errs[i], tokenvault.ErrExhausted):
				exhausted++
			case errs[i] != nil:
				t.Fatalf("value %d: %v", lo+i, errs[i])
			case seen[tok] || tok == values[i] || len(tok) != 4:
				t.Fatalf("value %d: token repeated, equal to the value, or reshaped", lo+i)
			default:
				seen[tok] = true
			}
		}
	}
	if exhausted == 0 {
		t.Fatal("10,000 values in a space of 10,000 tokens: none exhausted")
	}
	t.Logf("%d tokens issued, %d values refused with ErrExhausted", len(seen), exhausted)
}
