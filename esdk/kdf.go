package esdk

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"

	"github.com/datamask/datamask/esdk/internal/format"
)

// HKDF info strings of the committing suites: u16(suite ID) || "DERIVEKEY"
// for the encryption key, "COMMITKEY" for the commit key.
const (
	commitKeyInfo = "COMMITKEY"
	deriveKeyInfo = "DERIVEKEY"
)

// deriveKeys returns the encryption key of suite for a data key and message
// ID and, for committing suites, the commit key.
func deriveKeys(s format.SuiteInfo, dataKey, messageID []byte) (encKey, commitKey []byte, err error) {
	switch s.KDF {
	case format.KDFIdentity:
		return dataKey, nil, nil
	case format.KDFHKDFSHA256, format.KDFHKDFSHA384:
		info := make([]byte, 0, 2+len(messageID))
		info = binary.BigEndian.AppendUint16(info, s.ID)
		info = append(info, messageID...)
		if s.KDF == format.KDFHKDFSHA256 {
			encKey, err = hkdf.Key(sha256.New, dataKey, nil, string(info), s.KeyLen)
		} else {
			encKey, err = hkdf.Key(sha512.New384, dataKey, nil, string(info), s.KeyLen)
		}
		return encKey, nil, err
	case format.KDFHKDFSHA512Commit:
		encKey, commitKey = deriveCommitting(s.ID, dataKey, messageID)
		return encKey, commitKey, nil
	}
	return nil, nil, errors.New("esdk: unknown key derivation")
}

// deriveCommitting is the key derivation of the committing suites, HKDF with
// SHA-512 (RFC 5869): PRK = HMAC(salt = message ID, data key); the
// encryption key is the first 32 bytes of HMAC(PRK, u16(suite ID) ||
// "DERIVEKEY" || 0x01) and the commit key those of HMAC(PRK, "COMMITKEY" ||
// 0x01). One 32-byte output block of HKDF-Expand is one HMAC.
//
// It computes HMAC-SHA512 directly on one reused digest, so a message costs
// one allocation here instead of some thirty through crypto/hkdf, whose
// result it equals (TestDeriveCommittingMatchesHKDF).
func deriveCommitting(suiteID uint16, dataKey, messageID []byte) (encKey, commitKey []byte) {
	d := sha512.New()
	var prk, sum [sha512.Size]byte
	hmacSHA512(d, prk[:0], messageID, dataKey)

	var info [2 + len(deriveKeyInfo) + 1]byte
	binary.BigEndian.PutUint16(info[:], suiteID)
	copy(info[2:], deriveKeyInfo)
	info[len(info)-1] = 1
	keys := make([]byte, 2*format.CommitKeyLen)
	hmacSHA512(d, sum[:0], prk[:], info[:])
	copy(keys, sum[:format.CommitKeyLen])

	var cinfo [len(commitKeyInfo) + 1]byte
	copy(cinfo[:], commitKeyInfo)
	cinfo[len(cinfo)-1] = 1
	hmacSHA512(d, sum[:0], prk[:], cinfo[:])
	copy(keys[format.CommitKeyLen:], sum[:format.CommitKeyLen])
	clear(prk[:])
	clear(sum[:])
	return keys[:format.CommitKeyLen:format.CommitKeyLen], keys[format.CommitKeyLen:]
}

// hmacSHA512 appends HMAC-SHA512(key, msg) to out, using d (a SHA-512
// digest, reset here) for both passes. key is at most one block (128 bytes)
// long, as every key here is.
func hmacSHA512(d hash.Hash, out, key, msg []byte) []byte {
	const block = sha512.BlockSize
	if len(key) > block {
		panic("esdk: HMAC key longer than a SHA-512 block")
	}
	var pad [block]byte
	copy(pad[:], key)
	for i := range pad {
		pad[i] ^= 0x36
	}
	d.Reset()
	d.Write(pad[:])
	d.Write(msg)
	var inner [sha512.Size]byte
	d.Sum(inner[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	d.Reset()
	d.Write(pad[:])
	d.Write(inner[:])
	clear(pad[:])
	return d.Sum(out)
}

// newGCM returns AES-GCM (12-byte IV, 16-byte tag) under key.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
