package hierarchy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// ProviderID is the provider ID of the encrypted data keys of hierarchical
// keyrings, in every AWS SDK; their provider info is the branch key id.
const ProviderID = "aws-kms-hierarchy"

// The keyring's ciphertext (aws-kms-hierarchical-keyring.md, "Ciphertext"):
//
//	salt     16 bytes, random: the KDF's context
//	IV       12 bytes, random: AES-GCM's nonce
//	version  16 bytes: the branch key version's UUID
//	wrapped  the key, encrypted with AES-256-GCM (as long as the key)
//	tag      16 bytes
//
// The wrapping key is derived from the branch key by NIST SP 800-108 KDF in
// counter mode with HMAC-SHA256 (label "aws-kms-hierarchy", context the
// salt), and the AES-GCM additional data is "aws-kms-hierarchy", the branch
// key id, the 16 version bytes and the serialized encryption context.
const (
	saltLen    = 16
	ivLen      = 12
	versionLen = 16
	tagLen     = 16
	// ciphertextOverhead is the length of a keyring ciphertext less its
	// wrapped key.
	ciphertextOverhead = saltLen + ivLen + versionLen + tagLen
)

// wrapped is a parsed keyring ciphertext. Its slices share the parsed
// bytes.
type wrapped struct {
	salt, iv []byte
	version  [versionLen]byte
	// sealed is the wrapped key followed by the tag.
	sealed []byte
}

// errCiphertext is the one error for a keyring ciphertext that cannot be
// parsed.
var errCiphertext = errors.New("hierarchy: the encrypted data key's ciphertext is not a hierarchical keyring ciphertext of the suite's key length")

// parseCiphertext parses a keyring ciphertext that wraps a keyLen-byte key.
// The length must be exact, as in the AWS keyring.
func parseCiphertext(b []byte, keyLen int) (wrapped, error) {
	if keyLen <= 0 || len(b) != ciphertextOverhead+keyLen {
		return wrapped{}, errCiphertext
	}
	var w wrapped
	w.salt = b[:saltLen]
	w.iv = b[saltLen : saltLen+ivLen]
	copy(w.version[:], b[saltLen+ivLen:saltLen+ivLen+versionLen])
	w.sealed = b[saltLen+ivLen+versionLen:]
	return w, nil
}

// marshal returns the ciphertext w was parsed from.
func (w wrapped) marshal() []byte {
	b := make([]byte, 0, saltLen+ivLen+versionLen+len(w.sealed))
	b = append(b, w.salt...)
	b = append(b, w.iv...)
	b = append(b, w.version[:]...)
	return append(b, w.sealed...)
}

// deriveWrappingKey is the KDF in counter mode of NIST SP 800-108 with
// HMAC-SHA256, as the material providers library's KdfCtr: one block,
// HMAC(branchKey, [1]₃₂ || "aws-kms-hierarchy" || 0x00 || salt || [256]₃₂).
// It computes the HMAC on the stack (the branch key is 32 bytes, less than
// a SHA-256 block), which TestDeriveWrappingKey checks against
// crypto/hmac; dst receives the 32-byte key.
func deriveWrappingKey(dst *[32]byte, branchKey, salt []byte) {
	const block = 64
	var pad [block]byte
	copy(pad[:], branchKey)
	for i := range pad {
		pad[i] ^= 0x36
	}
	var msg [block + 4 + len(ProviderID) + 1 + saltLen + 4]byte
	copy(msg[:], pad[:])
	n := block
	binary.BigEndian.PutUint32(msg[n:], 1)
	n += 4
	n += copy(msg[n:], ProviderID)
	msg[n] = 0
	n++
	n += copy(msg[n:], salt)
	binary.BigEndian.PutUint32(msg[n:], 8*32)
	inner := sha256.Sum256(msg[:])
	var outer [block + sha256.Size]byte
	for i := range pad {
		outer[i] = pad[i] ^ 0x36 ^ 0x5c
	}
	copy(outer[block:], inner[:])
	*dst = sha256.Sum256(outer[:])
	clear(pad[:])
	clear(msg[:block])
	clear(outer[:])
	clear(inner[:])
}

// wrappingAAD is the additional data of the AES-GCM wrap.
func wrappingAAD(branchKeyID string, version [versionLen]byte, serializedEC []byte) []byte {
	aad := make([]byte, 0, len(ProviderID)+len(branchKeyID)+versionLen+len(serializedEC))
	aad = append(aad, ProviderID...)
	aad = append(aad, branchKeyID...)
	aad = append(aad, version[:]...)
	return append(aad, serializedEC...)
}

func newAESGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("hierarchy: " + err.Error()) // unreachable: the key is 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("hierarchy: " + err.Error()) // unreachable: standard nonce and tag sizes
	}
	return aead
}

// wrapKey encrypts key under branch key bk (of branchKeyID, version) and
// the serialized encryption context, with a fresh salt and IV.
func wrapKey(bk []byte, branchKeyID string, version [versionLen]byte, serializedEC, key []byte) []byte {
	b := make([]byte, saltLen+ivLen, ciphertextOverhead+len(key))
	rand.Read(b[:saltLen+ivLen])
	b = append(b, version[:]...)
	var kek [32]byte
	deriveWrappingKey(&kek, bk, b[:saltLen])
	defer clear(kek[:])
	return newAESGCM(kek[:]).Seal(b, b[saltLen:saltLen+ivLen], key, wrappingAAD(branchKeyID, version, serializedEC))
}

// unwrapKey decrypts the key of w under branch key bk.
func unwrapKey(bk []byte, branchKeyID string, w wrapped, serializedEC []byte) ([]byte, error) {
	var kek [32]byte
	deriveWrappingKey(&kek, bk, w.salt)
	defer clear(kek[:])
	key, err := newAESGCM(kek[:]).Open(nil, w.iv, w.sealed, wrappingAAD(branchKeyID, w.version, serializedEC))
	if err != nil {
		return nil, errors.New("the data key does not open under the branch key (another key, or the encryption context or ciphertext differs)")
	}
	return key, nil
}
