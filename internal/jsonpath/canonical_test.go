package jsonpath

import (
	"slices"
	"strings"
	"testing"

	"github.com/datamask/datamask/internal/jsontext"
)

// TestCanonical pins the canonical text of expressions: datamask stores it
// in the encryption context of bound values (datamask.BindFields), so a
// change here would make stored values fail to decrypt. Each group lists
// spellings of one expression.
func TestCanonical(t *testing.T) {
	tests := []struct {
		want  string
		exprs []string
	}{
		{`$["ssn"]`, []string{"ssn", "$.ssn", "$['ssn']", `$["ssn"]`, "$ .ssn", "$[ 'ssn' ]", `$["\u0073sn"]`}},
		{`$["customers"][*]["ssn"]`, []string{"customers[*].ssn", "$.customers[*].ssn", "$.customers.*.ssn", "$['customers'][*]['ssn']"}},
		{`$..["email"]`, []string{"$..email", "$..['email']"}},
		{`$["card-number"]`, []string{"card-number", "$['card-number']"}},
		{`$["a"]["1"]["None"]`, []string{"a.'1'.None", `$.a["1"].None`, "a.1.None"}},
		{`$["a"][:2]`, []string{"$.a[0:2]", "$.a[0:2:1]", "$.a[:2]"}},
		{`$["a"][::-1]`, []string{"$.a[::-1]"}},
		{`$["a"][-1]`, []string{"$.a[-1]"}},
		{`$[0,1]`, []string{"$[0, 1]", "$[0,1]"}},
		{`$["a","b"]`, []string{"$['a','b']", "$[a,b]"}},
		{`$["é"]`, []string{"$['é']", `$['\u00e9']`}},
		{`$["address"][?@["postcode"] > 12000]`, []string{
			"$.address[?(@.postcode > 12000)]", "address[?(@.postcode > 12000)]",
			"$.address[?@.postcode>12000]", "$.address[?((@.postcode > 12000))]", "address[?postcode > 12000]",
		}},
		{`$["a"][?@["x"] == 1]`, []string{"$.a[?@.x==1]", "$.a[?@.x==1.0]", "$.a[?@.x==1e0]", "$.a[?(@.x = 1)]"}},
		{`$["a"][?@["x"] == "aA"]`, []string{`$.a[?@.x=='a\u0041']`, `$.a[?@.x=="aA"]`}},
		{`$["a"][?@["x"] > 1 && @["y"] < 2]`, []string{"$.a[?(@.x > 1 && @.y<2)]", "$.a[?(@.x > 1 & @.y<2)]", "$.a[?@.x > 1 && @.y < 2]"}},
		// Parentheses inside a filter are kept: they are not around the whole.
		{`$["a"][?(@["x"] > 1 || @["y"]) && @["z"]]`, []string{"$.a[?(@.x > 1 || @.y) && @.z]"}},
		{`$["a"][?!@["x"]]`, []string{"$.a[?!@.x]", "$.a[?(!@.x)]"}},
		{`$["a"][?search(@["b"], "^A")]`, []string{`$.a[?(@.b =~ "^A")]`, `$.a[?search(@.b, '^A')]`}},
		{`$["a"][?match(@["b"], "x")]`, []string{"$.a[?match(@.b, 'x')]"}},
		{`$["a"][?length(@) > 1]`, []string{"$.a[?length(@) > 1]"}},
		// theory/jsonpath's String drops the "!" of a negated function.
		{`$["a"][?!match(@["b"], "x")]`, []string{"$.a[?!match(@.b, 'x')]", "$.a[?(!match(@.b, 'x'))]"}},
		{`$["a"][?@["c"] && !search(@["b"], "x")]`, []string{"$.a[?@.c && !search(@.b, 'x')]"}},
		{`$["a"][?@[?!match(@, "x")]]`, []string{"$.a[?@[?!match(@, 'x')]]"}},
		{`$["a"][?!@["b"][?!match(@, "x")]]`, []string{"$.a[?!@.b[?!match(@, 'x')]]"}},
		// Out of reach inside a function argument: the text as written.
		{"$.a[?count(@[?!match(@, 'x')]) > 1]", []string{"$.a[?count(@[?!match(@, 'x')]) > 1]"}},
		{"$.a[?count(@[?match(@, 'x')]) > 1]", []string{"$.a[?count(@[?match(@, 'x')]) > 1]"}},
		{`$["a"][?count(@[*]) > 1]`, []string{"$.a[?count(@.*) > 1]", "$.a[?(count(@[*])>1)]"}},
		{`$[?@["a"] == "?"]`, []string{"$[?@.a == '?']"}},
		{`$`, []string{"$"}},
	}
	for _, tt := range tests {
		for _, e := range tt.exprs {
			p, err := Compile(e)
			if err != nil {
				t.Errorf("Compile(%q) = %v", e, err)
				continue
			}
			if got := p.Canonical(); got != tt.want {
				t.Errorf("Compile(%q).Canonical() = %s, want %s", e, got, tt.want)
			}
		}
	}
	// Different expressions keep different texts.
	seen := map[string]string{}
	for _, tt := range tests {
		if prev, dup := seen[tt.want]; dup {
			t.Errorf("canonical %s listed twice (and %s)", tt.want, prev)
		}
		seen[tt.want] = tt.exprs[0]
	}
}

// TestCanonicalCTS checks, for every valid selector of the compliance
// suite, that the canonical text is an expression of its own with the same
// canonical text (it is a fixed point) that selects the same nodes.
func TestCanonicalCTS(t *testing.T) {
	for _, tc := range loadCTS(t) {
		if tc.Invalid {
			continue
		}
		p, err := Compile(tc.Selector)
		if err != nil {
			t.Errorf("Compile(%q) = %v", tc.Selector, err)
			continue
		}
		c, err := Compile(p.Canonical())
		if err != nil && strings.ContainsAny(p.Canonical(), "\\") {
			continue // Go escapes such as \x7f, which RFC 9535 lacks
		}
		if err != nil {
			t.Errorf("Compile(Canonical(%q) = %q) = %v", tc.Selector, p.Canonical(), err)
			continue
		}
		if c.Canonical() != p.Canonical() {
			t.Errorf("Canonical(%q) = %q, whose canonical text is %q", tc.Selector, p.Canonical(), c.Canonical())
		}
		d, err := jsontext.Parse(tc.Document)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.AppendNodes(nil, d), p.AppendNodes(nil, d); !slices.Equal(got, want) {
			t.Errorf("%q selects %v, its canonical text %q selects %v", tc.Selector, want, p.Canonical(), got)
		}
		d.Release()
	}
}

// FuzzCanonical checks that the canonical text of any expression that
// compiles is a fixed point: compiled again, it has the same canonical text
// (unless it holds Go escapes RFC 9535 lacks).
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		"ssn", "$.customers[*].ssn", "$..email", "$.a[?(@.x > 1 && @.y<2)]", "$.a[?!match(@.b, 'x')]",
		"$.a[?count(@[?!match(@, 'x')]) > 1]", "a.'1'.None", "$.a[0:2:1]", `$["\u00e9"]`, "[?(@.name =~ \"^A\")]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Compile(expr)
		if err != nil {
			return
		}
		c, err := Compile(p.Canonical())
		if err != nil {
			if !strings.Contains(p.Canonical(), `\`) {
				t.Fatalf("Compile(%q).Canonical() = %q, which does not compile: %v", expr, p.Canonical(), err)
			}
			return
		}
		if c.Canonical() != p.Canonical() {
			t.Fatalf("Compile(%q).Canonical() = %q, whose canonical text is %q", expr, p.Canonical(), c.Canonical())
		}
	})
}
