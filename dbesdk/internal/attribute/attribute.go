// Package attribute serializes DynamoDB attribute values as the AWS
// Database Encryption SDK does (specification/dynamodb-encryption-client/
// ddb-attribute-serialization.md): a two-byte type ID and a value, with
// numbers normalized, set members and map keys in canonical order, and
// nested values prefixed by their type and length. The bytes are what the
// DB-ESDK encrypts and signs, so they must match its own byte for byte.
//
// Errors never hold a value: values may be plaintext.
package attribute

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TypeID is a terminal type ID of the DB-ESDK.
type TypeID uint16

// Type IDs of the DynamoDB attribute types.
const (
	Null      TypeID = 0x0000
	String    TypeID = 0x0001
	Number    TypeID = 0x0002
	Boolean   TypeID = 0x0004
	Binary    TypeID = 0xFFFF
	StringSet TypeID = 0x0101
	NumberSet TypeID = 0x0102
	BinarySet TypeID = 0x01FF
	Map       TypeID = 0x0200
	List      TypeID = 0x0300
)

// String returns the DynamoDB type name ("S", "N", ...), or the ID in hex.
func (t TypeID) String() string {
	switch t {
	case Null:
		return "NULL"
	case String:
		return "S"
	case Number:
		return "N"
	case Boolean:
		return "BOOL"
	case Binary:
		return "B"
	case StringSet:
		return "SS"
	case NumberSet:
		return "NS"
	case BinarySet:
		return "BS"
	case Map:
		return "M"
	case List:
		return "L"
	}
	return fmt.Sprintf("type %#04x", uint16(t))
}

// MaxDepth is the deepest nesting the DB-ESDK serializes: a top-level
// value is at depth 1.
const MaxDepth = 32

// Errors of Append and Parse; they name what is wrong, never a value.
var (
	ErrDepth     = errors.New("attribute values are nested more than 32 levels deep")
	ErrDuplicate = errors.New("a set has duplicate members (for a number set, after normalization)")
	ErrUTF8      = errors.New("a string is not valid UTF-8")
	ErrUnknown   = errors.New("an attribute value of an unknown type")
	ErrNil       = errors.New("a nil attribute value")
	ErrTooLarge  = errors.New("an attribute value is larger than 4 GiB")
	ErrMapKey    = errors.New("a map key is longer than 65535 bytes")
	ErrMalformed = errors.New("malformed serialized attribute value")
	errNullFalse = errors.New("a NULL attribute value must be true")
)

// TypeOf returns the type ID of av.
func TypeOf(av types.AttributeValue) (TypeID, error) {
	switch av.(type) {
	case *types.AttributeValueMemberNULL:
		return Null, nil
	case *types.AttributeValueMemberS:
		return String, nil
	case *types.AttributeValueMemberN:
		return Number, nil
	case *types.AttributeValueMemberB:
		return Binary, nil
	case *types.AttributeValueMemberBOOL:
		return Boolean, nil
	case *types.AttributeValueMemberSS:
		return StringSet, nil
	case *types.AttributeValueMemberNS:
		return NumberSet, nil
	case *types.AttributeValueMemberBS:
		return BinarySet, nil
	case *types.AttributeValueMemberM:
		return Map, nil
	case *types.AttributeValueMemberL:
		return List, nil
	case nil:
		return 0, ErrNil
	}
	return 0, ErrUnknown
}

// Append appends the top-level serialization of av (without type and
// length) to dst and returns it with av's type ID.
func Append(dst []byte, av types.AttributeValue) ([]byte, TypeID, error) {
	t, err := TypeOf(av)
	if err != nil {
		return dst, 0, err
	}
	dst, err = appendValue(dst, av, 1)
	return dst, t, err
}

// appendPrefixed appends type ID, u32 length and value.
func appendPrefixed(dst []byte, av types.AttributeValue, depth int) ([]byte, error) {
	t, err := TypeOf(av)
	if err != nil {
		return dst, err
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(t))
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err = appendValue(dst, av, depth)
	if err != nil {
		return dst, err
	}
	n := len(dst) - at - 4
	if uint64(n) > 0xFFFFFFFF {
		return dst, ErrTooLarge
	}
	binary.BigEndian.PutUint32(dst[at:], uint32(n))
	return dst, nil
}

func appendValue(dst []byte, av types.AttributeValue, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, ErrDepth
	}
	switch v := av.(type) {
	case *types.AttributeValueMemberNULL:
		if !v.Value {
			return dst, errNullFalse
		}
		return dst, nil
	case *types.AttributeValueMemberS:
		if !utf8.ValidString(v.Value) {
			return dst, ErrUTF8
		}
		return append(dst, v.Value...), nil
	case *types.AttributeValueMemberN:
		n, err := NormalizeNumber(v.Value)
		if err != nil {
			return dst, err
		}
		return append(dst, n...), nil
	case *types.AttributeValueMemberB:
		return append(dst, v.Value...), nil
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case *types.AttributeValueMemberSS:
		for _, s := range v.Value {
			if !utf8.ValidString(s) {
				return dst, ErrUTF8
			}
		}
		return appendStrings(dst, v.Value, LessUTF16)
	case *types.AttributeValueMemberNS:
		norm := make([]string, len(v.Value))
		for i, s := range v.Value {
			n, err := NormalizeNumber(s)
			if err != nil {
				return dst, err
			}
			norm[i] = n
		}
		return appendStrings(dst, norm, func(a, b string) bool { return a < b })
	case *types.AttributeValueMemberBS:
		members := slices.Clone(v.Value)
		slices.SortFunc(members, bytes.Compare)
		for i := 1; i < len(members); i++ {
			if bytes.Equal(members[i-1], members[i]) {
				return dst, ErrDuplicate
			}
		}
		dst = appendCount(dst, len(members))
		for _, m := range members {
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(m)))
			dst = append(dst, m...)
		}
		return dst, nil
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			// The DB-ESDK Go release writes empty keys (later releases
			// refuse them); DynamoDB limits names to 64 KB.
			if len(k) > 0xFFFF {
				return dst, ErrMapKey
			}
			if !utf8.ValidString(k) {
				return dst, ErrUTF8
			}
			keys = append(keys, k)
		}
		slices.SortFunc(keys, CompareUTF16)
		dst = appendCount(dst, len(keys))
		for _, k := range keys {
			dst = binary.BigEndian.AppendUint16(dst, uint16(String))
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(k)))
			dst = append(dst, k...)
			var err error
			if dst, err = appendPrefixed(dst, v.Value[k], depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case *types.AttributeValueMemberL:
		dst = appendCount(dst, len(v.Value))
		for _, e := range v.Value {
			var err error
			if dst, err = appendPrefixed(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case nil:
		return dst, ErrNil
	}
	return dst, ErrUnknown
}

func appendCount(dst []byte, n int) []byte { return binary.BigEndian.AppendUint32(dst, uint32(n)) }

// appendStrings appends a string or number set: count, then each member
// with a u32 length, sorted by less, refusing duplicates.
func appendStrings(dst []byte, members []string, less func(a, b string) bool) ([]byte, error) {
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b string) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1] == sorted[i] {
			return dst, ErrDuplicate
		}
	}
	dst = appendCount(dst, len(sorted))
	for _, s := range sorted {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	return dst, nil
}

// utf16Weight maps a code point to a value that orders like its first
// UTF-16 code unit, with code points above U+FFFF (surrogate pairs) between
// U+D7FF and U+E000 and ordered among themselves by code point, which is
// their order as pairs.
func utf16Weight(r rune) rune {
	switch {
	case r >= 0x10000:
		return 0xD800 + (r - 0x10000)
	case r >= 0xE000:
		return r + 0x100000
	}
	return r
}

// CompareUTF16 compares a and b in UTF-16 binary order (the DB-ESDK's
// string-ordering.md), which differs from Go's byte order for characters
// from U+E000 to U+FFFF against those above U+FFFF. Both must be valid
// UTF-8.
func CompareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			if utf16Weight(ra) < utf16Weight(rb) {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// LessUTF16 reports whether a sorts before b in UTF-16 binary order.
func LessUTF16(a, b string) bool { return CompareUTF16(a, b) < 0 }

// LenUTF16 returns the length of s in UTF-16 code units, which the
// DB-ESDK's canonical paths use as a name's length.
func LenUTF16(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
