package legacy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// Attributes are encrypted with AES in CBC mode with PKCS #5 padding
// ("AES/CBC/PKCS5Padding" in Java's terms) under the item's content key,
// each with its own random IV, stored as IV (16 bytes) followed by the
// ciphertext. CBC has no integrity of its own: the item's signature covers
// every ciphertext and is checked before anything is decrypted.

var errCipher = errors.New("attribute ciphertext does not decrypt")

// encryptCBC returns IV ‖ AES-CBC(key, IV, PKCS#5(plaintext)).
func encryptCBC(block cipher.Block, plaintext []byte) []byte {
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	out := make([]byte, aes.BlockSize+len(plaintext)+pad)
	iv := out[:aes.BlockSize]
	rand.Read(iv)
	body := out[aes.BlockSize:]
	copy(body, plaintext)
	for i := len(plaintext); i < len(body); i++ {
		body[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(body, body)
	return out
}

// decryptCBC reverses encryptCBC.
func decryptCBC(block cipher.Block, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < 2*aes.BlockSize || len(ciphertext)%aes.BlockSize != 0 {
		return nil, errCipher
	}
	iv, body := ciphertext[:aes.BlockSize], ciphertext[aes.BlockSize:]
	out := make([]byte, len(body))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, body)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, errCipher
	}
	good := 1
	for _, p := range out[len(out)-pad:] {
		good &= subtle.ConstantTimeByteEq(p, byte(pad))
	}
	if good != 1 {
		return nil, errCipher
	}
	return out[:len(out)-pad], nil
}

// AES key wrap (RFC 3394) with the default IV, which wraps the content keys
// of the wrapped materials provider ("AESWrap" in Java's terms).

var (
	keyWrapIV     = [8]byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}
	errUnwrap     = errors.New("content key does not unwrap")
	errWrapLength = errors.New("key to wrap is not a multiple of 8 bytes of at least 16")
)

func wrapKey(kek cipher.Block, key []byte) ([]byte, error) {
	if len(key) < 16 || len(key)%8 != 0 {
		return nil, errWrapLength
	}
	n := len(key) / 8
	out := make([]byte, 8+len(key))
	a := keyWrapIV
	copy(out[8:], key)
	var buf [16]byte
	for j := range 6 {
		for i := 1; i <= n; i++ {
			r := out[8*i : 8*i+8]
			copy(buf[:8], a[:])
			copy(buf[8:], r)
			kek.Encrypt(buf[:], buf[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(buf[:8])^t)
			copy(r, buf[8:])
		}
	}
	copy(out[:8], a[:])
	return out, nil
}

func unwrapKey(kek cipher.Block, wrapped []byte) ([]byte, error) {
	if len(wrapped) < 24 || len(wrapped)%8 != 0 {
		return nil, errUnwrap
	}
	n := len(wrapped)/8 - 1
	out := make([]byte, len(wrapped)-8)
	copy(out, wrapped[8:])
	var a [8]byte
	copy(a[:], wrapped[:8])
	var buf [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			r := out[8*(i-1) : 8*i]
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(a[:])^t)
			copy(buf[8:], r)
			kek.Decrypt(buf[:], buf[:])
			copy(a[:], buf[:8])
			copy(r, buf[8:])
		}
	}
	if subtle.ConstantTimeCompare(a[:], keyWrapIV[:]) != 1 {
		clear(out)
		return nil, errUnwrap
	}
	return out, nil
}
