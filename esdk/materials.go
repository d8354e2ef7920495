package esdk

import (
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/datamask/datamask/esdk/internal/format"
)

// PublicKeyContextKey is the encryption context key under which signed
// suites publish the signature verification key (base64 of the compressed
// ECDSA point). The default materials manager adds it; callers may not set
// it, nor any other key starting with "aws-crypto-".
const PublicKeyContextKey = "aws-crypto-public-key"

// reservedPrefix starts every encryption context key reserved by the SDK.
const reservedPrefix = "aws-crypto-"

// EncryptedDataKey is a data key encrypted by one keyring, as stored in the
// message header. ProviderID names the keyring family or namespace (for
// example "aws-kms"); ProviderInfo and Ciphertext are the keyring's own.
// Keyrings must treat the byte slices as read-only.
type EncryptedDataKey struct {
	ProviderID   string
	ProviderInfo []byte
	Ciphertext   []byte
}

// MarshalBinary returns the key's serialization as in a message header:
// each field with a u16 length. Data key caches use it to name entries. It
// fails if a field is longer than 65535 bytes or ProviderID is not UTF-8.
func (k EncryptedDataKey) MarshalBinary() ([]byte, error) {
	if !utf8.ValidString(k.ProviderID) || len(k.ProviderID) > 0xFFFF || len(k.ProviderInfo) > 0xFFFF || len(k.Ciphertext) > 0xFFFF {
		return nil, errors.New("esdk: EncryptedDataKey.MarshalBinary: a field is longer than 65535 bytes or the provider ID is not UTF-8")
	}
	b := make([]byte, 0, 6+len(k.ProviderID)+len(k.ProviderInfo)+len(k.Ciphertext))
	b = binary.BigEndian.AppendUint16(b, uint16(len(k.ProviderID)))
	b = append(b, k.ProviderID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(k.ProviderInfo)))
	b = append(b, k.ProviderInfo...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(k.Ciphertext)))
	return append(b, k.Ciphertext...), nil
}

// MarshalEncryptionContext returns the canonical serialization of ec used by
// the message format: empty for an empty context, else a u16 pair count and
// the pairs sorted by the UTF-8 bytes of their keys, each string with a u16
// length. Raw AES keyrings use it as AAD and data key caches to name
// entries. It fails if a key or value is not UTF-8 or the result exceeds
// 65535 bytes.
func MarshalEncryptionContext(ec map[string]string) ([]byte, error) {
	b, err := format.MarshalContext(ec)
	if err != nil {
		return nil, fmt.Errorf("esdk: MarshalEncryptionContext: %v", err)
	}
	return b, nil
}

// secret holds key bytes inside a closure. fmt and reflection print a func as
// an address whatever the verb (a pointer is printed in full by a bad verb
// such as %s), so not even a struct that holds materials in an unexported
// field can show a key.
type secret func() []byte

func newSecret(b []byte) secret { return func() []byte { return b } }

func (s secret) bytes() []byte {
	if s == nil {
		return nil
	}
	return s()
}

// signer holds a signing key the way secret holds bytes.
type signer func() *ecdsa.PrivateKey

func (s signer) key() *ecdsa.PrivateKey {
	if s == nil {
		return nil
	}
	return s()
}

func newSigner(k *ecdsa.PrivateKey) signer { return func() *ecdsa.PrivateKey { return k } }

func setSecret(dst *secret, suite Suite, key []byte, what string) error {
	if *dst != nil {
		return errors.New("esdk: " + what + ": the data key is already set")
	}
	want := suite.DataKeyLen()
	if want == 0 {
		return errors.New("esdk: " + what + ": unknown algorithm suite " + suite.String())
	}
	if len(key) != want {
		return fmt.Errorf("esdk: %s: data key is %d bytes, suite %v needs %d", what, len(key), suite, want)
	}
	*dst = newSecret(slices.Clone(key))
	return nil
}

// EncryptionMaterials are what a [MaterialsManager] gives Encrypt: the
// suite, the encryption context to bind, the data key and its encrypted
// copies, and for signed suites the signing key. Keyrings fill in the data
// key and EncryptedDataKeys in [Keyring.OnEncrypt].
//
// The data key and signing key are never printed: String, GoString, Format
// and LogValue redact them.
type EncryptionMaterials struct {
	Suite Suite
	// EncryptionContext is the full context bound to the message, including
	// aws-crypto-public-key for signed suites.
	EncryptionContext map[string]string
	// EncryptedDataKeys are appended by keyrings.
	EncryptedDataKeys []EncryptedDataKey
	// RequiredContextKeys lists context keys that are authenticated but not
	// stored in the message: whoever decrypts must supply their values again
	// (see [WithReproducedContext]).
	RequiredContextKeys []string

	dataKey    secret
	signingKey signer
	// symmetricKeys holds, for suites with intermediate key wrapping, the
	// symmetric signing key of each encrypted data key, in the same order.
	symmetricKeys []secret
}

// DataKey returns the plaintext data key, or nil if none is set yet. The
// slice is the materials' own: do not modify or keep it.
func (m *EncryptionMaterials) DataKey() []byte { return m.dataKey.bytes() }

// SetDataKey sets the plaintext data key to a copy of key. It fails if a key
// is already set or if key's length is not the suite's data key length.
func (m *EncryptionMaterials) SetDataKey(key []byte) error {
	return setSecret(&m.dataKey, m.Suite, key, "EncryptionMaterials.SetDataKey")
}

// SigningKey returns the ECDSA signing key of a signed suite, else nil.
func (m *EncryptionMaterials) SigningKey() *ecdsa.PrivateKey { return m.signingKey.key() }

// SymmetricSigningKeys returns, for suites with intermediate key wrapping
// (the DB-ESDK suites), the HMAC-SHA384 key that goes with each encrypted
// data key, in the order of EncryptedDataKeys; nil for other suites. The
// slices are the materials' own: do not modify or keep them.
func (m *EncryptionMaterials) SymmetricSigningKeys() [][]byte {
	if len(m.symmetricKeys) == 0 {
		return nil
	}
	keys := make([][]byte, len(m.symmetricKeys))
	for i, k := range m.symmetricKeys {
		keys[i] = k.bytes()
	}
	return keys
}

// Clone returns a copy of m that shares no map or slice with it, except the
// byte contents of the encrypted data keys (which are read-only) and the
// signing key (immutable). Data key caches hand out clones.
func (m *EncryptionMaterials) Clone() *EncryptionMaterials {
	c := &EncryptionMaterials{
		Suite:               m.Suite,
		EncryptionContext:   maps.Clone(m.EncryptionContext),
		EncryptedDataKeys:   slices.Clone(m.EncryptedDataKeys),
		RequiredContextKeys: slices.Clone(m.RequiredContextKeys),
		signingKey:          m.signingKey,
	}
	if m.dataKey != nil {
		c.dataKey = newSecret(slices.Clone(m.dataKey()))
	}
	if m.symmetricKeys != nil {
		c.symmetricKeys = make([]secret, len(m.symmetricKeys))
		for i, k := range m.symmetricKeys {
			c.symmetricKeys[i] = newSecret(slices.Clone(k.bytes()))
		}
	}
	return c
}

// String describes m without any key material or context value.
func (m EncryptionMaterials) String() string {
	var b strings.Builder
	b.WriteString("esdk.EncryptionMaterials{Suite: ")
	b.WriteString(m.Suite.String())
	writeContextKeys(&b, m.EncryptionContext)
	b.WriteString(", EncryptedDataKeys: ")
	b.WriteString(strconv.Itoa(len(m.EncryptedDataKeys)))
	b.WriteString(", DataKey: ")
	b.WriteString(redacted(m.dataKey != nil))
	b.WriteString(", SigningKey: ")
	b.WriteString(redacted(m.signingKey != nil))
	if len(m.symmetricKeys) > 0 {
		b.WriteString(", SymmetricSigningKeys: ")
		b.WriteString(strconv.Itoa(len(m.symmetricKeys)))
		b.WriteString(" [REDACTED]")
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String: materials never print their keys, even with %#v.
func (m EncryptionMaterials) GoString() string { return m.String() }

// Format prints String for every verb, so no verb reveals a key.
func (m EncryptionMaterials) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(m.String())) }

// LogValue logs the suite, the context keys and counts, never a key.
func (m EncryptionMaterials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("suite", m.Suite.String()),
		slog.Any("context_keys", sortedKeys(m.EncryptionContext)),
		slog.Int("encrypted_data_keys", len(m.EncryptedDataKeys)),
		slog.String("data_key", redacted(m.dataKey != nil)),
		slog.String("signing_key", redacted(m.signingKey != nil)),
		slog.Int("symmetric_signing_keys", len(m.symmetricKeys)),
	)
}

// DecryptionMaterials are what a [MaterialsManager] gives Decrypt: the suite,
// the encryption context, the data key a keyring decrypted and, for signed
// suites, the signature verification key. Keyrings set the data key in
// [Keyring.OnDecrypt].
//
// The data key is never printed: String, GoString, Format and LogValue
// redact it.
type DecryptionMaterials struct {
	Suite Suite
	// EncryptionContext is the message's context plus any reproduced pairs
	// that the message does not store.
	EncryptionContext map[string]string
	// RequiredContextKeys are the context keys that the message
	// authenticates without storing them; their values come from the
	// reproduced context.
	RequiredContextKeys []string

	dataKey         secret
	verificationKey *ecdsa.PublicKey
	// symmetricKey is, for suites with intermediate key wrapping, the
	// symmetric signing key of the encrypted data key that was decrypted.
	symmetricKey secret
}

// DataKey returns the plaintext data key, or nil if none is set yet. The
// slice is the materials' own: do not modify or keep it.
func (m *DecryptionMaterials) DataKey() []byte { return m.dataKey.bytes() }

// SetDataKey sets the plaintext data key to a copy of key. It fails if a key
// is already set or if key's length is not the suite's data key length.
func (m *DecryptionMaterials) SetDataKey(key []byte) error {
	return setSecret(&m.dataKey, m.Suite, key, "DecryptionMaterials.SetDataKey")
}

// VerificationKey returns the ECDSA key that verifies the message signature
// of a signed suite, else nil.
func (m *DecryptionMaterials) VerificationKey() *ecdsa.PublicKey { return m.verificationKey }

// SymmetricSigningKey returns, for suites with intermediate key wrapping
// (the DB-ESDK suites), the HMAC-SHA384 key derived with the data key from
// the encrypted data key that was decrypted; nil otherwise or before. The
// slice is the materials' own: do not modify or keep it.
func (m *DecryptionMaterials) SymmetricSigningKey() []byte { return m.symmetricKey.bytes() }

// Clone returns a copy of m that shares no map or slice with it, except the
// verification key (immutable).
func (m *DecryptionMaterials) Clone() *DecryptionMaterials {
	c := &DecryptionMaterials{
		Suite:               m.Suite,
		EncryptionContext:   maps.Clone(m.EncryptionContext),
		RequiredContextKeys: slices.Clone(m.RequiredContextKeys),
		verificationKey:     m.verificationKey,
	}
	if m.dataKey != nil {
		c.dataKey = newSecret(slices.Clone(m.dataKey()))
	}
	if m.symmetricKey != nil {
		c.symmetricKey = newSecret(slices.Clone(m.symmetricKey()))
	}
	return c
}

// String describes m without any key material or context value.
func (m DecryptionMaterials) String() string {
	var b strings.Builder
	b.WriteString("esdk.DecryptionMaterials{Suite: ")
	b.WriteString(m.Suite.String())
	writeContextKeys(&b, m.EncryptionContext)
	b.WriteString(", DataKey: ")
	b.WriteString(redacted(m.dataKey != nil))
	b.WriteString(", VerificationKey: ")
	if m.verificationKey != nil {
		b.WriteString("set")
	} else {
		b.WriteString("none")
	}
	if m.symmetricKey != nil {
		b.WriteString(", SymmetricSigningKey: [REDACTED]")
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String: materials never print their keys, even with %#v.
func (m DecryptionMaterials) GoString() string { return m.String() }

// Format prints String for every verb, so no verb reveals a key.
func (m DecryptionMaterials) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(m.String())) }

// LogValue logs the suite and context keys, never a key.
func (m DecryptionMaterials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("suite", m.Suite.String()),
		slog.Any("context_keys", sortedKeys(m.EncryptionContext)),
		slog.String("data_key", redacted(m.dataKey != nil)),
		slog.Bool("verification_key", m.verificationKey != nil),
		slog.String("symmetric_signing_key", redacted(m.symmetricKey != nil)),
	)
}

func redacted(set bool) string {
	if set {
		return "[REDACTED]"
	}
	return "none"
}

func sortedKeys(ec map[string]string) []string {
	return slices.Sorted(maps.Keys(ec))
}

func writeContextKeys(b *strings.Builder, ec map[string]string) {
	b.WriteString(", EncryptionContext keys: [")
	for i, k := range sortedKeys(ec) {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(strconv.Quote(k))
	}
	b.WriteString("]")
}

// EncryptionMaterialsRequest is what Encrypt asks a [MaterialsManager] for.
type EncryptionMaterialsRequest struct {
	// Suite is the suite the caller asked for, or 0 for the manager's
	// default under CommitmentPolicy.
	Suite Suite
	// EncryptionContext is the caller's context. Managers must not modify
	// it; they copy it to add pairs.
	EncryptionContext map[string]string
	CommitmentPolicy  CommitmentPolicy
	// PlaintextLength is the length of the plaintext to encrypt, or -1 if
	// unknown.
	PlaintextLength int64
	// RequiredContextKeys lists context keys to authenticate without storing
	// them in the message.
	RequiredContextKeys []string
}

// DecryptionMaterialsRequest is what Decrypt asks a [MaterialsManager] for.
// Its slices and maps belong to the caller: copy what you keep.
type DecryptionMaterialsRequest struct {
	Suite             Suite
	CommitmentPolicy  CommitmentPolicy
	EncryptedDataKeys []EncryptedDataKey
	// EncryptionContext is the context stored in the message header.
	EncryptionContext map[string]string
	// ReproducedContext is the context the caller supplied with
	// [WithReproducedContext], or nil.
	ReproducedContext map[string]string
}
