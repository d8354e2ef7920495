package esdk

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"github.com/datamask/datamask/esdk/internal/format"
)

// RawAESKeyring wraps data keys with a local AES-GCM key (128, 192 or 256
// bits), binding the encryption context as AAD. Its messages decrypt in every
// AWS Encryption SDK given the same key, namespace and name. Build it with
// [NewRawAESKeyring]; it is safe for concurrent use. It never prints its key.
//
// Its key budget: each data key is wrapped under a fresh random 12-byte IV,
// as the format requires, and AES-GCM with random IVs is safe for at most
// 2^32 encryptions under one key (NIST SP 800-38D, section 8.3; past that
// an IV may repeat, which breaks the confidentiality of the two wrapped
// keys and lets forgeries through). Rotate a wrapping key before it has
// wrapped 2^32 data keys. Behind a data key cache ([CachingCMM]) that is
// one wrap per cache entry, that is per distinct encryption context per
// max age; without the cache, one wrap per message: 2^32 values. AWS KMS
// keys have no such budget for the caller to track.
type RawAESKeyring struct {
	namespace string
	name      string
	// wrap is AES-GCM under the wrapping key, built once; a func so that
	// no formatting of the keyring can reach its key schedule.
	wrap func() cipher.AEAD
	bits int
}

var _ Keyring = (*RawAESKeyring)(nil)

// wrapTagBits and wrapIVLen are the only parameters of the raw AES keyring's
// AES-GCM (IV 12 bytes, tag 16 bytes), written in its provider info.
const (
	wrapTagBits = 128
	wrapIVLen   = 12
)

// NewRawAESKeyring returns a raw AES keyring. namespace becomes the
// encrypted data keys' provider ID and name is written in their provider
// info: both must match between the writer and the reader of a message. The
// wrapping key must be 16, 24 or 32 random bytes; the keyring keeps its own
// copy (as an expanded AES key).
func NewRawAESKeyring(namespace, name string, wrappingKey []byte) (*RawAESKeyring, error) {
	if err := checkKeyringNames("NewRawAESKeyring", namespace, name, 4+4+wrapIVLen); err != nil {
		return nil, err
	}
	switch len(wrappingKey) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("esdk: NewRawAESKeyring: the wrapping key is %d bytes; it must be 16, 24 or 32", len(wrappingKey))
	}
	block, err := aes.NewCipher(wrappingKey)
	if err != nil {
		return nil, fmt.Errorf("esdk: NewRawAESKeyring: %v", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("esdk: NewRawAESKeyring: %v", err)
	}
	return &RawAESKeyring{namespace: namespace, name: name, wrap: func() cipher.AEAD { return aead }, bits: 8 * len(wrappingKey)}, nil
}

// checkKeyringNames validates a raw keyring's namespace and name; extra is
// what the provider info adds to the name.
func checkKeyringNames(fn, namespace, name string, extra int) error {
	switch {
	case namespace == "" || name == "":
		return fmt.Errorf("esdk: %s: the key namespace and key name must not be empty", fn)
	case !utf8.ValidString(namespace) || !utf8.ValidString(name):
		return fmt.Errorf("esdk: %s: the key namespace and key name must be valid UTF-8", fn)
	case namespace == "aws-kms":
		return fmt.Errorf("esdk: %s: the key namespace %q is reserved for AWS KMS keyrings", fn, namespace)
	case len(namespace) > 0xFFFF || len(name)+extra > 0xFFFF:
		return fmt.Errorf("esdk: %s: the key namespace or key name is too long", fn)
	}
	return nil
}

// OnEncrypt implements [Keyring]: it generates a random data key if m has
// none, and appends the data key encrypted under the wrapping key with the
// serialized encryption context as AAD.
func (k *RawAESKeyring) OnEncrypt(ctx context.Context, m *EncryptionMaterials) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	aad, err := format.MarshalContext(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk: raw AES keyring: encryption context: %v", err)
	}
	if m.dataKey == nil {
		if err := generateDataKey(&m.dataKey, m.Suite); err != nil {
			return err
		}
	}
	// With intermediate key wrapping the keyring wraps a fresh key of the
	// data key's length instead of the data key (see AddEncryptedDataKey).
	pt, ik, err := wrapPlaintext(m)
	if err != nil {
		return err
	}
	defer clear(ik)
	info := make([]byte, len(k.name)+8+wrapIVLen)
	n := copy(info, k.name)
	binary.BigEndian.PutUint32(info[n:], wrapTagBits)
	binary.BigEndian.PutUint32(info[n+4:], wrapIVLen)
	iv := info[n+8:]
	if _, err := rand.Read(iv); err != nil {
		return fmt.Errorf("esdk: raw AES keyring: %w", err)
	}
	ct := k.wrap().Seal(make([]byte, 0, len(pt)+format.TagLen), iv, pt, aad)
	return m.AddEncryptedDataKey(EncryptedDataKey{
		ProviderID:   k.namespace,
		ProviderInfo: info,
		Ciphertext:   ct,
	}, ik)
}

// wrapPlaintext returns what a local keyring encrypts for m: its data key,
// or for suites with intermediate key wrapping a fresh random intermediate
// key, which is also returned as ik (nil otherwise; the caller clears it).
func wrapPlaintext(m *EncryptionMaterials) (pt, ik []byte, err error) {
	if !m.Suite.IntermediateKeyWrapping() {
		return m.dataKey.bytes(), nil, nil
	}
	ik = make([]byte, m.Suite.DataKeyLen())
	if _, err := rand.Read(ik); err != nil {
		return nil, nil, fmt.Errorf("esdk: cannot generate an intermediate key: %w", err)
	}
	return ik, ik, nil
}

// setUnwrapped sets m's data key from what a keyring decrypted from an
// encrypted data key's ciphertext: the data key itself, or for suites with
// intermediate key wrapping the intermediate key. It takes ownership of pt.
func setUnwrapped(m *DecryptionMaterials, ciphertext, pt []byte) error {
	if !m.Suite.IntermediateKeyWrapping() {
		m.dataKey = newSecret(pt)
		return nil
	}
	defer clear(pt)
	return m.SetIntermediateKey(ciphertext, pt)
}

// generateDataKey sets *dst to a random data key of suite's length.
func generateDataKey(dst *secret, suite Suite) error {
	n := suite.DataKeyLen()
	if n == 0 {
		return errors.New("esdk: cannot generate a data key for unknown suite " + suite.String())
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("esdk: cannot generate a data key: %w", err)
	}
	*dst = newSecret(b)
	return nil
}

// OnDecrypt implements [Keyring]: it tries, in order, the encrypted data keys
// whose provider ID is the keyring's namespace and whose provider info names
// its key with the expected tag and IV lengths.
func (k *RawAESKeyring) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []EncryptedDataKey) error {
	if m.dataKey != nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	want := m.Suite.DataKeyLen()
	if want == 0 {
		return fmt.Errorf("esdk: raw AES keyring: unknown suite %v", m.Suite)
	}
	aad, err := format.MarshalContext(m.EncryptionContext)
	if err != nil {
		return &NoDecryptKeyError{Errors: []error{fmt.Errorf("esdk: %v: encryption context: %v", k.id(), err)}}
	}
	var errs []error
	n := len(k.name)
	for i, e := range edks {
		if e.ProviderID != k.namespace || len(e.ProviderInfo) != n+8+wrapIVLen ||
			string(e.ProviderInfo[:n]) != k.name ||
			binary.BigEndian.Uint32(e.ProviderInfo[n:]) != wrapTagBits ||
			binary.BigEndian.Uint32(e.ProviderInfo[n+4:]) != wrapIVLen {
			continue
		}
		kc, ok := m.KeyringCiphertext(e.Ciphertext)
		if !ok || len(kc) != want+format.TagLen {
			errs = append(errs, fmt.Errorf("esdk: %v: encrypted data key %d has the wrong length", k.id(), i+1))
			continue
		}
		pt, err := k.wrap().Open(make([]byte, 0, want), e.ProviderInfo[n+8:], kc, aad)
		if err == nil {
			err = setUnwrapped(m, e.Ciphertext, pt)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("esdk: %v: cannot decrypt encrypted data key %d (wrong wrapping key, or the encryption context differs)", k.id(), i+1))
			continue
		}
		return nil
	}
	if errs == nil {
		errs = []error{fmt.Errorf("esdk: %v: the message has no encrypted data key for this key", k.id())}
	}
	return &NoDecryptKeyError{Errors: errs}
}

// keyringID names a keyring in errors and logs; it holds no secret.
type keyringID struct{ kind, namespace, name string }

func (i keyringID) String() string {
	return i.kind + " keyring (namespace " + strconv.Quote(i.namespace) + ", name " + strconv.Quote(i.name) + ")"
}

func (k *RawAESKeyring) id() keyringID { return keyringID{"raw AES", k.namespace, k.name} }

// String names the keyring and its key size, never the key.
func (k *RawAESKeyring) String() string {
	return "esdk.RawAESKeyring{Namespace: " + strconv.Quote(k.namespace) + ", Name: " +
		strconv.Quote(k.name) + ", Key: AES-" + strconv.Itoa(k.bits) + " [REDACTED]}"
}

// GoString is String.
func (k *RawAESKeyring) GoString() string { return k.String() }

// Format prints String for every verb.
func (k *RawAESKeyring) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue logs the namespace, name and key size, never the key.
func (k *RawAESKeyring) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", "raw AES"),
		slog.String("namespace", k.namespace),
		slog.String("name", k.name),
		slog.Int("key_bits", k.bits),
	)
}
