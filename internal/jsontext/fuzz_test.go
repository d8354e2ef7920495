package jsontext

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"unicode/utf8"
)

// seedDocs adds the shared Powertools example documents and a few edge cases
// to a fuzz corpus.
func seedDocs(f *testing.F) {
	f.Helper()
	for _, s := range []string{
		`{"a":{"1":{"None":"hello","four":"world"},"b":{"3":{"4":"goodbye","e":"world"}}}}`,
		`[1,"two",{"three":[3.0e1,null,true,false]}]`, `"\u00e9\ud83d\ude00\n"`, `12345678901234567890`,
		` {"a" : 1.50 , "a":[ ]} `, `{"k\"ey":"v\\al"}`, `[`, `{"a":}`, "\"\xff\"",
	} {
		f.Add([]byte(s))
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "powertools_cases", "examples")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParse checks Parse against encoding/json: the same documents are
// accepted (encoding/json does not check UTF-8, so invalid UTF-8 is allowed
// to differ), the same values are decoded, and every span is consistent.
func FuzzParse(f *testing.F) {
	seedDocs(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := Parse(src)
		valid := json.Valid(src)
		if err == nil && !valid {
			t.Fatalf("Parse(%q) accepted what encoding/json rejects", src)
		}
		if err != nil {
			if valid && utf8.Valid(src) {
				t.Fatalf("Parse(%q) = %v, but encoding/json accepts it", src, err)
			}
			return
		}
		var want any
		if json.Unmarshal(src, &want) == nil { // fails only on numbers out of float64 range
			if got := d.Value(0); !reflect.DeepEqual(got, want) {
				t.Fatalf("Parse(%q).Value(0) = %#v, want %#v", src, got, want)
			}
		}
		for _, i := range nodes(d) {
			s, e := d.Span(i)
			if !json.Valid(src[s:e]) {
				t.Fatalf("node %d span %q is not a JSON value", i, src[s:e])
			}
			if d.Next(i) <= i || d.Next(i) > d.Len() {
				t.Fatalf("node %d Next = %d out of range", i, d.Next(i))
			}
			if d.Kind(i) == String {
				if !json.Valid(d.Raw(i)) {
					t.Fatalf("string node %d Raw %q is not a JSON string", i, d.Raw(i))
				}
				str := d.Str(i)
				if !d.KeyEquals(i, str) || d.KeyEquals(i, str+"x") || (str != "" && d.KeyEquals(i, str[:len(str)-1])) {
					t.Fatalf("KeyEquals(%q) disagrees with Str %q", d.Raw(i), str)
				}
			}
		}
		if d.Next(0) != d.Len() {
			t.Fatalf("root Next = %d, want the tape length %d", d.Next(0), d.Len())
		}
	})
}

// FuzzSplice replaces nodes chosen by the fuzzer with markers and checks that
// the output is valid JSON and that every byte outside the replaced spans is
// unchanged.
func FuzzSplice(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2,{"b":"c"}],"d":"e"}`, `[[],[[]],{"x":{}}]`, `"solo"`, ` 7 `,
		`{"a":{"1":{"None":"hello","four":"world"},"b":{"3":{"4":"goodbye","e":"world"}}}}`,
	} {
		f.Add([]byte(s), []byte{0, 3, 5, 200})
	}
	f.Fuzz(func(t *testing.T, src []byte, picks []byte) {
		d, err := Parse(src)
		if err != nil {
			return
		}
		var edits []Edit
		ns := nodes(d)
		for _, p := range picks {
			i := ns[int(p)%len(ns)]
			if d.IsKey(i) {
				continue // keys are not values: replacing one would not be JSON
			}
			s, e := d.Span(i)
			edits = append(edits, Edit{Start: s, End: e, Text: AppendQuote(nil, "*\x00é")})
		}
		kept := append([]Edit(nil), edits...)
		out := Splice(nil, src, edits)
		if !json.Valid(out) {
			t.Fatalf("Splice(%q) = %q, not valid JSON", src, out)
		}
		// Rebuild the expected output from the outermost spans and compare:
		// this checks the untouched bytes one by one.
		var want []byte
		pos := 0
		for _, e := range outermost(kept) {
			want = append(want, src[pos:e.Start]...)
			want = append(want, e.Text...)
			pos = e.End
		}
		want = append(want, src[pos:]...)
		if !bytes.Equal(out, want) {
			t.Fatalf("Splice(%q) = %q, want %q", src, out, want)
		}
	})
}

// outermost is a slow reference: it keeps the edits no other edit contains,
// in source order, one per span.
func outermost(edits []Edit) []Edit {
	var res []Edit
	for i, e := range edits {
		covered := false
		for j, o := range edits {
			if i != j && o.Start <= e.Start && e.End <= o.End && (o.Start != e.Start || o.End != e.End || j < i) {
				covered = true
				break
			}
		}
		if !covered {
			res = append(res, e)
		}
	}
	for i := 1; i < len(res); i++ {
		for j := i; j > 0 && res[j].Start < res[j-1].Start; j-- {
			res[j], res[j-1] = res[j-1], res[j]
		}
	}
	return res
}
