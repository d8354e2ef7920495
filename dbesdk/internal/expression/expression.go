// Package expression parses DynamoDB expressions (condition, filter, key
// condition, update and projection expressions) far enough to tell which
// attributes they read and write: document paths with their
// ExpressionAttributeNames placeholders substituted. It checks the syntax
// as DynamoDB documents it; it does not evaluate anything.
package expression

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Element is one step of a document path: a name (an attribute or map
// key) or, when IsIndex, a list index.
type Element struct {
	Name    string
	Index   int
	IsIndex bool
}

// Path is a document path, such as a.b[2].c, with placeholders replaced by
// the names they stand for. Path[0] is always a name: the top-level
// attribute.
type Path []Element

// Attribute returns the top-level attribute the path starts at.
func (p Path) Attribute() string { return p[0].Name }

// String returns the path as text, names quoted where needed; it is for
// messages (names are not secrets, values never appear in a path).
func (p Path) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.IsIndex:
			b.WriteString("[" + strconv.Itoa(e.Index) + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			if isPlainName(e.Name) {
				b.WriteString(e.Name)
			} else {
				b.WriteString(strconv.Quote(e.Name))
			}
		}
	}
	return b.String()
}

func isPlainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// Usage records what an expression refers to.
type Usage struct {
	// Read holds the paths the expression reads, in order of appearance.
	Read []Path
	// Written holds the paths an update expression sets, removes, adds to
	// or deletes from.
	Written []Path
	// Tested holds the paths given to attribute_exists and
	// attribute_not_exists: only their presence is read, not their value.
	Tested []Path
	// Names holds the ExpressionAttributeNames placeholders used (with the
	// '#'), Values the ExpressionAttributeValues placeholders (with the
	// ':').
	Names  []string
	Values []string
}

// ErrSyntax is matched by every error of this package.
var ErrSyntax = errors.New("invalid expression")

type syntaxError struct{ msg string }

func (e *syntaxError) Error() string        { return e.msg }
func (e *syntaxError) Is(target error) bool { return target == ErrSyntax }

// maxLen bounds the expressions parsed (DynamoDB's limit is 4 KB).
const maxLen = 64 << 10

// maxDepth bounds nesting (parentheses, NOT, functions).
const maxDepth = 100

// ParseCondition parses a condition, filter or key condition expression.
func ParseCondition(expr string, names map[string]string) (*Usage, error) {
	p, err := newParser(expr, names)
	if err != nil {
		return nil, err
	}
	if err := p.condition(0); err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return &p.u, nil
}

// ParseProjection parses a projection expression: paths separated by
// commas.
func ParseProjection(expr string, names map[string]string) ([]Path, *Usage, error) {
	p, err := newParser(expr, names)
	if err != nil {
		return nil, nil, err
	}
	var paths []Path
	for {
		path, err := p.path()
		if err != nil {
			return nil, nil, err
		}
		paths = append(paths, path)
		if !p.accept(",") {
			break
		}
	}
	if err := p.end(); err != nil {
		return nil, nil, err
	}
	p.u.Read = paths
	return paths, &p.u, nil
}

// ParseUpdate parses an update expression: SET, REMOVE, ADD and DELETE
// clauses, each at most once, in any order.
func ParseUpdate(expr string, names map[string]string) (*Usage, error) {
	p, err := newParser(expr, names)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for {
		kw := p.keyword()
		if kw == "" {
			break
		}
		switch kw {
		case "SET", "REMOVE", "ADD", "DELETE":
		default:
			return nil, p.errorf("expected SET, REMOVE, ADD or DELETE")
		}
		if seen[kw] {
			return nil, p.errorf("the %s clause appears twice", kw)
		}
		seen[kw] = true
		p.next()
		for {
			target, err := p.path()
			if err != nil {
				return nil, err
			}
			p.u.Written = append(p.u.Written, target)
			switch kw {
			case "SET":
				if !p.accept("=") {
					return nil, p.errorf("expected = after the path in SET")
				}
				if err := p.setValue(); err != nil {
					return nil, err
				}
			case "ADD", "DELETE":
				if _, err := p.value(); err != nil {
					return nil, err
				}
			}
			if !p.accept(",") {
				break
			}
		}
	}
	if len(seen) == 0 {
		return nil, p.errorf("expected SET, REMOVE, ADD or DELETE")
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return &p.u, nil
}

// tokens

type tokKind int

const (
	tokEOF tokKind = iota
	tokName
	tokNamePH  // #name
	tokValuePH // :value
	tokNumber  // list index
	tokPunct
)

type token struct {
	kind tokKind
	text string
	pos  int
}

type parser struct {
	expr  string
	names map[string]string
	toks  []token
	i     int
	u     Usage
}

func newParser(expr string, names map[string]string) (*parser, error) {
	if len(expr) > maxLen {
		return nil, &syntaxError{fmt.Sprintf("the expression is longer than %d bytes", maxLen)}
	}
	p := &parser{expr: expr, names: names}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(expr) && isNameByte(expr[j]) {
				j++
			}
			if j == i+1 {
				return nil, &syntaxError{fmt.Sprintf("%q at offset %d is not followed by a placeholder name", c, i)}
			}
			k := tokNamePH
			if c == ':' {
				k = tokValuePH
			}
			p.toks = append(p.toks, token{k, expr[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(expr) && expr[j] >= '0' && expr[j] <= '9' {
				j++
			}
			if j < len(expr) && isNameByte(expr[j]) {
				for j < len(expr) && isNameByte(expr[j]) {
					j++
				}
				p.toks = append(p.toks, token{tokName, expr[i:j], i})
			} else {
				p.toks = append(p.toks, token{tokNumber, expr[i:j], i})
			}
			i = j
		case isNameByte(c):
			j := i
			for j < len(expr) && isNameByte(expr[j]) {
				j++
			}
			p.toks = append(p.toks, token{tokName, expr[i:j], i})
			i = j
		case c == '<' || c == '>':
			if i+1 < len(expr) && (expr[i+1] == '=' || c == '<' && expr[i+1] == '>') {
				p.toks = append(p.toks, token{tokPunct, expr[i : i+2], i})
				i += 2
			} else {
				p.toks = append(p.toks, token{tokPunct, expr[i : i+1], i})
				i++
			}
		case strings.IndexByte("=(),.[]+-", c) >= 0:
			p.toks = append(p.toks, token{tokPunct, expr[i : i+1], i})
			i++
		default:
			return nil, &syntaxError{fmt.Sprintf("unexpected character at offset %d", i)}
		}
	}
	p.toks = append(p.toks, token{tokEOF, "", len(expr)})
	return p, nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) accept(punct string) bool {
	if t := p.peek(); t.kind == tokPunct && t.text == punct {
		p.i++
		return true
	}
	return false
}

// keyword returns the upper-cased current token if it is a bare name.
func (p *parser) keyword() string {
	if t := p.peek(); t.kind == tokName {
		return strings.ToUpper(t.text)
	}
	return ""
}

func (p *parser) errorf(format string, args ...any) error {
	t := p.peek()
	where := "at the end"
	if t.kind != tokEOF {
		where = fmt.Sprintf("at offset %d", t.pos)
	}
	return &syntaxError{fmt.Sprintf(format, args...) + " (" + where + ")"}
}

func (p *parser) end() error {
	if p.peek().kind != tokEOF {
		return p.errorf("unexpected %q", p.peek().text)
	}
	return nil
}

// path parses a document path.
func (p *parser) path() (Path, error) {
	first, err := p.pathName()
	if err != nil {
		return nil, err
	}
	path := Path{{Name: first}}
	for {
		switch {
		case p.accept("."):
			n, err := p.pathName()
			if err != nil {
				return nil, err
			}
			path = append(path, Element{Name: n})
		case p.accept("["):
			t := p.next()
			if t.kind != tokNumber {
				return nil, p.errorf("expected a list index")
			}
			n, err := strconv.Atoi(t.text)
			if err != nil || n > 1<<20 {
				return nil, p.errorf("list index out of range")
			}
			if !p.accept("]") {
				return nil, p.errorf("expected ]")
			}
			path = append(path, Element{Index: n, IsIndex: true})
		default:
			return path, nil
		}
		if len(path) > 32 {
			return nil, p.errorf("the document path is deeper than 32 levels")
		}
	}
}

func (p *parser) pathName() (string, error) {
	t := p.peek()
	switch t.kind {
	case tokName:
		p.i++
		return t.text, nil
	case tokNamePH:
		p.i++
		n, ok := p.names[t.text]
		if !ok {
			return "", &syntaxError{fmt.Sprintf("the placeholder %s is not in ExpressionAttributeNames", t.text)}
		}
		p.u.Names = append(p.u.Names, t.text)
		return n, nil
	}
	return "", p.errorf("expected an attribute name or #placeholder")
}

// value parses a value placeholder.
func (p *parser) value() (string, error) {
	t := p.peek()
	if t.kind != tokValuePH {
		return "", p.errorf("expected a :value placeholder")
	}
	p.i++
	p.u.Values = append(p.u.Values, t.text)
	return t.text, nil
}

func (p *parser) isFunction(names ...string) string {
	if t := p.peek(); t.kind == tokName {
		if n := p.peekAt(1); n.kind == tokPunct && n.text == "(" {
			for _, f := range names {
				if t.text == f {
					return f
				}
			}
		}
	}
	return ""
}

// operand parses a condition operand: a path, a value or size(path).
func (p *parser) operand() error {
	if p.isFunction("size") != "" {
		p.i += 2
		path, err := p.path()
		if err != nil {
			return err
		}
		p.u.Read = append(p.u.Read, path)
		if !p.accept(")") {
			return p.errorf("expected ) after size's path")
		}
		return nil
	}
	if p.peek().kind == tokValuePH {
		_, err := p.value()
		return err
	}
	path, err := p.path()
	if err != nil {
		return err
	}
	p.u.Read = append(p.u.Read, path)
	return nil
}

// condition parses OR-separated terms.
func (p *parser) condition(depth int) error {
	if depth > maxDepth {
		return p.errorf("the expression is nested too deeply")
	}
	if err := p.andTerm(depth); err != nil {
		return err
	}
	for p.keyword() == "OR" {
		p.next()
		if err := p.andTerm(depth); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) andTerm(depth int) error {
	if err := p.notTerm(depth); err != nil {
		return err
	}
	for p.keyword() == "AND" {
		p.next()
		if err := p.notTerm(depth); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) notTerm(depth int) error {
	if p.keyword() == "NOT" {
		p.next()
		return p.notTerm(depth + 1)
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) error {
	if p.accept("(") {
		if err := p.condition(depth + 1); err != nil {
			return err
		}
		if !p.accept(")") {
			return p.errorf("expected )")
		}
		return nil
	}
	switch f := p.isFunction("attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"); f {
	case "attribute_exists", "attribute_not_exists":
		p.i += 2
		path, err := p.path()
		if err != nil {
			return err
		}
		p.u.Tested = append(p.u.Tested, path)
		if !p.accept(")") {
			return p.errorf("expected ) after %s's path", f)
		}
		return nil
	case "attribute_type", "begins_with", "contains":
		p.i += 2
		path, err := p.path()
		if err != nil {
			return err
		}
		p.u.Read = append(p.u.Read, path)
		if !p.accept(",") {
			return p.errorf("expected , in %s", f)
		}
		if f == "attribute_type" {
			_, err = p.value()
		} else {
			err = p.operand()
		}
		if err != nil {
			return err
		}
		if !p.accept(")") {
			return p.errorf("expected ) after %s's arguments", f)
		}
		return nil
	}
	if err := p.operand(); err != nil {
		return err
	}
	switch t := p.peek(); {
	case t.kind == tokPunct && (t.text == "=" || t.text == "<>" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
		p.i++
		return p.operand()
	case p.keyword() == "BETWEEN":
		p.next()
		if err := p.operand(); err != nil {
			return err
		}
		if p.keyword() != "AND" {
			return p.errorf("expected AND in BETWEEN")
		}
		p.next()
		return p.operand()
	case p.keyword() == "IN":
		p.next()
		if !p.accept("(") {
			return p.errorf("expected ( after IN")
		}
		for n := 0; ; n++ {
			if n == 100 {
				return p.errorf("IN takes at most 100 values")
			}
			if err := p.operand(); err != nil {
				return err
			}
			if !p.accept(",") {
				break
			}
		}
		if !p.accept(")") {
			return p.errorf("expected ) after IN's values")
		}
		return nil
	}
	return p.errorf("expected a comparison, BETWEEN, IN or a function")
}

// setValue parses the right side of a SET action: an operand, or two
// joined by + or -.
func (p *parser) setValue() error {
	if err := p.setOperand(0); err != nil {
		return err
	}
	if p.accept("+") || p.accept("-") {
		return p.setOperand(0)
	}
	return nil
}

func (p *parser) setOperand(depth int) error {
	if depth > maxDepth {
		return p.errorf("the expression is nested too deeply")
	}
	switch f := p.isFunction("if_not_exists", "list_append"); f {
	case "if_not_exists":
		p.i += 2
		path, err := p.path()
		if err != nil {
			return err
		}
		p.u.Read = append(p.u.Read, path)
		if !p.accept(",") {
			return p.errorf("expected , in if_not_exists")
		}
		if err := p.setOperand(depth + 1); err != nil {
			return err
		}
		if !p.accept(")") {
			return p.errorf("expected ) after if_not_exists's arguments")
		}
		return nil
	case "list_append":
		p.i += 2
		if err := p.setOperand(depth + 1); err != nil {
			return err
		}
		if !p.accept(",") {
			return p.errorf("expected , in list_append")
		}
		if err := p.setOperand(depth + 1); err != nil {
			return err
		}
		if !p.accept(")") {
			return p.errorf("expected ) after list_append's arguments")
		}
		return nil
	}
	if p.peek().kind == tokValuePH {
		_, err := p.value()
		return err
	}
	path, err := p.path()
	if err != nil {
		return err
	}
	p.u.Read = append(p.u.Read, path)
	return nil
}
