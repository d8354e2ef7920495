package jsonpath

import (
	"strconv"
	"strings"

	"github.com/theory/jsonpath/spec"
)

// Canonical returns the expression's canonical text: the RFC 9535 query
// (the translation, for the Powertools dialect) in one spelling. Names are
// double-quoted in brackets ("$.a", "a" and "$['a']" are all `$["a"]`),
// wildcards bracketed ("$.*" is "$[*]"), slice defaults left out
// ("[0:2:1]" is "[:2]"), literals written one way ("1.0" and "1e0" are
// "1"; strings double-quoted, escapes resolved), spaces as the parser
// prints them, and the parentheses around a whole filter dropped
// ("[?(@.x > 1)]" and "[?@.x>1]" are `[?@["x"] > 1]`). Expressions that
// differ only in such spelling share their canonical text; expressions
// that differ in meaning never do. A string with characters Go does not
// print is written with Go escapes ("\x7f"), which RFC 9535 lacks.
//
// One exception keeps that promise: theory/jsonpath prints a negated
// function ("!match(...)") without its "!" when it sits in a filter nested
// inside a function argument or a comparison, where this walk cannot
// reach; an expression with a filter there has the text of its RFC 9535
// query as written (the translation, for the dialect) as canonical text.
//
// Callers store it (datamask binds values to it in their encryption
// context), so it must never change: TestCanonical pins it.
func (p *Path) Canonical() string { return p.canonical }

// canonicalText computes [Path.Canonical]: rfc is the RFC 9535 text q was
// parsed from.
func canonicalText(q *spec.PathQuery, rfc string) string {
	w := canonWriter{}
	w.query("$", q)
	if w.unsure {
		return rfc
	}
	return w.b.String()
}

// canonWriter prints a query as theory/jsonpath's String does, except for
// negated functions, which it prints with their "!", and the parentheses
// around a whole filter, which it drops. unsure is set when a part it
// cannot walk may hide a negated function.
type canonWriter struct {
	b      strings.Builder
	unsure bool
}

// query writes q; start is "$" or "@" (the library keeps which one private).
func (w *canonWriter) query(start string, q *spec.PathQuery) {
	w.b.WriteString(start)
	for _, seg := range q.Segments() {
		if seg.IsDescendant() {
			w.b.WriteString("..")
		}
		w.b.WriteByte('[')
		for i, sel := range seg.Selectors() {
			if i > 0 {
				w.b.WriteByte(',')
			}
			if f, ok := sel.(*spec.FilterSelector); ok {
				w.b.WriteByte('?')
				w.or(unwrap(f.LogicalOr))
				continue
			}
			w.b.WriteString(sel.String()) // names, indexes, slices, *
		}
		w.b.WriteByte(']')
	}
}

// unwrap drops the parentheses around the whole of a filter expression:
// "((a || b))" is "a || b".
func unwrap(or spec.LogicalOr) spec.LogicalOr {
	for len(or) == 1 && len(or[0]) == 1 {
		p, ok := or[0][0].(*spec.ParenExpr)
		if !ok {
			break
		}
		or = p.LogicalOr
	}
	return or
}

func (w *canonWriter) or(or spec.LogicalOr) {
	for i, and := range or {
		if i > 0 {
			w.b.WriteString(" || ")
		}
		for j, e := range and {
			if j > 0 {
				w.b.WriteString(" && ")
			}
			w.basic(e)
		}
	}
}

func (w *canonWriter) basic(e spec.BasicExpr) {
	switch e := e.(type) {
	case *spec.ParenExpr:
		w.b.WriteByte('(')
		w.or(e.LogicalOr)
		w.b.WriteByte(')')
	case *spec.NotParenExpr:
		w.b.WriteString("!(")
		w.or(e.LogicalOr)
		w.b.WriteByte(')')
	case spec.NotFuncExpr:
		w.b.WriteByte('!')
		w.leaf(e.FuncExpr.String())
	case *spec.NotFuncExpr:
		w.b.WriteByte('!')
		w.leaf(e.FuncExpr.String())
	case *spec.ExistExpr:
		w.query(queryStart(e.PathQuery), e.PathQuery)
	case spec.NonExistExpr:
		w.b.WriteByte('!')
		w.query(queryStart(e.PathQuery), e.PathQuery)
	case *spec.NonExistExpr:
		w.b.WriteByte('!')
		w.query(queryStart(e.PathQuery), e.PathQuery)
	case *spec.FuncExpr, *spec.CompExpr:
		w.leaf(e.String())
	default:
		w.unsure = true
	}
}

// leaf writes the library's text of a function or comparison, whose
// arguments are private: a filter among them may have lost a "!".
func (w *canonWriter) leaf(s string) {
	if hasFilter(s) {
		w.unsure = true
	}
	w.b.WriteString(s)
}

// queryStart returns "$" or "@", the start of q's text.
func queryStart(q *spec.PathQuery) string {
	return q.String()[:1]
}

// hasFilter reports whether s, text printed by theory/jsonpath, holds a
// filter selector: a '?' outside its Go-quoted string literals.
func hasFilter(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			q, err := strconv.QuotedPrefix(s[i:])
			if err != nil {
				return true // cannot tell: assume the worst
			}
			i += len(q) - 1
		case '?':
			return true
		}
	}
	return false
}
