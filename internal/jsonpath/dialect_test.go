package jsonpath

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datamask/datamask/internal/jsontext"
)

func TestCompileDialect(t *testing.T) {
	tests := []struct {
		expr    string
		want    string // RFC 9535 String() of the compiled path
		dialect bool
	}{
		// RFC 9535 expressions are never translated.
		{"$.address[?(@.postcode > 12000)]", `$["address"][?(@["postcode"] > 12000)]`, false},
		{"$..email", `$..["email"]`, false},
		{"$.customers[*].address[*].street", `$["customers"][*]["address"][*]["street"]`, false},
		{"$[?@.a == null]", `$[?@["a"] == null]`, false},
		// The Powertools documentation and test expressions.
		{"card_number", `$["card_number"]`, true},
		{"address.postcode", `$["address"]["postcode"]`, true},
		{"category..name", `$["category"]..["name"]`, true},
		{"address[*].street", `$["address"][*]["street"]`, true},
		{"address[-1].street", `$["address"][-1]["street"]`, true},
		{"address[1].street", `$["address"][1]["street"]`, true},
		{"a.'1'.None", `$["a"]["1"]["None"]`, true},
		{"a..'4'", `$["a"]..["4"]`, true},
		{"'3'..True", `$["3"]..["True"]`, true},
		{"non-existing", `$["non-existing"]`, true},
		{"user.contact.details.address.zip", `$["user"]["contact"]["details"]["address"]["zip"]`, true},
		// Other dialect forms.
		{"$.a-b.c", `$["a-b"]["c"]`, true},
		{"a.1", `$["a"]["1"]`, true},
		{`a."b c"`, `$["a"]["b c"]`, true},
		{"a[b,'c d']", `$["a"]["b","c d"]`, true},
		{"a[0:2]", `$["a"][:2]`, true},
		{"a[::-1]", `$["a"][::-1]`, true},
		{"a.*", `$["a"][*]`, true},
		{"a..[0]", `$["a"]..[0]`, true},
		{"['a']", `$["a"]`, true},
		{"名前.姓", `$["名前"]["姓"]`, true},
		{"address[?(@.postcode > 12000)]", `$["address"][?(@["postcode"] > 12000)]`, true},
		{"address[?postcode > 12000]", `$["address"][?@["postcode"] > 12000]`, true},
		{"$.a[?(@.x = 1 & @.y != 'b')]", `$["a"][?(@["x"] == 1 && @["y"] != "b")]`, true},
		{"$.a[?(@.name =~ '^J.*')]", `$["a"][?(search(@["name"], "^J.*"))]`, true},
		{"$.a[?(@.name == John)]", `$["a"][?(@["name"] == "John")]`, true},
		{"a[?(@.price >= 1.5 && !(@.qty < 2))]", `$["a"][?(@["price"] >= 1.5 && !(@["qty"] < 2))]`, true},
		{"a[?(length(@.tags) > 1 || @.vip == true)]", `$["a"][?(length(@["tags"]) > 1 || @["vip"] == true)]`, true},
		{"a[?($.limit < @.n)]", `$["a"][?($["limit"] < @["n"])]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := Compile(tt.expr)
			if err != nil {
				t.Fatalf("Compile(%q) = %v, want nil", tt.expr, err)
			}
			if got := p.String(); got != tt.want {
				t.Errorf("Compile(%q).String() = %s, want %s", tt.expr, got, tt.want)
			}
			if p.IsDialect() != tt.dialect {
				t.Errorf("Compile(%q).IsDialect() = %v, want %v", tt.expr, p.IsDialect(), tt.dialect)
			}
			if p.Expression() != tt.expr {
				t.Errorf("Compile(%q).Expression() = %q", tt.expr, p.Expression())
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr   string
		offset int
		msg    string
	}{
		{"", 0, "unexpected end"},
		{"$.", 2, ""},
		{"$[", 2, ""},
		{"$.a[?(@.x == 1)", 15, ""},
		{"user.ssn...", 10, "expected a name"},
		{"a b", 1, "expected '.', '..' or '['"},
		{"a['b", 2, "unterminated quoted name"},
		{"a[01]", 2, "invalid index"},
		{"a[?(@.x == True)]", 11, "ambiguous bare word"},
		{"a[?(@.x ~ 1)]", 8, "expected ')'"},
		{"a where b", 1, ""},
		{"a|b", 1, ""},
		{"`this`", 0, ""},
		{"a[?(@.x == 'y\\n')]", 13, "invalid escape"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := Compile(tt.expr)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Compile(%q) = %v, %v, want *Error", tt.expr, p, err)
			}
			if pe.Offset != tt.offset || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("Compile(%q) = offset %d %q, want offset %d containing %q", tt.expr, pe.Offset, pe.Msg, tt.offset, tt.msg)
			}
		})
	}
}

func TestSelectDuplicateKeys(t *testing.T) {
	d, err := jsontext.Parse([]byte(`{"ssn":"1","x":{"ssn":"2"},"ssn":"3"}`))
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string][]string{
		"$.ssn":  {`"1"`, `"3"`},
		"$..ssn": {`"1"`, `"3"`, `"2"`},
		"ssn":    {`"1"`, `"3"`},
	} {
		p, err := Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range p.Select(d) {
			got = append(got, string(d.Raw(n)))
		}
		if !slices.Equal(got, want) {
			t.Errorf("Select(%q) = %q, want %q", expr, got, want)
		}
	}
}

func TestOutermost(t *testing.T) {
	d, err := jsontext.Parse([]byte(`{"a":{"b":[1,2]},"c":3}`))
	if err != nil {
		t.Fatal(err)
	}
	// Nodes in document order: root, "a", {b}, "b", [1,2], 1, 2, "c", 3.
	var n []int
	for i := 0; i < d.Next(0); i = d.Step(i) {
		n = append(n, i)
	}
	got := Outermost(d, []int{n[8], n[5], n[4], n[8], n[6], n[2]})
	if want := []int{n[2], n[8]}; !slices.Equal(got, want) {
		t.Errorf("Outermost = %v, want %v", got, want)
	}
}

// FuzzDialect checks that Compile never panics, that whatever it accepts
// as dialect translates to RFC 9535 text the RFC parser accepts, and that
// the compiled path selects from a document without panicking.
func FuzzDialect(f *testing.F) {
	for _, s := range []string{
		"card_number", "address[*].street", "a.'1'.None", "a..'4'", "$.address[?(@.postcode > 12000)]",
		"a[?(@.x =~ 'y' & @.z = 1)]", "a[b,'c']", "a[1:2:3]", "$..value", "user.ssn...", "a.-1",
	} {
		f.Add(s)
	}
	for _, tc := range loadCTSForFuzz() {
		f.Add(tc)
	}
	doc, _ := jsontext.Parse([]byte(`{"a":[{"x":"y","z":1},{"b":{"c":[1,2,3]}}],"card_number":"1"}`))
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Compile(expr)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Compile(%q) error %T, want *Error", expr, err)
			}
			if pe.Offset > len(expr) {
				t.Fatalf("Compile(%q) offset %d beyond the expression", expr, pe.Offset)
			}
			return
		}
		if p.IsDialect() {
			rfc, err := Translate(expr)
			if err != nil {
				t.Fatalf("Translate(%q) = %v after Compile accepted it", expr, err)
			}
			if _, err := Compile(rfc); err != nil {
				t.Fatalf("translation %q of %q does not compile: %v", rfc, expr, err)
			}
		}
		for _, n := range p.Select(doc) {
			if n < 0 || n >= doc.Len() || doc.IsKey(n) {
				t.Fatalf("Select(%q) returned node %d, not a value", expr, n)
			}
		}
	})
}

func loadCTSForFuzz() []string {
	b, err := os.ReadFile(filepath.Join(sharedDir(), "jsonpath_cts", "cts.json"))
	if err != nil {
		return nil
	}
	var suite struct {
		Tests []struct {
			Selector string `json:"selector"`
		} `json:"tests"`
	}
	if json.Unmarshal(b, &suite) != nil {
		return nil
	}
	var out []string
	for _, tc := range suite.Tests {
		out = append(out, tc.Selector)
	}
	return out
}

// TestRegexFilter checks "=~" (jsonpath-ng: re.search, a match anywhere)
// and that a candidate without the field is not selected (theory/jsonpath
// panics there; see evalFilter).
func TestRegexFilter(t *testing.T) {
	d, err := jsontext.Parse([]byte(`[{"name":"John"},{"x":1},{"name":"Ajo"},{"name":"ana"}]`))
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string][]string{
		"$[?(@.name =~ 'J')]":           {`{"name":"John"}`},
		"$[?(@.name =~ '[Jj]o')]":       {`{"name":"John"}`, `{"name":"Ajo"}`},
		"$[?(@.name =~ '^a' & @.name)]": {`{"name":"ana"}`},
		"$[?match(@.name, 'J.*')]":      {`{"name":"John"}`},
	} {
		p, err := Compile(expr)
		if err != nil {
			t.Fatalf("Compile(%q) = %v", expr, err)
		}
		var got []string
		for _, n := range p.Select(d) {
			got = append(got, string(d.Raw(n)))
		}
		if !slices.Equal(got, want) {
			t.Errorf("Select(%q) = %q, want %q", expr, got, want)
		}
	}
}
