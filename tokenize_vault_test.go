package datamask_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
)

// testPolicies are the built-in policies and one of each other format,
// with two whose tokens of numbers are numbers (the first digit kept).
const testPolicies = `{
  "uuid":       {"format": "uuid"},
  "ff1":        {"format": "ff1", "charset": "digits"},
  "convergent": {"format": "random", "prefix": "cvg_", "convergent": true},
  "acct":       {"format": "preserve", "charset": "digits", "keep_first": 1},
  "acct_ff1":   {"format": "ff1", "charset": "digits", "keep_first": 1}
}`

// openTokenVault opens a vault over a new embedded store (package
// boltstore) in a temporary directory, with a local key.
func openTokenVault(tb testing.TB) *tokenvault.Vault {
	tb.Helper()
	store, err := boltstore.Open(filepath.Join(tb.TempDir(), "vault.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	p, err := tokenvault.NewProvider(localKeyring(tb))
	if err != nil {
		tb.Fatal(err)
	}
	more, err := tokenvault.ParsePolicies([]byte(testPolicies))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := tokenvault.Open(context.Background(), store, p, append(tokenvault.BuiltinPolicies(), more...))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// jsonValues returns the values that path selects in doc: keys, and "*"
// for every element of an array.
func jsonValues(t *testing.T, doc []byte, path ...string) []any {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	cur := []any{v}
	for _, p := range path {
		var next []any
		for _, c := range cur {
			switch c := c.(type) {
			case map[string]any:
				if x, ok := c[p]; ok {
					next = append(next, x)
				}
			case []any:
				if p == "*" {
					next = append(next, c...)
				}
			}
		}
		cur = next
	}
	return cur
}

// TestTokenizeWithVault tokenizes and detokenizes testdata/customer.json
// through the real vault (embedded store), one field per token format:
// tokens keep their value's JSON type, take their format's shape, and
// come back to the exact original document.
func TestTokenizeWithVault(t *testing.T) {
	ctx := context.Background()
	doc, err := os.ReadFile("testdata/customer.json")
	if err != nil {
		t.Fatal(err)
	}
	v := openTokenVault(t)
	m := newTokenMasker(t, v)
	for _, tt := range []struct {
		policy string
		expr   string
		path   []string
		token  string // a regular expression every token matches
	}{
		{"ssn", "$.ssn", []string{"ssn"}, `^\d{3}-\d{2}-6789$`},
		{"card", "card_number", []string{"card_number"}, `^\d{4}-\d{4}-\d{4}-1111$`},
		{"email", "$.email", []string{"email"}, `^[a-z]{3}\.[a-z]{5}@example\.com$`},
		{"opaque", "$.name", []string{"name"}, `^tok_[A-Za-z0-9_-]{22}$`},
		{"uuid", "$.address[*].street", []string{"address", "*", "street"}, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
		{"ff1", "$.address[*].city", nil, ""}, // letters: refused, below
		{"ff1", "$.ssn", []string{"ssn"}, `^\d{3}-\d{2}-\d{4}$`},
		{"convergent", "orders[*].sku", []string{"orders", "*", "sku"}, `^cvg_[A-Za-z0-9_-]{22}$`},
		{"acct_ff1", "$.id", []string{"id"}, `^1\d{19}$`},
		{"acct", "$.address[*].postcode", []string{"address", "*", "postcode"}, `^[16]\d{4}$`},
		{"acct_ff1", "$.address[*].postcode", nil, ""}, // 4 digits: too small a domain for FF1, below
		{"acct", "$.orders[*].qty", nil, ""},           // one digit: too small a token space, below
	} {
		t.Run(tt.policy+" "+tt.expr, func(t *testing.T) {
			opts := []datamask.CallOption{datamask.Tenant("acme"), datamask.TokenFields(tt.policy, tt.expr)}
			tok, err := m.Tokenize(ctx, doc, opts...)
			if tt.path == nil {
				var ve *tokenvault.ValueError
				var fe *datamask.FieldError
				if !errors.As(err, &ve) || !errors.As(err, &fe) || fe.Expression != tt.expr || fe.Match != 1 {
					t.Fatalf("Tokenize(%s) = %v; want a *FieldError of match 1 around a *tokenvault.ValueError", tt.expr, err)
				}
				checkNoSecrets(t, err, secretsIn(doc)...)
				return
			}
			if err != nil {
				t.Fatalf("Tokenize(%s) = %v", tt.expr, err)
			}
			orig, toks := jsonValues(t, doc, tt.path...), jsonValues(t, tok, tt.path...)
			if len(toks) != len(orig) || len(orig) == 0 {
				t.Fatalf("%d values tokenized, want %d", len(toks), len(orig))
			}
			re := regexp.MustCompile(tt.token)
			for i := range orig {
				if toks[i] == orig[i] {
					t.Errorf("token %d equals its value", i)
				}
				if _, num := orig[i].(json.Number); num != isNumber(toks[i]) {
					t.Errorf("value %d is a %T, its token a %T: the type must not change", i, orig[i], toks[i])
				}
				if s := toText(toks[i]); !re.MatchString(s) {
					t.Errorf("token %d = %q, want a match of %s", i, s, tt.token)
				}
			}
			back, err := m.Detokenize(ctx, tok, opts...)
			if err != nil || string(back) != string(doc) {
				t.Fatalf("Detokenize = %s, %v; want the original document", back, err)
			}
			if tt.policy != "ff1" && tt.policy != "acct_ff1" { // vaultless tokens are per tenant by key, not by record
				_, err := m.Detokenize(ctx, tok, datamask.Tenant("globex"), datamask.TokenFields(tt.policy, tt.expr))
				if !errors.Is(err, tokenvault.ErrNotFound) {
					t.Errorf("Detokenize in another tenant: %v, want tokenvault.ErrNotFound", err)
				}
				checkNoSecrets(t, err, append(secretsIn(doc), secretsIn(tok)...)...)
			}
		})
	}
}

func isNumber(v any) bool { _, ok := v.(json.Number); return ok }

func toText(v any) string {
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	s, _ := v.(string)
	return s
}

// TestTokenizeWithVaultErrors: the vault's errors reach the caller as
// themselves, with the field, never a value or token.
func TestTokenizeWithVaultErrors(t *testing.T) {
	ctx := context.Background()
	m := newTokenMasker(t, openTokenVault(t))
	tenant := datamask.Tenant("acme")
	for _, tt := range []struct {
		name string
		op   string
		doc  string
		opts []datamask.CallOption
		is   error
		as   any
		text string
	}{
		{name: "a number under a policy of random tokens", doc: `{"id": 12345678901}`, opts: []datamask.CallOption{tenant, datamask.TokenFields("opaque", "id")},
			is: datamask.ErrUnsupportedType, text: `datamask: tokenize: field "id" (match 1): unsupported type: the token of a number is not a JSON number`},
		{name: "a value the format cannot serve", doc: `{"ssn": ["123-45-6789", "12-6789"]}`, opts: []datamask.CallOption{tenant, datamask.TokenFields("ssn", "ssn[*]")},
			is: tokenvault.ErrInvalidValue, as: new(*tokenvault.ValueError), text: `datamask: tokenize: field "ssn[*]" (match 2): tokenvault: policy "ssn" cannot tokenize this value`},
		{name: "not a token", op: "detokenize", doc: `{"card": "4111 1111 1111 1111 x"}`, opts: []datamask.CallOption{tenant, datamask.TokenFields("card", "card")},
			is: tokenvault.ErrInvalidToken, text: `datamask: detokenize: field "card" (match 1): tokenvault: not a token`},
		{name: "an unknown token", op: "detokenize", doc: `{"t": "tok_3q2-7wEAAAAAAAAAAAAAAA"}`, opts: []datamask.CallOption{tenant, datamask.TokenFields("opaque", "t")},
			is: tokenvault.ErrNotFound},
		{name: "an unknown policy", doc: `{"ssn": "123-45-6789"}`, opts: []datamask.CallOption{tenant, datamask.TokenFields("nope", "ssn")},
			as: new(*tokenvault.UnknownPolicyError), text: `datamask: tokenize: token vault, policy "nope": tokenvault: unknown policy "nope"`},
		{name: "a tenant the vault refuses", doc: `{"ssn": "123-45-6789"}`, opts: []datamask.CallOption{datamask.Tenant(strings.Repeat("t", 300)), datamask.TokenFields("ssn", "ssn")},
			text: `datamask: tokenize: token vault, policy "ssn": tokenvault: tenant`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			call := m.Tokenize
			if tt.op == "detokenize" {
				call = m.Detokenize
			}
			_, err := call(ctx, []byte(tt.doc), tt.opts...)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not match %v", err, tt.is)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("error %v is not a %T", err, tt.as)
			}
			if !strings.HasPrefix(err.Error(), tt.text) {
				t.Errorf("error %q, want it to start with %q", err, tt.text)
			}
			checkNoSecrets(t, err, append(secretsIn([]byte(tt.doc)), "4111", "12-6789")...)
		})
	}
}

// cancelVault passes calls to a real vault and cancels the caller's
// context during its first call.
type cancelVault struct {
	*tokenvault.Vault
	cancel context.CancelFunc
	calls  atomic.Int64
}

func (c *cancelVault) TokenizeBatch(ctx context.Context, tenant, policy string, values []string) ([]string, []error, error) {
	if c.calls.Add(1) == 1 {
		c.cancel()
	}
	return c.Vault.TokenizeBatch(ctx, tenant, policy, values)
}

// TestTokenizeWithVaultCancel: cancellation through the real vault and
// store stops the work within a batch per worker, with ctx's error.
func TestTokenizeWithVaultCancel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v := &cancelVault{Vault: openTokenVault(t), cancel: cancel}
	m := newTokenMasker(t, v)
	out, err := m.Tokenize(ctx, bigTokenDoc(20_000, 0), datamask.Tenant("acme"), datamask.TokenFields("ssn", "s[*]"))
	if err != context.Canceled || out != nil {
		t.Fatalf("Tokenize cancelled in its first batch = %d bytes, %v; want nil, context.Canceled", len(out), err)
	}
	if n := v.calls.Load(); n > 4 {
		t.Errorf("%d batches sent of 20; want at most one per worker (4)", n)
	}
}

// panicStore is an embedded store whose Create panics.
type panicStore struct{ tokenvault.Store }

func (panicStore) Create(context.Context, []tokenvault.Record) ([]tokenvault.CreateResult, error) {
	panic("store bug")
}

// TestTokenizeWithVaultPanic: a panic below the vault (here its store)
// reaches the caller of Tokenize, whatever the number of batches.
func TestTokenizeWithVaultPanic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	p, err := tokenvault.NewProvider(localKeyring(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokenvault.Open(context.Background(), store, p, tokenvault.BuiltinPolicies()); err != nil {
		t.Fatal(err) // creates the vault's key before the store breaks
	}
	v, err := tokenvault.Open(context.Background(), panicStore{store}, p, tokenvault.BuiltinPolicies())
	if err != nil {
		t.Fatal(err)
	}
	m := newTokenMasker(t, v)
	for _, n := range []int{1, 5000} {
		got := recovered(func() {
			_, _ = m.Tokenize(context.Background(), bigTokenDoc(n, 0), datamask.Tenant("acme"), datamask.TokenFields("ssn", "s[*]"))
		})
		if got != "store bug" {
			t.Errorf("Tokenize of %d values, the store panicking: recover() = %v, want the store's panic", n, got)
		}
	}
}

// panicOnProvider passes calls to a real provider but panics in Encrypt, or
// in Decrypt once armed.
type panicOnProvider struct {
	datamask.Provider
	decrypt atomic.Bool
}

func (p *panicOnProvider) Encrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	panic("provider bug")
}

func (p *panicOnProvider) Decrypt(ctx context.Context, ct []byte, ec map[string]string) ([]byte, error) {
	if p.decrypt.Load() {
		panic("provider bug")
	}
	return p.Provider.Decrypt(ctx, ct, ec)
}

// TestTokenizeWithVaultProviderPanic: a panic of the vault's provider,
// which the vault calls on several goroutines of its own, reaches the
// caller of Tokenize and Detokenize instead of ending the process.
func TestTokenizeWithVaultProviderPanic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ctx := context.Background()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	p, err := tokenvault.NewProvider(localKeyring(t))
	if err != nil {
		t.Fatal(err)
	}
	good, err := tokenvault.Open(ctx, store, p, tokenvault.BuiltinPolicies())
	if err != nil {
		t.Fatal(err)
	}
	opts := []datamask.CallOption{datamask.Tenant("acme"), datamask.TokenFields("ssn", "s[*]")}
	doc := bigTokenDoc(3000, 0)
	tok, err := newTokenMasker(t, good).Tokenize(ctx, doc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	pp := &panicOnProvider{Provider: p}
	bad, err := tokenvault.Open(ctx, store, pp, tokenvault.BuiltinPolicies())
	if err != nil {
		t.Fatal(err)
	}
	m := newTokenMasker(t, bad)
	if got := recovered(func() { _, _ = m.Tokenize(ctx, doc, opts...) }); got != "provider bug" {
		t.Errorf("Tokenize, the vault's provider panicking in Encrypt: recover() = %v, want its panic", got)
	}
	pp.decrypt.Store(true)
	if got := recovered(func() { _, _ = m.Detokenize(ctx, tok, opts...) }); got != "provider bug" {
		t.Errorf("Detokenize, the vault's provider panicking in Decrypt: recover() = %v, want its panic", got)
	}
}
