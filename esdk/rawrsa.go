package esdk

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
)

// RSAPadding is the RSA encryption padding of a [RawRSAKeyring]. The zero
// value is invalid. For OAEP, MGF1 uses the same hash and the label is
// empty, as in every AWS Encryption SDK.
type RSAPadding int

const (
	// RSAOAEPSHA1 is RSA-OAEP with SHA-1 (and MGF1 with SHA-1).
	RSAOAEPSHA1 RSAPadding = iota + 1
	// RSAOAEPSHA256 is RSA-OAEP with SHA-256 (and MGF1 with SHA-256).
	RSAOAEPSHA256
	// RSAOAEPSHA384 is RSA-OAEP with SHA-384 (and MGF1 with SHA-384).
	RSAOAEPSHA384
	// RSAOAEPSHA512 is RSA-OAEP with SHA-512 (and MGF1 with SHA-512).
	RSAOAEPSHA512
	// LegacyRSAPKCS1v15 is RSA PKCS #1 v1.5 encryption padding, which is
	// open to padding-oracle attacks. Only use it to exchange messages with
	// systems that already use it; all other users should use an OAEP
	// padding. To deny an attacker the oracle, a data key that does not
	// decrypt is replaced by a random one (implicit rejection), so the
	// message then fails with [ErrInvalidMessage] instead of
	// [*NoDecryptKeyError], and a multi-keyring does not try its next
	// keyring after this one matched an encrypted data key.
	LegacyRSAPKCS1v15
)

// String returns the padding's name.
func (p RSAPadding) String() string {
	switch p {
	case RSAOAEPSHA1:
		return "OAEP-SHA1-MGF1"
	case RSAOAEPSHA256:
		return "OAEP-SHA256-MGF1"
	case RSAOAEPSHA384:
		return "OAEP-SHA384-MGF1"
	case RSAOAEPSHA512:
		return "OAEP-SHA512-MGF1"
	case LegacyRSAPKCS1v15:
		return "PKCS1"
	}
	return "RSAPadding(" + strconv.Itoa(int(p)) + ")"
}

func (p RSAPadding) hash() hash.Hash {
	switch p {
	case RSAOAEPSHA1:
		return sha1.New()
	case RSAOAEPSHA256:
		return sha256.New()
	case RSAOAEPSHA384:
		return sha512.New384()
	case RSAOAEPSHA512:
		return sha512.New()
	}
	return nil
}

// minRSABits is the smallest modulus the keyring accepts.
const minRSABits = 2048

// RawRSAKeyring wraps data keys with a local RSA key pair. The encryption
// context is not bound into its encrypted data keys (the header tag still
// authenticates it). Build it with [NewRawRSAKeyring]; it is safe for
// concurrent use. It never prints its private key.
type RawRSAKeyring struct {
	namespace string
	name      string
	padding   RSAPadding
	pub       *rsa.PublicKey
	// priv is a func so that no formatting of the keyring reaches the key.
	priv func() *rsa.PrivateKey
}

var _ Keyring = (*RawRSAKeyring)(nil)

// NewRawRSAKeyring returns a raw RSA keyring. namespace becomes the encrypted
// data keys' provider ID and name their provider info: both must match
// between writer and reader. pub encrypts and priv decrypts; either may be
// nil for an encrypt-only or decrypt-only keyring, not both. If both are
// given they must be halves of one key pair. Keys must have at least 2048
// bits. Parse PEM keys with crypto/x509 (ParsePKIXPublicKey,
// ParsePKCS8PrivateKey).
func NewRawRSAKeyring(namespace, name string, padding RSAPadding, pub *rsa.PublicKey, priv *rsa.PrivateKey) (*RawRSAKeyring, error) {
	const fn = "NewRawRSAKeyring"
	if err := checkKeyringNames(fn, namespace, name, 0); err != nil {
		return nil, err
	}
	if padding < RSAOAEPSHA1 || padding > LegacyRSAPKCS1v15 {
		return nil, fmt.Errorf("esdk: %s: invalid padding %v", fn, padding)
	}
	if pub == nil && priv == nil {
		return nil, fmt.Errorf("esdk: %s: give a public key, a private key or both", fn)
	}
	if pub != nil && pub.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("esdk: %s: the RSA key has %d bits; at least %d are required", fn, pub.N.BitLen(), minRSABits)
	}
	if priv != nil {
		if priv.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("esdk: %s: the RSA key has %d bits; at least %d are required", fn, priv.N.BitLen(), minRSABits)
		}
		if err := priv.Validate(); err != nil {
			return nil, fmt.Errorf("esdk: %s: invalid private key", fn)
		}
	}
	if pub != nil && priv != nil && !pub.Equal(&priv.PublicKey) {
		return nil, fmt.Errorf("esdk: %s: the public key is not the private key's", fn)
	}
	k := &RawRSAKeyring{namespace: namespace, name: name, padding: padding, pub: pub}
	if priv != nil {
		k.priv = func() *rsa.PrivateKey { return priv }
	}
	return k, nil
}

func (k *RawRSAKeyring) id() keyringID { return keyringID{"raw RSA", k.namespace, k.name} }

// OnEncrypt implements [Keyring]: it generates a random data key if m has
// none, and appends the data key encrypted to the public key. It fails if
// the keyring has no public key.
func (k *RawRSAKeyring) OnEncrypt(ctx context.Context, m *EncryptionMaterials) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if k.pub == nil {
		return fmt.Errorf("esdk: %v has no public key: it can only decrypt", k.id())
	}
	if m.dataKey == nil {
		if err := generateDataKey(&m.dataKey, m.Suite); err != nil {
			return err
		}
	}
	pt, ik, err := wrapPlaintext(m)
	if err != nil {
		return err
	}
	defer clear(ik)
	var ct []byte
	if k.padding == LegacyRSAPKCS1v15 {
		//lint:ignore SA1019 the ESDK raw RSA keyring specification requires PKCS #1 v1.5; the name of the option says so.
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, k.pub, pt)
	} else {
		ct, err = rsa.EncryptOAEP(k.padding.hash(), rand.Reader, k.pub, pt, nil)
	}
	if err != nil {
		return fmt.Errorf("esdk: %v: cannot encrypt the data key: %v", k.id(), err)
	}
	return m.AddEncryptedDataKey(EncryptedDataKey{
		ProviderID:   k.namespace,
		ProviderInfo: []byte(k.name),
		Ciphertext:   ct,
	}, ik)
}

// OnDecrypt implements [Keyring]: it tries, in order, the encrypted data keys
// whose provider ID is the keyring's namespace and whose provider info is its
// name. It fails if the keyring has no private key.
func (k *RawRSAKeyring) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []EncryptedDataKey) error {
	if m.dataKey != nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if k.priv == nil {
		return &NoDecryptKeyError{Errors: []error{fmt.Errorf("esdk: %v has no private key: it can only encrypt", k.id())}}
	}
	want := m.Suite.DataKeyLen()
	if want == 0 {
		return fmt.Errorf("esdk: raw RSA keyring: unknown suite %v", m.Suite)
	}
	var errs []error
	for i, e := range edks {
		if e.ProviderID != k.namespace || string(e.ProviderInfo) != k.name {
			continue
		}
		kc, ok := m.KeyringCiphertext(e.Ciphertext)
		var dk []byte
		var err error
		switch {
		case !ok:
			err = errors.New("too short")
		case k.padding == LegacyRSAPKCS1v15:
			dk = make([]byte, want)
			if _, err = rand.Read(dk); err == nil {
				//lint:ignore SA1019 the ESDK raw RSA keyring specification requires PKCS #1 v1.5; this is its implicit-rejection form.
				err = rsa.DecryptPKCS1v15SessionKey(nil, k.priv(), kc, dk)
			}
		default:
			dk, err = rsa.DecryptOAEP(k.padding.hash(), nil, k.priv(), kc, nil)
			if err == nil && len(dk) != want {
				err = errors.New("wrong data key length")
			}
		}
		if err == nil {
			err = setUnwrapped(m, e.Ciphertext, dk)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("esdk: %v: cannot decrypt encrypted data key %d (wrong key or padding)", k.id(), i+1))
			continue
		}
		return nil
	}
	if errs == nil {
		errs = []error{fmt.Errorf("esdk: %v: the message has no encrypted data key for this key", k.id())}
	}
	return &NoDecryptKeyError{Errors: errs}
}

// String names the keyring and its padding, never the private key.
func (k *RawRSAKeyring) String() string {
	s := "esdk.RawRSAKeyring{Namespace: " + strconv.Quote(k.namespace) + ", Name: " + strconv.Quote(k.name) +
		", Padding: " + k.padding.String()
	if k.pub != nil {
		s += ", PublicKey: RSA-" + strconv.Itoa(k.pub.N.BitLen())
	}
	if k.priv != nil {
		s += ", PrivateKey: [REDACTED]"
	}
	return s + "}"
}

// GoString is String.
func (k *RawRSAKeyring) GoString() string { return k.String() }

// Format prints String for every verb.
func (k *RawRSAKeyring) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue logs the namespace, name and padding, never the private key.
func (k *RawRSAKeyring) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", "raw RSA"),
		slog.String("namespace", k.namespace),
		slog.String("name", k.name),
		slog.String("padding", k.padding.String()),
		slog.Bool("can_encrypt", k.pub != nil),
		slog.Bool("can_decrypt", k.priv != nil),
	)
}
