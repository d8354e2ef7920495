package jsontext

import (
	"bytes"
	"sync"
	"unicode/utf8"
)

// strSafe marks the ASCII bytes that may appear unescaped in a JSON string
// and need no further look: not a control character, not '"', not '\\'.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Parse validates src as one JSON value (RFC 8259, UTF-8, surrounding
// whitespace allowed) and indexes it. It returns a [*SyntaxError] for
// anything else, including empty input and nesting deeper than [MaxDepth].
// The returned Doc keeps a reference to src.
func Parse(src []byte) (*Doc, error) {
	if len(src) > maxSize {
		return nil, &SyntaxError{Offset: maxSize, Msg: "document larger than 2 GiB"}
	}
	p := parser{src: src}
	want := tapeEstimate(src)
	if bp, ok := tapePool.Get().(*[]uint32); ok && cap(*bp) >= want {
		p.tape = (*bp)[:0]
	} else {
		if ok {
			tapePool.Put(bp)
		}
		p.tape = make([]uint32, 0, want)
	}
	if err := p.parse(); err != nil {
		putTape(p.tape)
		return nil, err
	}
	return &Doc{src: src, tape: p.tape}, nil
}

// bigDoc is the size from which Parse counts what the tape needs before
// allocating it.
const bigDoc = 4 << 20

// tapeEstimate returns how many slots src needs, about. A large document
// is counted (a fraction of the parse's cost): each value but the first
// of a container follows a ',', each key precedes a ':', and a container
// takes three slots and holds a first value; the same bytes inside strings
// only make the count larger. The exact size keeps the tape from growing
// by copies, and the heap from counting a large unused capacity.
func tapeEstimate(src []byte) int {
	if len(src) < bigDoc {
		return len(src)/6 + 4 // typical JSON
	}
	containers := bytes.Count(src, []byte{'{'}) + bytes.Count(src, []byte{'['})
	return bytes.Count(src, []byte{','}) + bytes.Count(src, []byte{':'}) + 4*containers + 1
}

// tapePool recycles tapes between documents: most of the cost of indexing a
// large document is otherwise allocating and growing its tape.
var tapePool sync.Pool

// maxPooledTape bounds the tapes kept for reuse (16 MiB of slots).
const maxPooledTape = 4 << 20

func putTape(tape []uint32) {
	if cap(tape) <= maxPooledTape {
		tape = tape[:0]
		tapePool.Put(&tape)
	}
}

// Release hands d's index back for reuse by a later Parse. Only call it when
// nothing uses d any more: d must not be used after Release.
func (d *Doc) Release() {
	if d.tape != nil {
		putTape(d.tape)
		d.tape = nil
	}
}

type parser struct {
	src   []byte
	tape  []uint32
	stack []uint32 // open containers
}

func (p *parser) fail(off int, msg string) error {
	return &SyntaxError{Offset: int64(off), Msg: msg}
}

func (p *parser) skipWS(i int) int {
	src := p.src
	for i < len(src) {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (p *parser) parse() error {
	src := p.src
	i := p.skipWS(0)
	if i == len(src) {
		return p.fail(i, "input is empty (expected a JSON value)")
	}
	if hasLit(src[i:], "\xef\xbb\xbf") {
		return p.fail(i, "unexpected UTF-8 byte order mark (JSON text must not start with one)")
	}
	for {
		// A value is expected at i (after skipping whitespace).
		i = p.skipWS(i)
		if i >= len(src) {
			return p.fail(i, "unexpected end of input (expected a value)")
		}
		switch c := src[i]; c {
		case '{', '[':
			if len(p.stack) >= MaxDepth {
				return p.fail(i, "nesting too deep (more than 10000 levels of objects and arrays)")
			}
			isObj := c == '{'
			closer := byte('}')
			if !isObj {
				closer = ']'
			}
			idx := len(p.tape)
			p.tape = append(p.tape, uint32(i), 0, 0)
			p.stack = append(p.stack, uint32(idx))
			i = p.skipWS(i + 1)
			if i < len(src) && src[i] == closer {
				p.close(i)
				i++
				break
			}
			if isObj {
				var err error
				if i, err = p.key(i); err != nil {
					return err
				}
			}
			continue // a value follows
		case '"':
			end, err := p.str(i)
			if err != nil {
				return err
			}
			p.leaf(i, 0)
			i = end
		case 't':
			if !hasLit(src[i:], "true") {
				return p.fail(i, "invalid literal (expected true, false or null)")
			}
			p.leaf(i, 0)
			i += 4
		case 'f':
			if !hasLit(src[i:], "false") {
				return p.fail(i, "invalid literal (expected true, false or null)")
			}
			p.leaf(i, 0)
			i += 5
		case 'n':
			if !hasLit(src[i:], "null") {
				return p.fail(i, "invalid literal (expected true, false or null)")
			}
			p.leaf(i, 0)
			i += 4
		default:
			if c != '-' && (c < '0' || c > '9') {
				return p.fail(i, "expected a value (object, array, string, number, true, false or null)")
			}
			end, err := p.number(i)
			if err != nil {
				return err
			}
			p.leaf(i, 0)
			i = end
		}

		// After a value: close containers or find the next value.
	after:
		for {
			i = p.skipWS(i)
			if len(p.stack) == 0 {
				if i != len(src) {
					return p.fail(i, "unexpected data after the top-level value")
				}
				return nil
			}
			top := p.stack[len(p.stack)-1]
			isObj := src[p.tape[top]] == '{'
			if i >= len(src) {
				if isObj {
					return p.fail(i, "unexpected end of input (expected ',' or '}' in object)")
				}
				return p.fail(i, "unexpected end of input (expected ',' or ']' in array)")
			}
			switch c := src[i]; {
			case c == ',':
				i = p.skipWS(i + 1)
				if isObj {
					var err error
					if i, err = p.key(i); err != nil {
						return err
					}
				}
				break after
			case isObj && c == '}', !isObj && c == ']':
				p.close(i)
				i++
			case isObj:
				return p.fail(i, "expected ',' or '}' after object member")
			default:
				return p.fail(i, "expected ',' or ']' after array element")
			}
		}
	}
}

func hasLit(b []byte, lit string) bool {
	return len(b) >= len(lit) && string(b[:len(lit)]) == lit
}

// leaf adds a scalar or a key starting at start.
func (p *parser) leaf(start int, flag uint32) {
	p.tape = append(p.tape, uint32(start)|flag)
}

// close ends the innermost open container at the closing byte i.
func (p *parser) close(i int) {
	top := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	p.tape[top+1] = uint32(len(p.tape))
	p.tape[top+2] = uint32(i + 1)
}

// key parses an object key at i, then the ':' after it, and returns the
// offset after the colon.
func (p *parser) key(i int) (int, error) {
	src := p.src
	if i >= len(src) {
		return i, p.fail(i, "unexpected end of input (expected a string key in object)")
	}
	if src[i] != '"' {
		return i, p.fail(i, "expected a string key in object")
	}
	end, err := p.str(i)
	if err != nil {
		return i, err
	}
	p.leaf(i, keyFlag)
	i = p.skipWS(end)
	if i >= len(src) {
		return i, p.fail(i, "unexpected end of input (expected ':' after object key)")
	}
	if src[i] != ':' {
		return i, p.fail(i, "expected ':' after object key")
	}
	return i + 1, nil
}

// str validates the string starting with the quote at i and returns the
// offset after its closing quote.
func (p *parser) str(i int) (end int, err error) {
	src := p.src
	j := i + 1
	for {
		for j < len(src) && strSafe[src[j]] {
			j++
		}
		if j >= len(src) {
			return 0, p.fail(len(src), "unexpected end of input (unterminated string)")
		}
		c := src[j]
		switch {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			if j+1 >= len(src) {
				return 0, p.fail(len(src), "unexpected end of input (unterminated escape in string)")
			}
			switch src[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				for k := j + 2; k < j+6; k++ {
					if k >= len(src) {
						return 0, p.fail(len(src), "unexpected end of input (unterminated \\u escape in string)")
					}
					if !isHex(src[k]) {
						return 0, p.fail(k, "expected 4 hexadecimal digits after \\u in string")
					}
				}
				j += 6
			default:
				return 0, p.fail(j+1, "invalid escape in string (expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)")
			}
		case c < 0x20:
			return 0, p.fail(j, "control character in string (it must be escaped)")
		default:
			r, size := utf8.DecodeRune(src[j:])
			if r == utf8.RuneError && size <= 1 {
				return 0, p.fail(j, "invalid UTF-8 in string")
			}
			j += size
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number validates the number starting at i and returns the offset after it.
func (p *parser) number(i int) (int, error) {
	src := p.src
	j := i
	if src[j] == '-' {
		j++
	}
	if j >= len(src) || !isDigit(src[j]) {
		return 0, p.fail(j, "expected a digit in number")
	}
	if src[j] == '0' {
		j++
	} else {
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	if j < len(src) && src[j] == '.' {
		j++
		if j >= len(src) || !isDigit(src[j]) {
			return 0, p.fail(j, "expected a digit after the decimal point in number")
		}
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		j++
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j >= len(src) || !isDigit(src[j]) {
			return 0, p.fail(j, "expected a digit in the exponent of number")
		}
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	return j, nil
}
