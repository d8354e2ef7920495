package datamask

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/datamask/datamask/internal/jsontext"
)

func TestParseFormat(t *testing.T) {
	re := regexp.MustCompile(`(?P<a>\w)(\w)?`)
	tests := []struct{ format, in, want string }{
		{`$1`, "xy", "x"},
		{`${2}-${a}`, "xy", "y-x"},
		{`\1\2`, "xy", "xy"},
		{`\g<2>\g<a>`, "xy", "yx"},
		{`$$1 $ $x ${x} ${} $3 US$`, "x", "$1 $ $x ${x} ${} $3 US$"},
		{`\\1 \n\t \- \0`, "x", "\\1 \n\t \\- \x00"},
		{`\101`, "x", "A"},
		{`[\2]`, "x", "[]"}, // an unmatched optional group is empty
		{``, "xy", ""},
	}
	for _, tt := range tests {
		tmpl, err := parseFormat(tt.format, re)
		if err != nil {
			t.Errorf("parseFormat(%q) = %v", tt.format, err)
			continue
		}
		m := &masker{kind: maskRegex, re: re, tmpl: tmpl}
		if got := m.replace([]byte(tt.in)); got != tt.want {
			t.Errorf("parseFormat(%q) replacing %q = %q, want %q", tt.format, tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{`\3`, `\g<b>`, `\g<1`, `\q`, `x\`, `\g`} {
		if _, err := parseFormat(bad, re); err == nil {
			t.Errorf("parseFormat(%q) = nil error, want an error", bad)
		}
	}
}

func TestCacheBounded(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxCacheEntries + 10 {
		if _, err := m.path(fmt.Sprintf("$.f%d", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := m.masker(MaskRule{CustomMask: fmt.Sprint(i)}, "CustomMask"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.cache.paths); n != maxCacheEntries {
		t.Errorf("len(cache.paths) = %d, want %d", n, maxCacheEntries)
	}
	if n := len(m.cache.maskers); n != maxCacheEntries {
		t.Errorf("len(cache.maskers) = %d, want %d", n, maxCacheEntries)
	}
	p1, _ := m.path("$.f1")
	p2, _ := m.path("$.f1")
	if p1 != p2 {
		t.Error("path($.f1) compiled twice, want the cached *Path")
	}
	var zero DataMasker // a zero DataMasker works, without caching
	if out, err := zero.Erase([]byte(`{"a":1}`), Fields("a")); err != nil || string(out) != `{"a":"*****"}` {
		t.Errorf("zero DataMasker Erase = %s, %v", out, err)
	}
}

// FuzzMaskFormat checks that parseFormat never panics and that a format it
// accepts replaces without panicking and yields valid JSON once quoted.
func FuzzMaskFormat(f *testing.F) {
	for _, s := range []string{`\1****\3`, `${1}x$2`, `\g<name>\g<1>`, `$$ $x ${}`, `\\\n\0\101`, `\`, `\g<`, `${1`} {
		f.Add(s, "john.doe@example.com")
	}
	re := regexp.MustCompile(`(?P<name>\w)(\w*)(@.*)?`)
	f.Fuzz(func(t *testing.T, format, value string) {
		tmpl, err := parseFormat(format, re)
		if err != nil {
			return
		}
		m := &masker{kind: maskRegex, re: re, tmpl: tmpl}
		w := &appendWriter{}
		var scratch []byte
		m.write(w, jsontext.AppendQuote(nil, value), &scratch)
		out := w.b
		if !json.Valid(out) {
			t.Fatalf("format %q on %q gave %q, not a JSON string", format, value, out)
		}
	})
}

// TestWriteDynamicStreams checks the streaming dynamic mask against the
// decoded text, on escapes, surrogate pairs, lone surrogates, multi-byte
// UTF-8 and values longer than its buffer.
func TestWriteDynamicStreams(t *testing.T) {
	long := strings.Repeat(`ab-c_d.e f\u00e9\n\ud83d\ude00`, 100)
	for _, raw := range []string{`"a-b_c.d e"`, `"\u002d\u005f\u002e\u0020x"`, `"\ud83d\ude00é\ud800x"`, `"` + long + `"`, `""`, `-1.5e+3`, `true`, `null`} {
		var want []byte
		d, err := jsontext.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		text := []byte(raw)
		if d.Kind(0) == jsontext.String {
			text = d.AppendStr(nil, 0)
		}
		want = append(want, '"')
		for _, r := range string(text) {
			if keptByDynamic(r) {
				want = append(want, byte(r))
			} else {
				want = append(want, '*')
			}
		}
		want = append(want, '"')
		w := &appendWriter{}
		var buf []byte
		writeDynamic(w, []byte(raw), &buf)
		if string(w.b) != string(want) {
			t.Errorf("writeDynamic(%.40s) = %.60s, want %.60s", raw, w.b, want)
		}
		if got := appendUnquotedBody(nil, []byte(raw)[1:max(1, len(raw)-1)]); d.Kind(0) == jsontext.String && string(got) != string(text) {
			t.Errorf("appendUnquotedBody(%.40s) = %q, want %q", raw, got, text)
		}
	}
}
