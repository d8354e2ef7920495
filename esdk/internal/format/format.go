// Package format reads and writes the bytes of AWS Encryption SDK messages:
// algorithm suite identifiers, the encryption context, the v1 and v2 message
// headers, body frames and the footer. It does no cryptography; package esdk
// does, on top of it.
//
// Parsers never allocate from a length field before checking it against the
// input that remains, and they return sub-slices of their input (callers copy
// what they keep).
package format

import (
	"encoding/binary"
	"errors"
)

// ErrMalformed is returned for any input that does not follow the message
// format. It carries no detail on purpose: package esdk turns it into one
// opaque error.
var ErrMalformed = errors.New("format: malformed message")

// ErrTooManyEDKs is returned by [ParseHeader] as soon as the encrypted data
// key count exceeds the caller's limit, before any key entry is read.
var ErrTooManyEDKs = errors.New("format: too many encrypted data keys")

// Message format versions.
const (
	V1 byte = 0x01
	V2 byte = 0x02
)

// v1Type is the only v1 message type: customer authenticated encrypted data.
const v1Type = 0x80

// Content types.
const (
	NonFramed byte = 0x01
	Framed    byte = 0x02
)

// Sizes shared by every suite.
const (
	IVLen         = 12
	TagLen        = 16
	V1MessageIDLn = 16
	V2MessageIDLn = 32
	CommitKeyLen  = 32
	// MaxNonFramedLen is the largest non-framed content length (2^36 - 32,
	// the AES-GCM limit).
	MaxNonFramedLen = 1<<36 - 32
	// FinalFrameMarker starts a final frame.
	FinalFrameMarker = 0xFFFFFFFF
)

// KDF names the key derivation of a suite.
type KDF uint8

// Key derivations.
const (
	KDFIdentity KDF = iota + 1
	KDFHKDFSHA256
	KDFHKDFSHA384
	KDFHKDFSHA512Commit
)

// Sig names the signature algorithm of a suite.
type Sig uint8

// Signature algorithms.
const (
	SigNone Sig = iota
	SigP256
	SigP384
)

// SuiteInfo describes one algorithm suite.
type SuiteInfo struct {
	ID      uint16
	Version byte // message format version the suite is valid in
	KeyLen  int  // data key length = encryption key length
	KDF     KDF
	Sig     Sig
	Name    string
}

// Committing reports whether the suite commits to its key.
func (s SuiteInfo) Committing() bool { return s.KDF == KDFHKDFSHA512Commit }

// SuiteDataLen is the length of the header's algorithm suite data (v2 only).
func (s SuiteInfo) SuiteDataLen() int {
	if s.Committing() {
		return CommitKeyLen
	}
	return 0
}

var suites = [...]SuiteInfo{
	{0x0014, V1, 16, KDFIdentity, SigNone, "AES_128_GCM_IV12_TAG16_NO_KDF"},
	{0x0046, V1, 24, KDFIdentity, SigNone, "AES_192_GCM_IV12_TAG16_NO_KDF"},
	{0x0078, V1, 32, KDFIdentity, SigNone, "AES_256_GCM_IV12_TAG16_NO_KDF"},
	{0x0114, V1, 16, KDFHKDFSHA256, SigNone, "AES_128_GCM_IV12_TAG16_HKDF_SHA256"},
	{0x0146, V1, 24, KDFHKDFSHA256, SigNone, "AES_192_GCM_IV12_TAG16_HKDF_SHA256"},
	{0x0178, V1, 32, KDFHKDFSHA256, SigNone, "AES_256_GCM_IV12_TAG16_HKDF_SHA256"},
	{0x0214, V1, 16, KDFHKDFSHA256, SigP256, "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256"},
	{0x0346, V1, 24, KDFHKDFSHA384, SigP384, "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384"},
	{0x0378, V1, 32, KDFHKDFSHA384, SigP384, "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384"},
	{0x0478, V2, 32, KDFHKDFSHA512Commit, SigNone, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"},
	{0x0578, V2, 32, KDFHKDFSHA512Commit, SigP384, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"},
}

// LookupSuite returns the suite with the given ID.
func LookupSuite(id uint16) (SuiteInfo, bool) {
	for _, s := range suites {
		if s.ID == id {
			return s, true
		}
	}
	return SuiteInfo{}, false
}

// Suites returns every known suite, in ID order.
func Suites() []SuiteInfo { return append([]SuiteInfo(nil), suites[:]...) }

// reader consumes a byte slice front to back. Every read checks the length
// that remains first; after a failed read ok is false and every later read
// returns zero values, so callers check ok once per section.
type reader struct {
	b   []byte
	off int
	ok  bool
}

func newReader(b []byte) *reader { return &reader{b: b, ok: true} }

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) bytes(n int) []byte {
	if !r.ok || n < 0 || n > r.remaining() {
		r.ok = false
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8() byte {
	s := r.bytes(1)
	if s == nil {
		return 0
	}
	return s[0]
}

func (r *reader) u16() uint16 {
	s := r.bytes(2)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint16(s)
}

func (r *reader) u32() uint32 {
	s := r.bytes(4)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint32(s)
}

func (r *reader) u64() uint64 {
	s := r.bytes(8)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint64(s)
}

// u16Bytes reads a u16 length and that many bytes.
func (r *reader) u16Bytes() []byte {
	return r.bytes(int(r.u16()))
}
