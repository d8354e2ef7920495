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

// The two suites of the AWS Database Encryption SDK (DB-ESDK) item format,
// which package dbesdk writes and reads. They exist in the materials model
// only: materials managers and keyrings produce materials for them, but
// [Client.Encrypt] and [Client.Decrypt] refuse them, because no AWS
// Encryption SDK message uses them.
//
// Both derive keys with HKDF-SHA512, encrypt with AES-256-GCM and commit to
// their data key, like [AES256GCMHKDFSHA512CommitKey]. They add a symmetric
// signature: every encrypted data key is made through an intermediate key
// (see [Suite.IntermediateKeyWrapping]) from which an HMAC-SHA384 key is
// derived, so each reader can check that the item was written by someone
// able to wrap a data key for it.
const (
	// DBEAES256GCMCommitKeyHMACSHA384 is the DB-ESDK suite 0x6700
	// (ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384): symmetric
	// signatures only.
	DBEAES256GCMCommitKeyHMACSHA384 Suite = 0x6700

	// DBEAES256GCMCommitKeyECDSAP384HMACSHA384 is the DB-ESDK suite 0x6701
	// (ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384):
	// symmetric signatures and an ECDSA P-384 signature, whose verification
	// key is published under aws-crypto-public-key as for
	// [AES256GCMHKDFSHA512CommitKeyECDSAP384]. It is the DB-ESDK's default.
	DBEAES256GCMCommitKeyECDSAP384HMACSHA384 Suite = 0x6701
)

// dbeSuites describes the DB-ESDK suites in the terms of the message
// format's suites (Version 0: they have no message format).
var dbeSuites = [...]format.SuiteInfo{
	{ID: 0x6700, KeyLen: 32, KDF: format.KDFHKDFSHA512Commit, Sig: format.SigNone,
		Name: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384"},
	{ID: 0x6701, KeyLen: 32, KDF: format.KDFHKDFSHA512Commit, Sig: format.SigP384,
		Name: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384"},
}

// info returns the suite's description, and false for an unknown ID.
func (s Suite) info() (format.SuiteInfo, bool) {
	if in, ok := format.LookupSuite(uint16(s)); ok {
		return in, true
	}
	for _, in := range dbeSuites {
		if in.ID == uint16(s) {
			return in, true
		}
	}
	return format.SuiteInfo{}, false
}

// DBE reports whether s is one of the two suites of the DB-ESDK item format
// (0x6700 and 0x6701), which no AWS Encryption SDK message uses.
func (s Suite) DBE() bool {
	return s == DBEAES256GCMCommitKeyHMACSHA384 || s == DBEAES256GCMCommitKeyECDSAP384HMACSHA384
}

// IntermediateKeyWrapping reports whether keyrings wrap the data keys of s
// through an intermediate key (the DB-ESDK suites): for each encrypted data
// key the keyring wraps a fresh random intermediate key, and
// [EncryptionMaterials.AddEncryptedDataKey] prefixes the ciphertext with the
// data key encrypted under a key derived from it, and derives the
// symmetric signing key that goes with that encrypted data key.
func (s Suite) IntermediateKeyWrapping() bool { return s.DBE() }

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

// Known reports whether s is one of the eleven suites of the message format
// or one of the two DB-ESDK suites.
func (s Suite) Known() bool {
	_, ok := s.info()
	return ok
}

// Committing reports whether s commits to its data key (0x0478, 0x0578 and
// the DB-ESDK suites).
func (s Suite) Committing() bool {
	in, ok := s.info()
	return ok && in.Committing()
}

// Signing reports whether messages (or items) of suite s carry an ECDSA
// signature.
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
