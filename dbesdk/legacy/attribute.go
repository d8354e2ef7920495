package legacy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The DynamoDB Encryption Client serializes an attribute value as
//
//	0x00, tag, body
//
// with the tags and bodies
//
//	'b' B     uint32 length, bytes
//	's' S     uint32 length, UTF-8
//	'n' N     uint32 length, the normalized number text (see normalizeNumber)
//	'?' BOOL  one byte, 0x00 or 0x01
//	0x00 NULL nothing
//	'B' BS, 'S' SS, 'N' NS
//	          uint32 count, then each member as uint32 length and bytes,
//	          sorted by those bytes (numbers by their normalized text)
//	'L' L     uint32 count, then each element serialized
//	'M' M     uint32 count, then for each entry sorted by the UTF-8 bytes of
//	          its name: the name serialized as an S, the value serialized
//
// This is the plaintext of an encrypted attribute and what the signature
// covers (through its SHA-256).
const (
	tagB    = 'b'
	tagS    = 's'
	tagN    = 'n'
	tagBOOL = '?'
	tagNULL = 0x00
	tagBS   = 'B'
	tagSS   = 'S'
	tagNS   = 'N'
	tagL    = 'L'
	tagM    = 'M'
)

// maxDepth bounds the nesting of lists and maps, as DynamoDB does (32
// levels).
const maxDepth = 32

// DynamoDB's number limits: 38 significant digits, magnitudes from 1E-130
// to below 1E+126.
const (
	maxNumberDigits = 38
	minNumberExp    = -130 // smallest adjusted exponent (position of the first digit)
	maxNumberExp    = 125  // largest adjusted exponent
	maxNumberText   = 400  // longer number text is refused before parsing
)

var errNumber = errors.New("not a DynamoDB number")

// normalizeNumber returns the DynamoDB Encryption Client's form of a number:
// plain notation without exponent, without leading zeros in the integer part
// nor trailing zeros in the fraction, and "0" for any zero (the Java client's
// form; the Python client writes "-0" for a negative zero). The input may
// have a sign, a fraction and an exponent ("-1.50E+3"). It fails for text
// that is not a number DynamoDB stores.
func normalizeNumber(s string) (string, error) {
	n, ok := parseNumber(s)
	if !ok {
		return "", errNumber
	}
	return string(n.appendPlain(nil)), nil
}

// number is a parsed decimal: its sign, its significant digits without
// leading or trailing zeros (none for zero) and the exponent of the last
// one. To avoid allocating, the digits are kept as two substrings of the
// input, digits then frac, read as one digit string.
type number struct {
	neg          bool
	digits, frac string
	exp          int
}

// parseNumber parses s. To avoid allocating, the significant digits are
// kept as up to two substrings of s (before and after the decimal point).
func parseNumber(s string) (number, bool) {
	var n number
	if len(s) == 0 || len(s) > maxNumberText {
		return n, false
	}
	i := 0
	if s[0] == '-' || s[0] == '+' {
		n.neg = s[0] == '-'
		i++
	}
	intStart := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart := s[intStart:i]
	var fracPart string
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		fracPart = s[fracStart:i]
	}
	if intPart == "" && fracPart == "" {
		return n, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			expNeg = s[i] == '-'
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if exp > 1e6 {
				return n, false
			}
			exp = exp*10 + int(s[i]-'0')
			i++
		}
		if i == start {
			return n, false
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return n, false
	}
	exp -= len(fracPart)
	// Strip leading zeros across both parts, then trailing zeros.
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		fracPart = strings.TrimLeft(fracPart, "0")
	}
	if t := strings.TrimRight(fracPart, "0"); len(t) < len(fracPart) || fracPart == "" {
		exp += len(fracPart) - len(t)
		fracPart = t
		if fracPart == "" {
			t := strings.TrimRight(intPart, "0")
			exp += len(intPart) - len(t)
			intPart = t
		}
	}
	nd := len(intPart) + len(fracPart)
	if nd == 0 { // zero, whatever its sign and exponent
		return number{}, true
	}
	if nd > maxNumberDigits {
		return n, false
	}
	if adj := exp + nd - 1; adj < minNumberExp || adj > maxNumberExp {
		return n, false
	}
	n.digits, n.frac, n.exp = intPart, fracPart, exp
	return n, true
}

func (n number) appendPlain(b []byte) []byte {
	nd := len(n.digits) + len(n.frac)
	if nd == 0 {
		return append(b, '0')
	}
	if n.neg {
		b = append(b, '-')
	}
	appendDigits := func(b []byte, from, to int) []byte { // digits[from:to] of digits+frac
		for k := from; k < to; k++ {
			if k < len(n.digits) {
				b = append(b, n.digits[k])
			} else {
				b = append(b, n.frac[k-len(n.digits)])
			}
		}
		return b
	}
	switch {
	case n.exp >= 0:
		b = appendDigits(b, 0, nd)
		for range n.exp {
			b = append(b, '0')
		}
	case -n.exp < nd:
		point := nd + n.exp
		b = appendDigits(b, 0, point)
		b = append(b, '.')
		b = appendDigits(b, point, nd)
	default:
		b = append(b, '0', '.')
		for range -n.exp - nd {
			b = append(b, '0')
		}
		b = appendDigits(b, 0, nd)
	}
	return b
}

// attrError says what is wrong with a value, never the value.
type attrError struct{ what string }

func (e *attrError) Error() string { return e.what }

func errAttr(format string, args ...any) error { return &attrError{fmt.Sprintf(format, args...)} }

// appendAttribute appends the serialization of av to b.
func appendAttribute(b []byte, av types.AttributeValue) ([]byte, error) {
	return appendAttr(b, av, 0)
}

func appendAttr(b []byte, av types.AttributeValue, depth int) ([]byte, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberB:
		b = append(b, 0, tagB)
		return appendLV(b, v.Value), nil
	case *types.AttributeValueMemberS:
		if !utf8.ValidString(v.Value) {
			return b, errAttr("string is not valid UTF-8")
		}
		b = append(b, 0, tagS)
		return appendLVString(b, v.Value), nil
	case *types.AttributeValueMemberN:
		n, ok := parseNumber(v.Value)
		if !ok {
			return b, errAttr("number is not a DynamoDB number (at most 38 significant digits, magnitude 1E-130 to 1E+126)")
		}
		b = append(b, 0, tagN)
		return appendNumberLV(b, n), nil
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			return append(b, 0, tagBOOL, 1), nil
		}
		return append(b, 0, tagBOOL, 0), nil
	case *types.AttributeValueMemberNULL:
		if !v.Value {
			return b, errAttr("NULL value is false; DynamoDB only has NULL true")
		}
		return append(b, 0, tagNULL), nil
	case *types.AttributeValueMemberBS:
		members := slices.Clone(v.Value)
		slices.SortFunc(members, bytes.Compare)
		b = append(b, 0, tagBS)
		b = binary.BigEndian.AppendUint32(b, uint32(len(members)))
		for _, m := range members {
			b = appendLV(b, m)
		}
		return b, nil
	case *types.AttributeValueMemberSS:
		for _, m := range v.Value {
			if !utf8.ValidString(m) {
				return b, errAttr("string set member is not valid UTF-8")
			}
		}
		members := slices.Clone(v.Value)
		slices.Sort(members) // Go compares strings bytewise: UTF-8 byte order
		b = append(b, 0, tagSS)
		b = binary.BigEndian.AppendUint32(b, uint32(len(members)))
		for _, m := range members {
			b = appendLVString(b, m)
		}
		return b, nil
	case *types.AttributeValueMemberNS:
		members := make([][]byte, len(v.Value))
		for i, m := range v.Value {
			n, ok := parseNumber(m)
			if !ok {
				return b, errAttr("number set member is not a DynamoDB number")
			}
			members[i] = n.appendPlain(nil)
		}
		slices.SortFunc(members, bytes.Compare)
		b = append(b, 0, tagNS)
		b = binary.BigEndian.AppendUint32(b, uint32(len(members)))
		for _, m := range members {
			b = appendLV(b, m)
		}
		return b, nil
	case *types.AttributeValueMemberL:
		if depth >= maxDepth {
			return b, errAttr("lists and maps nest deeper than %d levels", maxDepth)
		}
		b = append(b, 0, tagL)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v.Value)))
		var err error
		for _, e := range v.Value {
			if b, err = appendAttr(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case *types.AttributeValueMemberM:
		if depth >= maxDepth {
			return b, errAttr("lists and maps nest deeper than %d levels", maxDepth)
		}
		b = append(b, 0, tagM)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v.Value)))
		var err error
		for _, k := range slices.Sorted(maps.Keys(v.Value)) {
			if !utf8.ValidString(k) {
				return b, errAttr("map key is not valid UTF-8")
			}
			b = append(b, 0, tagS)
			b = appendLVString(b, k)
			if b, err = appendAttr(b, v.Value[k], depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case nil:
		return b, errAttr("value is nil")
	default:
		return b, errAttr("value of type %T is not a DynamoDB attribute value", av)
	}
}

func appendLV(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func appendLVString(b []byte, v string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func appendNumberLV(b []byte, n number) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = n.appendPlain(b)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

var errMalformed = errors.New("malformed serialized attribute")

// parseAttribute reads one serialized attribute value that fills all of
// data. Every length and count is checked against the bytes left before
// anything is allocated, so the values it allocates are bounded by a small
// multiple of len(data).
func parseAttribute(data []byte) (types.AttributeValue, error) {
	d := decoder{b: data}
	av, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, errMalformed
	}
	return av, nil
}

type decoder struct{ b []byte }

func (d *decoder) uint32() (int, bool) {
	if len(d.b) < 4 {
		return 0, false
	}
	n := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	if uint64(n) > uint64(len(d.b)) { // no length or count exceeds the bytes left
		return 0, false
	}
	return int(n), true
}

// lv reads a length-prefixed byte string.
func (d *decoder) lv() ([]byte, bool) {
	n, ok := d.uint32()
	if !ok || n > len(d.b) {
		return nil, false
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v, true
}

// count reads a member count, refusing one that cannot fit in the bytes
// left when each member takes at least minSize bytes.
func (d *decoder) count(minSize int) (int, bool) {
	n, ok := d.uint32()
	if !ok || n > len(d.b)/minSize {
		return 0, false
	}
	return n, true
}

func (d *decoder) value(depth int) (types.AttributeValue, error) {
	if len(d.b) < 2 || d.b[0] != 0 {
		return nil, errMalformed
	}
	tag := d.b[1]
	d.b = d.b[2:]
	switch tag {
	case tagB:
		v, ok := d.lv()
		if !ok {
			return nil, errMalformed
		}
		return &types.AttributeValueMemberB{Value: bytes.Clone(v)}, nil
	case tagS:
		v, ok := d.lv()
		if !ok || !utf8.Valid(v) {
			return nil, errMalformed
		}
		return &types.AttributeValueMemberS{Value: string(v)}, nil
	case tagN:
		v, ok := d.lv()
		if !ok {
			return nil, errMalformed
		}
		n, ok := parseNumber(string(v))
		if !ok {
			return nil, errMalformed
		}
		return &types.AttributeValueMemberN{Value: string(n.appendPlain(nil))}, nil
	case tagBOOL:
		if len(d.b) < 1 || d.b[0] > 1 {
			return nil, errMalformed
		}
		v := d.b[0] == 1
		d.b = d.b[1:]
		return &types.AttributeValueMemberBOOL{Value: v}, nil
	case tagNULL:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case tagBS, tagSS, tagNS:
		n, ok := d.count(4)
		if !ok {
			return nil, errMalformed
		}
		switch tag {
		case tagBS:
			set := make([][]byte, n)
			for i := range set {
				v, ok := d.lv()
				if !ok {
					return nil, errMalformed
				}
				set[i] = bytes.Clone(v)
			}
			return &types.AttributeValueMemberBS{Value: set}, nil
		case tagSS:
			set := make([]string, n)
			for i := range set {
				v, ok := d.lv()
				if !ok || !utf8.Valid(v) {
					return nil, errMalformed
				}
				set[i] = string(v)
			}
			return &types.AttributeValueMemberSS{Value: set}, nil
		default:
			set := make([]string, n)
			for i := range set {
				v, ok := d.lv()
				if !ok {
					return nil, errMalformed
				}
				num, ok := parseNumber(string(v))
				if !ok {
					return nil, errMalformed
				}
				set[i] = string(num.appendPlain(nil))
			}
			return &types.AttributeValueMemberNS{Value: set}, nil
		}
	case tagL:
		if depth >= maxDepth {
			return nil, errMalformed
		}
		n, ok := d.count(2)
		if !ok {
			return nil, errMalformed
		}
		list := make([]types.AttributeValue, n)
		for i := range list {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			list[i] = v
		}
		return &types.AttributeValueMemberL{Value: list}, nil
	case tagM:
		if depth >= maxDepth {
			return nil, errMalformed
		}
		n, ok := d.count(8) // name (2 + 4 bytes) and value (at least 2)
		if !ok {
			return nil, errMalformed
		}
		m := make(map[string]types.AttributeValue, n)
		for range n {
			if len(d.b) < 2 || d.b[0] != 0 || d.b[1] != tagS {
				return nil, errMalformed
			}
			d.b = d.b[2:]
			k, ok := d.lv()
			if !ok || !utf8.Valid(k) {
				return nil, errMalformed
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if _, dup := m[string(k)]; dup {
				return nil, errMalformed
			}
			m[string(k)] = v
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, errMalformed
}
