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
package jsonpath

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/theory/jsonpath/parser"
	"github.com/theory/jsonpath/registry"
	"github.com/theory/jsonpath/spec"
)

// Path is a compiled expression. It is immutable and safe for concurrent use.
type Path struct {
	expr     string
	query    *spec.PathQuery
	dialect  bool
	needRoot []bool // per segment: a filter selector may read the root ($)
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
		return newPath(expr, q, false), nil
	}
	rfc, dErr := Translate(expr)
	if dErr == nil {
		q, err := parser.Parse(reg, rfc)
		if err == nil {
			return newPath(expr, q, true), nil
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

func newPath(expr string, q *spec.PathQuery, dialect bool) *Path {
	p := &Path{expr: expr, query: q, dialect: dialect}
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
