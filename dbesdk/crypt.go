package dbesdk

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"

	"github.com/datamask/datamask/dbesdk/internal/structure"
)

// Key derivation of structured encryption (encrypt-path-structure.md,
// header.md): HKDF-SHA512 without salt over the data key, with info
// label || message ID, gives the 32-byte commit key and field root key.
const (
	commitKeyLabel = "AWS_DBE_COMMIT_KEY"
	deriveKeyLabel = "AWS_DBE_DERIVE_KEY"
	// fieldNonceLabel starts the AES-CTR counter block that derives each
	// field's key and nonce: label, 0x2c (44, the bytes taken), u32 offset.
	fieldNonceLabel = "AwsDbeField"
	fieldKeyLen     = 32
	fieldNonceLen   = 12
)

// itemKeys holds the keys of one item, derived from its data key and
// message ID.
type itemKeys struct {
	commit [32]byte
	root   cipher.Block // AES-256 under the field root key
}

// deriveItemKeys returns the commit key and field root key of an item.
// Both HKDF calls share one extract (same key, no salt), done on one reused
// SHA-512 digest.
func deriveItemKeys(dataKey, messageID []byte) (*itemKeys, error) {
	d := sha512.New()
	var zeroSalt [sha512.Size]byte
	var prk, sum [sha512.Size]byte
	hmacSHA512(d, prk[:0], zeroSalt[:], dataKey)
	var info [len(commitKeyLabel) + structure.MessageIDLen + 1]byte
	copy(info[:], commitKeyLabel)
	copy(info[len(commitKeyLabel):], messageID)
	info[len(info)-1] = 1
	k := &itemKeys{}
	hmacSHA512(d, sum[:0], prk[:], info[:])
	copy(k.commit[:], sum[:32])
	copy(info[:], deriveKeyLabel)
	hmacSHA512(d, sum[:0], prk[:], info[:])
	block, err := aes.NewCipher(sum[:32])
	clear(prk[:])
	clear(sum[:])
	if err != nil {
		return nil, err
	}
	k.root = block
	return k, nil
}

// hmacSHA512 appends HMAC-SHA512(key, msg) to out, using d (a SHA-512
// digest, reset here) for both passes. key is at most one block long.
func hmacSHA512(d hash.Hash, out, key, msg []byte) []byte {
	const block = sha512.BlockSize
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

// commitment returns the header commitment: HMAC-SHA512 of the partial
// header under the commit key, cut to 32 bytes (what every shipping DB-ESDK
// computes; the specification's text says HMAC-SHA384).
func (k *itemKeys) commitment(partial []byte) []byte {
	m := hmac.New(sha512.New, k.commit[:])
	m.Write(partial)
	return m.Sum(nil)[:structure.CommitmentLen]
}

// fieldAEAD returns AES-256-GCM under the key of the encrypted field at
// offset (its position among the item's encrypted fields in canonical
// order) and its nonce: the first 44 bytes of AES-256-CTR under the root
// key from the counter block fieldNonceLabel || 0x2c || u32(3 * offset).
func (k *itemKeys) fieldAEAD(offset int) (cipher.AEAD, []byte, error) {
	if offset >= 1<<32/3 {
		return nil, nil, errors.New("too many encrypted attributes")
	}
	var ctr [aes.BlockSize]byte
	copy(ctr[:], fieldNonceLabel)
	ctr[len(fieldNonceLabel)] = fieldKeyLen + fieldNonceLen
	var stream [3 * aes.BlockSize]byte
	for i := range 3 {
		binary.BigEndian.PutUint32(ctr[12:], uint32(3*offset+i))
		k.root.Encrypt(stream[i*aes.BlockSize:], ctr[:])
	}
	block, err := aes.NewCipher(stream[:fieldKeyLen])
	if err != nil {
		return nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	nonce := make([]byte, fieldNonceLen)
	copy(nonce, stream[fieldKeyLen:fieldKeyLen+fieldNonceLen])
	clear(stream[:])
	return aead, nonce, nil
}

// Canonical field markers of the canonical record (footer.md).
const (
	encryptedMarker = "ENCRYPTED"
	plaintextMarker = "PLAINTEXT"
)

// canonicalHash returns SHA-384 of the canonical record: the full header,
// u64 length and serialization of the encryption context, then each signed
// field in canonical path order (fields is sorted).
func canonicalHash(header, contextAAD []byte, table string, fields []field) []byte {
	d := sha512.New384()
	d.Write(header)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(contextAAD)))
	d.Write(n[:])
	d.Write(contextAAD)
	var path []byte
	for i := range fields {
		f := &fields[i]
		path = f.appendPath(path[:0], table)
		d.Write(path)
		if f.action == EncryptAndSign {
			// f.value is the stored form: type ID, then the ciphertext.
			binary.BigEndian.PutUint64(n[:], uint64(len(f.value)-2))
			d.Write(n[:])
			d.Write([]byte(encryptedMarker))
			d.Write(f.value)
			continue
		}
		binary.BigEndian.PutUint64(n[:], uint64(len(f.value)))
		d.Write(n[:])
		d.Write([]byte(plaintextMarker))
		var t [2]byte
		binary.BigEndian.PutUint16(t[:], uint16(f.typ))
		d.Write(t[:])
		d.Write(f.value)
	}
	return d.Sum(nil)
}

// recipientTag returns HMAC-SHA384 of the canonical hash under a symmetric
// signing key.
func recipientTag(key, hash []byte) []byte {
	m := hmac.New(sha512.New384, key)
	m.Write(hash)
	return m.Sum(nil)
}

// checkTags reports, in constant time per tag, whether any of tags is the
// recipient tag of key.
func checkTags(tags [][]byte, key, hash []byte) bool {
	want := recipientTag(key, hash)
	found := 0
	for _, t := range tags {
		found |= subtle.ConstantTimeCompare(t, want)
	}
	return found == 1
}

// sign returns the ECDSA P-384 signature of the canonical hash, as DER of
// exactly structure.SignatureLen bytes: the DB-ESDK signs SHA-384 of the
// 48-byte hash, and stores a fixed-length signature, signing again until
// the DER encoding has that length (about one signature in four is
// shorter).
func sign(priv *ecdsa.PrivateKey, hash []byte) ([]byte, error) {
	digest := sha512.Sum384(hash)
	for range 64 {
		sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
		if err != nil {
			return nil, err
		}
		if len(sig) == structure.SignatureLen {
			return sig, nil
		}
	}
	return nil, errors.New("no signature of the required length after 64 attempts")
}

// verify checks the footer's signature.
func verify(pub *ecdsa.PublicKey, hash, sig []byte) bool {
	digest := sha512.Sum384(hash)
	return ecdsa.VerifyASN1(pub, digest[:], sig)
}
