package jsonpath

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/datamask/datamask/internal/jsontext"
)

// ctsCase is one case of the JSONPath Compliance Test Suite.
type ctsCase struct {
	Name         string          `json:"name"`
	Selector     string          `json:"selector"`
	Document     json.RawMessage `json:"document"`
	ResultPaths  []string        `json:"result_paths"`
	ResultsPaths [][]string      `json:"results_paths"`
	Invalid      bool            `json:"invalid_selector"`
}

func sharedDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
}

func loadCTS(tb testing.TB) []ctsCase {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(), "jsonpath_cts", "cts.json"))
	if err != nil {
		tb.Fatalf("reading the compliance suite: %v", err)
	}
	var suite struct {
		Tests []ctsCase `json:"tests"`
	}
	if err := json.Unmarshal(b, &suite); err != nil {
		tb.Fatal(err)
	}
	return suite.Tests
}

// acceptedDialect lists the selectors that RFC 9535 rejects but that Compile
// accepts because they are valid Powertools (jsonpath-ng) dialect, with
// what they mean. Every other invalid selector must be refused.
var acceptedDialect = func() map[string]string {
	m := map[string]string{}
	for _, a := range dialectAccepted {
		m[a.selector] = a.meaning
	}
	return m
}()

// dialectAccepted: selector → RFC 9535 meaning (its translation).
var dialectAccepted = []struct{ selector, meaning string }{
	// jsonpath-ng reads a number after a dot as a member name ("a.1").
	{"$.1", `$["1"]`},
	// jsonpath-ng quoted names take \' and \" in either kind of quotes.
	{`$['\"']`, `$["\""]`},
	{`$["\'"]`, `$["'"]`},
}

// TestCTS runs every case of the JSONPath Compliance Test Suite. A valid
// selector must select exactly the nodes of result_paths (or of one of
// results_paths), in order, and replacing the selected nodes through
// jsontext.Splice must give the same document as an independent reference
// that replaces the values at those normalized paths in the decoded
// document. An invalid selector must be refused unless it is accepted
// dialect, listed in dialectAccepted with its meaning.
func TestCTS(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range loadCTS(t) {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tc.Selector)
			if tc.Invalid {
				meaning, listed := acceptedDialect[tc.Selector]
				switch {
				case listed && err != nil:
					t.Errorf("Compile(%q) = %v, want the accepted dialect %s", tc.Selector, err, meaning)
				case listed && p.String() != meaning:
					t.Errorf("Compile(%q).String() = %s, want %s", tc.Selector, p.String(), meaning)
				case !listed && err == nil:
					t.Errorf("Compile(%q) = %s, want an error (invalid selector)", tc.Selector, p.String())
				case !listed:
					var pe *Error
					if !errors.As(err, &pe) {
						t.Errorf("Compile(%q) error = %T, want *Error", tc.Selector, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile(%q) = %v, want nil", tc.Selector, err)
			}
			if p.IsDialect() {
				t.Fatalf("Compile(%q) read a valid RFC 9535 selector as dialect", tc.Selector)
			}
			src := []byte(tc.Document)
			d, err := jsontext.Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			nodes := p.Select(d)
			var got []string
			for _, n := range nodes {
				got = append(got, NormalizedPath(d, n))
			}
			wants := tc.ResultsPaths
			if tc.ResultPaths != nil {
				wants = [][]string{tc.ResultPaths}
			}
			ok := false
			for _, w := range wants {
				if slices.Equal(got, w) || len(got) == 0 && len(w) == 0 {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("Select(%q) = %q, want %q", tc.Selector, got, wants[0])
			}

			// Replace through the splice layer and compare with the reference.
			var edits []jsontext.Edit
			for _, n := range Outermost(d, slices.Clone(nodes)) {
				s, e := d.Span(n)
				edits = append(edits, jsontext.Edit{Start: s, End: e, Text: []byte(strconv.Quote(marker))})
			}
			out := jsontext.Splice(nil, src, edits)
			var gotDoc any
			if err := json.Unmarshal(out, &gotDoc); err != nil {
				t.Fatalf("replaced document is not JSON: %v", err)
			}
			var doc any
			if err := json.Unmarshal(src, &doc); err != nil {
				t.Fatal(err)
			}
			wantDoc := replaceAt(t, doc, wants[0])
			if !reflect.DeepEqual(gotDoc, wantDoc) {
				t.Errorf("replacing %q:\n got %s\nwant %s", tc.Selector, out, mustJSON(wantDoc))
			}
		})
		seen[tc.Selector] = true
	}
	for _, a := range dialectAccepted {
		if !seen[a.selector] {
			t.Errorf("dialectAccepted lists %q, which is not in the suite", a.selector)
		}
	}
}

const marker = "\u2063replaced\u2063"

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// replaceAt is the reference: it decodes nothing itself but walks the
// decoded document along each normalized path and replaces the value
// there with the marker, the shortest paths first, so that an outer
// replacement covers the inner ones.
func replaceAt(t *testing.T, doc any, paths []string) any {
	t.Helper()
	doc = deepCopy(doc)
	sorted := slices.Clone(paths)
	slices.SortStableFunc(sorted, func(a, b string) int { return len(parseNormalized(t, a)) - len(parseNormalized(t, b)) })
	for _, p := range sorted {
		steps := parseNormalized(t, p)
		if len(steps) == 0 {
			return marker
		}
		cur := doc
		covered := false
		for _, s := range steps[:len(steps)-1] {
			cur = child(cur, s)
			if cur == marker {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		last := steps[len(steps)-1]
		switch c := cur.(type) {
		case map[string]any:
			c[last.(string)] = marker
		case []any:
			c[last.(int)] = marker
		case string:
			if c != marker {
				t.Fatalf("path %s goes through a string", p)
			}
		}
	}
	return doc
}

func child(v any, step any) any {
	switch c := v.(type) {
	case map[string]any:
		return c[step.(string)]
	case []any:
		return c[step.(int)]
	}
	return v
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// parseNormalized parses an RFC 9535 normalized path such as $['a'][0]
// into names (string) and indexes (int).
func parseNormalized(t *testing.T, p string) []any {
	t.Helper()
	if !strings.HasPrefix(p, "$") {
		t.Fatalf("bad normalized path %q", p)
	}
	var steps []any
	s := p[1:]
	for len(s) > 0 {
		if s[0] != '[' {
			t.Fatalf("bad normalized path %q", p)
		}
		s = s[1:]
		if s[0] == '\'' {
			var name strings.Builder
			i := 1
			for s[i] != '\'' {
				if s[i] == '\\' {
					i++
					switch s[i] {
					case 'b':
						name.WriteByte('\b')
					case 'f':
						name.WriteByte('\f')
					case 'n':
						name.WriteByte('\n')
					case 'r':
						name.WriteByte('\r')
					case 't':
						name.WriteByte('\t')
					case 'u':
						n, _ := strconv.ParseUint(s[i+1:i+5], 16, 32)
						name.WriteRune(rune(n))
						i += 4
					default:
						name.WriteByte(s[i])
					}
					i++
					continue
				}
				name.WriteByte(s[i])
				i++
			}
			steps = append(steps, name.String())
			s = s[i+2:]
		} else {
			end := strings.IndexByte(s, ']')
			n, err := strconv.Atoi(s[:end])
			if err != nil {
				t.Fatalf("bad normalized path %q", p)
			}
			steps = append(steps, n)
			s = s[end+1:]
		}
	}
	return steps
}

// NormalizedPath returns the RFC 9535 normalized path of node n in d, such
// as $['a'][0]. It walks down from the root: O(depth × width).
func NormalizedPath(d *jsontext.Doc, n int) string {
	var b strings.Builder
	b.WriteByte('$')
	cur := 0
	for cur != n {
		found := false
		switch d.Kind(cur) {
		case jsontext.Array:
			i := 0
			d.Elements(cur, func(e int) bool {
				if d.Contains(e, n) {
					b.WriteString("[" + strconv.Itoa(i) + "]")
					cur, found = e, true
					return false
				}
				i++
				return true
			})
		case jsontext.Object:
			d.Members(cur, func(k, v int) bool {
				if d.Contains(v, n) {
					b.WriteByte('[')
					b.WriteString(quoteName(d.Str(k)))
					b.WriteByte(']')
					cur, found = v, true
					return false
				}
				return true
			})
		}
		if !found {
			panic("jsonpath: NormalizedPath: node is not a value of the document")
		}
	}
	return b.String()
}
