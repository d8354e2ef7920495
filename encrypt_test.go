package datamask_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
)

// b64 is what the base64Provider turns JSON text into: a JSON string of
// its base64.
func b64(jsonText string) string {
	return `"` + base64.StdEncoding.EncodeToString([]byte(jsonText)) + `"`
}

func TestEncryptFields(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		fields []string
		want   string
	}{
		{
			name:   "string",
			doc:    `{"name": "Ana", "ssn": "123-45-6789"}`,
			fields: []string{"$.ssn"},
			want:   `{"name": "Ana", "ssn": ` + b64(`"123-45-6789"`) + `}`,
		},
		{
			name:   "numbers keep their spelling",
			doc:    `{"id": 12345678901234567890, "price": 1.50, "t": -1.11e+2}`,
			fields: []string{"id", "price", "t"},
			want:   `{"id": ` + b64(`12345678901234567890`) + `, "price": ` + b64(`1.50`) + `, "t": ` + b64(`-1.11e+2`) + `}`,
		},
		{
			name:   "booleans and null",
			doc:    `{"a": true, "b": false, "c": null}`,
			fields: []string{"$.*"},
			want:   `{"a": ` + b64(`true`) + `, "b": ` + b64(`false`) + `, "c": ` + b64(`null`) + `}`,
		},
		{
			name:   "an array is one message",
			doc:    `{"l": [1, "two", {"three": 3}]}`,
			fields: []string{"l"},
			want:   `{"l": ` + b64(`[1, "two", {"three": 3}]`) + `}`,
		},
		{
			name:   "array elements are one message each",
			doc:    `{"l": [1, "two", {"three": 3}]}`,
			fields: []string{"l[*]"},
			want:   `{"l": [` + b64(`1`) + `, ` + b64(`"two"`) + `, ` + b64(`{"three": 3}`) + `]}`,
		},
		{
			name:   "an object is one message, with its whitespace",
			doc:    "{\"o\": {\n  \"k\": \"v\"\n}, \"x\": 1}",
			fields: []string{"o"},
			want:   `{"o": ` + b64("{\n  \"k\": \"v\"\n}") + `, "x": 1}`,
		},
		{
			name:   "a value inside a selected value is covered",
			doc:    `{"a": {"b": 1, "c": 2}, "d": 3}`,
			fields: []string{"a.b", "a", "$.a.c"},
			want:   `{"a": ` + b64(`{"b": 1, "c": 2}`) + `, "d": 3}`,
		},
		{
			name:   "a value selected twice is one message",
			doc:    `{"a": "x"}`,
			fields: []string{"a", "$.a", "$['a']"},
			want:   `{"a": ` + b64(`"x"`) + `}`,
		},
		{
			name:   "escapes and unicode are kept",
			doc:    `{"s": "caf\u00e9 \"q\" ☕", "t": "é"}`,
			fields: []string{"s", "t"},
			want:   `{"s": ` + b64(`"caf\u00e9 \"q\" ☕"`) + `, "t": ` + b64(`"é"`) + `}`,
		},
		{
			name:   "filter",
			doc:    `{"address": [{"street": "1 Main St", "postcode": 12345}, {"street": "2 Side St", "postcode": 67890}]}`,
			fields: []string{"$.address[?(@.postcode > 50000)].street"},
			want:   `{"address": [{"street": "1 Main St", "postcode": 12345}, {"street": ` + b64(`"2 Side St"`) + `, "postcode": 67890}]}`,
		},
		{
			name:   "the whole document selected with $",
			doc:    ` {"a": [1, 2]} `,
			fields: []string{"$"},
			want:   ` ` + b64(`{"a": [1, 2]}`) + ` `,
		},
		{
			name:   "a scalar document selected with $",
			doc:    `12345678901234567890`,
			fields: []string{"$"},
			want:   b64(`12345678901234567890`),
		},
		{
			name:   "top-level array",
			doc:    ` [ {"a": 1}, {"a": 2} ] `,
			fields: []string{"[*].a"},
			want:   ` [ {"a": ` + b64(`1`) + `}, {"a": ` + b64(`2`) + `} ] `,
		},
	}
	m, err := datamask.New(datamask.WithProvider(base64Provider{}))
	if err != nil {
		t.Fatal(err)
	}
	real := newMasker(t, localKeyring(t), datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := []datamask.CallOption{datamask.Fields(tt.fields...)}
			got, err := m.Encrypt(ctx, []byte(tt.doc), opts...)
			if err != nil || string(got) != tt.want {
				t.Fatalf("Encrypt(%s, %q) = %s, %v, want %s", tt.doc, tt.fields, got, err, tt.want)
			}
			back, err := m.Decrypt(ctx, got, opts...)
			if err != nil || string(back) != tt.doc {
				t.Errorf("Decrypt(%s, %q) = %s, %v, want %s", got, tt.fields, back, err, tt.doc)
			}

			// The real provider: the same shape, and the exact document back.
			enc, err := real.Encrypt(ctx, []byte(tt.doc), opts...)
			if err != nil {
				t.Fatalf("Encrypt with the ESDK provider = %v", err)
			}
			if !json.Valid(enc) {
				t.Fatalf("Encrypt with the ESDK provider = %s, not JSON", enc)
			}
			back, err = real.Decrypt(ctx, enc, opts...)
			if err != nil || string(back) != tt.doc {
				t.Errorf("Decrypt(Encrypt(%s)) with the ESDK provider = %s, %v, want the input", tt.doc, back, err)
			}
		})
	}
}

func TestEncryptWholeDocument(t *testing.T) {
	m, err := datamask.New(datamask.WithProvider(base64Provider{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, doc := range []string{`{"a": 1}`, `[1, 2]`, `"text"`, `42`, `-1.11`, `true`, `null`, "\n {\"a\": [1, 2]} \n"} {
		out, err := m.Encrypt(ctx, []byte(doc))
		text := strings.TrimSpace(doc)
		if want := b64(text); err != nil || string(out) != want {
			t.Errorf("Encrypt(%q) = %s, %v, want %s", doc, out, err, want)
		}
		back, err := m.Decrypt(ctx, out)
		if err != nil || string(back) != text {
			t.Errorf("Decrypt(%s) = %s, %v, want %s", out, back, err, text)
		}
	}
}

func TestEncryptMissingFields(t *testing.T) {
	m, err := datamask.New(datamask.WithProvider(base64Provider{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plain := []byte(`{"a": "x", "b": "y"}`)
	encrypted := []byte(`{"a": ` + b64(`"x"`) + `, "b": "y"}`)
	for _, op := range []string{"encrypt", "decrypt"} {
		run := func(opts ...datamask.CallOption) ([]byte, error) {
			if op == "encrypt" {
				return m.Encrypt(ctx, plain, opts...)
			}
			return m.Decrypt(ctx, encrypted, opts...)
		}
		want := encrypted
		if op == "decrypt" {
			want = plain
		}
		_, err := run(datamask.Fields("a", "$.nope"))
		var fnf *datamask.FieldNotFoundError
		if !errors.As(err, &fnf) || fnf.Expression != "$.nope" {
			t.Errorf("%s with a missing field = %v, want *FieldNotFoundError for $.nope", op, err)
		}
		var missing []string
		out, err := run(datamask.Fields("$.nope", "a", "zzz"), datamask.AllowMissingFields(&missing))
		if err != nil || !bytes.Equal(out, want) || strings.Join(missing, ",") != "$.nope,zzz" {
			t.Errorf("%s with allowed missing fields = %s, %v, missing %q; want %s and both reported", op, out, err, missing, want)
		}
		missing = nil
		out, err = run(datamask.Fields("$.nope"), datamask.AllowMissingFields(&missing))
		if err != nil || !bytes.Equal(out, map[string][]byte{"encrypt": plain, "decrypt": encrypted}[op]) || len(missing) != 1 {
			t.Errorf("%s with only a missing field = %s, %v, missing %q; want the input and the field reported", op, out, err, missing)
		}
	}
}

// TestDecryptCoveredFields checks that an expression covered by another on
// encrypt (it selects inside a value that is one message) counts as
// matched on decrypt, and that one selecting nothing even after
// decryption is still missing.
func TestDecryptCoveredFields(t *testing.T) {
	m, err := datamask.New(datamask.WithProvider(base64Provider{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	doc := []byte(`{"a": {"b": [1, 2], "c": {"d": 3}}, "l": [{"s": 1}, {"s": 2}], "e": 4}`)
	for _, fields := range [][]string{
		{"a.b", "a"},
		{"$.a.c.d", "$..b[*]", "a"},
		{"l", "l[*].s"},
		{"$..s", "$.l[*]"},
	} {
		opts := []datamask.CallOption{datamask.Fields(fields...)}
		enc, err := m.Encrypt(ctx, doc, opts...)
		if err != nil {
			t.Fatalf("Encrypt(%q) = %v", fields, err)
		}
		back, err := m.Decrypt(ctx, enc, opts...)
		if err != nil || !bytes.Equal(back, doc) {
			t.Errorf("Decrypt(Encrypt(%s, %q)) = %s, %v, want the input", doc, fields, back, err)
		}
		_, err = m.Decrypt(ctx, enc, datamask.Fields(append(fields, "a.zzz")...))
		var fnf *datamask.FieldNotFoundError
		if !errors.As(err, &fnf) || fnf.Expression != "a.zzz" {
			t.Errorf("Decrypt with %q and a.zzz = %v, want *FieldNotFoundError for a.zzz", fields, err)
		}
	}

	// Whole values chosen by a filter: the documented way back.
	addr := []byte(`{"address": [{"street": "1 Main St", "postcode": 12345}, {"street": "2 Side St", "postcode": 67890}]}`)
	enc, err := m.Encrypt(ctx, addr, datamask.Fields("$.address[?(@.postcode > 50000)]"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Decrypt(ctx, enc, datamask.Fields("$.address[?(@.postcode > 50000)]"))
	var fnf *datamask.FieldNotFoundError
	if !errors.As(err, &fnf) {
		t.Errorf("Decrypt with the filter that selected whole values = %v, want *FieldNotFoundError", err)
	}
	back, err := m.Decrypt(ctx, enc, datamask.Fields("$.address[?match(@, '.*')]"))
	if err != nil || !bytes.Equal(back, addr) {
		t.Errorf("Decrypt with [?match(@, '.*')] = %s, %v, want %s", back, err, addr)
	}
}

func TestEncryptErrors(t *testing.T) {
	ctx := context.Background()
	noProvider, err := datamask.New()
	if err != nil {
		t.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(base64Provider{}))
	if err != nil {
		t.Fatal(err)
	}
	real := newMasker(t, localKeyring(t))
	doc := []byte(`{"ssn": "123-45-6789", "n": 1}`)
	tests := []struct {
		name  string
		m     *datamask.DataMasker
		doc   string
		opts  []datamask.CallOption
		check func(error) bool
		want  string
	}{
		{"no provider", noProvider, `{}`, nil, func(err error) bool { return errors.Is(err, datamask.ErrNoProvider) }, "ErrNoProvider"},
		{"invalid JSON", m, `{"ssn": "123-45-6789",}`, nil, func(err error) bool {
			var se *datamask.SyntaxError
			return errors.As(err, &se)
		}, "*SyntaxError"},
		{"invalid path", m, string(doc), []datamask.CallOption{datamask.Fields("$[")}, func(err error) bool {
			var ipe *datamask.InvalidPathError
			return errors.As(err, &ipe)
		}, "*InvalidPathError"},
		{"fields on a scalar", m, `"123-45-6789"`, []datamask.CallOption{datamask.Fields("a")}, func(err error) bool {
			return errors.Is(err, datamask.ErrUnsupportedType)
		}, "ErrUnsupportedType"},
		{"reserved context key", real, string(doc), []datamask.CallOption{datamask.EncryptionContext(map[string]string{"aws-crypto-public-key": "x"})}, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), `"aws-crypto-public-key" is reserved`)
		}, "an error naming the reserved key"},
		{"reserved context key, any provider", m, string(doc), []datamask.CallOption{datamask.EncryptionContext(map[string]string{"aws-crypto-x": "x"})}, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "reserved")
		}, "an error naming the reserved key"},
		{"context not UTF-8", real, string(doc), []datamask.CallOption{datamask.EncryptionContext(map[string]string{"k": "\xc3"})}, func(err error) bool {
			return errors.Is(err, datamask.ErrUnsupportedType)
		}, "ErrUnsupportedType"},
		{"mask option", m, string(doc), []datamask.CallOption{datamask.DynamicMask()}, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "DynamicMask applies only to Erase")
		}, "an error about DynamicMask"},
		{"context given twice", m, string(doc), []datamask.CallOption{datamask.EncryptionContext(nil), datamask.EncryptionContext(nil)}, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "twice")
		}, "an error about the repeated option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, op := range []string{"Encrypt", "Decrypt"} {
				if op == "Decrypt" && strings.HasPrefix(tt.name, "reserved") {
					continue // a reserved key on decrypt can only mismatch
				}
				var err error
				if op == "Encrypt" {
					_, err = tt.m.Encrypt(ctx, []byte(tt.doc), tt.opts...)
				} else {
					_, err = tt.m.Decrypt(ctx, []byte(tt.doc), tt.opts...)
				}
				if !tt.check(err) {
					t.Errorf("%s(%s) = %v, want %s", op, tt.doc, err, tt.want)
				}
				checkNoSecrets(t, err, "123-45-6789")
			}
		})
	}
}

// encryptedSSN returns a document whose ssn field m encrypted, and the
// base64 text of that field's message.
func encryptedSSN(t *testing.T, m *datamask.DataMasker, ec map[string]string) ([]byte, string) {
	t.Helper()
	out, err := m.Encrypt(context.Background(), []byte(`{"ssn": "123-45-6789", "n": 1}`), datamask.Fields("ssn"), datamask.EncryptionContext(ec))
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ SSN string }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return out, v.SSN
}

func TestDecryptErrors(t *testing.T) {
	ctx := context.Background()
	ec := map[string]string{"tenant": "acme", "purpose": "test"}
	for _, suite := range suites {
		t.Run(suiteName(suite), func(t *testing.T) {
			kr := &countingKeyring{Keyring: localKeyring(t)}
			m := newMasker(t, kr, datamask.WithSuite(suite))
			other := newMasker(t, localKeyring(t), datamask.WithSuite(suite))
			renamed := newMasker(t, localKeyring(t, datamask.WithKeyName("other")), datamask.WithSuite(suite))
			doc, field := encryptedSSN(t, m, ec)
			secrets := []string{"123-45-6789", field, "acme"}
			fields := datamask.Fields("ssn")
			withField := func(s string) []byte { return []byte(`{"ssn": ` + s + `, "n": 1}`) }

			t.Run("round trip", func(t *testing.T) {
				back, err := m.Decrypt(ctx, doc, fields, datamask.EncryptionContext(ec))
				if want := `{"ssn": "123-45-6789", "n": 1}`; err != nil || string(back) != want {
					t.Fatalf("Decrypt = %s, %v, want %s", back, err, want)
				}
			})
			t.Run("wrong key", func(t *testing.T) {
				for _, mm := range []*datamask.DataMasker{other, renamed} {
					_, err := mm.Decrypt(ctx, doc, fields, datamask.EncryptionContext(ec))
					var dke *datamask.DecryptKeyError
					var nde *esdk.NoDecryptKeyError
					if !errors.As(err, &dke) || !errors.As(err, &nde) {
						t.Errorf("Decrypt with another key = %v, want *DecryptKeyError wrapping *esdk.NoDecryptKeyError", err)
					}
					checkNoSecrets(t, err, secrets...)
				}
			})
			t.Run("context mismatch", func(t *testing.T) {
				for _, tc := range []struct {
					ec   map[string]string
					keys string
				}{
					{nil, "purpose,tenant"},
					{map[string]string{}, "purpose,tenant"},
					{map[string]string{"tenant": "acme"}, "purpose"},
					{map[string]string{"tenant": "other", "purpose": "test"}, "tenant"},
					{map[string]string{"tenant": "acme", "purpose": "test", "extra": "x"}, "extra"},
				} {
					before := kr.decrypts.Load()
					_, err := m.Decrypt(ctx, doc, fields, datamask.EncryptionContext(tc.ec))
					var cme *datamask.ContextMismatchError
					var ecme *esdk.ContextMismatchError
					if !errors.As(err, &cme) || !errors.As(err, &ecme) {
						t.Fatalf("Decrypt with context %v = %v, want *ContextMismatchError", tc.ec, err)
					}
					if got := strings.Join(cme.Keys, ","); got != tc.keys {
						t.Errorf("Decrypt with context %v: Keys = %s, want %s", tc.ec, got, tc.keys)
					}
					if n := kr.decrypts.Load() - before; n != 0 {
						t.Errorf("Decrypt with context %v used the keyring %d times, want 0", tc.ec, n)
					}
					if !strings.Contains(err.Error(), `field "ssn" (match 1)`) {
						t.Errorf("Decrypt error %q does not name the field", err)
					}
					checkNoSecrets(t, err, secrets...)
				}
			})
			t.Run("not a message", func(t *testing.T) {
				plain, err := esdkEncrypt(t, kr.Keyring, suite, []byte("not JSON"), ec)
				if err != nil {
					t.Fatal(err)
				}
				bad := []string{
					`"%%% not base64 %%%"`,
					`"` + field[:len(field)-1] + `"`, // cut short
					`""`,
					`"aGVsbG8gd29ybGQ="`, // base64 of a non-message
					`"` + base64.StdEncoding.EncodeToString(plain) + `"`, // a message whose plaintext is not JSON
					`123`, `null`, `{"a": 1}`, `["x"]`,
				}
				if strings.HasSuffix(field, "=") {
					bad = append(bad, `"`+strings.TrimRight(field, "=")+`"`) // unpadded
				}
				for _, v := range bad {
					_, err := m.Decrypt(ctx, withField(v), fields, datamask.EncryptionContext(ec))
					if !errors.Is(err, datamask.ErrDecryptValue) {
						t.Errorf("Decrypt(%.40s) = %v, want ErrDecryptValue", v, err)
					}
					if strings.HasPrefix(v, `"`) && len(v) > 2 {
						checkNoSecrets(t, err, append(secrets, strings.Trim(v, `"`))...)
					} else {
						checkNoSecrets(t, err, secrets...)
					}
				}
				// A whole document that is not a string.
				_, err = m.Decrypt(ctx, []byte(`{"ssn": "x"}`))
				if !errors.Is(err, datamask.ErrDecryptValue) || !strings.Contains(err.Error(), "give Fields") {
					t.Errorf("Decrypt(object) = %v, want ErrDecryptValue with a hint", err)
				}
			})
			t.Run("escaped base64", func(t *testing.T) {
				// A JSON encoder may escape any character: \u0041 is A.
				esc := strings.Replace(`"`+field+`"`, "A", `\u0041`, 1)
				back, err := m.Decrypt(ctx, withField(esc), fields, datamask.EncryptionContext(ec))
				if err != nil || !strings.Contains(string(back), `"123-45-6789"`) {
					t.Errorf("Decrypt(escaped) = %s, %v, want the value", back, err)
				}
			})
		})
	}
}

// esdkEncrypt encrypts pt with package esdk directly.
func esdkEncrypt(t *testing.T, k esdk.Keyring, suite esdk.Suite, pt []byte, ec map[string]string) ([]byte, error) {
	t.Helper()
	client, err := esdk.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(k)
	if err != nil {
		t.Fatal(err)
	}
	return client.Encrypt(context.Background(), pt, cmm, esdk.WithSuite(suite), esdk.WithEncryptionContext(ec))
}

// TestDecryptTampered flips one bit of each byte of a field's message in
// turn: no flip may decrypt. A flip in the stored encryption context is
// found, before any key is used, as a context that differs from the
// caller's (*ContextMismatchError) or, in aws-crypto-public-key, as a
// context that no longer authenticates the data key (*DecryptKeyError); a
// flip in an encrypted data key is
// indistinguishable from another key's data key (*DecryptKeyError); a flip
// anywhere else is ErrDecryptValue.
func TestDecryptTampered(t *testing.T) {
	ctx := context.Background()
	ec := map[string]string{"k": "v"}
	for _, suite := range suites {
		t.Run(suiteName(suite), func(t *testing.T) {
			m := newMasker(t, localKeyring(t), datamask.WithSuite(suite))
			_, field := encryptedSSN(t, m, ec)
			msg, err := base64.StdEncoding.DecodeString(field)
			if err != nil {
				t.Fatal(err)
			}
			aadStart, edkStart, edkEnd := headerRegions(t, msg)
			for i := range msg {
				bad := bytes.Clone(msg)
				bad[i] ^= 1 << (i % 8)
				doc := []byte(`{"ssn": "` + base64.StdEncoding.EncodeToString(bad) + `"}`)
				out, err := m.Decrypt(ctx, doc, datamask.Fields("ssn"), datamask.EncryptionContext(ec))
				var (
					dke *datamask.DecryptKeyError
					cme *datamask.ContextMismatchError
				)
				switch {
				case err == nil:
					t.Fatalf("Decrypt with byte %d flipped = %s, want an error", i, out)
				case i >= aadStart && i < edkStart && (errors.As(err, &cme) || errors.As(err, &dke)):
					// An altered context no longer matches the caller's, or
					// (aws-crypto-public-key, which the comparison ignores) no
					// longer authenticates the raw AES data key.
				case i >= edkStart && i < edkEnd && errors.As(err, &dke):
					// An altered data key is no key's.
				case !errors.Is(err, datamask.ErrDecryptValue):
					t.Fatalf("Decrypt with byte %d flipped (context at [%d, %d), data keys to %d) = %v, want ErrDecryptValue", i, aadStart, edkStart, edkEnd, err)
				}
				checkNoSecrets(t, err, "123-45-6789")
			}
		})
	}
}

// headerRegions returns where the serialized encryption context starts,
// and the byte span of the encrypted data keys (count included) in a
// version 2 message header.
func headerRegions(t *testing.T, msg []byte) (aad, start, end int) {
	t.Helper()
	if len(msg) < 40 || msg[0] != 2 {
		t.Fatalf("not a version 2 message")
	}
	p := 1 + 2 + 32
	aad = p
	p += 2 + int(binary.BigEndian.Uint16(msg[p:]))
	start = p
	n := int(binary.BigEndian.Uint16(msg[p:]))
	p += 2
	for range n {
		for range 3 {
			p += 2 + int(binary.BigEndian.Uint16(msg[p:]))
		}
	}
	return aad, start, p
}

func TestDecryptValueLimits(t *testing.T) {
	ctx := context.Background()
	a, b := localKeyring(t), localKeyring(t, datamask.WithKeyName("b"))
	multi, err := esdk.NewMultiKeyring(a, b)
	if err != nil {
		t.Fatal(err)
	}
	two := newMasker(t, multi, datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	out, err := two.Encrypt(ctx, []byte(`{"x": 1}`), datamask.Fields("x"))
	if err != nil {
		t.Fatal(err)
	}
	// Either key alone decrypts a message written under both.
	for _, k := range []esdk.Keyring{a, b} {
		back, err := newMasker(t, k).Decrypt(ctx, out, datamask.Fields("x"))
		if err != nil || string(back) != `{"x": 1}` {
			t.Errorf("Decrypt with one of two keys = %s, %v, want {\"x\": 1}", back, err)
		}
	}
	one := newMasker(t, a, datamask.WithMaxEncryptedDataKeys(1))
	_, err = one.Decrypt(ctx, out, datamask.Fields("x"))
	if !errors.Is(err, datamask.ErrDecryptValue) || !errors.Is(err, esdk.ErrTooManyEncryptedDataKeys) {
		t.Errorf("Decrypt of a 2-key message with a limit of 1 = %v, want ErrDecryptValue and esdk.ErrTooManyEncryptedDataKeys", err)
	}
	if _, err := newMasker(t, multi, datamask.WithMaxEncryptedDataKeys(1)).Encrypt(ctx, []byte(`{"x": 1}`)); err == nil {
		t.Error("Encrypt under 2 keys with a limit of 1 = nil error, want an error")
	}
}

// orderProvider is the base64Provider with a random delay per call, so
// that values finish out of order.
type orderProvider struct {
	base64Provider
	calls atomic.Int64
}

func (p *orderProvider) Encrypt(ctx context.Context, pt []byte, ec map[string]string) ([]byte, error) {
	p.calls.Add(1)
	time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
	return p.base64Provider.Encrypt(ctx, pt, ec)
}

func (p *orderProvider) Decrypt(ctx context.Context, msg []byte, ec map[string]string) ([]byte, error) {
	p.calls.Add(1)
	time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
	return p.base64Provider.Decrypt(ctx, msg, ec)
}

// manyFields returns a document with n customers and the document the
// base64Provider makes of it when their ssn is encrypted.
func manyFields(n int) (doc, want []byte) {
	var d, w bytes.Buffer
	d.WriteString(`{"customers": [`)
	w.WriteString(`{"customers": [`)
	for i := range n {
		if i > 0 {
			d.WriteString(", ")
			w.WriteString(", ")
		}
		ssn := fmt.Sprintf(`"%03d-45-%04d"`, i%1000, i)
		fmt.Fprintf(&d, `{"id": %d, "ssn": %s}`, i, ssn)
		fmt.Fprintf(&w, `{"id": %d, "ssn": %s}`, i, b64(ssn))
	}
	d.WriteString("]}")
	w.WriteString("]}")
	return d.Bytes(), w.Bytes()
}

func TestEncryptParallelKeepsOrder(t *testing.T) {
	p := &orderProvider{}
	m, err := datamask.New(datamask.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	doc, want := manyFields(2000)
	opts := []datamask.CallOption{datamask.Fields("$.customers[*].ssn")}
	got, err := m.Encrypt(ctx, doc, opts...)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Encrypt(2000 fields) = %.200s..., %v, want %.200s...", got, err, want)
	}
	back, err := m.Decrypt(ctx, got, opts...)
	if err != nil || !bytes.Equal(back, doc) {
		t.Fatalf("Decrypt(2000 fields) = %.200s..., %v, want the input", back, err)
	}
	if n := p.calls.Load(); n != 4000 {
		t.Errorf("provider calls = %d, want 4000", n)
	}
}

var errFail = errors.New("test: provider failure")

// failProvider fails on the value "fail" and blocks every other call until
// its context is done, so a test sees whether the first error cancels the
// calls in flight.
type failProvider struct {
	calls atomic.Int64
}

func (p *failProvider) Encrypt(ctx context.Context, pt []byte, _ map[string]string) ([]byte, error) {
	p.calls.Add(1)
	if string(pt) == `"fail"` {
		return nil, errFail
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (p *failProvider) Decrypt(ctx context.Context, msg []byte, ec map[string]string) ([]byte, error) {
	return p.Encrypt(ctx, msg, ec)
}

func TestParallelFirstErrorCancels(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	p := &failProvider{}
	m, err := datamask.New(datamask.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	doc.WriteString(`{"v": ["block", "fail"`)
	for range 1000 {
		doc.WriteString(`, "block"`)
	}
	doc.WriteString("]}")
	_, err = m.Encrypt(context.Background(), []byte(doc.String()), datamask.Fields("v[*]"))
	if !errors.Is(err, errFail) || !strings.Contains(err.Error(), `field "v[*]" (match 2)`) {
		t.Errorf("Encrypt = %v, want the provider's error for match 2 of v[*]", err)
	}
	if n := p.calls.Load(); n > 4+1 {
		t.Errorf("provider calls = %d, want at most the 4 workers' first calls and one more", n)
	}

	// A cancelled caller's context stops the work too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.Encrypt(ctx, []byte(`{"v": ["block", "block", "block"]}`), datamask.Fields("v[*]"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Encrypt with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestEncryptDecryptConcurrent(t *testing.T) {
	m := newMasker(t, localKeyring(t), datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	doc, _ := manyFields(50)
	opts := []datamask.CallOption{datamask.Fields("$.customers[*].ssn"), datamask.EncryptionContext(map[string]string{"a": "b"})}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			out, err := m.Encrypt(context.Background(), doc, opts...)
			if err == nil {
				var back []byte
				back, err = m.Decrypt(context.Background(), out, opts...)
				if err == nil && !bytes.Equal(back, doc) {
					err = errors.New("round trip changed the document")
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

type account struct {
	Name    string   `json:"name"`
	SSN     string   `json:"ssn"`
	Age     int      `json:"age"`
	Cards   []string `json:"cards"`
	Balance float64  `json:"balance"`
}

func TestEncryptValue(t *testing.T) {
	ctx := context.Background()
	m := newMasker(t, localKeyring(t), datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	c := account{Name: "Ana", SSN: "123-45-6789", Age: 30, Cards: []string{"4111"}, Balance: -1.11}

	t.Run("struct with fields", func(t *testing.T) {
		opts := []datamask.CallOption{datamask.Fields("ssn", "cards", "age")}
		enc, err := m.EncryptValue(ctx, c, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := json.Unmarshal(enc, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"ssn", "cards", "age"} {
			if _, ok := raw[k].(string); !ok {
				t.Errorf("EncryptValue: %s = %v, want an encrypted string", k, raw[k])
			}
		}
		if raw["name"] != "Ana" {
			t.Errorf("EncryptValue: name = %v, want Ana", raw["name"])
		}
		var back account
		if err := m.DecryptValue(ctx, enc, &back, opts...); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(back) != fmt.Sprint(c) {
			t.Errorf("DecryptValue = %+v, want %+v", back, c)
		}
		// The same through a map, as a JSON-decoded event would hold it.
		back = account{}
		if err := m.DecryptValue(ctx, raw, &back, opts...); err != nil || fmt.Sprint(back) != fmt.Sprint(c) {
			t.Errorf("DecryptValue(map) = %+v, %v, want %+v", back, err, c)
		}
	})
	t.Run("whole value", func(t *testing.T) {
		enc, err := m.EncryptValue(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := json.Unmarshal(enc, &s); err != nil {
			t.Fatalf("EncryptValue = %s, want a JSON string", enc)
		}
		// The string itself, as stored in a log or a database column.
		var back account
		if err := m.DecryptValue(ctx, s, &back); err != nil || fmt.Sprint(back) != fmt.Sprint(c) {
			t.Errorf("DecryptValue(string) = %+v, %v, want %+v", back, err, c)
		}
	})
	t.Run("string is JSON text with fields", func(t *testing.T) {
		enc, err := m.EncryptValue(ctx, `{"ssn": "123-45-6789"}`, datamask.Fields("ssn"))
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]string
		if err := m.DecryptValue(ctx, string(enc), &back, datamask.Fields("ssn")); err != nil || back["ssn"] != "123-45-6789" {
			t.Errorf("DecryptValue = %v, %v, want ssn back", back, err)
		}
	})
	t.Run("bytes from Encrypt", func(t *testing.T) {
		// What Encrypt returns is []byte of JSON text, not a Go value to
		// marshal (which would make it a base64 string of base64).
		doc := []byte(`{"name": "Ana", "ssn": "123-45-6789", "age": 30, "cards": ["4111"], "balance": -1.11}`)
		for _, opts := range [][]datamask.CallOption{nil, {datamask.Fields("ssn", "cards")}} {
			enc, err := m.Encrypt(ctx, doc, opts...)
			if err != nil {
				t.Fatal(err)
			}
			var back account
			if err := m.DecryptValue(ctx, enc, &back, opts...); err != nil || fmt.Sprint(back) != fmt.Sprint(c) {
				t.Errorf("DecryptValue(Encrypt(%s), %d fields) = %+v, %v, want %+v", doc, len(opts), back, err, c)
			}
		}
	})
	t.Run("unsupported values", func(t *testing.T) {
		_, err := m.EncryptValue(ctx, map[string]any{"c": make(chan int)})
		var ute *json.UnsupportedTypeError
		if !errors.Is(err, datamask.ErrUnsupportedType) || !errors.As(err, &ute) {
			t.Errorf("EncryptValue(chan) = %v, want ErrUnsupportedType wrapping *json.UnsupportedTypeError", err)
		}
		enc, err := m.EncryptValue(ctx, map[string]string{"ssn": "123-45-6789"}, datamask.Fields("ssn"))
		if err != nil {
			t.Fatal(err)
		}
		var wrong struct {
			SSN int `json:"ssn"`
		}
		err = m.DecryptValue(ctx, enc, &wrong, datamask.Fields("ssn"))
		var jte *json.UnmarshalTypeError
		if !errors.Is(err, datamask.ErrUnsupportedType) || !errors.As(err, &jte) {
			t.Errorf("DecryptValue into a mismatched struct = %v, want ErrUnsupportedType wrapping *json.UnmarshalTypeError", err)
		}
		checkNoSecrets(t, err, "123-45-6789")
		if err := m.DecryptValue(ctx, enc, nil, datamask.Fields("ssn")); !errors.Is(err, datamask.ErrUnsupportedType) {
			t.Errorf("DecryptValue into nil = %v, want ErrUnsupportedType", err)
		}
	})
}

// TestValueCodec checks that EncryptValue and DecryptValue use the codec of
// WithJSONCodec, and only them (Encrypt and Decrypt take JSON text).
func TestValueCodec(t *testing.T) {
	var marshals, unmarshals atomic.Int64
	// A codec that names fields in upper case, as a custom serializer might.
	marshal := func(v any) ([]byte, error) {
		marshals.Add(1)
		c := v.(account)
		return json.Marshal(map[string]any{"NAME": c.Name, "SSN": c.SSN})
	}
	unmarshal := func(b []byte, v any) error {
		unmarshals.Add(1)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		c := v.(*account)
		c.Name, c.SSN = m["NAME"], m["SSN"]
		return nil
	}
	p, err := datamask.NewESDKProvider(localKeyring(t), datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		t.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(p), datamask.WithJSONCodec(marshal, unmarshal))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enc, err := m.EncryptValue(ctx, account{Name: "Ana", SSN: "123-45-6789"}, datamask.Fields("SSN"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(enc, []byte(`"NAME":"Ana"`)) {
		t.Errorf("EncryptValue = %s, want the codec's field names", enc)
	}
	var back account
	if err := m.DecryptValue(ctx, enc, &back, datamask.Fields("SSN")); err != nil || back.SSN != "123-45-6789" || back.Name != "Ana" {
		t.Errorf("DecryptValue = %+v, %v, want Ana and her ssn", back, err)
	}
	if marshals.Load() != 1 || unmarshals.Load() != 1 {
		t.Errorf("codec calls = %d marshal, %d unmarshal; want 1 and 1", marshals.Load(), unmarshals.Load())
	}
	if _, err := m.Encrypt(ctx, []byte(`{"SSN": "x"}`), datamask.Fields("SSN")); err != nil || marshals.Load() != 1 {
		t.Errorf("Encrypt = %v and %d marshal calls; want no codec call", err, marshals.Load())
	}
}
