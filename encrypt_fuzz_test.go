package datamask_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
)

// FuzzEncryptRoundTrip encrypts the values an expression selects in any
// document, with the fake provider, and checks that the result is JSON and
// that decrypting with the same expression gives back the input byte for
// byte, whatever the values (numbers, escapes, nesting, whitespace).
func FuzzEncryptRoundTrip(f *testing.F) {
	for _, s := range []struct{ doc, expr string }{
		{`{"name": "Ana", "ssn": "123-45-6789"}`, "$.ssn"},
		{`{"id": 12345678901234567890, "price": 1.50, "t": -1.11e+2}`, "$.*"},
		{`{"l": [1, "two", {"three": 3}], "e": []}`, "l[*]"},
		{"{\"o\": {\n  \"k\": \"caf\\u00e9 \\\"q\\\"\"\n}}", "o"},
		{`[{"a": 1}, {"a": [true, false, null]}]`, "$..a"},
		{`{"a": {"b": {"c": 1}}, "b": 2}`, "$..b"},
		{`{"customers": [{"ssn": "1"}, {"ssn": "2"}]}`, "customers[*].ssn"},
		{`{"a": "x", "a": "y"}`, "a"},
		{`"scalar"`, "$"},
		{`{"k": "\ud83d\ude00"}`, "$['k']"},
	} {
		f.Add(s.doc, s.expr)
	}
	m, err := datamask.New(datamask.WithProvider(base64Provider{}))
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, doc, expr string) {
		opts := []datamask.CallOption{datamask.Fields(expr), datamask.AllowMissingFields(nil)}
		enc, err := m.Encrypt(ctx, []byte(doc), opts...)
		if err != nil {
			return
		}
		if !json.Valid(enc) {
			t.Fatalf("Encrypt(%q, %q) = %q, not JSON", doc, expr, enc)
		}
		if s := bytes.TrimSpace(enc); len(s) > 0 && s[0] == '"' && !bytes.Equal(enc, []byte(doc)) {
			// The root was selected: the document is one message now,
			// which Decrypt reads without fields.
			back, err := m.Decrypt(ctx, enc)
			if err != nil || !bytes.Equal(back, bytes.TrimSpace([]byte(doc))) {
				t.Fatalf("Decrypt(Encrypt(%q, %q)) = %q, %v; want the input", doc, expr, back, err)
			}
			return
		}
		back, err := m.Decrypt(ctx, enc, opts...)
		if strings.Contains(expr, "?") && err != nil {
			return // a filter may test what it encrypted (see Decrypt)
		}
		if err != nil || !bytes.Equal(back, []byte(doc)) {
			t.Fatalf("Decrypt(Encrypt(%q, %q)) = %q, %v; want the input", doc, expr, back, err)
		}
	})
}

// fuzzMasker is a DataMasker over a local key, shared by fuzz iterations.
var fuzzMasker = sync.OnceValues(func() (*datamask.DataMasker, error) {
	text, err := datamask.GenerateLocalKey()
	if err != nil {
		return nil, err
	}
	kr, err := datamask.NewLocalKeyring(text)
	if err != nil {
		return nil, err
	}
	p, err := datamask.NewESDKProvider(kr, datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		return nil, err
	}
	return datamask.New(datamask.WithProvider(p))
})

// FuzzDecrypt feeds Decrypt arbitrary documents, seeded with real
// encrypted ones and their mutations: it must never panic, must return JSON
// when it succeeds, and must fail only with the documented errors.
func FuzzDecrypt(f *testing.F) {
	m, err := fuzzMasker()
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	for _, doc := range []string{`{"ssn": "123-45-6789", "n": 1}`, `{"ssn": {"a": [1, 2.5, "x"]}}`, `{"ssn": null}`} {
		enc, err := m.Encrypt(ctx, []byte(doc), datamask.Fields("ssn"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(enc))
		var v struct{ SSN string }
		if err := json.Unmarshal(enc, &v); err != nil {
			f.Fatal(err)
		}
		msg, _ := base64.StdEncoding.DecodeString(v.SSN)
		for _, cut := range []int{1, 40, len(msg) / 2, len(msg) - 1} {
			f.Add(`{"ssn": "` + base64.StdEncoding.EncodeToString(msg[:cut]) + `"}`)
		}
	}
	f.Add(`{"ssn": "AgR4"}`)
	f.Add(`{"ssn": 12}`)
	f.Add(`{"ssn": "\u0041gR4"}`)
	f.Fuzz(func(t *testing.T, doc string) {
		out, err := m.Decrypt(ctx, []byte(doc), datamask.Fields("ssn"))
		var (
			se  *datamask.SyntaxError
			fnf *datamask.FieldNotFoundError
			cme *datamask.ContextMismatchError
			dke *datamask.DecryptKeyError
		)
		switch {
		case err == nil:
			if !json.Valid(out) {
				t.Fatalf("Decrypt(%q) = %q, not JSON", doc, out)
			}
		case errors.As(err, &se), errors.As(err, &fnf), errors.As(err, &cme), errors.As(err, &dke),
			errors.Is(err, datamask.ErrDecryptValue), errors.Is(err, datamask.ErrUnsupportedType):
		default:
			t.Fatalf("Decrypt(%q) = %v, not a documented error", doc, err)
		}
	})
}
