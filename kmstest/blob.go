package kmstest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
)

// A ciphertext blob of this fake is
//
//	version (1 byte, blobVersion)
//	key id  (16 bytes, the key's UUID)
//	nonce   (12 bytes)
//	AES-256-GCM ciphertext and 16-byte tag
//
// sealed under the key's secret with version, key id and the canonical
// encoding of the encryption context as additional data. Blobs are opaque to
// clients, as real KMS blobs are: only the server that made one opens it.
const (
	blobVersion  = 1
	keyIDLen     = 16
	nonceLen     = 12
	tagLen       = 16
	blobHeadLen  = 1 + keyIDLen
	blobOverhead = blobHeadLen + nonceLen + tagLen
)

// errOpen is the one error for every blob that does not authenticate: a
// wrong version, an unknown key, a wrong encryption context and a tampered
// byte all look the same to the caller.
var errOpen = errors.New("kmstest: ciphertext does not authenticate")

// keyUUID is a key's identifier as raw bytes; its text form is the key id.
type keyUUID [keyIDLen]byte

// newKeyUUID returns a random version 4 UUID.
func newKeyUUID() keyUUID {
	var u keyUUID
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// String returns the canonical 8-4-4-4-12 text form.
func (u keyUUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// parseKeyUUID parses the canonical lower- or upper-case text form.
func parseKeyUUID(s string) (keyUUID, bool) {
	var u keyUUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	compact := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(compact)); err != nil {
		return u, false
	}
	return u, true
}

// newKeyAEAD returns AES-256-GCM under a fresh random secret. The secret
// lives only inside the returned AEAD.
func newKeyAEAD() cipher.AEAD {
	secret := make([]byte, 32)
	rand.Read(secret)
	block, err := aes.NewCipher(secret)
	if err != nil {
		panic("kmstest: " + err.Error()) // unreachable: the key is 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("kmstest: " + err.Error()) // unreachable: standard nonce and tag sizes
	}
	return aead
}

// seededKey returns key n of a server started WithInsecureKeySeed: its id
// and secret are HKDF-SHA256 of the seed, with the key's number as info.
func seededKey(seed []byte, n int) (keyUUID, cipher.AEAD) {
	out, err := hkdf.Key(sha256.New, seed, nil, "kmstest key "+strconv.Itoa(n), keyIDLen+32)
	if err != nil {
		panic("kmstest: " + err.Error()) // unreachable: the output is short
	}
	var u keyUUID
	copy(u[:], out)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	block, err := aes.NewCipher(out[keyIDLen:])
	if err != nil {
		panic("kmstest: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("kmstest: " + err.Error())
	}
	clear(out)
	return u, aead
}

// sealBlob encrypts plaintext for key id under aead, binding context.
func sealBlob(aead cipher.AEAD, id keyUUID, plaintext []byte, context map[string]string) []byte {
	blob := make([]byte, blobHeadLen+nonceLen, blobOverhead+len(plaintext))
	blob[0] = blobVersion
	copy(blob[1:blobHeadLen], id[:])
	nonce := blob[blobHeadLen : blobHeadLen+nonceLen]
	rand.Read(nonce)
	return aead.Seal(blob, nonce, plaintext, blobAAD(blob[:blobHeadLen], context))
}

// blobKeyID returns the key id a blob names, or false if blob is too short
// or of an unknown version to be one of ours.
func blobKeyID(blob []byte) (keyUUID, bool) {
	var id keyUUID
	if len(blob) < blobOverhead || blob[0] != blobVersion {
		return id, false
	}
	copy(id[:], blob[1:blobHeadLen])
	return id, true
}

// openBlob decrypts a blob whose key id names aead's key, checking context.
func openBlob(aead cipher.AEAD, blob []byte, context map[string]string) ([]byte, error) {
	if _, ok := blobKeyID(blob); !ok {
		return nil, errOpen
	}
	nonce := blob[blobHeadLen : blobHeadLen+nonceLen]
	plaintext, err := aead.Open(nil, nonce, blob[blobHeadLen+nonceLen:], blobAAD(blob[:blobHeadLen], context))
	if err != nil {
		return nil, errOpen
	}
	return plaintext, nil
}

// blobAAD returns head followed by the canonical encoding of context.
func blobAAD(head []byte, context map[string]string) []byte {
	return appendCanonicalContext(slices.Clone(head), context)
}

// appendCanonicalContext appends an injective encoding of context to b: the
// number of pairs, then each pair sorted by key as length-prefixed key and
// value. A nil and an empty context encode the same, as they mean the same
// to KMS. Length prefixes matter: without them {"ab": "c"} and {"a": "bc"}
// would be the same context.
func appendCanonicalContext(b []byte, context map[string]string) []byte {
	keys := make([]string, 0, len(context))
	for k := range context {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = binary.BigEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		v := context[k]
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}
