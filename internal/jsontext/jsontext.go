// Package jsontext validates JSON text and indexes it, in one pass, into a
// compact tape, so that callers can find, decode and replace values without
// decoding the whole document into Go values.
//
// A [Doc] holds the source bytes and a tape of 32-bit slots with one node
// per JSON value and per object key, in document order (a pre-order walk of
// the tree). A scalar or a key takes one slot, its start offset; its kind is
// read from its first byte and its end found by scanning it when asked. An
// object or array takes three slots: its start, the index of the first node
// after its subtree, and its end. Skipping a subtree is O(1) and "node j is
// inside node i" is a comparison of two integers, and the tape costs about
// 4 bytes per value (a 228 MB document of a million small objects indexes
// in about 110 MB).
//
// Node indices are slot indices: every node has one, but not every index
// below [Doc.Len] is a node. Walk the nodes of a subtree with [Doc.Step],
// its children with [Doc.Elements], [Doc.Members] and [Doc.Children].
//
// [Splice] then rewrites a document by replacing byte spans, copying every
// other byte unchanged: key order, number spelling, escapes and whitespace
// survive.
//
// Duplicate object keys are kept as they are in the tape: a lookup by name
// (see [Doc.KeyEquals]) sees every member with that name.
package jsontext

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a node. The zero value is invalid.
type Kind uint8

// The kinds of JSON values.
const (
	Invalid Kind = iota
	Null
	False
	True
	Number
	String
	Object
	Array
)

var kindNames = [...]string{"invalid", "null", "false", "true", "number", "string", "object", "array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// IsContainer reports whether k is Object or Array.
func (k Kind) IsContainer() bool { return k == Object || k == Array }

// MaxDepth is the deepest nesting of objects and arrays that Parse accepts.
const MaxDepth = 10000

// maxSize is the largest document Parse accepts: start offsets are stored
// in 31 bits of a slot.
const maxSize = 1<<31 - 1

// keyFlag marks the slot of an object key; the other 31 bits of a node's
// first slot are its start offset.
const keyFlag = 1 << 31

// containerSlots is the number of slots of an object or array: start,
// next, end.
const containerSlots = 3

// kindOf gives the kind of a value from its first byte.
var kindOf = func() (t [256]Kind) {
	t['n'], t['f'], t['t'], t['"'], t['{'], t['['] = Null, False, True, String, Object, Array
	t['-'] = Number
	for c := '0'; c <= '9'; c++ {
		t[c] = Number
	}
	return t
}()

// Doc is a validated JSON document and its index. It is immutable and safe
// for concurrent use. The root value is node 0.
type Doc struct {
	src  []byte
	tape []uint32
}

// SyntaxError reports invalid JSON. Offset is the byte offset of the first
// byte that cannot be accepted (len(src) when the input ends too early). Msg
// says what was expected there; it never quotes the input.
type SyntaxError struct {
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "jsontext: invalid JSON at byte offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
}

// Source returns the document's bytes. The caller must not modify them.
func (d *Doc) Source() []byte { return d.src }

// Len returns the number of slots of the tape: node indices are below it.
func (d *Doc) Len() int { return len(d.tape) }

// start returns the start offset of node i.
func (d *Doc) start(i int) int { return int(d.tape[i] &^ keyFlag) }

// Kind returns the kind of node i.
func (d *Doc) Kind(i int) Kind { return kindOf[d.src[d.tape[i]&^keyFlag]] }

// IsKey reports whether node i is an object key rather than a value.
func (d *Doc) IsKey(i int) bool { return d.tape[i]&keyFlag != 0 }

// isContainer reports whether node i is an object or an array.
func (d *Doc) isContainer(i int) bool {
	c := d.src[d.tape[i]&^keyFlag]
	return c == '{' || c == '['
}

// Span returns the byte span [start, end) of node i's text in the source.
// For strings the span includes the quotes. It scans a string or number
// to find its end: O(its length).
func (d *Doc) Span(i int) (start, end int) {
	start = d.start(i)
	switch d.src[start] {
	case '{', '[':
		return start, int(d.tape[i+2])
	case '"':
		return start, strEnd(d.src, start)
	case 't', 'n':
		return start, start + 4
	case 'f':
		return start, start + 5
	}
	return start, numEnd(d.src, start)
}

// strEnd returns the offset after the closing quote of the valid string
// whose opening quote is at start.
func strEnd(src []byte, start int) int {
	j := start + 1
	for {
		q := j + bytes.IndexByte(src[j:], '"')
		b := q - 1
		for src[b] == '\\' {
			b--
		}
		if (q-1-b)%2 == 0 { // not escaped
			return q + 1
		}
		j = q + 1
	}
}

// numEnd returns the offset after the valid number starting at start.
func numEnd(src []byte, start int) int {
	j := start + 1
	for j < len(src) {
		switch c := src[j]; {
		case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
			j++
		default:
			return j
		}
	}
	return j
}

// Raw returns node i's JSON text. The caller must not modify it.
func (d *Doc) Raw(i int) []byte {
	s, e := d.Span(i)
	return d.src[s:e:e]
}

// Next returns the index of the first node after node i's subtree: the
// nodes of the subtree are i (inclusive) to Next(i) (exclusive).
func (d *Doc) Next(i int) int {
	if d.isContainer(i) {
		return int(d.tape[i+1])
	}
	return i + 1
}

// Step returns the index of the node after node i in document order: its
// first child (or key) if it is a non-empty object or array, else the
// first node after it. Starting at i and stepping while below Next(i)
// visits i and each node of its subtree once, keys included.
func (d *Doc) Step(i int) int {
	if d.isContainer(i) {
		return i + containerSlots
	}
	return i + 1
}

// Contains reports whether node inner is outer or inside outer's subtree.
func (d *Doc) Contains(outer, inner int) bool {
	return inner >= outer && inner < d.Next(outer)
}

// Elements calls yield with each element of array node i, in order, until
// yield returns false. It does nothing if node i is not an array.
func (d *Doc) Elements(i int, yield func(elem int) bool) {
	if d.Kind(i) != Array {
		return
	}
	end := int(d.tape[i+1])
	for j := i + containerSlots; j < end; j = d.Next(j) {
		if !yield(j) {
			return
		}
	}
}

// Members calls yield with the key node and the value node of each member of
// object node i, in document order (duplicates included), until yield
// returns false. It does nothing if node i is not an object.
func (d *Doc) Members(i int, yield func(key, value int) bool) {
	if d.Kind(i) != Object {
		return
	}
	end := int(d.tape[i+1])
	for k := i + containerSlots; k < end; {
		v := k + 1
		if !yield(k, v) {
			return
		}
		k = d.Next(v)
	}
}

// Children calls yield with each child value of node i (array elements or
// object member values) until yield returns false.
func (d *Doc) Children(i int, yield func(child int) bool) {
	switch d.Kind(i) {
	case Array:
		d.Elements(i, yield)
	case Object:
		d.Members(i, func(_, v int) bool { return yield(v) })
	}
}

// ArrayLen returns the number of elements of array node i (0 if node i is
// not an array). It walks the elements: O(length).
func (d *Doc) ArrayLen(i int) int {
	n := 0
	d.Elements(i, func(int) bool { n++; return true })
	return n
}

// body returns the text between the quotes of string node i and whether it
// holds a backslash escape.
func (d *Doc) body(i int) ([]byte, bool) {
	s, e := d.Span(i)
	b := d.src[s+1 : e-1]
	return b, bytes.IndexByte(b, '\\') >= 0
}

// KeyEquals reports whether string node k (typically a key) decodes to name.
// It does not allocate when the string holds no escape, and reads no more
// of the string than name's length and one byte when it holds none.
func (d *Doc) KeyEquals(k int, name string) bool {
	src := d.src
	s := d.start(k) + 1
	j := s
	for j < len(src) && j-s < len(name) && src[j] == name[j-s] && src[j] != '\\' {
		j++
	}
	switch {
	case j-s == len(name) && src[j] == '"':
		return true // the bytes of name, then the closing quote
	case src[j] == '"':
		return false // the string ends without an escape
	}
	// Past the common prefix: with no escape before the end, the string
	// is not name.
	for j < len(src) && src[j] != '"' && src[j] != '\\' {
		j++
	}
	if src[j] == '"' {
		return false
	}
	body, _ := d.body(k)
	var buf [64]byte
	return string(appendUnquoted(buf[:0], body)) == name
}

// Str returns the decoded value of string node i.
func (d *Doc) Str(i int) string {
	body, escaped := d.body(i)
	if !escaped {
		return string(body)
	}
	return string(appendUnquoted(make([]byte, 0, len(body)), body))
}

// AppendStr appends the decoded value of string node i to dst.
func (d *Doc) AppendStr(dst []byte, i int) []byte {
	body, escaped := d.body(i)
	if !escaped {
		return append(dst, body...)
	}
	return appendUnquoted(dst, body)
}

// StrBody returns the text between the quotes of string node i, as it is
// in the source (escapes not decoded), and whether it holds an escape. The
// caller must not modify it.
func (d *Doc) StrBody(i int) (body []byte, escaped bool) { return d.body(i) }

// Value decodes node i's subtree into Go values: map[string]any, []any,
// string, float64, bool and nil, like encoding/json without UseNumber. (The
// JSONPath filter functions compare numbers as float64 and nested values
// with reflect.DeepEqual, so float64 makes 1 and 1.0 equal, as RFC 9535
// requires.) A number out of float64 range becomes ±Inf. For duplicate keys
// the last member wins.
func (d *Doc) Value(i int) any {
	switch d.Kind(i) {
	case Null:
		return nil
	case False:
		return false
	case True:
		return true
	case Number:
		f, _ := strconv.ParseFloat(string(d.Raw(i)), 64)
		return f
	case String:
		return d.Str(i)
	case Array:
		a := []any{}
		d.Elements(i, func(e int) bool { a = append(a, d.Value(e)); return true })
		return a
	case Object:
		m := map[string]any{}
		d.Members(i, func(k, v int) bool { m[d.Str(k)] = d.Value(v); return true })
		return m
	}
	panic("jsontext: invalid node kind")
}

// appendUnquoted decodes the body of a valid JSON string (without quotes).
// Lone surrogates become U+FFFD, as in encoding/json.
func appendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		switch s[i+1] {
		case '"', '\\', '/':
			dst = append(dst, s[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(s[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 := rune(hex4(s[i+2 : i+6]))
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) int {
	v := 0
	for _, c := range b[:4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= int(c - '0')
		case c >= 'a' && c <= 'f':
			v |= int(c - 'a' + 10)
		default:
			v |= int(c - 'A' + 10)
		}
	}
	return v
}

// AppendQuote appends s as a JSON string: quotes, backslash and control
// characters are escaped; everything else, '<', '>', '&' and non-ASCII text
// included, is kept as it is (no HTML escaping). Invalid UTF-8 becomes
// U+FFFD so that the output is always valid JSON.
func AppendQuote(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				const hex = "0123456789abcdef"
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// IsNumber reports whether s is exactly one JSON number (RFC 8259: no
// leading zeros, no '+', no surrounding whitespace).
func IsNumber(s string) bool {
	if s == "" {
		return false
	}
	p := parser{src: []byte(s)}
	end, err := p.number(0)
	return err == nil && end == len(s)
}

// StrIsText reports whether string node i holds text: whether it decodes
// without an unpaired UTF-16 surrogate escape ("\ud800" alone), which
// [Doc.Str] can only replace with U+FFFD.
func (d *Doc) StrIsText(i int) bool {
	body, escaped := d.body(i)
	if !escaped {
		return true
	}
	for j := 0; j < len(body); j++ {
		if body[j] != '\\' {
			continue
		}
		if body[j+1] != 'u' {
			j++ // a two-byte escape
			continue
		}
		r := rune(hex4(body[j+2 : j+6]))
		j += 5
		if !utf16.IsSurrogate(r) {
			continue
		}
		if r >= 0xDC00 || j+6 >= len(body) || body[j+1] != '\\' || body[j+2] != 'u' {
			return false // a low surrogate first, or a high one alone
		}
		r2 := rune(hex4(body[j+3 : j+7]))
		if r2 < 0xDC00 || r2 > 0xDFFF {
			return false
		}
		j += 6
	}
	return true
}
