package datamask

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/datamask/datamask/internal/jsontext"
)

// defaultMask is what erased values become unless a mask option says
// otherwise: Powertools' DATA_MASKING_STRING.
const defaultMask = "*****"

var quotedDefaultMask = jsontext.AppendQuote(nil, defaultMask)

type maskKind uint8

const (
	maskDefault maskKind = iota + 1
	maskCustom
	maskDynamic
	maskRegex
)

// masker erases one leaf value. It is compiled once from a MaskRule and
// shared (immutable) between calls.
type masker struct {
	kind   maskKind
	custom []byte // maskCustom: the mask as a JSON string
	re     *regexp.Regexp
	tmpl   []tmplPart
}

// tmplPart is a piece of a regex mask format: literal text, or a reference
// to a capture group of the pattern (group >= 0).
type tmplPart struct {
	lit   string
	group int
}

var defaultMasker = &masker{kind: maskDefault}

// compileMasker validates r and compiles it. where names the rule in error
// messages: an option name or a quoted expression.
func compileMasker(r MaskRule, where string) (*masker, error) {
	ways := 0
	if r.CustomMask != "" {
		ways++
	}
	if r.DynamicMask {
		ways++
	}
	if r.RegexPattern != "" || r.MaskFormat != "" {
		ways++
	}
	switch {
	case ways > 1:
		return nil, fmt.Errorf("datamask: erase: %s sets more than one way of masking (custom_mask, dynamic_mask, regex_pattern with mask_format): keep one", where)
	case r.CustomMask != "":
		return &masker{kind: maskCustom, custom: jsontext.AppendQuote(nil, r.CustomMask)}, nil
	case r.DynamicMask:
		return &masker{kind: maskDynamic}, nil
	case r.RegexPattern == "" && r.MaskFormat != "":
		return nil, fmt.Errorf("datamask: erase: %s has mask_format but no regex_pattern: set both", where)
	case r.RegexPattern != "" && r.MaskFormat == "":
		return nil, fmt.Errorf("datamask: erase: %s has regex_pattern but no mask_format: set both (the format replaces each match)", where)
	case r.RegexPattern != "":
		re, err := regexp.Compile(r.RegexPattern)
		if err != nil {
			// The *syntax.Error stays reachable (the CLI maps it to a usage
			// error); its text quotes the pattern, which is configuration,
			// not payload.
			return nil, fmt.Errorf("datamask: erase: %s: regex_pattern is not valid RE2 syntax: %w", where, err)
		}
		tmpl, err := parseFormat(r.MaskFormat, re)
		if err != nil {
			return nil, fmt.Errorf("datamask: erase: %s: %v", where, err)
		}
		return &masker{kind: maskRegex, re: re, tmpl: tmpl}, nil
	}
	return defaultMasker, nil
}

// parseFormat compiles a regex mask format. It accepts Go's template syntax
// ($1, ${1}, $name, ${name}, $$ for a literal '$') and Python's re.sub
// syntax (\1 to \99, \g<1>, \g<name>, \\, \n and the other one-letter
// escapes). A '$' that does not name a group of the pattern stays a
// literal '$' ("US$ 10", "$x" without a group x); a Python reference to a
// group the pattern lacks is an error, as in Python.
func parseFormat(f string, re *regexp.Regexp) ([]tmplPart, error) {
	var parts []tmplPart
	var lit strings.Builder
	ref := func(g int) {
		if lit.Len() > 0 {
			parts = append(parts, tmplPart{lit: lit.String(), group: -1})
			lit.Reset()
		}
		parts = append(parts, tmplPart{group: g})
	}
	group := func(name string) int {
		if n, err := strconv.Atoi(name); err == nil && isDigits(name) {
			if n <= re.NumSubexp() {
				return n
			}
			return -1
		}
		if name == "" {
			return -1
		}
		return re.SubexpIndex(name)
	}
	for i := 0; i < len(f); {
		c := f[i]
		switch c {
		case '$':
			if strings.HasPrefix(f[i:], "$$") {
				lit.WriteByte('$')
				i += 2
				continue
			}
			if strings.HasPrefix(f[i:], "${") {
				if end := strings.IndexByte(f[i:], '}'); end > 0 {
					if g := group(f[i+2 : i+end]); g >= 0 {
						ref(g)
						i += end + 1
						continue
					}
				}
				lit.WriteByte('$')
				i++
				continue
			}
			j := i + 1
			for j < len(f) && isNameByte(f[j]) {
				j++
			}
			if g := group(f[i+1 : j]); g >= 0 {
				ref(g)
				i = j
				continue
			}
			lit.WriteByte('$')
			i++
		case '\\':
			if i+1 >= len(f) {
				return nil, errors.New("mask_format ends with a lone backslash (write \\\\ for a backslash)")
			}
			n := f[i+1]
			switch {
			case n == 'g':
				end := strings.IndexByte(f[i:], '>')
				if i+2 >= len(f) || f[i+2] != '<' || end < 0 {
					return nil, errors.New("mask_format has \\g without <group>")
				}
				name := f[i+3 : i+end]
				g := group(name)
				if g < 0 {
					return nil, fmt.Errorf("mask_format refers to group %q, which the pattern does not have", name)
				}
				ref(g)
				i += end + 1
			case n == '0' || n >= '1' && n <= '7' && i+3 < len(f) && isOctal(f[i+2]) && isOctal(f[i+3]):
				// Octal escape: \0, \0NN, or three octal digits.
				j := i + 1
				for j < len(f) && j < i+4 && isOctal(f[j]) {
					j++
				}
				v, _ := strconv.ParseUint(f[i+1:j], 8, 32)
				lit.WriteRune(rune(v))
				i = j
			case n >= '1' && n <= '9':
				j := i + 2
				if j < len(f) && f[j] >= '0' && f[j] <= '9' {
					j++
				}
				num := f[i+1 : j]
				g := group(num)
				if g < 0 {
					return nil, fmt.Errorf("mask_format refers to group %s, but the pattern has %d", num, re.NumSubexp())
				}
				ref(g)
				i = j
			case n == '\\':
				lit.WriteByte('\\')
				i += 2
			case strings.IndexByte("abfnrtv", n) >= 0:
				lit.WriteByte("\a\b\f\n\r\t\v"[strings.IndexByte("abfnrtv", n)])
				i += 2
			case n < utf8.RuneSelf && (n >= 'a' && n <= 'z' || n >= 'A' && n <= 'Z'):
				return nil, fmt.Errorf("mask_format has an unknown escape \\%c", n)
			default:
				// Python keeps other escapes as they are.
				lit.WriteByte('\\')
				i++
			}
		default:
			lit.WriteByte(c)
			i++
		}
	}
	if lit.Len() > 0 || len(parts) == 0 {
		parts = append(parts, tmplPart{lit: lit.String(), group: -1})
	}
	return parts, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// sink is where an erased document is written: a *bufio.Writer, whose
// error is sticky and read at Flush, or an *appendWriter.
type sink interface {
	Write(p []byte) (int, error)
	WriteByte(c byte) error
	WriteString(s string) (int, error)
}

// appendWriter is a sink appending to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

func (w *appendWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// write writes to w the JSON string that replaces a leaf whose JSON text
// is raw. Default, custom and dynamic masks stream: a value of any size is
// masked without a copy of it. scratch is reused for regular expressions,
// which work on the decoded text.
func (m *masker) write(w sink, raw []byte, scratch *[]byte) {
	switch m.kind {
	case maskCustom:
		_, _ = w.Write(m.custom)
	case maskDynamic:
		writeDynamic(w, raw, scratch)
	case maskRegex:
		text := raw
		if raw[0] == '"' {
			text = appendUnquotedBody((*scratch)[:0], raw[1:len(raw)-1])
			*scratch = text
		}
		_, _ = w.Write(jsontext.AppendQuote(nil, m.replace(text)))
	default:
		_, _ = w.Write(quotedDefaultMask)
	}
}

// keptByDynamic reports whether the dynamic mask keeps r as it is.
func keptByDynamic(r rune) bool { return r == '-' || r == '_' || r == '.' || r == ' ' }

// writeDynamic writes the dynamic mask of the leaf whose JSON text is raw:
// one '*' per character of its value (a string's decoded text, a number's
// or literal's JSON text), keeping '-', '_', '.' and spaces. It writes
// through buf (reused between calls), a chunk at a time.
func writeDynamic(w sink, raw []byte, buf *[]byte) {
	const chunk = 4096
	out := (*buf)[:0]
	out = append(out, '"')
	flush := func() {
		_, _ = w.Write(out)
		out = out[:0]
	}
	if raw[0] != '"' {
		for _, c := range raw { // a number or literal: ASCII
			if keptByDynamic(rune(c)) {
				out = append(out, c)
			} else {
				out = append(out, '*')
			}
		}
	} else {
		body := raw[1 : len(raw)-1]
		for i := 0; i < len(body); {
			c := body[i]
			r := rune(c)
			switch {
			case c == '\\':
				var size int
				r, size = unescape(body[i:])
				i += size
			case c < utf8.RuneSelf:
				i++
			default:
				_, size := utf8.DecodeRune(body[i:])
				r = utf8.RuneError // masked whatever it is
				i += size
			}
			if keptByDynamic(r) {
				out = append(out, byte(r))
			} else {
				out = append(out, '*')
			}
			if len(out) >= chunk {
				flush()
			}
		}
	}
	out = append(out, '"')
	flush()
	*buf = out
}

// unescape decodes the escape sequence at the start of s (a valid JSON
// string body) and returns its rune and length. A \u surrogate pair is one
// rune; a lone surrogate is U+FFFD, as encoding/json decodes it.
func unescape(s []byte) (rune, int) {
	switch s[1] {
	case 'u':
		r := rune(hex4(s[2:6]))
		if utf16.IsSurrogate(r) {
			if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
				if dec := utf16.DecodeRune(r, rune(hex4(s[8:12]))); dec != utf8.RuneError {
					return dec, 12
				}
			}
			return utf8.RuneError, 6
		}
		return r, 6
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	}
	return rune(s[1]), 2 // " \\ /
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

// appendUnquotedBody appends the decoded text of a valid JSON string body.
func appendUnquotedBody(dst, body []byte) []byte {
	for i := 0; i < len(body); {
		if body[i] != '\\' {
			j := i + 1
			for j < len(body) && body[j] != '\\' {
				j++
			}
			dst = append(dst, body[i:j]...)
			i = j
			continue
		}
		r, size := unescape(body[i:])
		dst = utf8.AppendRune(dst, r)
		i += size
	}
	return dst
}

// replace replaces every match of the pattern in s with the format.
func (m *masker) replace(s []byte) string {
	matches := m.re.FindAllSubmatchIndex(s, -1)
	if matches == nil {
		return string(s)
	}
	var b strings.Builder
	last := 0
	for _, loc := range matches {
		b.Write(s[last:loc[0]])
		for _, p := range m.tmpl {
			if p.group < 0 {
				b.WriteString(p.lit)
			} else if loc[2*p.group] >= 0 {
				b.Write(s[loc[2*p.group]:loc[2*p.group+1]])
			}
		}
		last = loc[1]
	}
	b.Write(s[last:])
	return b.String()
}
