package datamask_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/datamask/datamask"
)

func newTokenMasker(t testing.TB, v datamask.TokenVault) *datamask.DataMasker {
	t.Helper()
	m, err := datamask.New(datamask.WithTokenVault(v))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// q is the JSON string of memVault's token of value under policy.
func q(policy, value string) string { return strconv.Quote(memToken(policy, value)) }

func TestTokenizeRoundTrip(t *testing.T) {
	ctx := context.Background()
	tf := datamask.TokenFields
	for _, tt := range []struct {
		name   string
		doc    string
		fields []datamask.CallOption
		want   string // the tokenized document
		back   string // Detokenize's result, if not doc
	}{
		{
			name:   "string",
			doc:    `{"name": "Ana", "ssn": "123-45-6789"}`,
			fields: []datamask.CallOption{tf("ssn", "$.ssn")},
			want:   `{"name": "Ana", "ssn": ` + q("ssn", "123-45-6789") + `}`,
		},
		{
			name:   "Powertools dialect, whitespace and key order kept",
			doc:    "{ \"customers\" : [ {\"ssn\":\"1\" ,\"id\":1}, {\"id\":2,\n\"ssn\": \"2\"} ] }",
			fields: []datamask.CallOption{tf("ssn", "customers[*].ssn")},
			want:   "{ \"customers\" : [ {\"ssn\":" + q("ssn", "1") + " ,\"id\":1}, {\"id\":2,\n\"ssn\": " + q("ssn", "2") + "} ] }",
		},
		{
			name:   "numbers keep their type and spelling",
			doc:    `{"id": 12345678901234567890, "price": 1.50, "exp": -2.5e-3}`,
			fields: []datamask.CallOption{tf("num", "id", "price", "exp")},
			want: `{"id": ` + memToken("num", "12345678901234567890") + `, "price": ` + memToken("num", "1.50") +
				`, "exp": ` + memToken("num", "-2.5e-3") + `}`,
		},
		{
			name:   "a number tokenized by a policy of strings: its token as a string is refused, see errors",
			doc:    `{"id": "12345"}`,
			fields: []datamask.CallOption{tf("num", "id")},
			want:   `{"id": ` + q("num", "12345") + `}`,
		},
		{
			name:   "null is kept",
			doc:    `{"ssn": null, "card": "4111"}`,
			fields: []datamask.CallOption{tf("ssn", "ssn"), tf("card", "card")},
			want:   `{"ssn": null, "card": ` + q("card", "4111") + `}`,
		},
		{
			name:   "objects and arrays leaf by leaf, keys and nulls kept",
			doc:    `{"address": {"street": "1 Main St", "zip": "12345", "lines": ["a", null, "b"], "street2": null}, "k": "street"}`,
			fields: []datamask.CallOption{tf("opaque", "address")},
			want: `{"address": {"street": ` + q("opaque", "1 Main St") + `, "zip": ` + q("opaque", "12345") +
				`, "lines": [` + q("opaque", "a") + `, null, ` + q("opaque", "b") + `], "street2": null}, "k": "street"}`,
		},
		{
			name:   "an array of numbers",
			doc:    `{"cards": [4111111111111111, 5500000000000004], "empty": []}`,
			fields: []datamask.CallOption{tf("num", "cards", "empty")},
			want:   `{"cards": [` + memToken("num", "4111111111111111") + `, ` + memToken("num", "5500000000000004") + `], "empty": []}`,
		},
		{
			name:   "escapes are decoded; the value comes back re-quoted",
			doc:    `{"s": "a\u0041\n\ud83d\ude00\/"}`,
			fields: []datamask.CallOption{tf("opaque", "s")},
			want:   `{"s": ` + q("opaque", "aA\n😀/") + `}`,
			back:   `{"s": "aA\n😀/"}`,
		},
		{
			name:   "the whole document",
			doc:    `"123-45-6789"`,
			fields: []datamask.CallOption{tf("ssn", "$")},
			want:   q("ssn", "123-45-6789"),
		},
		{
			name:   "two policies, one value inside another of the same policy",
			doc:    `{"a": {"b": "x", "c": 7}, "ssn": "y"}`,
			fields: []datamask.CallOption{tf("num", "a.b", "a"), tf("ssn", "$..ssn")},
			want:   `{"a": {"b": ` + q("num", "x") + `, "c": ` + memToken("num", "7") + `}, "ssn": ` + q("ssn", "y") + `}`,
		},
		{
			name:   "a filter on a value left in clear",
			doc:    `{"people": [{"role": "admin", "ssn": "1"}, {"role": "user", "ssn": "2"}]}`,
			fields: []datamask.CallOption{tf("ssn", `$.people[?(@.role == 'admin')].ssn`)},
			want:   `{"people": [{"role": "admin", "ssn": ` + q("ssn", "1") + `}, {"role": "user", "ssn": "2"}]}`,
		},
		{
			name:   "the empty string",
			doc:    `{"s": ""}`,
			fields: []datamask.CallOption{tf("opaque", "s")},
			want:   `{"s": ` + q("opaque", "") + `}`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := newMemVault()
			m := newTokenMasker(t, v)
			opts := append([]datamask.CallOption{datamask.Tenant("acme")}, tt.fields...)
			got, err := m.Tokenize(ctx, []byte(tt.doc), opts...)
			if err != nil || string(got) != tt.want {
				t.Fatalf("Tokenize(%s) = %s, %v; want %s", tt.doc, got, err, tt.want)
			}
			back, err := m.Detokenize(ctx, got, opts...)
			want := tt.back
			if want == "" {
				want = tt.doc
			}
			if err != nil || string(back) != want {
				t.Fatalf("Detokenize(%s) = %s, %v; want %s", got, back, err, want)
			}
			// The writer forms write the same.
			var w bytes.Buffer
			if err := m.TokenizeTo(ctx, &w, []byte(tt.doc), opts...); err != nil || w.String() != tt.want {
				t.Errorf("TokenizeTo = %s, %v; want %s", w.String(), err, tt.want)
			}
			w.Reset()
			if err := m.DetokenizeTo(ctx, &w, got, opts...); err != nil || w.String() != want {
				t.Errorf("DetokenizeTo = %s, %v; want %s", w.String(), err, want)
			}
			// Another tenant does not see the tokens.
			_, err = m.Detokenize(ctx, got, append([]datamask.CallOption{datamask.Tenant("other")}, tt.fields...)...)
			if strings.Contains(tt.want, "tok_") || strings.Contains(tt.want, `: 9`) {
				if !errors.Is(err, errNotFound) {
					t.Errorf("Detokenize in another tenant: %v, want errNotFound", err)
				}
			}
		})
	}
}

// TestTokenizeErrors: every error names what is wrong, never a value or a
// token, and keeps the vault's error reachable.
func TestTokenizeErrors(t *testing.T) {
	ctx := context.Background()
	tf := datamask.TokenFields
	tenant := datamask.Tenant("acme")
	for _, tt := range []struct {
		name  string
		op    string // "tokenize" (default) or "detokenize"
		doc   string
		opts  []datamask.CallOption
		vault func(*memVault)
		is    error
		field string // the FieldError's expression, if one
		match int
		text  string // in the message
		calls int64  // vault calls made (-1: any)
	}{
		{name: "boolean", doc: `{"ok": true, "ssn": "123-45-6789"}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn", "ok")},
			is: datamask.ErrUnsupportedType, field: "ok", match: 1, text: "the value is a boolean"},
		{name: "boolean inside an object", doc: `{"a": [{"s": "secret-1"}, {"s": "secret-2", "b": false}]}`, opts: []datamask.CallOption{tenant, tf("opaque", "a[*]")},
			is: datamask.ErrUnsupportedType, field: "a[*]", match: 2, text: "it holds a boolean"},
		{name: "boolean on detokenize", op: "detokenize", doc: `{"ok": false}`, opts: []datamask.CallOption{tenant, tf("ssn", "ok")},
			is: datamask.ErrUnsupportedType, field: "ok", match: 1, text: "cannot be detokenized"},
		{name: "unpaired surrogate", doc: `{"s": "secret\ud800"}`, opts: []datamask.CallOption{tenant, tf("opaque", "s")},
			is: datamask.ErrUnsupportedType, field: "s", match: 1, text: "unpaired UTF-16 surrogate"},
		{name: "a number's token is not a number", doc: `{"n": 12345678}`, opts: []datamask.CallOption{tenant, tf("opaque", "n")},
			is: datamask.ErrUnsupportedType, field: "n", match: 1, text: "the token of a number is not a JSON number", calls: 1},
		{name: "a number token's value is not a number", op: "detokenize", doc: `{"n": ` + memToken("num", "secret-value") + `}`,
			vault: func(v *memVault) { _, _, _ = v.TokenizeBatch(ctx, "acme", "num", []string{"secret-value"}) },
			opts:  []datamask.CallOption{tenant, tf("num", "n")},
			is:    datamask.ErrUnsupportedType, field: "n", match: 1, text: "is not a JSON number", calls: 1},
		{name: "a value the vault refuses", doc: `{"ssn": ["123-45-6789", "12-34"]}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn[*]")},
			vault: func(v *memVault) { v.refuse = "12-34" }, is: errRefused, field: "ssn[*]", match: 2, calls: 1},
		{name: "an unknown token", op: "detokenize", doc: `{"ssn": "tok_00000000", "x": [{"ssn": "tok_12345678"}]}`, opts: []datamask.CallOption{tenant, tf("ssn", "$..ssn")},
			is: errNotFound, field: "$..ssn", match: 1, calls: 1},
		{name: "the whole call fails", doc: `{"ssn": "123-45-6789"}`, opts: []datamask.CallOption{tenant, tf("unknown", "ssn")},
			is: errUnknownPolicy, text: `token vault, policy "unknown"`, calls: 1},
		{name: "results of another length", doc: `{"ssn": "123-45-6789"}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn")},
			vault: func(v *memVault) { v.badLengths = true }, text: "returned 0 results and 0 errors for 1 values", calls: 1},
		{name: "missing field", doc: `{"name": "Ana"}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn")},
			is: new(datamask.FieldNotFoundError), text: `field "ssn" matched nothing`},
		{name: "two policies select one value", doc: `{"ssn": "123-45-6789"}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn"), tf("opaque", "$['ssn']")},
			text: `fields "ssn" (policy "ssn") and "$['ssn']" (policy "opaque") select the same value`},
		{name: "one expression, two policies", doc: `{}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn"), tf("opaque", "ssn")},
			text: `expression "ssn" given with policies "ssn" and "opaque"`},
		{name: "not JSON", doc: `{"ssn": "123-45-6789"`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn")}, is: new(datamask.SyntaxError)},
		{name: "invalid expression", doc: `{}`, opts: []datamask.CallOption{tenant, tf("ssn", "$[")}, is: new(datamask.InvalidPathError)},
		{name: "fields in a scalar", doc: `"123-45-6789"`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn")}, is: datamask.ErrUnsupportedType},
		{name: "no tenant", doc: `{}`, opts: []datamask.CallOption{tf("ssn", "ssn")}, text: "no Tenant given"},
		{name: "empty tenant", doc: `{}`, opts: []datamask.CallOption{datamask.Tenant(""), tf("ssn", "ssn")}, text: "the tenant is empty"},
		{name: "two tenants", doc: `{}`, opts: []datamask.CallOption{tenant, tenant, tf("ssn", "ssn")}, text: "Tenant given twice"},
		{name: "no TokenFields", doc: `{}`, opts: []datamask.CallOption{tenant}, text: "no TokenFields given"},
		{name: "Fields", doc: `{}`, opts: []datamask.CallOption{tenant, datamask.Fields("ssn")}, text: "Fields names no token policy"},
		{name: "empty policy", doc: `{}`, opts: []datamask.CallOption{tenant, tf("", "ssn")}, text: "the policy is empty"},
		{name: "no expression", doc: `{}`, opts: []datamask.CallOption{tenant, tf("ssn")}, text: `no expression given for policy "ssn"`},
		{name: "a mask", doc: `{}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn"), datamask.DynamicMask()}, text: "DynamicMask applies only to Erase"},
		{name: "rules", doc: `{}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn"), datamask.MaskingRules(map[string]datamask.MaskRule{"a": {}})}, text: "MaskingRules applies only to Erase"},
		{name: "a context", op: "detokenize", doc: `{}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn"), datamask.EncryptionContext(map[string]string{"a": "b"})}, text: "apply only to Encrypt and Decrypt"},
		{name: "a binding", doc: `{}`, opts: []datamask.CallOption{tenant, tf("ssn", "ssn"), datamask.BindFields()}, text: "apply only to Encrypt and Decrypt"},
		{name: "nil option", doc: `{}`, opts: []datamask.CallOption{tenant, nil}, text: "nil CallOption"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := newMemVault()
			if tt.vault != nil {
				tt.vault(v)
			}
			before := v.calls.Load()
			m := newTokenMasker(t, v)
			call := m.Tokenize
			if tt.op == "detokenize" {
				call = m.Detokenize
			}
			out, err := call(ctx, []byte(tt.doc), tt.opts...)
			if err == nil || out != nil {
				t.Fatalf("%s(%s) = %s, nil; want an error", tt.op, tt.doc, out)
			}
			switch target := tt.is.(type) {
			case nil:
			case *datamask.FieldNotFoundError:
				if !errors.As(err, &target) {
					t.Errorf("error %v is not a *FieldNotFoundError", err)
				}
			case *datamask.SyntaxError:
				if !errors.As(err, &target) {
					t.Errorf("error %v is not a *SyntaxError", err)
				}
			case *datamask.InvalidPathError:
				if !errors.As(err, &target) {
					t.Errorf("error %v is not an *InvalidPathError", err)
				}
			default:
				if !errors.Is(err, tt.is) {
					t.Errorf("error %v does not match %v", err, tt.is)
				}
			}
			var fe *datamask.FieldError
			switch {
			case tt.field == "" && errors.As(err, &fe):
				t.Errorf("error %v is a *FieldError, want none", err)
			case tt.field != "" && !errors.As(err, &fe):
				t.Errorf("error %v is not a *FieldError", err)
			case tt.field != "" && (fe.Expression != tt.field || fe.Match != tt.match):
				t.Errorf("FieldError = %q match %d, want %q match %d", fe.Expression, fe.Match, tt.field, tt.match)
			}
			if !strings.Contains(err.Error(), tt.text) || !strings.HasPrefix(err.Error(), "datamask: ") {
				t.Errorf("error %q does not start with \"datamask: \" and say %q", err, tt.text)
			}
			secrets := append(secretsIn([]byte(tt.doc)), "secret", "12-34", "6789")
			if tt.op == "detokenize" {
				secrets = append(secrets, "tok_")
			}
			checkNoSecrets(t, err, secrets...)
			if calls := v.calls.Load() - before; calls != tt.calls {
				t.Errorf("%d vault calls, want %d (types and options are checked before any value is sent)", calls, tt.calls)
			}
		})
	}
}

func TestTokenizeNoVault(t *testing.T) {
	m, err := datamask.New()
	if err != nil {
		t.Fatal(err)
	}
	opts := []datamask.CallOption{datamask.Tenant("acme"), datamask.TokenFields("ssn", "ssn")}
	if _, err := m.Tokenize(context.Background(), []byte(`{"ssn": "1"}`), opts...); !errors.Is(err, datamask.ErrNoTokenVault) {
		t.Errorf("Tokenize without a vault: %v, want ErrNoTokenVault", err)
	}
	if _, err := m.Detokenize(context.Background(), []byte(`{"ssn": "1"}`), opts...); !errors.Is(err, datamask.ErrNoTokenVault) {
		t.Errorf("Detokenize without a vault: %v, want ErrNoTokenVault", err)
	}
	for _, o := range []datamask.Option{datamask.WithTokenVault(nil), datamask.WithTokenVault(newMemVault())} {
		if _, err := datamask.New(datamask.WithTokenVault(newMemVault()), o); err == nil {
			t.Errorf("New with a second or nil WithTokenVault: no error")
		}
	}
	// The token options do not apply to the other operations.
	if _, err := m.Erase([]byte(`{}`), datamask.TokenFields("ssn", "ssn")); err == nil || !strings.Contains(err.Error(), "apply only to Tokenize and Detokenize") {
		t.Errorf("Erase with TokenFields: %v", err)
	}
	if _, err := newMasker(t, localKeyring(t)).Encrypt(context.Background(), []byte(`{}`), datamask.Tenant("a")); err == nil || !strings.Contains(err.Error(), "apply only to Tokenize and Detokenize") {
		t.Errorf("Encrypt with Tenant: %v", err)
	}
}

func TestTokenizeAllowMissing(t *testing.T) {
	v := newMemVault()
	m := newTokenMasker(t, v)
	var missing []string
	doc := []byte(`{"ssn": "123-45-6789"}`)
	got, err := m.Tokenize(context.Background(), doc, datamask.Tenant("acme"),
		datamask.TokenFields("ssn", "ssn", "card"), datamask.AllowMissingFields(&missing))
	if err != nil || string(got) != `{"ssn": `+q("ssn", "123-45-6789")+`}` || len(missing) != 1 || missing[0] != "card" {
		t.Errorf("Tokenize with a missing field allowed = %s, %v, missing %q", got, err, missing)
	}
	got, err = m.Tokenize(context.Background(), doc, datamask.Tenant("acme"), datamask.TokenFields("ssn", "card"), datamask.AllowMissingFields(nil))
	if err != nil || string(got) != string(doc) || v.calls.Load() != 1 {
		t.Errorf("Tokenize selecting nothing = %s, %v after %d vault calls; want the document, unchanged, and no call", got, err, v.calls.Load()-1)
	}
}

// bigTokenDoc returns a document with n strings under "s" and k numbers
// under "n".
func bigTokenDoc(n, k int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"s": [`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%03d-45-%04d"`, i%1000, i)
	}
	b.WriteString(`], "n": [`)
	for i := range k {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%d`, 4111111100000000+i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// TestTokenizeBatches: values go to the vault in batches of at most 1,000,
// one policy each, whatever their number and their order.
func TestTokenizeBatches(t *testing.T) {
	for _, tt := range []struct{ strs, nums int }{{0, 1}, {999, 0}, {1000, 1}, {1001, 2500}, {9000, 3}} {
		t.Run(fmt.Sprintf("%d+%d", tt.strs, tt.nums), func(t *testing.T) {
			v := newMemVault()
			m := newTokenMasker(t, v)
			doc := bigTokenDoc(tt.strs, tt.nums)
			opts := []datamask.CallOption{datamask.Tenant("acme"), datamask.TokenFields("num", "n[*]"), datamask.TokenFields("ssn", "s[*]")}
			if tt.strs == 0 || tt.nums == 0 {
				opts = append(opts, datamask.AllowMissingFields(nil))
			}
			tok, err := m.Tokenize(context.Background(), doc, opts...)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, n := range v.sizes {
				if n < 1 || n > datamask.MaxTokenBatch {
					t.Errorf("a batch of %d values", n)
				}
				total += n
			}
			if total != tt.strs+tt.nums {
				t.Errorf("%d values sent, want %d", total, tt.strs+tt.nums)
			}
			back, err := m.Detokenize(context.Background(), tok, opts...)
			if err != nil || !bytes.Equal(back, doc) {
				t.Errorf("Detokenize(Tokenize(doc)) = %d bytes, %v; want the document", len(back), err)
			}
		})
	}
}

// TestTokenizeCancel: once ctx is done no further batch is sent (the work
// stops within about one batch per worker) and ctx's error is returned.
func TestTokenizeCancel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const values, workers = 20_000, 4
	doc := bigTokenDoc(values, 0)
	for _, op := range []string{"tokenize", "detokenize"} {
		t.Run(op, func(t *testing.T) {
			v := newMemVault()
			m := newTokenMasker(t, v)
			opts := []datamask.CallOption{datamask.Tenant("acme"), datamask.TokenFields("ssn", "s[*]")}
			in := doc
			if op == "detokenize" {
				var err error
				if in, err = m.Tokenize(context.Background(), doc, opts...); err != nil {
					t.Fatal(err)
				}
			}
			call := map[string]func(context.Context, []byte, ...datamask.CallOption) ([]byte, error){"tokenize": m.Tokenize, "detokenize": m.Detokenize}[op]

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			start := v.calls.Load()
			v.onCall = func(_ context.Context, call int64) {
				if call == start+1 {
					cancel()
				}
			}
			out, err := call(ctx, in, opts...)
			if err != context.Canceled || out != nil {
				t.Fatalf("%s cancelled in its first batch = %d bytes, %v; want nil, context.Canceled itself", op, len(out), err)
			}
			if n := v.calls.Load() - start; n > workers {
				t.Errorf("%s sent %d batches of %d; cancellation in the first should stop it within one batch per worker (%d)", op, n, values/datamask.MaxTokenBatch, workers)
			}

			// Done before the call: no batch at all.
			v.onCall = nil
			start = v.calls.Load()
			if _, err := call(ctx, in, opts...); err != context.Canceled || v.calls.Load() != start {
				t.Errorf("%s with a cancelled context = %v after %d batches, want context.Canceled after none", op, err, v.calls.Load()-start)
			}
			var w bytes.Buffer
			to := map[string]func(context.Context, *bytes.Buffer, []byte, ...datamask.CallOption) error{
				"tokenize": func(ctx context.Context, w *bytes.Buffer, d []byte, o ...datamask.CallOption) error {
					return m.TokenizeTo(ctx, w, d, o...)
				},
				"detokenize": func(ctx context.Context, w *bytes.Buffer, d []byte, o ...datamask.CallOption) error {
					return m.DetokenizeTo(ctx, w, d, o...)
				},
			}[op]
			if err := to(ctx, &w, in, opts...); err != context.Canceled || v.calls.Load() != start {
				t.Errorf("%sTo with a cancelled context = %v", op, err)
			}
		})
	}
}

// TestTokenizePanic: a panic of the vault reaches the caller's goroutine
// with its own value, however many batches are in flight.
func TestTokenizePanic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, n := range []int{1, 2, 1000, 1001, 12_000} {
		for _, at := range []int64{1, int64((n + 999) / 1000)} {
			v := newMemVault()
			v.onCall = func(_ context.Context, call int64) {
				if call == at {
					panic(fmt.Sprintf("vault bug %d", at))
				}
			}
			m := newTokenMasker(t, v)
			opts := []datamask.CallOption{datamask.Tenant("acme"), datamask.TokenFields("ssn", "s[*]")}
			got := recovered(func() { _, _ = m.Tokenize(context.Background(), bigTokenDoc(n, 0), opts...) })
			if got != fmt.Sprintf("vault bug %d", at) {
				t.Errorf("Tokenize of %d values, the vault panicking in call %d: recover() = %v, want the vault's panic", n, at, got)
			}
		}
	}
}

// errWriter fails every write.
type errWriter struct{}

var errWrite = errors.New("disk full")

func (errWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestTokenizeToWriteError(t *testing.T) {
	m := newTokenMasker(t, newMemVault())
	opts := []datamask.CallOption{datamask.Tenant("acme"), datamask.TokenFields("ssn", "s[*]")}
	if err := m.TokenizeTo(context.Background(), errWriter{}, bigTokenDoc(30_000, 0), opts...); !errors.Is(err, errWrite) {
		t.Errorf("TokenizeTo a failing writer = %v, want its error", err)
	}
}
