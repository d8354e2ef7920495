// Package jsonpath compiles JSONPath expressions and evaluates them over a
// [jsontext.Doc], returning the matched nodes as indices into the document's
// tape, so that callers replace values in place without decoding the
// document.
//
// Expressions are RFC 9535 JSONPath, parsed by github.com/theory/jsonpath.
// An expression that is not valid RFC 9535 is then read as the Powertools
// dialect (jsonpath-ng's extended parser, see [Translate]) and translated to
// RFC 9535, so a valid RFC 9535 expression always keeps its RFC meaning.
//
// Selection follows RFC 9535 with one addition: a name selector selects
// every member with that name when an object has duplicate keys (RFC 8259
// leaves duplicates undefined; selecting all of them means a masked field
// cannot survive in a duplicate that another parser would pick).
//
// And one refusal: a match() or search() whose pattern is a string literal
// that does not compile is an error when the expression is compiled. RFC
// 9535 makes such a filter select nothing, which for a masking tool would
// silently leave the values it was meant to select in clear.
package jsonpath

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/theory/jsonpath/parser"
	"github.com/theory/jsonpath/registry"
	"github.com/theory/jsonpath/spec"
)

// Path is a compiled expression. It is immutable and safe for concurrent use.
type Path struct {
	expr      string
	query     *spec.PathQuery
	canonical string
	dialect   bool
	needRoot  []bool // per segment: a filter selector may read the root ($)
}

// Error reports an expression that is neither RFC 9535 JSONPath nor the
// Powertools dialect. Offset is the byte offset in the expression where
// parsing failed, or -1 if unknown.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		return "jsonpath: " + e.Msg
	}
	return "jsonpath: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

var reg = registry.New()

// Compile parses expr as RFC 9535 JSONPath or, failing that, as the
// Powertools dialect. It returns an [*Error] if expr is neither. When expr
// starts with '$' the error is the RFC 9535 parser's; otherwise (it can only
// be the dialect then) it is the dialect translator's.
func Compile(expr string) (*Path, error) {
	q, rfcErr := parser.Parse(reg, expr)
	if rfcErr == nil {
		if err := checkRegexps(q); err != nil {
			return nil, err
		}
		return newPath(expr, expr, q, false), nil
	}
	rfc, dErr := Translate(expr)
	if dErr == nil {
		q, err := parser.Parse(reg, rfc)
		if err == nil {
			if err := checkRegexps(q); err != nil {
				return nil, err
			}
			return newPath(expr, rfc, q, true), nil
		}
		// The translation is not valid RFC 9535 (e.g. a bad function call in
		// a filter): report it at the start, the translation has no offsets.
		dErr = &Error{Offset: -1, Msg: "after translating the Powertools dialect to " + strconv.Quote(rfc) + ": " + cleanMsg(err)}
	}
	if strings.HasPrefix(expr, "$") {
		return nil, &Error{Offset: rfcOffset(rfcErr), Msg: cleanMsg(rfcErr)}
	}
	return nil, dErr
}

// newPath returns the Path of expr, read as RFC 9535 text rfc (expr
// itself, or its translation from the dialect).
func newPath(expr, rfc string, q *spec.PathQuery, dialect bool) *Path {
	p := &Path{expr: expr, query: q, dialect: dialect, canonical: canonicalText(q, rfc)}
	for _, seg := range q.Segments() {
		need := false
		for _, sel := range seg.Selectors() {
			if f, ok := sel.(*spec.FilterSelector); ok && strings.Contains(f.String(), "$") {
				// A '$' inside a string literal is a false positive: it only
				// costs decoding the root once.
				need = true
			}
		}
		p.needRoot = append(p.needRoot, need)
	}
	return p
}

// checkRegexps refuses q if a match() or search() in one of its filters
// has a literal pattern that RE2 (with I-Regexp's dot) cannot parse. The
// library keeps function arguments private, so the patterns are read from
// each filter's canonical text, where string literals are Go-quoted.
func checkRegexps(q *spec.PathQuery) error {
	for _, seg := range q.Segments() {
		for _, sel := range seg.Selectors() {
			f, ok := sel.(*spec.FilterSelector)
			if !ok {
				continue
			}
			for _, lit := range regexpLiterals(f.String()) {
				if _, err := syntax.Parse(lit.pattern, syntax.Perl|syntax.DotNL); err != nil {
					msg := err.Error()
					if e, ok := err.(*syntax.Error); ok {
						msg = string(e.Code)
					}
					return &Error{Offset: -1, Msg: "invalid regular expression " + strconv.Quote(lit.pattern) + " in " + lit.fn + "(): " + msg}
				}
			}
		}
	}
	return nil
}

type regexpLiteral struct{ fn, pattern string }

// regexpLiterals returns the string-literal second arguments of the match()
// and search() calls in s, the canonical text of a filter selector.
func regexpLiterals(s string) []regexpLiteral {
	var out []regexpLiteral
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			q, err := strconv.QuotedPrefix(s[i:])
			if err != nil {
				return out
			}
			i += len(q) - 1
			continue
		}
		var fn string
		switch {
		case strings.HasPrefix(s[i:], "match("):
			fn = "match"
		case strings.HasPrefix(s[i:], "search("):
			fn = "search"
		default:
			continue
		}
		if i > 0 && isNameByte(s[i-1]) {
			continue
		}
		// Find the comma that ends the first argument.
		j, depth := i+len(fn)+1, 0
	scan:
		for ; j < len(s); j++ {
			switch s[j] {
			case '"':
				q, err := strconv.QuotedPrefix(s[j:])
				if err != nil {
					return out
				}
				j += len(q) - 1
			case '(', '[':
				depth++
			case ')', ']':
				if depth == 0 {
					break scan
				}
				depth--
			case ',':
				if depth == 0 {
					break scan
				}
			}
		}
		if j >= len(s) || s[j] != ',' {
			continue
		}
		arg := strings.TrimLeft(s[j+1:], " ")
		if q, err := strconv.QuotedPrefix(arg); err == nil && strings.HasPrefix(arg, `"`) {
			if p, err := strconv.Unquote(q); err == nil {
				out = append(out, regexpLiteral{fn, p})
			}
		}
	}
	return out
}

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

var posRE = regexp.MustCompile(` at (?:position )?(\d+)$`)

// rfcOffset extracts the 0-based offset from a theory/jsonpath parse error,
// which ends with "at position N" (1-based) or "at N" (0-based, lexer).
func rfcOffset(err error) int {
	m := posRE.FindStringSubmatch(err.Error())
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	if strings.Contains(m[0], "position") {
		n--
	}
	return max(n, 0)
}

// cleanMsg removes the parser's "jsonpath: " prefix and position suffix.
func cleanMsg(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, parser.ErrPathParse.Error()+": ")
	return posRE.ReplaceAllString(s, "")
}

// String returns the expression in RFC 9535 syntax (the translation, for the
// Powertools dialect).
func (p *Path) String() string { return p.query.String() }

// Expression returns the expression as given to Compile.
func (p *Path) Expression() string { return p.expr }

// IsDialect reports whether the expression was read as the Powertools
// dialect rather than as RFC 9535.
func (p *Path) IsDialect() bool { return p.dialect }

// errUnsupportedSelector is a programming error: the parser produced a
// selector type this package does not know.
var errUnsupportedSelector = errors.New("jsonpath: unsupported selector type")
