package datamask

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/datamask/datamask/internal/jsonpath"
	"github.com/datamask/datamask/internal/jsontext"
)

// FuzzErase erases fuzzed documents with fuzzed expressions and masks and
// checks that Erase never panics, that its output is valid JSON, and that
// the output is the input with exactly the selected values replaced: every
// byte outside the selected spans is unchanged.
func FuzzErase(f *testing.F) {
	seeds := []struct {
		doc, expr string
	}{
		{`{"a":{"1":{"None":"hello","four":"world"},"b":{"3":{"4":"goodbye","e":"world"}}}}`, "a..'4'"},
		{`{"address":[{"postcode":12345,"street":"a"},{"postcode":1,"street":"b"}]}`, "$.address[?(@.postcode > 12000)]"},
		{`{"l":[1,[2,3],{"x":"\u00e9"}], "n": 1.50}`, "l"},
		{`[{"a":1},{"a":[true,null]}]`, "$..a"},
		{` "solo" `, ""},
		{`{"ssn":"1","ssn":"2"}`, "ssn"},
	}
	for _, s := range seeds {
		for mode := range byte(4) {
			f.Add([]byte(s.doc), s.expr, mode)
		}
	}
	m, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte, expr string, mode byte) {
		var opts []CallOption
		if expr != "" {
			opts = append(opts, Fields(expr))
		}
		switch mode % 4 {
		case 1:
			opts = append(opts, DynamicMask())
		case 2:
			opts = append(opts, CustomMask("c\"é\x01"))
		case 3:
			opts = append(opts, RegexMask(`(\w)\w*`, `$1\1-`))
		}
		out, err := m.Erase(doc, opts...)
		if err != nil {
			var se *SyntaxError
			var ipe *InvalidPathError
			var fnf *FieldNotFoundError
			if !errors.As(err, &se) && !errors.As(err, &ipe) && !errors.As(err, &fnf) && !errors.Is(err, ErrUnsupportedType) {
				t.Fatalf("Erase(%q, %q) = unexpected error %v", doc, expr, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Erase(%q, %q) = %q, not valid JSON", doc, expr, out)
		}
		// The selected spans, outermost only.
		d, err := jsontext.Parse(doc)
		if err != nil {
			t.Fatalf("Erase accepted %q, jsontext.Parse did not: %v", doc, err)
		}
		nodes := []int{0}
		if expr != "" {
			p, err := jsonpath.Compile(expr)
			if err != nil {
				t.Fatal(err)
			}
			nodes = jsonpath.Outermost(d, p.Select(d))
		}
		pos, op := 0, 0
		for _, n := range nodes {
			s, e := d.Span(n)
			if !bytes.HasPrefix(out[op:], doc[pos:s]) {
				t.Fatalf("Erase(%q, %q) = %q: bytes before offset %d changed", doc, expr, out, s)
			}
			op += s - pos
			dec := json.NewDecoder(bytes.NewReader(out[op:]))
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("Erase(%q, %q) = %q: no JSON value where offset %d was", doc, expr, out, s)
			}
			if mode%4 == 0 {
				checkDefaultMask(t, d, n, v)
			}
			op += int(dec.InputOffset())
			pos = e
		}
		if !bytes.Equal(out[op:], doc[pos:]) {
			t.Fatalf("Erase(%q, %q) = %q: trailing bytes changed", doc, expr, out)
		}
	})
}

// checkDefaultMask checks a value replaced with the default mask: "*****",
// or an array of "*****" as long as the original.
func checkDefaultMask(t *testing.T, d *jsontext.Doc, n int, v any) {
	t.Helper()
	if d.Kind(n) != jsontext.Array {
		if v != defaultMask {
			t.Fatalf("replaced value = %v, want %q", v, defaultMask)
		}
		return
	}
	a, ok := v.([]any)
	if !ok || len(a) != d.ArrayLen(n) {
		t.Fatalf("replaced array = %v, want %d masks", v, d.ArrayLen(n))
	}
	for _, e := range a {
		if e != defaultMask {
			t.Fatalf("replaced array = %v, want only %q", v, defaultMask)
		}
	}
}
