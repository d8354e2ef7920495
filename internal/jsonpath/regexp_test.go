package jsonpath

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCompileRegexpLiterals(t *testing.T) {
	tests := []struct {
		expr    string
		invalid string // the pattern the error must name; "" if expr compiles
	}{
		{`$[?match(@.a, 'a.*')]`, ""},
		{`$[?search(@.a, '^[a-z]+$')]`, ""},
		{`$[?match(@.a, $.re)]`, ""}, // a pattern from the document is checked when read
		{`$[?match(@.a, 'a[')]`, "a["},
		{`$[?search(@.a, '(')]`, "("},
		{`$[?!match(@.a, '*')]`, "*"},
		{`$[?@.x == 1 && search(@.a, 'x)')]`, "x)"},
		{`$[?count(@[?search(@, '[')]) > 0]`, "["},             // in a nested filter
		{`$[?match(@['m,('], 'ok') && search(@.b, '+')]`, "+"}, // commas and parens in names
		{`$[?@['match(x, "(")'] == 1]`, ""},                    // not a call: a member name
		{`users[?(@.name =~ "[")]`, "["},                       // Powertools dialect
		{`users[?(@.name =~ "^J")]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Compile(tt.expr)
			if tt.invalid == "" {
				if err != nil {
					t.Fatalf("Compile(%q) = %v, want no error", tt.expr, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) = %v, want *Error", tt.expr, err)
			}
			if !strings.Contains(e.Msg, "invalid regular expression "+`"`+tt.invalid+`"`) {
				t.Errorf("Compile(%q) = %q, want it to name the pattern %q", tt.expr, e.Msg, tt.invalid)
			}
		})
	}
}

func TestRegexpLiterals(t *testing.T) {
	got := regexpLiterals(`$[?match(@["a"], "x\"(") && research(@, "no") && search(@[?match(@, "in")], "out")]`)
	want := []regexpLiteral{{"match", "in"}, {"match", `x"(`}, {"search", "out"}}
	slices.SortFunc(got, func(a, b regexpLiteral) int { return strings.Compare(a.fn+a.pattern, b.fn+b.pattern) })
	if !slices.Equal(got, want) {
		t.Errorf("regexpLiterals = %q, want %q", got, want)
	}
}
