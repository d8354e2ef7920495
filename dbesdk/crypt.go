package dbesdk

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
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
// message ID, and the digests and scratch space of its HMACs: one
// allocation serves every hash of the item.
type itemKeys struct {
	commit [32]byte
	root   cipher.Block // AES-256 under the field root key
	d512   stateful     // SHA-512, for HKDF and the commitment
	d384   hash.Hash    // SHA-384, for the canonical hash and recipient tags
	pad    [sha512.BlockSize]byte
	inner  [sha512.Size]byte
	sum    [sha512.Size]byte
	n      [8]byte
	path   [128]byte
	// HMAC pad states of the PRK, shared by both HKDF-Expands.
	prkInner, prkOuter [maxStateLen]byte
}

// stateful is a hash whose state can be saved and restored without
// allocating, as crypto/sha512's digests can.
type stateful interface {
	hash.Hash
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// maxStateLen bounds a saved SHA-512 state (crypto/sha512 writes 204
// bytes).
const maxStateLen = 256

// zeroSaltStates holds the SHA-512 states after the HMAC inner and outer
// pads of the all-zero key, which is HKDF's salt when none is given.
var zeroSaltStates = func() (s [2][]byte) {
	d := sha512.New().(stateful)
	var pad [sha512.BlockSize]byte
	for i, v := range []byte{0x36, 0x5c} {
		for j := range pad {
			pad[j] = v
		}
		d.Reset()
		d.Write(pad[:])
		s[i], _ = d.AppendBinary(nil)
	}
	return s
}()

// deriveItemKeys returns the commit key and field root key of an item:
// HKDF-Extract of the data key without salt, then two HKDF-Expands (one
// output block each) with info label || message ID. The HMAC pad states of
// the zero salt are computed once per process and those of the PRK once
// for both expands, so the three HMACs cost 8 SHA-512 blocks, not 12.
func deriveItemKeys(dataKey, messageID []byte) (*itemKeys, error) {
	d, ok := sha512.New().(stateful)
	if !ok {
		return nil, errors.New("the SHA-512 state cannot be saved")
	}
	k := &itemKeys{d512: d, d384: sha512.New384()}
	var prk [sha512.Size]byte
	if err := k.hmacFrom(prk[:0], zeroSaltStates[0], zeroSaltStates[1], dataKey); err != nil {
		return nil, err
	}
	in, out, err := k.padStates(prk[:])
	clear(prk[:])
	if err != nil {
		return nil, err
	}
	var info [len(commitKeyLabel) + structure.MessageIDLen + 1]byte
	copy(info[:], commitKeyLabel)
	copy(info[len(commitKeyLabel):], messageID)
	info[len(info)-1] = 1
	if err := k.hmacFrom(k.sum[:0], in, out, info[:]); err != nil {
		return nil, err
	}
	copy(k.commit[:], k.sum[:32])
	copy(info[:], deriveKeyLabel)
	if err := k.hmacFrom(k.sum[:0], in, out, info[:]); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k.sum[:32])
	clear(k.sum[:])
	clear(k.prkInner[:])
	clear(k.prkOuter[:])
	if err != nil {
		return nil, err
	}
	k.root = block
	return k, nil
}

// padStates saves, in k, the SHA-512 states after the HMAC inner and outer
// pads of key.
func (k *itemKeys) padStates(key []byte) (in, out []byte, err error) {
	pad := k.pad[:]
	for i, v := range []byte{0x36, 0x5c} {
		clear(pad)
		copy(pad, key)
		for j := range pad {
			pad[j] ^= v
		}
		k.d512.Reset()
		k.d512.Write(pad)
		dst := k.prkInner[:0]
		if i == 1 {
			dst = k.prkOuter[:0]
		}
		st, err := k.d512.AppendBinary(dst)
		if err != nil {
			clear(pad)
			return nil, nil, err
		}
		if i == 0 {
			in = st
		} else {
			out = st
		}
	}
	clear(pad)
	return in, out, nil
}

// hmacFrom appends HMAC-SHA512 of msg to out, starting from the saved pad
// states of its key.
func (k *itemKeys) hmacFrom(out, innerState, outerState, msg []byte) error {
	if err := k.d512.UnmarshalBinary(innerState); err != nil {
		return err
	}
	k.d512.Write(msg)
	inner := k.d512.Sum(k.inner[:0])
	if err := k.d512.UnmarshalBinary(outerState); err != nil {
		return err
	}
	k.d512.Write(inner)
	k.d512.Sum(out)
	return nil
}

// hmac appends HMAC(key, msg) to out, using d (reset here) for both passes
// and k's scratch space. key is at most one block long.
func (k *itemKeys) hmac(d hash.Hash, out, key, msg []byte) []byte {
	pad := k.pad[:d.BlockSize()]
	clear(pad)
	copy(pad, key)
	for i := range pad {
		pad[i] ^= 0x36
	}
	d.Reset()
	d.Write(pad)
	d.Write(msg)
	inner := d.Sum(k.inner[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	d.Reset()
	d.Write(pad)
	d.Write(inner)
	clear(pad)
	return d.Sum(out)
}

// commitment returns the header commitment: HMAC-SHA512 of the partial
// header under the commit key, cut to 32 bytes (what every shipping DB-ESDK
// computes; the specification's text says HMAC-SHA384).
func (k *itemKeys) commitment(partial []byte) []byte {
	return k.hmac(k.d512, k.sum[:0], k.commit[:], partial)[:structure.CommitmentLen]
}

// fieldAEAD returns AES-256-GCM under the key of the encrypted field at
// offset (its position among the item's encrypted fields in canonical
// order) and its nonce: the first 44 bytes of AES-256-CTR under the root
// key from the counter block fieldNonceLabel || 0x2c || u32(3 * offset).
func (k *itemKeys) fieldAEAD(offset int, nonce *[fieldNonceLen]byte) (cipher.AEAD, error) {
	if offset >= 1<<32/3 {
		return nil, errors.New("too many encrypted attributes")
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
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	copy(nonce[:], stream[fieldKeyLen:fieldKeyLen+fieldNonceLen])
	clear(stream[:])
	return aead, nil
}

// Canonical field markers of the canonical record (footer.md).
var (
	encryptedMarker = []byte("ENCRYPTED")
	plaintextMarker = []byte("PLAINTEXT")
)

// canonicalHash returns SHA-384 of the canonical record: the full header,
// u64 length and serialization of the encryption context, then each signed
// field in canonical path order (fields is sorted).
func (k *itemKeys) canonicalHash(header, contextAAD []byte, table string, fields []field) []byte {
	d := k.d384
	d.Reset()
	d.Write(header)
	binary.BigEndian.PutUint64(k.n[:], uint64(len(contextAAD)))
	d.Write(k.n[:])
	d.Write(contextAAD)
	path := k.path[:0] // grown as needed
	for i := range fields {
		f := &fields[i]
		path = f.appendPath(path[:0], table)
		d.Write(path)
		if f.action == EncryptAndSign {
			// f.value is the stored form: type ID, then the ciphertext.
			binary.BigEndian.PutUint64(k.n[:], uint64(len(f.value)-2))
			d.Write(k.n[:])
			d.Write(encryptedMarker)
			d.Write(f.value)
			continue
		}
		binary.BigEndian.PutUint64(k.n[:], uint64(len(f.value)))
		d.Write(k.n[:])
		d.Write(plaintextMarker)
		binary.BigEndian.PutUint16(k.n[:], uint16(f.typ))
		d.Write(k.n[:2])
		d.Write(f.value)
	}
	return d.Sum(nil)
}

// recipientTag returns HMAC-SHA384 of the canonical hash under a symmetric
// signing key.
func (k *itemKeys) recipientTag(key, hash []byte) []byte {
	return k.hmac(k.d384, nil, key, hash)
}

// checkTags reports, in constant time per tag, whether any of tags is the
// recipient tag of key.
func (k *itemKeys) checkTags(tags [][]byte, key, hash []byte) bool {
	want := k.recipientTag(key, hash)
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
