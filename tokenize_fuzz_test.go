package datamask_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/datamask/datamask"
)

// FuzzTokenizeRoundTrip tokenizes fuzzed documents with fuzzed
// expressions and checks that Tokenize never panics, that its output is
// valid JSON, and that Detokenize with the same options gives the
// document back: the same JSON values and types and, when no string of
// the document holds an escape (re-quoted on the way back), the same
// bytes. The vault is memVault, whose policy "num" gives tokens that are
// JSON numbers, so numbers round-trip too.
func FuzzTokenizeRoundTrip(f *testing.F) {
	for _, s := range []struct{ doc, expr string }{
		{`{"ssn": "123-45-6789", "id": 12345678901234567890, "price": 1.50}`, "$..*"},
		{`{"a": [1, "two", null, {"b": -2.5e-3, "c": ""}], "d": {"e": "\u00e9\n"}}`, "a[*]"},
		{`{"address": [{"postcode": 12345, "street": "a"}, {"postcode": 1, "street": "b"}]}`, "$.address[?(@.postcode > 12000)]"},
		{`{"ssn": "1", "ssn": "2"}`, "ssn"},
		{` "solo" `, "$"},
		{`[{"a": true}, {"a": "x"}]`, "$..a"},
		{`{"s": "\ud800"}`, "s"},
	} {
		f.Add([]byte(s.doc), s.expr)
	}
	for _, name := range []string{"customer.json", "user.json", "users.json"} {
		doc, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc, "$..*")
	}
	v := newMemVault()
	m := newTokenMasker(f, v)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, doc []byte, expr string) {
		opts := []datamask.CallOption{datamask.Tenant("acme"), datamask.TokenFields("num", expr)}
		tok, err := m.Tokenize(ctx, doc, opts...)
		if err != nil {
			var (
				se  *datamask.SyntaxError
				ipe *datamask.InvalidPathError
				fnf *datamask.FieldNotFoundError
			)
			if !errors.As(err, &se) && !errors.As(err, &ipe) && !errors.As(err, &fnf) && !errors.Is(err, datamask.ErrUnsupportedType) {
				t.Fatalf("Tokenize(%q, %q) = unexpected error %v", doc, expr, err)
			}
			return
		}
		if !json.Valid(tok) {
			t.Fatalf("Tokenize(%q, %q) = %q, not JSON", doc, expr, tok)
		}
		back, err := m.Detokenize(ctx, tok, opts...)
		if err != nil {
			t.Fatalf("Detokenize(Tokenize(%q, %q)) = %v", doc, expr, err)
		}
		if !bytes.Contains(doc, []byte(`\`)) {
			if !bytes.Equal(back, doc) {
				t.Fatalf("Detokenize(Tokenize(%q, %q)) = %q, want the document", doc, expr, back)
			}
			return
		}
		if a, b := decodeNumbers(t, doc), decodeNumbers(t, back); !reflect.DeepEqual(a, b) {
			t.Fatalf("Detokenize(Tokenize(%q, %q)) = %q: another value", doc, expr, back)
		}
	})
}

// decodeNumbers decodes a JSON document, numbers as their text.
func decodeNumbers(t *testing.T, doc []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%q: %v", doc, err)
	}
	return v
}
