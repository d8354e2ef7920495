package esdk

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"

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
		prk, err := hkdf.Extract(sha512.New, dataKey, messageID)
		if err != nil {
			return nil, nil, err
		}
		var id [2]byte
		binary.BigEndian.PutUint16(id[:], s.ID)
		if encKey, err = hkdf.Expand(sha512.New, prk, string(id[:])+deriveKeyInfo, s.KeyLen); err != nil {
			return nil, nil, err
		}
		if commitKey, err = hkdf.Expand(sha512.New, prk, commitKeyInfo, format.CommitKeyLen); err != nil {
			return nil, nil, err
		}
		return encKey, commitKey, nil
	}
	return nil, nil, errors.New("esdk: unknown key derivation")
}

// newGCM returns AES-GCM (12-byte IV, 16-byte tag) under key.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
