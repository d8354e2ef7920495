// Package jsontext validates JSON text and indexes it, in one pass, into a
// compact tape of nodes, so that callers can find, decode and replace values
// without decoding the whole document into Go values.
//
// A [Doc] holds the source bytes and one [node] per JSON value and per object
// key, in document order (a pre-order walk of the tree). Each node records
// its kind, its byte span in the source and the index of the first node after
// its subtree, which makes skipping a subtree O(1) and makes "node j is inside
// node i" a comparison of two integers.
//
// [Splice] then rewrites a document by replacing byte spans, copying every
// other byte unchanged: key order, number spelling, escapes and whitespace
// survive.
//
// Duplicate object keys are kept as they are in the tape: a lookup by name
// (see [Doc.KeyEquals]) sees every member with that name.
package jsontext

import (
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

// maxSize is the largest document Parse accepts: spans are stored as uint32.
const maxSize = 1<<32 - 1

const (
	flagKey     = 1 << iota // the node is an object key, not a value
	flagEscaped             // the string holds at least one backslash escape
)

// node is one entry of the tape: 16 bytes.
type node struct {
	kind  Kind
	flags uint8
	start uint32 // first byte of the value's text (the quote for strings)
	end   uint32 // one past the last byte
	next  uint32 // index of the first node after this subtree
}

// Doc is a validated JSON document and its index. It is immutable and safe
// for concurrent use. Node indices are ints in [0, d.Len()); the root value
// is node 0.
type Doc struct {
	src   []byte
	nodes []node
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

// Len returns the number of nodes (values and object keys).
func (d *Doc) Len() int { return len(d.nodes) }

// Kind returns the kind of node i.
func (d *Doc) Kind(i int) Kind { return d.nodes[i].kind }

// IsKey reports whether node i is an object key rather than a value.
func (d *Doc) IsKey(i int) bool { return d.nodes[i].flags&flagKey != 0 }

// Span returns the byte span [start, end) of node i's text in the source.
// For strings the span includes the quotes.
func (d *Doc) Span(i int) (start, end int) {
	n := &d.nodes[i]
	return int(n.start), int(n.end)
}

// Raw returns node i's JSON text. The caller must not modify it.
func (d *Doc) Raw(i int) []byte {
	n := &d.nodes[i]
	return d.src[n.start:n.end:n.end]
}

// Next returns the index of the first node after node i's subtree: the
// nodes of the subtree are i (inclusive) to Next(i) (exclusive).
func (d *Doc) Next(i int) int { return int(d.nodes[i].next) }

// Contains reports whether node inner is outer or inside outer's subtree.
func (d *Doc) Contains(outer, inner int) bool {
	return inner >= outer && inner < int(d.nodes[outer].next)
}

// Elements calls yield with each element of array node i, in order, until
// yield returns false. It does nothing if node i is not an array.
func (d *Doc) Elements(i int, yield func(elem int) bool) {
	if d.nodes[i].kind != Array {
		return
	}
	end := int(d.nodes[i].next)
	for j := i + 1; j < end; j = int(d.nodes[j].next) {
		if !yield(j) {
			return
		}
	}
}

// Members calls yield with the key node and the value node of each member of
// object node i, in document order (duplicates included), until yield
// returns false. It does nothing if node i is not an object.
func (d *Doc) Members(i int, yield func(key, value int) bool) {
	if d.nodes[i].kind != Object {
		return
	}
	end := int(d.nodes[i].next)
	for k := i + 1; k < end; {
		v := k + 1
		if !yield(k, v) {
			return
		}
		k = int(d.nodes[v].next)
	}
}

// Children calls yield with each child value of node i (array elements or
// object member values) until yield returns false.
func (d *Doc) Children(i int, yield func(child int) bool) {
	switch d.nodes[i].kind {
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

// KeyEquals reports whether string node k (typically a key) decodes to name.
// It does not allocate when the string holds no escape.
func (d *Doc) KeyEquals(k int, name string) bool {
	n := &d.nodes[k]
	body := d.src[n.start+1 : n.end-1]
	if n.flags&flagEscaped == 0 {
		return string(body) == name
	}
	var buf [64]byte
	return string(appendUnquoted(buf[:0], body)) == name
}

// Str returns the decoded value of string node i.
func (d *Doc) Str(i int) string {
	n := &d.nodes[i]
	body := d.src[n.start+1 : n.end-1]
	if n.flags&flagEscaped == 0 {
		return string(body)
	}
	return string(appendUnquoted(make([]byte, 0, len(body)), body))
}

// AppendStr appends the decoded value of string node i to dst.
func (d *Doc) AppendStr(dst []byte, i int) []byte {
	n := &d.nodes[i]
	body := d.src[n.start+1 : n.end-1]
	if n.flags&flagEscaped == 0 {
		return append(dst, body...)
	}
	return appendUnquoted(dst, body)
}

// Value decodes node i's subtree into Go values: map[string]any, []any,
// string, float64, bool and nil, like encoding/json without UseNumber. (The
// JSONPath filter functions compare numbers as float64 and nested values
// with reflect.DeepEqual, so float64 makes 1 and 1.0 equal, as RFC 9535
// requires.) A number out of float64 range becomes ±Inf. For duplicate keys
// the last member wins.
func (d *Doc) Value(i int) any {
	v, _ := d.value(i)
	return v
}

// value decodes node i and returns it with the index after its subtree.
func (d *Doc) value(i int) (any, int) {
	n := &d.nodes[i]
	switch n.kind {
	case Null:
		return nil, i + 1
	case False:
		return false, i + 1
	case True:
		return true, i + 1
	case Number:
		f, _ := strconv.ParseFloat(string(d.src[n.start:n.end]), 64)
		return f, i + 1
	case String:
		return d.Str(i), i + 1
	case Array:
		a := []any{}
		for j := i + 1; j < int(n.next); {
			var v any
			v, j = d.value(j)
			a = append(a, v)
		}
		return a, int(n.next)
	case Object:
		m := map[string]any{}
		for k := i + 1; k < int(n.next); {
			key := d.Str(k)
			var v any
			v, k = d.value(k + 1)
			m[key] = v
		}
		return m, int(n.next)
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
