package format

import (
	"encoding/binary"
	"errors"
	"slices"
	"unicode/utf8"
)

// Pair is one encryption context entry.
type Pair struct {
	Key, Value string
}

// MaxContextLen is the largest serialized encryption context a header can
// hold (its length is a u16).
const MaxContextLen = 0xFFFF

// errContextTooLarge and friends describe why an encryption context cannot be
// serialized. They hold no key or value.
var (
	errContextTooLarge = errors.New("the serialized encryption context exceeds 65535 bytes")
	errContextInvalid  = errors.New("encryption context keys and values must be valid UTF-8")
)

// SortedPairs returns ec's entries sorted by the UTF-8 bytes of their keys
// (Go's string order), leaving out keys for which skip returns true (skip
// may be nil).
func SortedPairs(ec map[string]string, skip func(string) bool) []Pair {
	pairs := make([]Pair, 0, len(ec))
	for k, v := range ec {
		if skip != nil && skip(k) {
			continue
		}
		pairs = append(pairs, Pair{k, v})
	}
	slices.SortFunc(pairs, func(a, b Pair) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return pairs
}

// ContextLen returns the serialized length of pairs (0 for none), or an
// error if they cannot be serialized: a string that is not UTF-8, or a total
// above [MaxContextLen].
func ContextLen(pairs []Pair) (int, error) {
	if len(pairs) == 0 {
		return 0, nil
	}
	n := 2
	for _, p := range pairs {
		if !utf8.ValidString(p.Key) || !utf8.ValidString(p.Value) {
			return 0, errContextInvalid
		}
		n += 4 + len(p.Key) + len(p.Value)
		if n > MaxContextLen {
			return 0, errContextTooLarge
		}
	}
	return n, nil
}

// AppendContext appends the serialization of pairs, in the order given:
// nothing for no pairs, else a u16 count and each key and value with a u16
// length. The caller has checked the pairs with [ContextLen].
func AppendContext(b []byte, pairs []Pair) []byte {
	if len(pairs) == 0 {
		return b
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(pairs)))
	for _, p := range pairs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Key)))
		b = append(b, p.Key...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Value)))
		b = append(b, p.Value...)
	}
	return b
}

// MarshalContext returns the canonical serialization of ec (sorted keys).
func MarshalContext(ec map[string]string) ([]byte, error) {
	pairs := SortedPairs(ec, nil)
	n, err := ContextLen(pairs)
	if err != nil {
		return nil, err
	}
	return AppendContext(make([]byte, 0, n), pairs), nil
}

// ParseContext parses a serialized encryption context that fills b exactly.
// An empty b is the empty context. It keeps the wire order (which need not be
// sorted) and rejects a zero count, duplicate keys, strings that are not
// UTF-8 and bytes left over.
func ParseContext(b []byte) ([]Pair, error) {
	if len(b) == 0 {
		return nil, nil
	}
	r := newReader(b)
	count := int(r.u16())
	// Each entry takes at least 4 bytes: this bounds the allocation by the
	// input, whatever the count field says.
	if !r.ok || count == 0 || count > r.remaining()/4 {
		return nil, ErrMalformed
	}
	pairs := make([]Pair, 0, count)
	for range count {
		k := r.u16Bytes()
		v := r.u16Bytes()
		if !r.ok || !utf8.Valid(k) || !utf8.Valid(v) {
			return nil, ErrMalformed
		}
		pairs = append(pairs, Pair{string(k), string(v)})
	}
	if r.remaining() != 0 {
		return nil, ErrMalformed
	}
	if hasDuplicateKey(pairs) {
		return nil, ErrMalformed
	}
	return pairs, nil
}

func hasDuplicateKey(pairs []Pair) bool {
	if len(pairs) < 2 {
		return false
	}
	if len(pairs) <= 8 {
		for i := range pairs {
			for j := i + 1; j < len(pairs); j++ {
				if pairs[i].Key == pairs[j].Key {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, len(pairs))
	for _, p := range pairs {
		if _, dup := seen[p.Key]; dup {
			return true
		}
		seen[p.Key] = struct{}{}
	}
	return false
}
