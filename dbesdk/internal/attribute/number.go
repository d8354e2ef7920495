package attribute

import (
	"errors"
	"strings"
)

// Errors of NormalizeNumber. They never hold the number: a number can be
// the plaintext of an encrypted attribute.
var (
	ErrNumberSyntax    = errors.New("not a number in DynamoDB's syntax (digits, an optional sign, decimal point and exponent)")
	ErrNumberPrecision = errors.New("a number has more than 38 significant digits, which DynamoDB cannot store")
	ErrNumberRange     = errors.New("a number's magnitude is outside DynamoDB's range (1E-130 to 9.9999999999999999999999999999999999999E+125)")
)

// maxExponent bounds the exponents parsed: any larger one is out of range
// (or multiplies zero), and the bound keeps the arithmetic far from
// overflow.
const maxExponent = 1 << 30

// NormalizeNumber returns DynamoDB's normal form of the number n, as the
// DB-ESDK computes it before it signs, encrypts or binds a number: no
// exponent, no sign on zero, no leading zeros before the units digit and no
// trailing zeros after the decimal point ("1E+3" is "1000", "2.50" is
// "2.5", "-0" is "0", "1E-130" is written out in full). It fails for text
// that is not a number, for more than 38 significant digits, and for
// magnitudes outside DynamoDB's range.
//
// It follows the DB-ESDK's NormalizeNumber step by step
// (DynamoDbEncryption/dafny/DynamoDbEncryption/src/NormalizeNumber.dfy).
func NormalizeNumber(n string) (string, error) {
	if n == "" {
		return "", ErrNumberSyntax
	}
	neg := false
	switch n[0] {
	case '-':
		neg, n = true, n[1:]
	case '+':
		n = n[1:]
	}
	if n == "" {
		return "", ErrNumberSyntax
	}
	p, err := normalizePositive(n)
	if err != nil {
		return "", err
	}
	p = skipLeadingZeros(p)
	if strings.IndexByte(p, '.') >= 0 {
		p = skipTrailingZeros(p)
	}
	if neg && p != "0" {
		return "-" + p, nil
	}
	return p, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func countDigits(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// parseExponent parses an optionally signed decimal integer, saturating at
// ±maxExponent.
func parseExponent(s string) (int, error) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, ErrNumberSyntax
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, ErrNumberSyntax
		}
		if v < maxExponent {
			v = v*10 + int(s[i]-'0')
		}
	}
	v = min(v, maxExponent)
	if neg {
		v = -v
	}
	return v, nil
}

// parseNumber splits an unsigned number into its digits, the number of
// digits before the decimal point, and the exponent.
func parseNumber(n string) (digits string, pos, exp int, err error) {
	pre := countDigits(n)
	switch {
	case pre == len(n):
		return n, pre, 0, nil
	case n[pre] == '.':
		post := countDigits(n[pre+1:])
		if pre+post == 0 {
			return "", 0, 0, ErrNumberSyntax
		}
		end := pre + post + 1
		digits = n[:pre] + n[pre+1:end]
		if end == len(n) {
			return digits, pre, 0, nil
		}
		if n[end] != 'e' && n[end] != 'E' {
			return "", 0, 0, ErrNumberSyntax
		}
		exp, err = parseExponent(n[end+1:])
		return digits, pre, exp, err
	case pre == 0:
		return "", 0, 0, ErrNumberSyntax
	case n[pre] == 'e' || n[pre] == 'E':
		exp, err = parseExponent(n[pre+1:])
		return n[:pre], pre, exp, err
	}
	return "", 0, 0, ErrNumberSyntax
}

func normalizePositive(n string) (string, error) {
	value, pos, exp, err := parseNumber(n)
	if err != nil {
		return "", err
	}
	// NormalizeValue: drop leading zeros before the point and trailing
	// zeros after it.
	for value != "" {
		if value[0] == '0' && pos > 0 {
			value, pos = value[1:], pos-1
		} else if value[len(value)-1] == '0' && pos < len(value) {
			value = value[:len(value)-1]
		} else {
			break
		}
	}
	precision := strings.TrimRight(skipLeadingZeros(value), "0")
	if len(precision) > 38 {
		return "", ErrNumberPrecision
	}
	if precision == "" {
		return "0", nil
	}
	newPos := pos + exp
	zeros := len(value) - len(strings.TrimLeft(value, "0"))
	switch {
	case newPos <= 0:
		if newPos-zeros < -129 {
			return "", ErrNumberRange
		}
		return "0." + strings.Repeat("0", -newPos) + value, nil
	case newPos >= len(value):
		if newPos-zeros > 126 {
			return "", ErrNumberRange
		}
		return value + strings.Repeat("0", newPos-len(value)), nil
	}
	return value[:newPos] + "." + value[newPos:], nil
}

// skipLeadingZeros drops zeros at the start of s, keeping one before a
// decimal point or at the end.
func skipLeadingZeros(s string) string {
	for len(s) > 1 && s[0] == '0' && s[1] != '.' {
		s = s[1:]
	}
	return s
}

// skipTrailingZeros drops zeros at the end of s, and the decimal point if
// no digit follows it.
func skipTrailingZeros(s string) string {
	for len(s) > 1 && s[len(s)-1] == '0' {
		if s[len(s)-2] == '.' {
			return s[:len(s)-2]
		}
		s = s[:len(s)-1]
	}
	return s
}
