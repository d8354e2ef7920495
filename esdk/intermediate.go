package esdk

import (
	"crypto/hkdf"
	"crypto/sha512"
	"errors"
	"fmt"
	"slices"

	"github.com/datamask/datamask/esdk/internal/format"
)

// Intermediate key wrapping (material providers specification,
// algorithm-suites.md, "Intermediate Key Wrapping"), used by the DB-ESDK
// suites. For each encrypted data key the keyring wraps a fresh random
// intermediate key instead of the data key. From the intermediate key,
// HKDF-SHA512 (no salt) derives the symmetric signing key (info
// intermediateMACInfo) and a key encryption key (info intermediateEncInfo);
// the encrypted data key's ciphertext is the data key sealed with AES-GCM
// under the key encryption key (zero IV, the serialized encryption context
// as AAD: 32 + 16 bytes) followed by the keyring's own ciphertext of the
// intermediate key.
const (
	intermediateMACInfo = "AWS_MPL_INTERMEDIATE_KEYWRAP_MAC"
	intermediateEncInfo = "AWS_MPL_INTERMEDIATE_KEYWRAP_ENC"
)

// wrappedDataKeyLen is the length of the sealed data key that starts the
// ciphertext of an encrypted data key made by intermediate key wrapping.
func wrappedDataKeyLen(s Suite) int { return s.DataKeyLen() + format.TagLen }

// deriveIntermediate returns the symmetric signing key and the key
// encryption key derived from an intermediate key.
func deriveIntermediate(s Suite, intermediateKey []byte) (mac, kek []byte, err error) {
	prk, err := hkdf.Extract(sha512.New, intermediateKey, nil)
	if err != nil {
		return nil, nil, err
	}
	defer clear(prk)
	n := s.DataKeyLen()
	if mac, err = hkdf.Expand(sha512.New, prk, intermediateMACInfo, n); err != nil {
		return nil, nil, err
	}
	if kek, err = hkdf.Expand(sha512.New, prk, intermediateEncInfo, n); err != nil {
		clear(mac)
		return nil, nil, err
	}
	return mac, kek, nil
}

// AddEncryptedDataKey appends edk to m.EncryptedDataKeys. Keyrings call it
// with the encrypted data key they made.
//
// For suites without intermediate key wrapping, intermediateKey must be nil
// and edk.Ciphertext is the keyring's ciphertext of the data key.
//
// For suites with intermediate key wrapping (see
// [Suite.IntermediateKeyWrapping]), m must already hold its data key,
// intermediateKey is the fresh random key (of the suite's data key length)
// that the keyring wrapped into edk.Ciphertext, and AddEncryptedDataKey
// prefixes edk.Ciphertext with the data key sealed under a key derived from
// intermediateKey (without modifying the caller's slice) and records the
// symmetric signing key derived from it. The keyring should clear
// intermediateKey afterwards.
func (m *EncryptionMaterials) AddEncryptedDataKey(edk EncryptedDataKey, intermediateKey []byte) error {
	const fn = "esdk: EncryptionMaterials.AddEncryptedDataKey: "
	if !m.Suite.IntermediateKeyWrapping() {
		if intermediateKey != nil {
			return fmt.Errorf(fn+"suite %v does not use intermediate key wrapping: pass a nil intermediate key", m.Suite)
		}
		m.EncryptedDataKeys = append(m.EncryptedDataKeys, edk)
		return nil
	}
	dk := m.dataKey.bytes()
	switch {
	case dk == nil:
		return errors.New(fn + "the materials hold no data key yet: set or generate it first")
	case len(intermediateKey) != m.Suite.DataKeyLen():
		return fmt.Errorf(fn+"the intermediate key is %d bytes, suite %v needs %d", len(intermediateKey), m.Suite, m.Suite.DataKeyLen())
	case len(m.symmetricKeys) != len(m.EncryptedDataKeys):
		return errors.New(fn + "the materials hold encrypted data keys that were not added through intermediate key wrapping")
	case len(edk.Ciphertext)+wrappedDataKeyLen(m.Suite) > 0xFFFF:
		return errors.New(fn + "the keyring's ciphertext is too long for an encrypted data key")
	}
	aad, err := format.MarshalContext(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf(fn+"encryption context: %v", err)
	}
	mac, kek, err := deriveIntermediate(m.Suite, intermediateKey)
	if err != nil {
		return fmt.Errorf(fn+"%v", err)
	}
	defer clear(kek)
	aead, err := newGCM(kek)
	if err != nil {
		clear(mac)
		return fmt.Errorf(fn+"%v", err)
	}
	var zeroIV [format.IVLen]byte
	ct := make([]byte, 0, wrappedDataKeyLen(m.Suite)+len(edk.Ciphertext))
	ct = aead.Seal(ct, zeroIV[:], dk, aad)
	edk.Ciphertext = append(ct, edk.Ciphertext...)
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, edk)
	m.symmetricKeys = append(m.symmetricKeys, newSecret(mac))
	return nil
}

// KeyringCiphertext returns the part of an encrypted data key's ciphertext
// that the keyring itself made: all of it for suites without intermediate
// key wrapping, and what follows the sealed data key for suites with it (ok
// is false if ciphertext is too short to hold one). The result shares
// ciphertext's memory.
func (m *DecryptionMaterials) KeyringCiphertext(ciphertext []byte) (keyringPart []byte, ok bool) {
	if !m.Suite.IntermediateKeyWrapping() {
		return ciphertext, true
	}
	n := wrappedDataKeyLen(m.Suite)
	if len(ciphertext) < n {
		return nil, false
	}
	return ciphertext[n:], true
}

// SetIntermediateKey sets m's data key and symmetric signing key from an
// encrypted data key of a suite with intermediate key wrapping: ciphertext
// is the encrypted data key's whole ciphertext and intermediateKey what the
// keyring decrypted from its [DecryptionMaterials.KeyringCiphertext]. It
// fails, without changing m, if the suite does not use intermediate key
// wrapping, if a data key is already set, or if the sealed data key does not
// open under the intermediate key and m's encryption context (a wrong key,
// or an altered context or ciphertext); the error holds no key material.
func (m *DecryptionMaterials) SetIntermediateKey(ciphertext, intermediateKey []byte) error {
	const fn = "esdk: DecryptionMaterials.SetIntermediateKey: "
	switch {
	case !m.Suite.IntermediateKeyWrapping():
		return fmt.Errorf(fn+"suite %v does not use intermediate key wrapping: use SetDataKey", m.Suite)
	case m.dataKey != nil:
		return errors.New(fn + "the data key is already set")
	case len(intermediateKey) != m.Suite.DataKeyLen():
		return fmt.Errorf(fn+"the intermediate key is %d bytes, suite %v needs %d", len(intermediateKey), m.Suite, m.Suite.DataKeyLen())
	case len(ciphertext) < wrappedDataKeyLen(m.Suite):
		return errors.New(fn + "the encrypted data key is too short")
	}
	aad, err := format.MarshalContext(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf(fn+"encryption context: %v", err)
	}
	mac, kek, err := deriveIntermediate(m.Suite, intermediateKey)
	if err != nil {
		return fmt.Errorf(fn+"%v", err)
	}
	defer clear(kek)
	aead, err := newGCM(kek)
	if err != nil {
		clear(mac)
		return fmt.Errorf(fn+"%v", err)
	}
	var zeroIV [format.IVLen]byte
	dk, err := aead.Open(make([]byte, 0, m.Suite.DataKeyLen()), zeroIV[:], ciphertext[:wrappedDataKeyLen(m.Suite)], aad)
	if err != nil {
		clear(mac)
		return errors.New(fn + "the data key does not open under the intermediate key (wrong key, or the encryption context or ciphertext differs)")
	}
	m.dataKey = newSecret(dk)
	m.symmetricKey = newSecret(slices.Clip(mac))
	return nil
}
