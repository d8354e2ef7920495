package jsonpath

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Translate rewrites an expression of the Powertools dialect — what
// jsonpath-ng's extended parser (jsonpath_ng.ext.parse, used by Powertools
// for AWS Lambda's Data Masking) accepts — into RFC 9535 text. It covers:
//
//   - a missing leading '$': "address.street" is "$['address']['street']";
//   - dotted names RFC 9535 shorthand forbids: "non-existing", "a.1",
//     "a.'1'.None", "a..'4'", "a.\"b c\"" (quoted names take backslash
//     escapes literally, as jsonpath-ng does: '\x' is 'x');
//   - bare names in brackets: "a[b,c]";
//   - filters "[?(...)]" and "[?...]" with "=" or "==", "!=", "<", "<=",
//     ">", ">=", "&" (jsonpath-ng's AND; "&&", "||" and "!" pass through),
//     bare names meaning fields of the current node ("[?price > 10]" is
//     "[?@['price'] > 10]"), and a bare word on the right of a comparison
//     being a string ("[?@.name == Ana]");
//   - "=~" regular expression matches, which jsonpath-ng evaluates with
//     Python's re.search (a match anywhere in a string value): translated
//     to RFC 9535 search(). The pattern is I-Regexp (RFC 9485) there.
//
// Not translated (an error): jsonpath-ng's "where", "wherenot", "|"
// unions, "&" intersections outside filters, `this`/`parent` named
// operators, arithmetic and sorting. Whitespace is skipped inside filters
// only. Offsets in errors are byte offsets in expr.
func Translate(expr string) (string, error) {
	t := &translator{s: expr}
	var b strings.Builder
	b.WriteByte('$')
	if t.peek() == '$' {
		t.i++
	} else if err := t.segment(&b, true); err != nil {
		return "", err
	}
	for t.i < len(t.s) {
		if err := t.segment(&b, false); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

type translator struct {
	s string
	i int
}

func (t *translator) peek() byte {
	if t.i < len(t.s) {
		return t.s[t.i]
	}
	return 0
}

func (t *translator) errf(msg string) error {
	return &Error{Offset: t.i, Msg: msg}
}

// segment translates one segment: ".name", "..name", "[...]", or, at the
// start of an expression without '$', a bare member.
func (t *translator) segment(b *strings.Builder, first bool) error {
	switch c := t.peek(); {
	case c == '[':
		return t.bracket(b)
	case c == '.' && !first:
		t.i++
		if t.peek() == '.' {
			t.i++
			b.WriteString("..")
			if t.peek() == '[' {
				return t.bracket(b)
			}
		}
		return t.member(b)
	case first:
		return t.member(b)
	default:
		return t.errf("expected '.', '..' or '[' between path elements")
	}
}

// member translates a name, a quoted name, a number used as a name, or '*'.
func (t *translator) member(b *strings.Builder) error {
	c := t.peek()
	switch {
	case c == '*':
		t.i++
		b.WriteString("[*]")
		return nil
	case c == '\'' || c == '"':
		name, err := t.quoted()
		if err != nil {
			return err
		}
		b.WriteString("[" + quoteName(name) + "]")
		return nil
	case c == '-' || isDigit(c):
		num, ok := t.integer()
		if !ok {
			return t.errf("expected a name after '.'")
		}
		b.WriteString("[" + quoteName(num) + "]")
		return nil
	}
	name := t.ident()
	if name == "" {
		if t.i >= len(t.s) {
			return t.errf("unexpected end of expression (expected a name)")
		}
		return t.errf("expected a name, a quoted name or '*'")
	}
	b.WriteString("[" + quoteName(name) + "]")
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ident scans a jsonpath-ng identifier: a letter or '_' then letters,
// digits, '_', '@' and '-'. Non-ASCII letters are accepted too.
func (t *translator) ident() string {
	start := t.i
	for t.i < len(t.s) {
		r, size := utf8.DecodeRuneInString(t.s[t.i:])
		ok := r == '_' || unicode.IsLetter(r)
		if t.i > start {
			ok = ok || r == '@' || r == '-' || unicode.IsDigit(r)
		}
		if !ok {
			break
		}
		t.i += size
	}
	return t.s[start:t.i]
}

// integer scans an RFC 9535 integer: 0 or -?[1-9][0-9]* (no leading zeros,
// no "-0").
func (t *translator) integer() (string, bool) {
	start := t.i
	if t.peek() == '-' {
		t.i++
	}
	d := t.i
	for isDigit(t.peek()) {
		t.i++
	}
	num := t.s[start:t.i]
	if t.i == d || t.s[d] == '0' && (t.i-d > 1 || d > start) {
		t.i = start
		return "", false
	}
	return num, true
}

// number scans an RFC 9535 number: an integer or "-0", then an optional
// fraction and exponent.
func (t *translator) number() (string, bool) {
	start := t.i
	if strings.HasPrefix(t.s[t.i:], "-0") && !isDigit(t.byteAt(t.i+2)) {
		t.i += 2
	} else if _, ok := t.integer(); !ok {
		return "", false
	}
	if t.peek() == '.' {
		t.i++
		d := t.i
		for isDigit(t.peek()) {
			t.i++
		}
		if t.i == d {
			t.i = start
			return "", false
		}
	}
	if t.peek() == 'e' || t.peek() == 'E' {
		t.i++
		if t.peek() == '+' || t.peek() == '-' {
			t.i++
		}
		d := t.i
		for isDigit(t.peek()) {
			t.i++
		}
		if t.i == d {
			t.i = start
			return "", false
		}
	}
	return t.s[start:t.i], true
}

func (t *translator) byteAt(i int) byte {
	if i < len(t.s) {
		return t.s[i]
	}
	return 0
}

// quoted scans a '...' or "..." string. jsonpath-ng takes any character
// after a backslash literally; only \\, \' and \" are accepted here, and
// control characters are refused, so that the few expressions both dialects
// could read differently are errors rather than surprises.
func (t *translator) quoted() (string, error) {
	q := t.s[t.i]
	start := t.i
	t.i++
	var b strings.Builder
	for t.i < len(t.s) {
		c := t.s[t.i]
		switch {
		case c == q:
			t.i++
			return b.String(), nil
		case c == '\\':
			if t.i+1 < len(t.s) && (t.s[t.i+1] == '\\' || t.s[t.i+1] == '\'' || t.s[t.i+1] == '"') {
				b.WriteByte(t.s[t.i+1])
				t.i += 2
				continue
			}
			return "", t.errf("invalid escape in quoted name (only \\\\, \\' and \\\" are allowed)")
		case c < 0x20:
			return "", t.errf("control character in quoted name")
		default:
			b.WriteByte(c)
			t.i++
		}
	}
	t.i = start
	return "", t.errf("unterminated quoted name")
}

// bracket translates "[...]": '*', a filter, or a list of indexes, slices
// and (quoted or bare) names.
func (t *translator) bracket(b *strings.Builder) error {
	t.i++ // '['
	t.skipSpace()
	if t.peek() == '?' {
		t.i++
		b.WriteString("[?")
		return t.group(b, ']', "expected ']' after filter")
	}
	b.WriteByte('[')
	for n := 0; ; n++ {
		t.skipSpace()
		if n > 0 {
			b.WriteByte(',')
		}
		if err := t.bracketItem(b); err != nil {
			return err
		}
		t.skipSpace()
		switch t.peek() {
		case ',':
			t.i++
			continue
		case ']':
			t.i++
			b.WriteByte(']')
			return nil
		}
		if t.i >= len(t.s) {
			return t.errf("unexpected end of expression (expected ']')")
		}
		return t.errf("expected ',' or ']' in brackets")
	}
}

func (t *translator) bracketItem(b *strings.Builder) error {
	switch c := t.peek(); {
	case c == '*':
		t.i++
		b.WriteByte('*')
		return nil
	case c == '\'' || c == '"':
		name, err := t.quoted()
		if err != nil {
			return err
		}
		b.WriteString(quoteName(name))
		return nil
	case c == '-' || isDigit(c) || c == ':':
		// An index or a slice start:end[:step], each part optional.
		for part := 0; part < 3; part++ {
			t.skipSpace()
			if c := t.peek(); c == '-' || isDigit(c) {
				num, ok := t.integer()
				if !ok {
					return t.errf("invalid index (no leading zeros, no -0)")
				}
				b.WriteString(num)
			}
			t.skipSpace()
			if t.peek() != ':' || part == 2 {
				break
			}
			t.i++
			b.WriteByte(':')
		}
		return nil
	}
	name := t.ident()
	if name == "" {
		return t.errf("expected an index, a slice, a name or '*' in brackets")
	}
	b.WriteString(quoteName(name))
	return nil
}

func (t *translator) skipSpace() {
	for t.i < len(t.s) && (t.s[t.i] == ' ' || t.s[t.i] == '\t' || t.s[t.i] == '\n' || t.s[t.i] == '\r') {
		t.i++
	}
}

// orExpr translates a filter expression: and-expressions joined by "||".
func (t *translator) orExpr(b *strings.Builder) error {
	for {
		if err := t.andExpr(b); err != nil {
			return err
		}
		t.skipSpace()
		if !strings.HasPrefix(t.s[t.i:], "||") {
			return nil
		}
		t.i += 2
		b.WriteString(" || ")
	}
}

// andExpr translates unary expressions joined by "&&" or jsonpath-ng's "&".
func (t *translator) andExpr(b *strings.Builder) error {
	for {
		if err := t.unary(b); err != nil {
			return err
		}
		t.skipSpace()
		switch {
		case strings.HasPrefix(t.s[t.i:], "&&"):
			t.i += 2
		case t.peek() == '&':
			t.i++
		default:
			return nil
		}
		b.WriteString(" && ")
	}
}

func (t *translator) unary(b *strings.Builder) error {
	t.skipSpace()
	switch t.peek() {
	case '!':
		if strings.HasPrefix(t.s[t.i:], "!=") {
			break
		}
		t.i++
		b.WriteByte('!')
		return t.unary(b)
	case '(':
		t.i++
		b.WriteByte('(')
		return t.group(b, ')', "expected ')'")
	}
	return t.comparison(b)
}

// group translates a logical expression up to closer, which it writes too;
// the opening bracket is already written. msg is the error when closer is
// missing.
func (t *translator) group(b *strings.Builder, closer byte, msg string) error {
	if err := t.orExpr(b); err != nil {
		return err
	}
	t.skipSpace()
	if t.peek() != closer {
		return t.errf(msg)
	}
	t.i++
	b.WriteByte(closer)
	return nil
}

var compOps = []string{"=~", "==", "!=", "<=", ">=", "=", "<", ">"}

// comparison translates "operand [op operand]".
func (t *translator) comparison(b *strings.Builder) error {
	var left strings.Builder
	if err := t.operand(&left, false); err != nil {
		return err
	}
	t.skipSpace()
	op := ""
	for _, o := range compOps {
		if strings.HasPrefix(t.s[t.i:], o) {
			op = o
			break
		}
	}
	if op == "" {
		b.WriteString(left.String())
		return nil
	}
	t.i += len(op)
	t.skipSpace()
	var right strings.Builder
	if err := t.operand(&right, true); err != nil {
		return err
	}
	switch op {
	case "=~":
		b.WriteString("search(" + left.String() + ", " + right.String() + ")")
	case "=":
		b.WriteString(left.String() + " == " + right.String())
	default:
		b.WriteString(left.String() + " " + op + " " + right.String())
	}
	return nil
}

// operand translates a path (@..., $..., or a bare relative path), a
// literal, or a function call. A bare word on the right of a comparison is
// a string, as in jsonpath-ng.
func (t *translator) operand(b *strings.Builder, right bool) error {
	switch c := t.peek(); {
	case c == '@' || c == '$':
		t.i++
		b.WriteByte(c)
		return t.relPath(b)
	case c == '\'' || c == '"':
		s, err := t.quoted()
		if err != nil {
			return err
		}
		b.WriteString(quoteName(s))
		return nil
	case c == '-' || isDigit(c):
		num, ok := t.number()
		if !ok {
			return t.errf("invalid number")
		}
		b.WriteString(num)
		return nil
	}
	start := t.i
	word := t.ident()
	if word == "" {
		if t.i >= len(t.s) {
			return t.errf("unexpected end of expression in filter")
		}
		return t.errf("expected a path, a literal or a function call in filter")
	}
	switch {
	case word == "true" || word == "false" || word == "null":
		b.WriteString(word)
		return nil
	case t.peek() == '(':
		// An RFC 9535 function: copy the call, translating its arguments.
		t.i++
		b.WriteString(word + "(")
		for n := 0; ; n++ {
			t.skipSpace()
			if t.peek() == ')' && n == 0 {
				break
			}
			if n > 0 {
				b.WriteString(", ")
			}
			if err := t.orExpr(b); err != nil {
				return err
			}
			t.skipSpace()
			if t.peek() != ',' {
				break
			}
			t.i++
		}
		if t.peek() != ')' {
			return t.errf("expected ')' after function arguments")
		}
		t.i++
		b.WriteByte(')')
		return nil
	case right && (word == "True" || word == "False" || word == "None" || word == "Null"):
		// jsonpath-ng reads these as strings, which is rarely what a Python
		// user means: refuse rather than guess.
		t.i = start
		return t.errf("ambiguous bare word (write 'True' for a string, or true, false, null)")
	case right:
		b.WriteString(quoteName(word))
		return nil
	}
	// A bare path relative to the current node.
	t.i = start
	b.WriteByte('@')
	var seg strings.Builder
	if err := t.member(&seg); err != nil {
		return err
	}
	b.WriteString(seg.String())
	return t.relPath(b)
}

// relPath translates the segments after '@' or '$' inside a filter.
func (t *translator) relPath(b *strings.Builder) error {
	for t.peek() == '.' || t.peek() == '[' {
		if t.peek() == '[' {
			if err := t.bracket(b); err != nil {
				return err
			}
			continue
		}
		if err := t.segment(b, false); err != nil {
			return err
		}
	}
	return nil
}
