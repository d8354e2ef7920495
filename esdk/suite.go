package esdk

import (
	"strconv"

	"github.com/datamask/datamask/esdk/internal/format"
)

// Suite is an algorithm suite: the cipher, key derivation, key commitment
// and signature that protect a message. Its value is the suite ID of the
// message format. The zero value is invalid.
//
// Only [AES256GCMHKDFSHA512CommitKeyECDSAP384] (the default) and
// [AES256GCMHKDFSHA512CommitKey] encrypt. The nine legacy suites, which do
// not commit to their key, are recognized when decrypting (and reported in
// [Header.Suite]) only when the client allows it; see
// [RequireEncryptAllowLegacyDecrypt].
type Suite uint16

const (
	// AES256GCMHKDFSHA512CommitKey is AES-256-GCM with a key derived by
	// HKDF-SHA512 and key commitment, without a signature (suite 0x0478).
	// Use it where every party that can encrypt is trusted, for example for
	// field-level encryption inside one service: it is much faster than the
	// signed suite.
	AES256GCMHKDFSHA512CommitKey Suite = 0x0478

	// AES256GCMHKDFSHA512CommitKeyECDSAP384 is AES-256-GCM with a key derived
	// by HKDF-SHA512, key commitment and an ECDSA P-384 signature (suite
	// 0x0578). It is the default, as in every current AWS Encryption SDK and
	// in Powertools: a reader can tell that the message was written by a
	// holder of the signing key, not merely by someone able to decrypt.
	AES256GCMHKDFSHA512CommitKeyECDSAP384 Suite = 0x0578
)

// info returns the suite's description, and false for an unknown ID.
func (s Suite) info() (format.SuiteInfo, bool) {
	return format.LookupSuite(uint16(s))
}

// String returns the suite's AWS Encryption SDK name, such as
// "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", or "Suite(0x1234)" for an
// unknown ID.
func (s Suite) String() string {
	if in, ok := s.info(); ok {
		return in.Name
	}
	return "Suite(0x" + hex4(uint16(s)) + ")"
}

func hex4(v uint16) string {
	h := strconv.FormatUint(uint64(v), 16)
	for len(h) < 4 {
		h = "0" + h
	}
	return h
}

// Known reports whether s is one of the eleven suites of the format.
func (s Suite) Known() bool {
	_, ok := s.info()
	return ok
}

// Committing reports whether s commits to its data key (0x0478 and 0x0578).
func (s Suite) Committing() bool {
	in, ok := s.info()
	return ok && in.Committing()
}

// Signing reports whether messages of suite s carry an ECDSA signature.
func (s Suite) Signing() bool {
	in, ok := s.info()
	return ok && in.Sig != format.SigNone
}

// DerivesKey reports whether s derives its encryption key from the data key
// with HKDF. Only the three oldest legacy suites (0x0014, 0x0046, 0x0078) use
// the data key directly; a data key cache must never hold their keys.
func (s Suite) DerivesKey() bool {
	in, ok := s.info()
	return ok && in.KDF != format.KDFIdentity
}

// DataKeyLen returns the length in bytes of s's data key (16, 24 or 32), or
// 0 for an unknown suite.
func (s Suite) DataKeyLen() int {
	in, _ := s.info()
	return in.KeyLen
}

// CommitmentPolicy says which suites a [Client] encrypts and decrypts with.
// The zero value is invalid; the default is [RequireEncryptRequireDecrypt].
type CommitmentPolicy int

const (
	// RequireEncryptRequireDecrypt encrypts and decrypts only with suites
	// that commit to their key. It is the default of every current AWS
	// Encryption SDK and of Powertools.
	RequireEncryptRequireDecrypt CommitmentPolicy = iota + 1

	// RequireEncryptAllowLegacyDecrypt (REQUIRE_ENCRYPT_ALLOW_DECRYPT in
	// the other SDKs) encrypts with committing suites but also decrypts
	// messages of the nine legacy suites, which do not commit to their key:
	// a sender who knows several data keys can build one such message that
	// decrypts to different plaintexts under different keys. Only use it to
	// read messages written before 2020 by SDKs older than 2.0, while you
	// migrate them; all other users should keep the default.
	RequireEncryptAllowLegacyDecrypt
)

// String returns the policy's AWS Encryption SDK name.
func (p CommitmentPolicy) String() string {
	switch p {
	case RequireEncryptRequireDecrypt:
		return "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"
	case RequireEncryptAllowLegacyDecrypt:
		return "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
	}
	return "CommitmentPolicy(" + strconv.Itoa(int(p)) + ")"
}

func (p CommitmentPolicy) valid() bool {
	return p == RequireEncryptRequireDecrypt || p == RequireEncryptAllowLegacyDecrypt
}

// allowsDecrypt reports whether p lets a message of suite s be decrypted.
func (p CommitmentPolicy) allowsDecrypt(s Suite) bool {
	if !s.Known() {
		return false
	}
	return s.Committing() || p == RequireEncryptAllowLegacyDecrypt
}

// allowsEncrypt reports whether p lets s encrypt: only committing suites, for
// every policy.
func (p CommitmentPolicy) allowsEncrypt(s Suite) bool {
	return p.valid() && s.Committing()
}
