package jsontext

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseValid(t *testing.T) {
	tests := []string{
		`0`, `-0`, `1.50`, `12345678901234567890`, `-1.2e+30`, `1E-2`, `true`, `false`, `null`,
		`""`, `"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"`, `"é😀"`,
		`{}`, `[]`, ` { "a" : [ 1 , { } , [ ] ] } `, "\t\r\n[1]\n",
		`{"a":1,"a":2}`, `[[[[]]]]`, `{"":""}`, `"\ud800"`,
	}
	for _, src := range tests {
		t.Run(src, func(t *testing.T) {
			d, err := Parse([]byte(src))
			if err != nil {
				t.Fatalf("Parse(%q) = %v, want nil", src, err)
			}
			var want any
			if err := json.Unmarshal([]byte(src), &want); err != nil {
				t.Fatal(err)
			}
			if got := d.Value(0); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q).Value(0) = %#v, want %#v", src, got, want)
			}
			if s, e := d.Span(0); string(bytes.TrimSpace([]byte(src))) != src[s:e] {
				t.Errorf("Parse(%q).Span(0) = %q, want the trimmed input", src, src[s:e])
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		src    string
		offset int64
		msg    string
	}{
		{``, 0, "input is empty"},
		{"  \n\t", 4, "input is empty"},
		{`{`, 1, "expected a string key"},
		{`{"a"}`, 4, "expected ':'"},
		{`{"a":1,}`, 7, "expected a string key"},
		{`[1,]`, 3, "expected a value"},
		{`[1 2]`, 3, "expected ',' or ']'"},
		{`{"a":1 "b":2}`, 7, "expected ',' or '}'"},
		{`01`, 1, "unexpected data after the top-level value"},
		{`1.`, 2, "decimal point"},
		{`1e`, 2, "exponent"},
		{`-`, 1, "expected a digit"},
		{`+1`, 0, "expected a value"},
		{`tru`, 0, "invalid literal"},
		{`nul`, 0, "invalid literal"},
		{`"abc`, 4, "unterminated string"},
		{"\"a\x01\"", 2, "control character"},
		{`"\x"`, 2, "invalid escape"},
		{`"\u12G4"`, 5, "hexadecimal"},
		{"\"\xff\"", 1, "invalid UTF-8"},
		{"\xef\xbb\xbf{}", 0, "unexpected UTF-8 byte order mark"},
		{`[1]]`, 3, "unexpected data"},
		{`{"a":1}x`, 7, "unexpected data"},
		{`[`, 1, "unexpected end of input"},
		{`[1`, 2, "unexpected end of input"},
		{`{"a":`, 5, "unexpected end of input"},
		{`NaN`, 0, "expected a value"},
		{strings.Repeat("[", MaxDepth+1), MaxDepth, "nesting too deep"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want *SyntaxError", tt.src, err)
			}
			if se.Offset != tt.offset || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Parse(%q) = offset %d %q, want offset %d containing %q", tt.src, se.Offset, se.Msg, tt.offset, tt.msg)
			}
			if json.Valid([]byte(tt.src)) && utf8.ValidString(tt.src) {
				t.Errorf("encoding/json accepts %q", tt.src)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	src := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(src)); err != nil {
		t.Errorf("Parse(%d nested arrays) = %v, want nil", MaxDepth, err)
	}
}

func TestNavigation(t *testing.T) {
	src := `{"a":[1,{"b":null},"x"],"c\u0064":true,"a":2}`
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var kinds []Kind
	d.Members(0, func(k, v int) bool {
		if !d.IsKey(k) || d.IsKey(v) {
			t.Errorf("IsKey(%d), IsKey(%d) = %v, %v, want true, false", k, v, d.IsKey(k), d.IsKey(v))
		}
		keys = append(keys, d.Str(k))
		kinds = append(kinds, d.Kind(v))
		return true
	})
	if want := []string{"a", "cd", "a"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("Members keys = %q, want %q", keys, want)
	}
	if want := []Kind{Array, True, Number}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("Members kinds = %v, want %v", kinds, want)
	}
	arr := nodes(d)[2]
	if got := d.ArrayLen(arr); got != 3 {
		t.Errorf("ArrayLen(%d) = %d, want 3", arr, got)
	}
	var raws []string
	d.Elements(arr, func(e int) bool { raws = append(raws, string(d.Raw(e))); return true })
	if want := []string{`1`, `{"b":null}`, `"x"`}; !reflect.DeepEqual(raws, want) {
		t.Errorf("Elements raw = %q, want %q", raws, want)
	}
	if !d.KeyEquals(d.Next(arr), "cd") {
		t.Errorf("KeyEquals(escaped key, %q) = false, want true", "cd")
	}
	if !d.Contains(arr, nodes(d)[5]) || d.Contains(arr, d.Next(arr)) {
		t.Errorf("Contains is wrong around node %d", arr)
	}
}

// nodes lists the node indices of d in document order, keys included.
func nodes(d *Doc) []int {
	var ns []int
	for i := 0; i < d.Next(0); i = d.Step(i) {
		ns = append(ns, i)
	}
	return ns
}

// TestTapeSize: a scalar or key costs one 4-byte slot, an object or array
// three (issue 8: the 16-byte nodes of the old tape made a 228 MB document
// need about 450 MB of index).
func TestTapeSize(t *testing.T) {
	src := []byte(`[{"id":1,"name":"Ana","tags":["a","b"]},{"id":2,"name":"Jo","tags":[]}]`)
	d, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	// 1 array, 2 objects, 2 tag arrays: 5 containers; 6 keys, 6 scalars.
	if want := 5*containerSlots + 12; d.Len() != want || len(nodes(d)) != 17 {
		t.Errorf("tape of %s: %d slots, %d nodes; want %d slots, 17 nodes", src, d.Len(), len(nodes(d)), want)
	}
}

func TestSpanScans(t *testing.T) {
	src := `{"a\"b\\":"x\\\"y\\","n":-1.5e+3,"t":true,"f":false,"z":null,"e":"","q":"\\"}`
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range nodes(d)[1:] {
		got = append(got, string(d.Raw(n)))
	}
	want := []string{`"a\"b\\"`, `"x\\\"y\\"`, `"n"`, `-1.5e+3`, `"t"`, `true`, `"f"`, `false`, `"z"`, `null`, `"e"`, `""`, `"q"`, `"\\"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Raw of each node = %q, want %q", got, want)
	}
	if !d.KeyEquals(nodes(d)[1], `a"b\`) {
		t.Errorf("KeyEquals(escaped key) = false")
	}
}

func TestAppendQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"\n\r\t\b\f\x01\x1f", `"\n\r\t\b\f\u0001\u001f"`},
		{"<&>", `"<&>"`},
		{"é😀 ü", `"é😀 ü"`},
		{"a\xffb", "\"a\ufffdb\""},
	}
	for _, tt := range tests {
		got := string(AppendQuote(nil, tt.in))
		if got != tt.want {
			t.Errorf("AppendQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil || (utf8.ValidString(tt.in) && back != tt.in) {
			t.Errorf("AppendQuote(%q) = %s does not decode back (%v)", tt.in, got, err)
		}
	}
}

func TestSplice(t *testing.T) {
	src := []byte(`{"a": [1, 2], "b": {"c": 1.50}}`)
	d, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	n := nodes(d)
	span := func(i int) (int, int) { return d.Span(n[i]) }
	s1, e1 := span(2) // [1, 2]
	s2, e2 := span(3) // 1, inside the array
	s3, e3 := span(6) // {"c": 1.50}
	edits := []Edit{
		{Start: s3, End: e3, Text: []byte(`"*"`)},
		{Start: s2, End: e2, Text: []byte(`"inner"`)},
		{Start: s1, End: e1, Text: []byte(`"outer"`)},
		{Start: s1, End: e1, Text: []byte(`"dup"`)},
	}
	got := string(Splice(nil, src, edits))
	want := `{"a": "outer", "b": "*"}`
	if got != want && got != `{"a": "dup", "b": "*"}` {
		t.Errorf("Splice = %s, want %s", got, want)
	}
	if got := string(Splice([]byte("x"), src, nil)); got != "x"+string(src) {
		t.Errorf("Splice(no edits) = %s, want prefix + source", got)
	}
}

func TestSplicePanicsOnCrossedEdits(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Splice with partly overlapping edits did not panic")
		}
	}()
	Splice(nil, []byte("0123456789"), []Edit{{Start: 1, End: 5}, {Start: 3, End: 7}})
}

func TestValueLargeNumber(t *testing.T) {
	d, err := Parse([]byte(`[1e400, -1e400]`))
	if err != nil {
		t.Fatal(err)
	}
	got := d.Value(0).([]any)
	if !math.IsInf(got[0].(float64), 1) || !math.IsInf(got[1].(float64), -1) {
		t.Errorf("Value([1e400, -1e400]) = %v, want [+Inf -Inf]", got)
	}
}

// TestTapeEstimate: a large document's tape is allocated once, at about
// its size, so that it neither grows by copies nor holds much unused
// capacity.
func TestTapeEstimate(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; b.Len() < bigDoc+1000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id":12,"name":"Ana Silva","tags":["a","b"],"address":{"city":"X","zip":12345},"empty":{},"none":[]}`)
	}
	b.WriteString("]")
	src := []byte(b.String())
	d, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	est := tapeEstimate(src)
	if est < d.Len() || cap(d.tape) != est || float64(est) > 1.3*float64(d.Len()) {
		t.Errorf("tape of %d slots: estimate %d, capacity %d; want an estimate at least the length, within 30%%, and no growth", d.Len(), est, cap(d.tape))
	}
}

func TestIsNumber(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"0", true}, {"-0", true}, {"12345678901234567890", true}, {"1.50", true}, {"-2.5e-3", true}, {"1E+9", true},
		{"", false}, {"01", false}, {"+1", false}, {"1.", false}, {".5", false}, {"1e", false}, {" 1", false}, {"1 ", false},
		{"0x10", false}, {"NaN", false}, {"-", false}, {"830-46-6789", false}, {"1_000", false},
	} {
		if got := IsNumber(tt.s); got != tt.want {
			t.Errorf("IsNumber(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestStrIsText(t *testing.T) {
	for _, tt := range []struct {
		json string
		want bool
	}{
		{`"plain"`, true}, {`""`, true}, {`"\n\t\\u0041"`, true}, {`"\u0041\u00e9"`, true},
		{`"\ud83d\ude00"`, true}, {`"a\uD83D\uDE00b"`, true}, {`"\\ud800"`, true},
		{`"\ud800"`, false}, {`"\udc00"`, false}, {`"\ud800x"`, false}, {`"\ud800\u0041"`, false},
		{`"\ud800\ud800"`, false}, {`"\ude00\ud83d"`, false}, {`"x\ud83d\ude00\ud800"`, false}, {`"\ud800\n"`, false},
	} {
		d, err := Parse([]byte(tt.json))
		if err != nil {
			t.Fatalf("Parse(%s): %v", tt.json, err)
		}
		if got := d.StrIsText(0); got != tt.want {
			t.Errorf("StrIsText(%s) = %v, want %v", tt.json, got, tt.want)
		}
	}
}
