package datamask

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
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
	custom string
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
		return &masker{kind: maskCustom, custom: r.CustomMask}, nil
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

// appendMasked appends to dst the JSON string that replaces a leaf whose
// text is s: the decoded value of a string, the JSON text of a number,
// boolean or null.
func (m *masker) appendMasked(dst, s []byte) []byte {
	switch m.kind {
	case maskCustom:
		return jsontext.AppendQuote(dst, m.custom)
	case maskDynamic:
		dst = append(dst, '"')
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRune(s[i:])
			i += size
			switch r {
			case '-', '_', '.', ' ':
				dst = append(dst, byte(r))
			default:
				dst = append(dst, '*')
			}
		}
		return append(dst, '"')
	case maskRegex:
		return jsontext.AppendQuote(dst, m.replace(s))
	}
	return append(dst, quotedDefaultMask...)
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
