package expression

import (
	"errors"
	"strings"
	"testing"
)

func paths(ps []Path) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, " ")
}

var names = map[string]string{"#n": "name", "#d": "dotted.name", "#s": "status", "#p": "p"}

// The examples of DynamoDB's developer guide (condition, filter, key
// condition, update and projection expressions), and the paths they read
// and write.
func TestParse(t *testing.T) {
	for _, tt := range []struct {
		kind, expr    string
		read, written string
	}{
		{"cond", "attribute_not_exists(Id)", "", ""},
		{"cond", "attribute_exists(#n) AND begins_with(Title, :t)", "Title", ""},
		{"cond", "Price BETWEEN :lo AND :hi", "Price", ""},
		{"cond", "ProductCategory IN (:cat1, :cat2)", "ProductCategory", ""},
		{"cond", "size(VideoClip) > :v_sub", "VideoClip", ""},
		{"cond", "NOT (a = :x OR b <> c) and contains(Color, :c)", "a b c Color", ""},
		{"cond", "ProductReviews.FiveStar[0].Reviewer = :r", "ProductReviews.FiveStar[0].Reviewer", ""},
		{"cond", "#d = :v AND attribute_type(#s, :type)", `"dotted.name" status`, ""},
		{"cond", "pk = :pk AND begins_with(sk, :prefix)", "pk sk", ""},
		{"cond", "((a < :x)) OR NOT NOT b >= :y", "a b", ""},
		{"cond", "contains(tags, other)", "tags other", ""},
		{"update", "SET Price = Price - :p, #p = if_not_exists(#p, :zero) + :one", "Price p", "Price p"},
		{"update", "SET RelatedItems[1] = :ri, Colors = list_append(Colors, :c) REMOVE Brand, InStock", "Colors", "RelatedItems[1] Colors Brand InStock"},
		{"update", "add Count :n delete Tags :t", "", "Count Tags"},
		{"update", "REMOVE a.b[2].c SET x = y", "y", "a.b[2].c x"},
		{"proj", "Title, Price, #n, ProductReviews.FiveStar[0]", "Title Price name ProductReviews.FiveStar[0]", ""},
	} {
		var u *Usage
		var err error
		switch tt.kind {
		case "cond":
			u, err = ParseCondition(tt.expr, names)
		case "update":
			u, err = ParseUpdate(tt.expr, names)
		case "proj":
			_, u, err = ParseProjection(tt.expr, names)
		}
		if err != nil {
			t.Errorf("Parse %s %q = %v", tt.kind, tt.expr, err)
			continue
		}
		if got := paths(u.Read); got != tt.read {
			t.Errorf("Parse %s %q read %q, want %q", tt.kind, tt.expr, got, tt.read)
		}
		if got := paths(u.Written); got != tt.written {
			t.Errorf("Parse %s %q wrote %q, want %q", tt.kind, tt.expr, got, tt.written)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ kind, expr, want string }{
		{"cond", "", "expected an attribute name"},
		{"cond", "a =", "expected an attribute name"},
		{"cond", "a = :b AND", "expected an attribute name"},
		{"cond", "#missing = :v", "not in ExpressionAttributeNames"},
		{"cond", "a BETWEEN :x :y", "expected AND in BETWEEN"},
		{"cond", "a IN :x", "expected ( after IN"},
		{"cond", "(a = :b", "expected )"},
		{"cond", "a = :b)", "unexpected"},
		{"cond", "a ! :b", "unexpected character"},
		{"cond", "a", "expected a comparison"},
		{"cond", "a[x] = :v", "expected a list index"},
		{"cond", "attribute_type(a, b)", "expected a :value placeholder"},
		{"cond", strings.Repeat("(", 200) + "a = :b" + strings.Repeat(")", 200), "nested too deeply"},
		{"update", "a = :b", "expected SET"},
		{"update", "SET a :b", "expected ="},
		{"update", "SET a = :b SET c = :d", "appears twice"},
		{"update", "ADD a b", "expected a :value"},
		{"update", "", "expected SET"},
		{"proj", "a,", "expected an attribute name"},
		{"proj", "a b", "unexpected"},
		{"proj", "# , a", "not followed by a placeholder name"},
	} {
		var err error
		switch tt.kind {
		case "cond":
			_, err = ParseCondition(tt.expr, names)
		case "update":
			_, err = ParseUpdate(tt.expr, names)
		case "proj":
			_, _, err = ParseProjection(tt.expr, names)
		}
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse %s %q = %v, want ErrSyntax with %q", tt.kind, tt.expr, err, tt.want)
		}
	}
}

// FuzzParse: the parsers never panic, refuse with ErrSyntax only, and every
// path they return starts with a name.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a = :b", "SET a = b + :c REMOVE d[1]", "a, b.c[0]", "NOT (size(#n) > :v)", "begins_with(#d, :p) OR x IN (:a,:b)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(u *Usage, err error) {
			if err != nil {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("error %v is not ErrSyntax", err)
				}
				return
			}
			for _, p := range append(append(u.Read, u.Written...), u.Tested...) {
				if len(p) == 0 || p[0].IsIndex {
					t.Fatalf("path %v does not start with a name", p)
				}
			}
		}
		check(ParseCondition(s, names))
		check(ParseUpdate(s, names))
		_, u, err := ParseProjection(s, names)
		check(u, err)
	})
}
