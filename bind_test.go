package datamask_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

// moveValue returns doc (a JSON object of objects or values) with the value
// at dst replaced by the value at src of from: paths are member names, one
// level per name. It is what anyone who can write the stored JSON can do,
// with no key.
func moveValue(t *testing.T, from []byte, src []string, doc []byte, dst []string) []byte {
	t.Helper()
	get := func(raw []byte, path []string) json.RawMessage {
		for _, name := range path {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			raw = m[name]
		}
		return raw
	}
	var set func(raw []byte, path []string, v json.RawMessage) []byte
	set = func(raw []byte, path []string, v json.RawMessage) []byte {
		if len(path) == 0 {
			return v
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		m[path[0]] = set(m[path[0]], path[1:], v)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return set(doc, dst, get(from, src))
}

// swapValues exchanges the values at two member names of doc.
func swapValues(t *testing.T, doc []byte, a, b string) []byte {
	t.Helper()
	out := moveValue(t, doc, []string{a}, doc, []string{b})
	return moveValue(t, doc, []string{b}, out, []string{a})
}

// TestFieldPlaceBinding shows what each binding closes. Without binding
// (the default, as in Powertools) anyone who can write the stored JSON can
// swap two encrypted fields, their types too, or copy a field from one
// record into another, and Decrypt returns the moved values without
// error. BindFields stops the swap, ContextFrom the copy, both stop both;
// every refusal is a *ContextMismatchError found before any key is used.
func TestFieldPlaceBinding(t *testing.T) {
	ec := datamask.EncryptionContext(map[string]string{"tenant": "acme"})
	fields := datamask.Fields("$.ssn", "$.role", "$.age")
	alice := []byte(`{"id": "u-1", "ssn": "123-45-6789", "role": "admin", "age": 42}`)
	bob := []byte(`{"id": "u-2", "ssn": "987-65-4321", "role": "user", "age": 35}`)
	tests := []struct {
		name              string
		opts              []datamask.CallOption
		swapOK, copyOK    bool
		swapKeys, copyKey []string // the context keys a refusal names
	}{
		{name: "default", swapOK: true, copyOK: true},
		{name: "BindFields", opts: []datamask.CallOption{datamask.BindFields()}, copyOK: true, swapKeys: []string{datamask.FieldContextKey}},
		{name: "ContextFrom", opts: []datamask.CallOption{datamask.ContextFrom("user", "$.id")}, swapOK: true, copyKey: []string{"user"}},
		{
			name:     "both",
			opts:     []datamask.CallOption{datamask.BindFields(), datamask.ContextFrom("user", "id")},
			swapKeys: []string{datamask.FieldContextKey}, copyKey: []string{"user"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			kr := &countingKeyring{Keyring: localKeyring(t)}
			m := newMasker(t, kr, datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
			opts := append([]datamask.CallOption{fields, ec}, tt.opts...)
			encAlice, err := m.Encrypt(ctx, alice, opts...)
			if err != nil {
				t.Fatal(err)
			}
			encBob, err := m.Encrypt(ctx, bob, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := m.Decrypt(ctx, encBob, opts...); err != nil || !bytes.Equal(back, bob) {
				t.Fatalf("Decrypt(Encrypt(bob)) = %s, %v; want %s", back, err, bob)
			}

			attack := func(name string, doc []byte, ok bool, keys []string, want string) {
				t.Helper()
				got, err := newMasker(t, kr.Keyring).Decrypt(ctx, doc, opts...)
				if ok {
					if err != nil {
						t.Fatalf("%s: Decrypt = %v, want the moved values (nothing binds them)", name, err)
					}
					var g, w any
					_ = json.Unmarshal(got, &g)
					_ = json.Unmarshal([]byte(want), &w)
					if !reflect.DeepEqual(g, w) {
						t.Errorf("%s: Decrypt = %s, want %s", name, got, want)
					}
					return
				}
				var cme *datamask.ContextMismatchError
				if !errors.As(err, &cme) || !slices.Equal(cme.Keys, keys) {
					t.Fatalf("%s: Decrypt = %.100s, %v; want *ContextMismatchError naming %q", name, got, err, keys)
				}
				checkNoSecrets(t, err, "123-45-6789", "admin", "987-65-4321", "u-1", "u-2")
				// The moved value alone, through a fresh DataMasker (empty
				// cache): refused before the keyring is asked.
				kr := &countingKeyring{Keyring: kr.Keyring}
				_, err = newMasker(t, kr).Decrypt(ctx, doc, append([]datamask.CallOption{datamask.Fields("role"), ec}, tt.opts...)...)
				if !errors.As(err, &cme) {
					t.Errorf("%s: Decrypt(role) = %v, want *ContextMismatchError", name, err)
				}
				if n := kr.decrypts.Load(); n != 0 {
					t.Errorf("%s: the keyring was asked to decrypt %d times, want 0", name, n)
				}
			}
			// Swap role (a string) and age (a number) within Bob's record.
			attack("swap", swapValues(t, encBob, "role", "age"), tt.swapOK, tt.swapKeys,
				`{"id": "u-2", "ssn": "987-65-4321", "role": 35, "age": "user"}`)
			// Copy Alice's role (admin) into Bob's record.
			attack("copy", moveValue(t, encAlice, []string{"role"}, encBob, []string{"role"}), tt.copyOK, tt.copyKey,
				`{"id": "u-2", "ssn": "987-65-4321", "role": "admin", "age": 35}`)
		})
	}
}

// TestBindingMismatchBeforeKMS decrypts with binding options that differ
// from Encrypt's, through AWS KMS keys of the fake KMS: every value fails
// with *ContextMismatchError and KMS is never called. Equivalent spellings
// of an expression, in any order, still decrypt.
func TestBindingMismatchBeforeKMS(t *testing.T) {
	ctx := context.Background()
	s := kmstest.Start(t)
	key := s.CreateKey()
	doc, _ := manyFields(20)
	ssn := datamask.Fields("$.customers[*].ssn")
	tests := []struct {
		name     string
		enc, dec []datamask.CallOption
		keys     []string // the keys the mismatch names; nil: decrypts
	}{
		{"bound, decrypted unbound", []datamask.CallOption{ssn, datamask.BindFields()}, []datamask.CallOption{ssn}, []string{datamask.FieldContextKey}},
		{"unbound, decrypted bound", []datamask.CallOption{ssn}, []datamask.CallOption{ssn, datamask.BindFields()}, []string{datamask.FieldContextKey}},
		{
			"bound, decrypted with another expression selecting the same values",
			[]datamask.CallOption{ssn, datamask.BindFields()},
			[]datamask.CallOption{datamask.Fields("$..ssn"), datamask.BindFields()},
			[]string{datamask.FieldContextKey},
		},
		{
			"bound, decrypted with another spelling of the expression",
			[]datamask.CallOption{ssn, datamask.BindFields()},
			[]datamask.CallOption{datamask.Fields("customers.*.ssn"), datamask.BindFields()},
			nil,
		},
		{
			"bound under two expressions, decrypted with them in another order",
			[]datamask.CallOption{datamask.Fields("$..ssn", "$.customers[*].ssn"), datamask.BindFields()},
			[]datamask.CallOption{datamask.Fields("$.customers[*].ssn", "$..['ssn']"), datamask.BindFields()},
			nil,
		},
		{
			"record-bound, decrypted without",
			[]datamask.CallOption{ssn, datamask.ContextFrom("batch", "$.customers[0].id")},
			[]datamask.CallOption{ssn},
			[]string{"batch"},
		},
		{
			"unbound, decrypted record-bound",
			[]datamask.CallOption{ssn},
			[]datamask.CallOption{ssn, datamask.ContextFrom("batch", "$.customers[0].id")},
			[]string{"batch"},
		},
		{
			"record-bound, decrypted with another key name",
			[]datamask.CallOption{ssn, datamask.ContextFrom("batch", "$.customers[0].id")},
			[]datamask.CallOption{ssn, datamask.ContextFrom("record", "$.customers[0].id")},
			[]string{"batch", "record"},
		},
		{
			"record-bound, decrypted with another value",
			[]datamask.CallOption{ssn, datamask.ContextFrom("batch", "$.customers[0].id")},
			[]datamask.CallOption{ssn, datamask.ContextFrom("batch", "$.customers[1].id")},
			[]string{"batch"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := kmsMasker(t, s, []string{key}).Encrypt(ctx, doc, tt.enc...)
			if err != nil {
				t.Fatal(err)
			}
			s.ResetCalls()
			back, err := kmsMasker(t, s, []string{key}).Decrypt(ctx, enc, tt.dec...)
			if tt.keys == nil {
				if err != nil || !bytes.Equal(back, doc) {
					t.Fatalf("Decrypt = %.80s, %v; want the document", back, err)
				}
				return
			}
			var cme *datamask.ContextMismatchError
			if !errors.As(err, &cme) || !slices.Equal(cme.Keys, tt.keys) {
				t.Fatalf("Decrypt = %v, want *ContextMismatchError naming %q", err, tt.keys)
			}
			if calls := s.CallCounts(); len(calls) != 0 {
				t.Errorf("KMS calls = %v, want none", calls)
			}
		})
	}
}

// TestBindingDataKeys counts the KMS calls each binding costs with the data
// key cache: one data key per expression with BindFields, one per record
// with ContextFrom.
func TestBindingDataKeys(t *testing.T) {
	ctx := context.Background()
	s := kmstest.Start(t)
	key := s.CreateKey()
	doc := []byte(`{"customers": [{"id": 1, "ssn": "1", "email": "a"}, {"id": 2, "ssn": "2", "email": "b"}, {"id": 3, "ssn": "3", "email": "c"}]}`)
	fields := datamask.Fields("$.customers[*].ssn", "$.customers[*].email")

	for _, tt := range []struct {
		name string
		opts []datamask.CallOption
		want int
	}{
		{"unbound", nil, 1},
		{"BindFields", []datamask.CallOption{datamask.BindFields()}, 2},
	} {
		m := kmsMasker(t, s, []string{key})
		s.ResetCalls()
		opts := append([]datamask.CallOption{fields}, tt.opts...)
		enc, err := m.Encrypt(ctx, doc, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.Calls(kmstest.OpGenerateDataKey); n != tt.want {
			t.Errorf("%s: GenerateDataKey calls for 2 expressions = %d, want %d", tt.name, n, tt.want)
		}
		back, err := kmsMasker(t, s, []string{key}).Decrypt(ctx, enc, opts...)
		if err != nil || !bytes.Equal(back, doc) {
			t.Fatalf("%s: Decrypt = %s, %v", tt.name, back, err)
		}
		if n := s.Calls(kmstest.OpDecrypt); n != tt.want {
			t.Errorf("%s: Decrypt calls = %d, want %d", tt.name, n, tt.want)
		}
	}

	// ContextFrom: one data key per record, even through one DataMasker.
	m := kmsMasker(t, s, []string{key})
	s.ResetCalls()
	for i := range 5 {
		rec := fmt.Appendf(nil, `{"id": %d, "ssn": "123-45-%04d"}`, i, i)
		if _, err := m.Encrypt(ctx, rec, datamask.Fields("ssn"), datamask.ContextFrom("id", "id")); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Calls(kmstest.OpGenerateDataKey); n != 5 {
		t.Errorf("ContextFrom: GenerateDataKey calls for 5 records = %d, want 5", n)
	}
}

// TestBindingPairTampered edits the binding pair in a message's header, as
// someone who can write the stored JSON can (the context is in the clear):
// altered so that a moved value claims its new place, or removed, the value
// never decrypts. A keyring that binds the context to the data key (raw
// AES, AWS KMS) then finds no key (*DecryptKeyError); one that does not
// (raw RSA) gets the data key and the header's authentication fails
// (ErrDecryptValue).
func TestBindingPairTampered(t *testing.T) {
	ctx := context.Background()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKR, err := esdk.NewRawRSAKeyring("datamask", "rsa", esdk.RSAOAEPSHA256, &rsaKey.PublicKey, rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	var dke *datamask.DecryptKeyError
	for _, kt := range []struct {
		name    string
		kr      esdk.Keyring
		refused func(error) bool
	}{
		{"raw AES", localKeyring(t), func(err error) bool { return errors.As(err, &dke) }},
		{"raw RSA", rsaKR, func(err error) bool { return errors.Is(err, datamask.ErrDecryptValue) }},
	} {
		t.Run(kt.name, func(t *testing.T) {
			m := newMasker(t, kt.kr, datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
			// The canonical texts `$["ssn"]` and `$["age"]` have the same length.
			doc := []byte(`{"ssn": "123-45-6789", "age": 42}`)
			tenant := map[string]string{"tenant": "acme"}
			bound := []datamask.CallOption{datamask.Fields("ssn", "age"), datamask.BindFields(), datamask.EncryptionContext(tenant)}
			enc, err := m.Encrypt(ctx, doc, bound...)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]string
			if err := json.Unmarshal(enc, &v); err != nil {
				t.Fatal(err)
			}
			ageMsg, err := base64.StdEncoding.DecodeString(v["age"])
			if err != nil {
				t.Fatal(err)
			}
			ssnMsg, err := base64.StdEncoding.DecodeString(v["ssn"])
			if err != nil {
				t.Fatal(err)
			}
			put := func(msg []byte) []byte {
				return moveValue(t, fmt.Appendf(nil, `{"x": %q}`, base64.StdEncoding.EncodeToString(msg)), []string{"x"}, enc, []string{"ssn"})
			}

			// Altered: age's message, its pair rewritten to ssn's, in ssn's place.
			altered := bytes.Replace(ageMsg, []byte(`$["age"]`), []byte(`$["ssn"]`), 1)
			if bytes.Equal(altered, ageMsg) {
				t.Fatal("the binding pair is not in the message header")
			}
			if _, err := m.Decrypt(ctx, put(altered), bound...); !kt.refused(err) {
				t.Errorf("Decrypt(value with an altered binding pair) = %v", err)
			}

			// Removed: the header's context without the pair (after version,
			// suite and message ID come the context's length and the context).
			withPair, err := esdk.MarshalEncryptionContext(map[string]string{"tenant": "acme", datamask.FieldContextKey: `$["ssn"]`})
			if err != nil {
				t.Fatal(err)
			}
			without, err := esdk.MarshalEncryptionContext(tenant)
			if err != nil {
				t.Fatal(err)
			}
			const at = 1 + 2 + 32
			if !bytes.Equal(ssnMsg[at+2:at+2+len(withPair)], withPair) {
				t.Fatal("unexpected header layout")
			}
			removed := append([]byte{}, ssnMsg[:at]...)
			removed = append(removed, byte(len(without)>>8), byte(len(without)))
			removed = append(removed, without...)
			removed = append(removed, ssnMsg[at+2+len(withPair):]...)
			_, err = m.Decrypt(ctx, put(removed), bound...)
			var cme *datamask.ContextMismatchError
			if !errors.As(err, &cme) || !slices.Equal(cme.Keys, []string{datamask.FieldContextKey}) {
				t.Errorf("Decrypt(value without its binding pair), bound = %v, want *ContextMismatchError naming %q", err, datamask.FieldContextKey)
			}
			if _, err := m.Decrypt(ctx, put(removed), datamask.Fields("ssn"), datamask.EncryptionContext(tenant)); !kt.refused(err) {
				t.Errorf("Decrypt(value without its binding pair), unbound = %v", err)
			}
		})
	}
}

// contextProvider records the encryption context of each call, keyed by
// plaintext, and encrypts nothing.
type contextProvider struct {
	mu  sync.Mutex
	ecs map[string]map[string]string
}

func (p *contextProvider) record(text []byte, ec map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ecs == nil {
		p.ecs = map[string]map[string]string{}
	}
	p.ecs[string(text)] = maps.Clone(ec)
}

func (p *contextProvider) Encrypt(_ context.Context, pt []byte, ec map[string]string) ([]byte, error) {
	p.record(pt, ec)
	return bytes.Clone(pt), nil
}

func (p *contextProvider) Decrypt(_ context.Context, msg []byte, ec map[string]string) ([]byte, error) {
	p.record(msg, ec)
	return bytes.Clone(msg), nil
}

// TestBindingContexts checks the exact pairs each value gets: the caller's,
// the record's as the document spells them, and the expression's canonical
// text; Decrypt expects the same.
func TestBindingContexts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		doc    string
		masker []datamask.Option
		opts   []datamask.CallOption
		want   map[string]map[string]string // plaintext → context
	}{
		{
			name: "BindFields",
			doc:  `{"ssn": "s", "a": {"b": 1}}`,
			opts: []datamask.CallOption{datamask.Fields("ssn", "$.a.b"), datamask.BindFields(), datamask.EncryptionContext(map[string]string{"t": "x"})},
			want: map[string]map[string]string{
				`"s"`: {"t": "x", datamask.FieldContextKey: `$["ssn"]`},
				`1`:   {"t": "x", datamask.FieldContextKey: `$["a"]["b"]`},
			},
		},
		{
			name: "a value selected twice is bound to the first canonical text",
			doc:  `{"ssn": "s"}`,
			opts: []datamask.CallOption{datamask.Fields("ssn", "$..ssn"), datamask.BindFields()},
			want: map[string]map[string]string{`"s"`: {datamask.FieldContextKey: `$..["ssn"]`}},
		},
		{
			name: "filter",
			doc:  `{"a": [{"x": 2, "s": "v"}]}`,
			opts: []datamask.CallOption{datamask.Fields("$.a[?(@.x > 1)].s"), datamask.BindFields()},
			want: map[string]map[string]string{`"v"`: {datamask.FieldContextKey: `$["a"][?@["x"] > 1]["s"]`}},
		},
		{
			name: "ContextFrom: strings decoded, numbers and booleans as written",
			doc:  `{"id": "caf\u00e9 \"1\"", "n": 1.50, "b": true, "ssn": "s"}`,
			opts: []datamask.CallOption{
				datamask.Fields("ssn"), datamask.ContextFrom("id", "$.id"),
				datamask.ContextFrom("n", "n"), datamask.ContextFrom("b", "$['b']"),
			},
			want: map[string]map[string]string{`"s"`: {"id": `café "1"`, "n": "1.50", "b": "true"}},
		},
		{
			name:   "DataMasker defaults apply to calls with Fields",
			doc:    `{"id": 7, "ssn": "s"}`,
			masker: []datamask.Option{datamask.WithBindFields(), datamask.WithContextFrom("id", "id")},
			opts:   []datamask.CallOption{datamask.Fields("ssn"), datamask.ContextFrom("again", "$.id")},
			want:   map[string]map[string]string{`"s"`: {"id": "7", "again": "7", datamask.FieldContextKey: `$["ssn"]`}},
		},
		{
			name:   "DataMasker defaults leave calls without Fields alone",
			doc:    `{"id": 7}`,
			masker: []datamask.Option{datamask.WithBindFields(), datamask.WithContextFrom("id", "id")},
			opts:   []datamask.CallOption{datamask.EncryptionContext(map[string]string{"t": "x"})},
			want:   map[string]map[string]string{`{"id": 7}`: {"t": "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &contextProvider{}
			m, err := datamask.New(append([]datamask.Option{datamask.WithProvider(p)}, tt.masker...)...)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := m.Encrypt(ctx, []byte(tt.doc), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.ecs, tt.want) {
				t.Errorf("Encrypt contexts = %q, want %q", p.ecs, tt.want)
			}
			p.ecs = nil
			back, err := m.Decrypt(ctx, enc, tt.opts...)
			if err != nil || string(back) != tt.doc {
				t.Fatalf("Decrypt = %s, %v; want %s", back, err, tt.doc)
			}
			if !reflect.DeepEqual(p.ecs, tt.want) {
				t.Errorf("Decrypt contexts = %q, want %q", p.ecs, tt.want)
			}
		})
	}
}

// TestContextFromErrors: an expression of ContextFrom must select exactly
// one string, number or boolean left in clear, on encrypt and on decrypt.
func TestContextFromErrors(t *testing.T) {
	ctx := context.Background()
	m, err := datamask.New(datamask.WithProvider(base64Provider{}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		doc, fields, expr, reason string
	}{
		{`{"ssn": "secret-1"}`, "ssn", "$.id", "selects nothing"},
		{`{"ssn": "secret-1", "ids": [1, 2, 3]}`, "ssn", "$.ids[*]", "selects 3 values"},
		{`{"ssn": "secret-1", "id": {"k": "secret-2"}}`, "ssn", "id", "selects an object"},
		{`{"ssn": "secret-1", "id": ["secret-2"]}`, "ssn", "id", "selects an array"},
		{`{"ssn": "secret-1", "id": null}`, "ssn", "id", "selects null"},
		{`{"ssn": "secret-1"}`, "ssn", "ssn", "selects a value that Fields selects to encrypt"},
		{`{"a": {"id": "secret-1"}}`, "a", "$.a.id", "selects a value that Fields selects to encrypt"},
		{`{"a": [{"id": "secret-1"}]}`, "a[0]", "$.a[0].id", "selects a value that Fields selects to encrypt"},
	}
	for _, tt := range tests {
		_, err := m.Encrypt(ctx, []byte(tt.doc), datamask.Fields(tt.fields), datamask.ContextFrom("k", tt.expr))
		var cfe *datamask.ContextFromError
		if !errors.As(err, &cfe) || cfe.Name != "k" || cfe.Expression != tt.expr || cfe.Reason != tt.reason {
			t.Errorf("Encrypt(%s, Fields(%q), ContextFrom(k, %q)) = %v, want *ContextFromError %q", tt.doc, tt.fields, tt.expr, err, tt.reason)
		}
		checkNoSecrets(t, err, "secret-1", "secret-2")
	}

	// On decrypt the value is read from the encrypted document, where it
	// must be in clear too.
	enc, err := m.Encrypt(ctx, []byte(`{"id": 1, "ssn": "secret-1"}`), datamask.Fields("ssn", "id"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Decrypt(ctx, enc, datamask.Fields("ssn", "id"), datamask.ContextFrom("k", "id"))
	var cfe *datamask.ContextFromError
	if !errors.As(err, &cfe) || cfe.Reason != "selects a value that Fields selects to decrypt" {
		t.Errorf("Decrypt with ContextFrom selecting an encrypted value = %v, want *ContextFromError", err)
	}
	if want := `datamask: context "k" from "id" selects a value that Fields selects to decrypt: it must select exactly one string, number or boolean that is not encrypted`; err == nil || err.Error() != want {
		t.Errorf("error text = %q, want %q", err, want)
	}
}

// TestBindingOptionErrors: binding options that cannot apply, or that
// conflict, are refused before anything is encrypted.
func TestBindingOptionErrors(t *testing.T) {
	ctx := context.Background()
	p := &contextProvider{}
	m, err := datamask.New(datamask.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"id": 1, "ssn": "s"}`)
	ssn := datamask.Fields("ssn")
	tests := []struct {
		name string
		opts []datamask.CallOption
		want string
	}{
		{"BindFields without Fields", []datamask.CallOption{datamask.BindFields()}, "BindFields needs Fields"},
		{"ContextFrom without Fields", []datamask.CallOption{datamask.ContextFrom("id", "id")}, "ContextFrom needs Fields"},
		{"empty name", []datamask.CallOption{ssn, datamask.ContextFrom("", "id")}, "context key is empty"},
		{"reserved name", []datamask.CallOption{ssn, datamask.ContextFrom("aws-crypto-id", "id")}, "is reserved"},
		{"binding key as name", []datamask.CallOption{ssn, datamask.ContextFrom(datamask.FieldContextKey, "id")}, "the one BindFields sets"},
		{"name twice", []datamask.CallOption{ssn, datamask.ContextFrom("id", "id"), datamask.ContextFrom("id", "$.id")}, `ContextFrom key "id" given twice`},
		{
			"name also in EncryptionContext",
			[]datamask.CallOption{ssn, datamask.ContextFrom("id", "id"), datamask.EncryptionContext(map[string]string{"id": "1"})},
			"also a key of EncryptionContext",
		},
		{
			"binding key in EncryptionContext with BindFields",
			[]datamask.CallOption{ssn, datamask.BindFields(), datamask.EncryptionContext(map[string]string{datamask.FieldContextKey: "x"})},
			"conflicts with BindFields",
		},
		{"invalid expression", []datamask.CallOption{ssn, datamask.ContextFrom("id", "$[")}, "invalid field expression"},
	}
	for _, tt := range tests {
		for _, op := range []string{"encrypt", "decrypt"} {
			call := m.Encrypt
			if op == "decrypt" {
				call = m.Decrypt
			}
			_, err := call(ctx, doc, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %s = %v, want an error containing %q", tt.name, op, err, tt.want)
			}
		}
	}
	if len(p.ecs) != 0 {
		t.Errorf("the provider was called %d times, want 0", len(p.ecs))
	}
	if _, err := m.Erase(doc, ssn, datamask.BindFields()); err == nil || !strings.Contains(err.Error(), "apply only to Encrypt and Decrypt") {
		t.Errorf("Erase with BindFields = %v, want an error", err)
	}
	var ipe *datamask.InvalidPathError
	if _, err := datamask.New(datamask.WithContextFrom("id", "$[")); !errors.As(err, &ipe) {
		t.Errorf("New(WithContextFrom with an invalid expression) = %v, want *InvalidPathError", err)
	}
	if _, err := datamask.New(datamask.WithContextFrom("id", "id"), datamask.WithContextFrom("id", "$.id")); err == nil {
		t.Error("New(WithContextFrom twice with one name) succeeded")
	}
	if _, err := datamask.New(datamask.WithBindFields(), datamask.WithBindFields()); err == nil {
		t.Error("New(WithBindFields twice) succeeded")
	}
	// A call's ContextFrom may not reuse the DataMasker's name.
	md, err := datamask.New(datamask.WithProvider(p), datamask.WithContextFrom("id", "id"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := md.Encrypt(ctx, doc, ssn, datamask.ContextFrom("id", "$.id")); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("Encrypt with the DataMasker's ContextFrom name = %v, want an error", err)
	}
}

func TestCanonicalExpression(t *testing.T) {
	for _, e := range []string{"ssn", "$.ssn", "$['ssn']", `$["ssn"]`} {
		if got, err := datamask.CanonicalExpression(e); err != nil || got != `$["ssn"]` {
			t.Errorf("CanonicalExpression(%q) = %q, %v; want %q", e, got, err, `$["ssn"]`)
		}
	}
	var ipe *datamask.InvalidPathError
	if _, err := datamask.CanonicalExpression("$["); !errors.As(err, &ipe) {
		t.Errorf("CanonicalExpression(%q) = %v, want *InvalidPathError", "$[", err)
	}
}

// sealProvider writes the context into each "message" and requires it back
// exactly on decrypt, as the ESDK provider does, with no key.
type sealProvider struct{}

type sealed struct {
	EC map[string]string `json:"ec"`
	PT []byte            `json:"pt"`
}

func (sealProvider) Encrypt(_ context.Context, pt []byte, ec map[string]string) ([]byte, error) {
	return json.Marshal(sealed{EC: ec, PT: pt})
}

func (sealProvider) Decrypt(_ context.Context, msg []byte, ec map[string]string) ([]byte, error) {
	var s sealed
	if err := json.Unmarshal(msg, &s); err != nil {
		return nil, datamask.ErrDecryptValue
	}
	if !maps.Equal(s.EC, ec) {
		return nil, &datamask.ContextMismatchError{}
	}
	return s.PT, nil
}

// FuzzBindRoundTrip encrypts with BindFields and ContextFrom in any
// document: it fails only with the documented errors, and what it encrypts
// decrypts with the same options to the input, byte for byte.
func FuzzBindRoundTrip(f *testing.F) {
	for _, s := range []struct{ doc, expr, from string }{
		{`{"id": "u-1", "ssn": "123-45-6789", "role": "admin"}`, "$.ssn", "$.id"},
		{`{"id": 1.50, "l": [1, "two", {"three": 3}]}`, "l[*]", "id"},
		{`{"id": true, "a": {"b": {"c": 1}}}`, "$..c", "$['id']"},
		{`{"id": "caf\u00e9", "a": null}`, "a", "$.id"},
		{`{"id": [1], "a": 1}`, "a", "id"},
		{`{"a": {"id": 1}}`, "a", "$.a.id"},
	} {
		f.Add(s.doc, s.expr, s.from)
	}
	m, err := datamask.New(datamask.WithProvider(sealProvider{}))
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, doc, expr, from string) {
		opts := []datamask.CallOption{datamask.Fields(expr), datamask.AllowMissingFields(nil),
			datamask.BindFields(), datamask.ContextFrom("k", from)}
		enc, err := m.Encrypt(ctx, []byte(doc), opts...)
		var (
			cfe *datamask.ContextFromError
			ipe *datamask.InvalidPathError
			se  *datamask.SyntaxError
		)
		switch {
		case err == nil:
		case errors.As(err, &cfe), errors.As(err, &ipe), errors.As(err, &se), errors.Is(err, datamask.ErrUnsupportedType):
			return
		default:
			t.Fatalf("Encrypt(%q, %q, from %q) = %v, not a documented error", doc, expr, from, err)
		}
		if bytes.Equal(enc, []byte(doc)) {
			return // nothing selected
		}
		back, err := m.Decrypt(ctx, enc, opts...)
		if strings.Contains(expr+from, "?") && err != nil {
			return // a filter may test what was encrypted (see Decrypt)
		}
		if err != nil || !bytes.Equal(back, []byte(doc)) {
			t.Fatalf("Decrypt(Encrypt(%q, %q, from %q)) = %q, %v; want the input", doc, expr, from, back, err)
		}
	})
}
