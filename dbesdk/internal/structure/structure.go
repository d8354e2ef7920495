// Package structure reads and writes the bytes of the AWS Database
// Encryption SDK's structured encryption (specification/structured-
// encryption): the header (aws_dbe_head), the footer (aws_dbe_foot), the
// canonical paths of attributes and the serialized encryption context. It
// does no cryptography; package dbesdk does, on top of it.
//
// Parsers never allocate from a length field before checking it against
// the input that remains, return sub-slices of their input (callers copy
// what they keep), and fail with the one error ErrMalformed.
package structure

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"unicode/utf8"
)

// ErrMalformed is the one error for any header or footer that does not
// follow the format. It carries no detail on purpose.
var ErrMalformed = errors.New("structure: malformed header or footer")

// Sizes of the format.
const (
	MessageIDLen  = 32
	CommitmentLen = 32
	// RecipientTagLen is the length of one HMAC-SHA384 recipient tag.
	RecipientTagLen = 48
	// SignatureLen is the length of the footer's ECDSA P-384 signature: DER,
	// re-signed until it is exactly this long, as every DB-ESDK writes it.
	SignatureLen = 103
	// MaxEDKs is the most encrypted data keys a header can hold (a one-byte
	// count).
	MaxEDKs = 255
)

// Legend bytes: how each signed attribute was written.
const (
	LegendEncrypt = 'e' // ENCRYPT_AND_SIGN
	LegendSign    = 's' // SIGN_ONLY
	LegendContext = 'c' // SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT
)

// Pair is one encryption context entry.
type Pair struct{ Key, Value string }

// EDK is one encrypted data key.
type EDK struct {
	ProviderID   string
	ProviderInfo []byte
	Ciphertext   []byte
}

// Header is the partial header: every field but the commitment.
type Header struct {
	Version byte // 1, or 2 when any attribute is in the encryption context
	Flavor  byte // the low byte of the suite ID 0x67XX: 0 or 1
	// MessageID is MessageIDLen random bytes.
	MessageID []byte
	// Legend has one legend byte per signed attribute, in canonical path
	// order.
	Legend []byte
	// Context is the stored encryption context, sorted by key bytes.
	Context []Pair
	EDKs    []EDK
}

// AppendPartial appends the serialization of h without the commitment. It
// fails if a field does not fit its length field or if h holds no or too
// many encrypted data keys, context keys out of order, an invalid legend
// byte or invalid UTF-8 where the format requires text.
func (h *Header) AppendPartial(b []byte) ([]byte, error) {
	if h.Version != 1 && h.Version != 2 || h.Flavor > 1 || len(h.MessageID) != MessageIDLen ||
		len(h.Legend) > 0xFFFF || len(h.EDKs) == 0 || len(h.EDKs) > MaxEDKs {
		return b, ErrMalformed
	}
	for _, l := range h.Legend {
		if l != LegendEncrypt && l != LegendSign && l != LegendContext {
			return b, ErrMalformed
		}
	}
	b = append(b, h.Version, h.Flavor)
	b = append(b, h.MessageID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Legend)))
	b = append(b, h.Legend...)
	b, err := AppendContext(b, h.Context)
	if err != nil {
		return b, err
	}
	b = append(b, byte(len(h.EDKs)))
	for _, k := range h.EDKs {
		if !utf8.ValidString(k.ProviderID) || len(k.ProviderID) > 0xFFFF || len(k.ProviderInfo) > 0xFFFF || len(k.Ciphertext) > 0xFFFF {
			return b, ErrMalformed
		}
		b = appendField(b, []byte(k.ProviderID))
		b = appendField(b, k.ProviderInfo)
		b = appendField(b, k.Ciphertext)
	}
	return b, nil
}

func appendField(b, f []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
	return append(b, f...)
}

// AppendContext appends an encryption context as the DB-ESDK serializes
// it: a u16 pair count (also for an empty context) and the pairs, each
// string with a u16 length. pairs must be sorted by key bytes with no
// duplicate key (SortPairs does it), and valid UTF-8.
func AppendContext(b []byte, pairs []Pair) ([]byte, error) {
	if len(pairs) > 0xFFFE {
		return b, ErrMalformed
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(pairs)))
	for i, p := range pairs {
		if i > 0 && pairs[i-1].Key >= p.Key || len(p.Key) > 0xFFFF || len(p.Value) > 0xFFFF ||
			!utf8.ValidString(p.Key) || !utf8.ValidString(p.Value) {
			return b, ErrMalformed
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Key)))
		b = append(b, p.Key...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Value)))
		b = append(b, p.Value...)
	}
	return b, nil
}

// SortPairs returns ec's pairs sorted by key bytes, skipping keys for which
// skip (if not nil) is true.
func SortPairs(ec map[string]string, skip func(string) bool) []Pair {
	pairs := make([]Pair, 0, len(ec))
	for k, v := range ec {
		if skip == nil || !skip(k) {
			pairs = append(pairs, Pair{k, v})
		}
	}
	slices.SortFunc(pairs, func(a, b Pair) int { return compareStrings(a.Key, b.Key) })
	return pairs
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// reader consumes a byte slice front to back; after a failed read ok is
// false and every later read returns zero values.
type reader struct {
	b   []byte
	off int
	ok  bool
}

func (r *reader) bytes(n int) []byte {
	if !r.ok || n < 0 || n > len(r.b)-r.off {
		r.ok = false
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8() int {
	s := r.bytes(1)
	if s == nil {
		return 0
	}
	return int(s[0])
}

func (r *reader) u16() int {
	s := r.bytes(2)
	if s == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(s))
}

func (r *reader) field() []byte { return r.bytes(r.u16()) }

// ParseHeader parses a full header value: it returns the partial header,
// the length of its serialization (where the commitment starts) and the
// commitment. Versions other than 1 and 2, flavors other than 0 and 1,
// invalid legend bytes, context keys out of order or repeated, invalid
// UTF-8 in the context or a provider ID, no encrypted data key, and any
// byte before or after the 32-byte commitment are ErrMalformed.
func ParseHeader(b []byte) (h *Header, partialLen int, commitment []byte, err error) {
	r := &reader{b: b, ok: true}
	h = &Header{}
	h.Version = byte(r.u8())
	h.Flavor = byte(r.u8())
	h.MessageID = r.bytes(MessageIDLen)
	if !r.ok || h.Version != 1 && h.Version != 2 || h.Flavor > 1 {
		return nil, 0, nil, ErrMalformed
	}
	h.Legend = r.field()
	for _, l := range h.Legend {
		if l != LegendEncrypt && l != LegendSign && l != LegendContext {
			return nil, 0, nil, ErrMalformed
		}
	}
	n := r.u16()
	// A pair is at least two u16 lengths.
	if !r.ok || n > (len(b)-r.off)/4 {
		return nil, 0, nil, ErrMalformed
	}
	h.Context = make([]Pair, 0, n)
	for i := 0; i < n && r.ok; i++ {
		k, v := r.field(), r.field()
		if !utf8.Valid(k) || !utf8.Valid(v) || i > 0 && bytes.Compare([]byte(h.Context[i-1].Key), k) >= 0 {
			return nil, 0, nil, ErrMalformed
		}
		h.Context = append(h.Context, Pair{string(k), string(v)})
	}
	count := r.u8()
	// An encrypted data key is at least three u16 lengths.
	if !r.ok || count == 0 || count > (len(b)-r.off)/6 {
		return nil, 0, nil, ErrMalformed
	}
	h.EDKs = make([]EDK, 0, count)
	for i := 0; i < count && r.ok; i++ {
		id := r.field()
		info := r.field()
		ct := r.field()
		if !utf8.Valid(id) {
			return nil, 0, nil, ErrMalformed
		}
		h.EDKs = append(h.EDKs, EDK{ProviderID: string(id), ProviderInfo: info, Ciphertext: ct})
	}
	partialLen = r.off
	commitment = r.bytes(CommitmentLen)
	if !r.ok || r.off != len(b) {
		return nil, 0, nil, ErrMalformed
	}
	return h, partialLen, commitment, nil
}

// ParseFooter splits a footer value into one recipient tag per encrypted
// data key and, if signed, the signature. Any other length is ErrMalformed.
func ParseFooter(b []byte, edks int, signed bool) (tags [][]byte, sig []byte, err error) {
	want := edks * RecipientTagLen
	if signed {
		want += SignatureLen
	}
	if edks < 1 || edks > MaxEDKs || len(b) != want {
		return nil, nil, ErrMalformed
	}
	tags = make([][]byte, edks)
	for i := range tags {
		tags[i] = b[i*RecipientTagLen : (i+1)*RecipientTagLen : (i+1)*RecipientTagLen]
	}
	if signed {
		sig = b[edks*RecipientTagLen:]
	}
	return tags, sig, nil
}

// AppendCanonicalPath appends the canonical path of the top-level attribute
// name in the logical table: the table name, u64 depth 1, '$', the name's
// length in UTF-16 code units (u64, as the DB-ESDK counts it), the name.
func AppendCanonicalPath(b []byte, table, name string, nameUTF16Len int) []byte {
	b = append(b, table...)
	b = binary.BigEndian.AppendUint64(b, 1)
	b = append(b, '$')
	b = binary.BigEndian.AppendUint64(b, uint64(nameUTF16Len))
	return append(b, name...)
}
