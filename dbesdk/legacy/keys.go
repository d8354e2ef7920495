package legacy

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // MGF1 with SHA-1 for RSA OAEP
	"crypto/sha256"
	_ "crypto/sha512" // HmacSHA384 and HmacSHA512
	"errors"
	"fmt"
	"hash"
	"log/slog"
)

// Minimum key sizes this package accepts without an Insecure… constructor.
const (
	minHMACKeyLen = 16   // bytes
	minRSABits    = 2048 // bits
)

// SigningKey signs items on write and verifies them on read: an HMAC key
// (DDBEC's "HmacSHA256") or an RSA key pair ("SHA256withRSA", PKCS #1 v1.5
// signatures). Build one with [NewHMACSigningKey] or [NewRSASigningKey].
// Its String and other formats never show the key.
type SigningKey struct {
	alg  string // the JCE name written as amzn-ddb-map-signingAlg
	mac  []byte // HMAC key
	hash func() hash.Hash
	priv *rsa.PrivateKey // RSA: signs (nil: verify only)
	pub  *rsa.PublicKey  // RSA: verifies
}

// NewHMACSigningKey returns an HMAC-SHA256 signing key ("HmacSHA256"), the
// signing key of DDBEC's wrapped and static providers with symmetric keys.
// key must be at least 16 bytes; use [InsecureShortHMACSigningKey] only to
// read items signed with a shorter key. The key is copied.
func NewHMACSigningKey(key []byte) (*SigningKey, error) {
	if len(key) < minHMACKeyLen {
		return nil, fmt.Errorf("legacy: NewHMACSigningKey: the key is %d bytes; at least %d are needed "+
			"(InsecureShortHMACSigningKey reads items signed with a shorter key)", len(key), minHMACKeyLen)
	}
	return hmacKey("HmacSHA256", key), nil
}

// InsecureShortHMACSigningKey is [NewHMACSigningKey] for keys shorter than
// 16 bytes (but not empty), which DDBEC accepted with a warning. Only use
// this to read, or keep writing, a table whose items were signed with such
// a key; all other users should use NewHMACSigningKey with a key of 32
// random bytes.
func InsecureShortHMACSigningKey(key []byte) (*SigningKey, error) {
	if len(key) == 0 {
		return nil, errors.New("legacy: InsecureShortHMACSigningKey: the key is empty")
	}
	return hmacKey("HmacSHA256", key), nil
}

func hmacKey(alg string, key []byte) *SigningKey {
	k := &SigningKey{alg: alg, mac: append([]byte(nil), key...)}
	switch alg {
	case "HmacSHA384":
		k.hash = crypto.SHA384.New
	case "HmacSHA512":
		k.hash = crypto.SHA512.New
	default:
		k.hash = sha256.New
	}
	return k
}

// NewRSASigningKey returns an RSA signing key ("SHA256withRSA": PKCS #1
// v1.5 signatures with SHA-256), as DDBEC's wrapped provider uses with RSA
// key pairs. priv signs items (nil for an encryptor that only reads); pub
// verifies them (nil to use priv's public key). Keys must have at least 2048
// bits.
func NewRSASigningKey(priv *rsa.PrivateKey, pub *rsa.PublicKey) (*SigningKey, error) {
	if priv == nil && pub == nil {
		return nil, errors.New("legacy: NewRSASigningKey: give a private key to sign, a public key to verify, or both")
	}
	if pub == nil {
		pub = &priv.PublicKey
	}
	if pub.N == nil || pub.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("legacy: NewRSASigningKey: the RSA key has %d bits; at least %d are needed", bitLen(pub), minRSABits)
	}
	if priv != nil && (priv.N == nil || priv.N.Cmp(pub.N) != 0) {
		return nil, errors.New("legacy: NewRSASigningKey: the public key is not the private key's")
	}
	return &SigningKey{alg: "SHA256withRSA", priv: priv, pub: pub}, nil
}

func bitLen(pub *rsa.PublicKey) int {
	if pub == nil || pub.N == nil {
		return 0
	}
	return pub.N.BitLen()
}

func (k *SigningKey) canSign() bool { return k.mac != nil || k.priv != nil }

// sign returns the signature of data, the string to sign.
func (k *SigningKey) sign(data []byte) ([]byte, error) {
	if k.mac != nil {
		m := hmac.New(k.hash, k.mac)
		m.Write(data)
		return m.Sum(nil), nil
	}
	if k.priv == nil {
		return nil, errors.New("legacy: the RSA signing key has no private key, so it can only verify")
	}
	digest := sha256.Sum256(data)
	return rsa.SignPKCS1v15(nil, k.priv, crypto.SHA256, digest[:])
}

// verify reports whether sig is the signature of data, in constant time for
// HMAC.
func (k *SigningKey) verify(data, sig []byte) bool {
	if k.mac != nil {
		m := hmac.New(k.hash, k.mac)
		m.Write(data)
		return hmac.Equal(m.Sum(nil), sig)
	}
	digest := sha256.Sum256(data)
	return rsa.VerifyPKCS1v15(k.pub, crypto.SHA256, digest[:], sig) == nil
}

// String names the algorithm, never the key.
func (k *SigningKey) String() string {
	if k == nil {
		return "legacy.SigningKey(nil)"
	}
	if k.mac != nil {
		return fmt.Sprintf("legacy.SigningKey(%s, %d-byte key)", k.alg, len(k.mac))
	}
	return fmt.Sprintf("legacy.SigningKey(%s, %d-bit RSA, can sign: %v)", k.alg, bitLen(k.pub), k.priv != nil)
}

// GoString is String.
func (k *SigningKey) GoString() string { return k.String() }

// Format prints String for every verb, so that no verb reveals the key.
func (k *SigningKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue logs the algorithm, never the key.
func (k *SigningKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// WrappingKey wraps the fresh content key of each item for DDBEC's wrapped
// materials provider: an AES key ("AESWrap", RFC 3394 key wrap) or an RSA
// key pair ("RSA/ECB/OAEPWithSHA-256AndMGF1Padding": OAEP with SHA-256 and,
// as Java does, MGF1 with SHA-1). Build one with [NewAESWrappingKey] or
// [NewRSAWrappingKey]. Its String and other formats never show the key.
type WrappingKey struct {
	alg   string // the amzn-ddb-wrap-alg it writes and accepts
	kek   cipher.Block
	klen  int
	pub   *rsa.PublicKey  // RSA: wraps (nil: unwrap only)
	priv  *rsa.PrivateKey // RSA: unwraps (nil: wrap only)
	pkcs1 bool            // RSA: also unwraps PKCS #1 v1.5
}

const (
	wrapAES = "AESWrap"
	wrapRSA = "RSA/ECB/OAEPWithSHA-256AndMGF1Padding"
)

// NewAESWrappingKey returns an AES key-wrapping key of 16, 24 or 32 bytes.
// The key is copied.
func NewAESWrappingKey(key []byte) (*WrappingKey, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("legacy: NewAESWrappingKey: the key is %d bytes; AES keys are 16, 24 or 32 bytes", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("legacy: NewAESWrappingKey: %v", err)
	}
	return &WrappingKey{alg: wrapAES, kek: block, klen: len(key)}, nil
}

// NewRSAWrappingKey returns an RSA key-wrapping key pair. pub wraps content
// keys on write (nil for an encryptor that only reads); priv unwraps them
// on read (nil for one that only writes). Keys must have at least 2048
// bits. Content keys are wrapped with OAEP (SHA-256, MGF1 with SHA-1); on
// read, the OAEP variants the Java client names
// ("RSA/ECB/OAEPWithSHA-1AndMGF1Padding" to "...SHA-512...") are accepted
// too, and PKCS #1 v1.5 only with [WithLegacyPKCS1v15Unwrap].
func NewRSAWrappingKey(pub *rsa.PublicKey, priv *rsa.PrivateKey, opts ...WrappingKeyOption) (*WrappingKey, error) {
	if pub == nil && priv == nil {
		return nil, errors.New("legacy: NewRSAWrappingKey: give a public key to wrap, a private key to unwrap, or both")
	}
	check := pub
	if check == nil {
		check = &priv.PublicKey
	}
	if check.N == nil || check.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("legacy: NewRSAWrappingKey: the RSA key has %d bits; at least %d are needed", bitLen(check), minRSABits)
	}
	if pub != nil && priv != nil && (priv.N == nil || priv.N.Cmp(pub.N) != 0) {
		return nil, errors.New("legacy: NewRSAWrappingKey: the public key is not the private key's")
	}
	k := &WrappingKey{alg: wrapRSA, pub: pub, priv: priv}
	set := map[string]bool{}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("legacy: NewRSAWrappingKey: nil option")
		}
		if err := o.applyWrapping(k, set); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// WrappingKeyOption configures [NewRSAWrappingKey].
type WrappingKeyOption interface {
	applyWrapping(*WrappingKey, map[string]bool) error
}

type wrappingOption func(*WrappingKey, map[string]bool) error

func (f wrappingOption) applyWrapping(k *WrappingKey, set map[string]bool) error { return f(k, set) }

// WithLegacyPKCS1v15Unwrap lets the key unwrap content keys wrapped with
// RSA PKCS #1 v1.5 ("RSA/ECB/PKCS1Padding"), which older Java clients used
// when their wrapping key's algorithm was plain "RSA": their items have no
// amzn-ddb-wrap-alg entry, and DDBEC then unwraps with the key's own
// algorithm. Only use this to read such items; the key never wraps this
// way. PKCS #1 v1.5 decryption is open to padding-oracle attacks, so the
// unwrap is done in constant time (crypto/rsa's DecryptPKCS1v15SessionKey):
// a bad padding yields a random key, which fails later like any wrong key.
func WithLegacyPKCS1v15Unwrap() WrappingKeyOption {
	return wrappingOption(func(k *WrappingKey, set map[string]bool) error {
		if set["WithLegacyPKCS1v15Unwrap"] {
			return errors.New("legacy: WithLegacyPKCS1v15Unwrap given twice")
		}
		set["WithLegacyPKCS1v15Unwrap"] = true
		k.pkcs1 = true
		return nil
	})
}

// oaepWrapAlgs are the OAEP transformations accepted on unwrap, with the
// OAEP hash (MGF1 is SHA-1 in every one, as Java does).
var oaepWrapAlgs = map[string]crypto.Hash{
	"RSA/ECB/OAEPWithSHA-1AndMGF1Padding":   crypto.SHA1,
	"RSA/ECB/OAEPWithSHA-256AndMGF1Padding": crypto.SHA256,
	"RSA/ECB/OAEPWithSHA-384AndMGF1Padding": crypto.SHA384,
	"RSA/ECB/OAEPWithSHA-512AndMGF1Padding": crypto.SHA512,
}

var oaepOptions = &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA1}

func (k *WrappingKey) canWrap() bool { return k.kek != nil || k.pub != nil }

func (k *WrappingKey) wrap(contentKey []byte) ([]byte, error) {
	if k.kek != nil {
		return wrapKey(k.kek, contentKey)
	}
	if k.pub == nil {
		return nil, errors.New("legacy: the RSA wrapping key has no public key, so it can only unwrap")
	}
	return rsa.EncryptOAEPWithOptions(rand.Reader, k.pub, contentKey, oaepOptions)
}

// unwrap unwraps a content key wrapped with alg, the item's
// amzn-ddb-wrap-alg ("" when the item has none: then the key's own
// algorithm, "AESWrap" or "RSA", as DDBEC does). keyLen is the content key
// size the item's amzn-ddb-env-alg gives, used by PKCS #1 v1.5 only.
func (k *WrappingKey) unwrap(wrapped []byte, alg string, keyLen int) ([]byte, error) {
	if k.kek != nil {
		if alg != "" && alg != wrapAES && alg != "AESWrap/ECB/NoPadding" {
			return nil, errUnwrap
		}
		return unwrapKey(k.kek, wrapped)
	}
	if k.priv == nil {
		return nil, errUnwrap
	}
	if h, ok := oaepWrapAlgs[alg]; ok {
		key, err := k.priv.Decrypt(nil, wrapped, &rsa.OAEPOptions{Hash: h, MGFHash: crypto.SHA1})
		if err != nil {
			return nil, errUnwrap
		}
		return key, nil
	}
	if (alg == "" || alg == "RSA" || alg == "RSA/ECB/PKCS1Padding") && k.pkcs1 {
		key := make([]byte, keyLen)
		rand.Read(key) // kept, in constant time, when the padding is wrong
		//lint:ignore SA1019 reading old Java items needs PKCS #1 v1.5; opt-in, and this is its constant-time form
		if err := rsa.DecryptPKCS1v15SessionKey(nil, k.priv, wrapped, key); err != nil {
			return nil, errUnwrap
		}
		return key, nil
	}
	return nil, errUnwrap
}

// String names the algorithm, never the key.
func (k *WrappingKey) String() string {
	if k == nil {
		return "legacy.WrappingKey(nil)"
	}
	if k.kek != nil {
		return fmt.Sprintf("legacy.WrappingKey(%s, %d-bit AES)", k.alg, 8*k.klen)
	}
	rsaPub := k.pub
	if rsaPub == nil {
		rsaPub = &k.priv.PublicKey
	}
	return fmt.Sprintf("legacy.WrappingKey(%s, %d-bit RSA, can wrap: %v, can unwrap: %v, legacy PKCS #1 v1.5 unwrap: %v)",
		k.alg, bitLen(rsaPub), k.pub != nil, k.priv != nil, k.pkcs1)
}

// GoString is String.
func (k *WrappingKey) GoString() string { return k.String() }

// Format prints String for every verb, so that no verb reveals the key.
func (k *WrappingKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue logs the algorithm, never the key.
func (k *WrappingKey) LogValue() slog.Value { return slog.StringValue(k.String()) }
