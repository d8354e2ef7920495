package legacy

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Provider supplies the keys of each item: DDBEC's cryptographic materials
// provider. This package has three: [NewWrappedProvider] (a fresh content
// key per item, wrapped by a key you hold), [NewDirectKMSProvider] (a fresh
// key per item from AWS KMS) and [NewStaticProvider] (one key for every
// item). Provider is sealed: only this package's providers implement it.
type Provider interface {
	fmt.Stringer

	// checkConfig refuses a table configuration the provider cannot serve.
	checkConfig(cfg *config) error
	// encryptionMaterials returns the keys for a new item and the material
	// description entries to store with it.
	encryptionMaterials(ctx context.Context, cfg *config, item map[string]types.AttributeValue) (*materials, error)
	// decryptionMaterials returns the keys of a stored item (without its
	// signature and material description attributes) from its material
	// description.
	decryptionMaterials(ctx context.Context, cfg *config, item map[string]types.AttributeValue, md map[string]string) (*materials, error)
}

// materials are the keys of one item.
type materials struct {
	block  cipher.Block      // the content key
	signer *SigningKey       // signs or verifies the item
	md     map[string]string // entries to write (encryption only)
}

// ProviderOption configures [NewWrappedProvider] and [NewStaticProvider].
type ProviderOption interface {
	applyProvider(*providerConfig) error
}

type providerConfig struct {
	md  map[string]string
	set map[string]bool
}

type providerOption func(*providerConfig) error

func (f providerOption) applyProvider(c *providerConfig) error { return f(c) }

// WithMaterialDescription adds entries to the material description of every
// item the provider writes, as DDBEC's providers' material_description
// does. The entries are stored in clear and not signed; readers ignore them.
// Names used by the Encryption Client itself (amzn-ddb-…, aws-kms-ec-attr)
// are refused.
func WithMaterialDescription(entries map[string]string) ProviderOption {
	return providerOption(func(c *providerConfig) error {
		if c.set["WithMaterialDescription"] {
			return errors.New("legacy: WithMaterialDescription given twice")
		}
		c.set["WithMaterialDescription"] = true
		for _, name := range slices.Sorted(maps.Keys(entries)) {
			if reservedMD(name) || strings.HasPrefix(name, "amzn-ddb-") {
				return fmt.Errorf("legacy: WithMaterialDescription: entry %q is one the DynamoDB Encryption Client writes itself", name)
			}
		}
		c.md = maps.Clone(entries)
		return nil
	})
}

func applyProviderOptions(fn string, opts []ProviderOption) (*providerConfig, error) {
	c := &providerConfig{set: map[string]bool{}}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("legacy: %s: nil option", fn)
		}
		if err := o.applyProvider(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// StaticProvider encrypts every item directly with one AES key and signs it
// with one signing key: DDBEC's static materials provider
// (StaticCryptographicMaterialsProvider, SymmetricStaticProvider). Items
// carry no key of their own, so rotating the key means rewriting every
// item; new tables should use [NewWrappedProvider] or
// [NewDirectKMSProvider].
type StaticProvider struct {
	block  cipher.Block
	klen   int
	signer *SigningKey
	md     map[string]string
}

// NewStaticProvider returns a static provider: attributes are encrypted with
// encryptionKey (AES, 16, 24 or 32 bytes; copied) and items signed with
// signing.
func NewStaticProvider(encryptionKey []byte, signing *SigningKey, opts ...ProviderOption) (*StaticProvider, error) {
	switch len(encryptionKey) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("legacy: NewStaticProvider: the encryption key is %d bytes; AES keys are 16, 24 or 32 bytes", len(encryptionKey))
	}
	if signing == nil {
		return nil, errors.New("legacy: NewStaticProvider: nil signing key")
	}
	c, err := applyProviderOptions("NewStaticProvider", opts)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encryptionKey)
	if err != nil {
		return nil, fmt.Errorf("legacy: NewStaticProvider: %v", err)
	}
	return &StaticProvider{block: block, klen: len(encryptionKey), signer: signing, md: c.md}, nil
}

func (p *StaticProvider) checkConfig(*config) error { return nil }

func (p *StaticProvider) encryptionMaterials(context.Context, *config, map[string]types.AttributeValue) (*materials, error) {
	if !p.signer.canSign() {
		return nil, invalidItem("the provider's signing key can only verify")
	}
	return &materials{block: p.block, signer: p.signer, md: maps.Clone(p.md)}, nil
}

func (p *StaticProvider) decryptionMaterials(context.Context, *config, map[string]types.AttributeValue, map[string]string) (*materials, error) {
	return &materials{block: p.block, signer: p.signer}, nil
}

// String describes the provider without its keys.
func (p *StaticProvider) String() string {
	return fmt.Sprintf("legacy.StaticProvider(AES-%d, %v)", 8*p.klen, p.signer)
}

// GoString is String.
func (p *StaticProvider) GoString() string { return p.String() }

// Format prints String for every verb, so that no verb walks into the keys.
func (p *StaticProvider) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }

// WrappedProvider makes a fresh AES-256 content key for each item, wraps it
// with a wrapping key and stores it in the item's material description;
// items are signed with a signing key: DDBEC's wrapped materials provider
// (WrappedCryptographicMaterialsProvider, WrappedMaterialsProvider).
type WrappedProvider struct {
	wrapping *WrappingKey
	signer   *SigningKey
	md       map[string]string
}

// NewWrappedProvider returns a wrapped provider. With an AES wrapping key
// and an HMAC signing key it is DDBEC's usual symmetric setup; with RSA
// keys, its asymmetric one. Either key may be able to read only (an RSA key
// without its private half to sign, or without its public half to wrap):
// such a provider decrypts, and EncryptItem fails with ErrInvalidItem.
func NewWrappedProvider(wrapping *WrappingKey, signing *SigningKey, opts ...ProviderOption) (*WrappedProvider, error) {
	if wrapping == nil {
		return nil, errors.New("legacy: NewWrappedProvider: nil wrapping key")
	}
	if signing == nil {
		return nil, errors.New("legacy: NewWrappedProvider: nil signing key")
	}
	c, err := applyProviderOptions("NewWrappedProvider", opts)
	if err != nil {
		return nil, err
	}
	return &WrappedProvider{wrapping: wrapping, signer: signing, md: c.md}, nil
}

// contentKeyLen is the size of the content keys the wrapped provider makes
// ("AES/256", DDBEC's default).
const contentKeyLen = 32

func (p *WrappedProvider) checkConfig(*config) error { return nil }

func (p *WrappedProvider) encryptionMaterials(context.Context, *config, map[string]types.AttributeValue) (*materials, error) {
	if !p.wrapping.canWrap() {
		return nil, invalidItem("the provider's wrapping key can only unwrap")
	}
	if !p.signer.canSign() {
		return nil, invalidItem("the provider's signing key can only verify")
	}
	key := make([]byte, contentKeyLen)
	rand.Read(key)
	defer clear(key)
	wrapped, err := p.wrapping.wrap(key)
	if err != nil {
		return nil, fmt.Errorf("legacy: wrapping the content key: %v", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	md := maps.Clone(p.md)
	if md == nil {
		md = map[string]string{}
	}
	md[mdEnvelopeKey] = base64.StdEncoding.EncodeToString(wrapped)
	md[mdContentAlg] = "AES/256"
	md[mdWrappingAlg] = p.wrapping.alg
	return &materials{block: block, signer: p.signer, md: md}, nil
}

func (p *WrappedProvider) decryptionMaterials(_ context.Context, _ *config, _ map[string]types.AttributeValue, md map[string]string) (*materials, error) {
	wrapped, err := base64.StdEncoding.DecodeString(md[mdEnvelopeKey]) // ignores the CR LF the Java client writes
	if err != nil || len(wrapped) == 0 {
		return nil, ErrDecrypt
	}
	contentAlg, ok := md[mdContentAlg]
	if !ok {
		contentAlg = "AES/256"
	}
	bits, ok := aesBits(contentAlg)
	if !ok {
		return nil, ErrDecrypt
	}
	if bits == 0 {
		bits = 256 // "AES": the clients' default content key size
	}
	key, err := p.wrapping.unwrap(wrapped, md[mdWrappingAlg], bits/8)
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(key)
	if !contentKeyMatches(md, len(key)) {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, ErrDecrypt
	}
	return &materials{block: block, signer: p.signer}, nil
}

// contentKeyMatches reports whether the material description's content
// algorithm ("AES" or "AES/bits"; "AES/256" when absent) allows an AES key
// of n bytes.
func contentKeyMatches(md map[string]string, n int) bool {
	alg, ok := md[mdContentAlg]
	if !ok {
		alg = "AES/256"
	}
	bits, ok := aesBits(alg)
	if !ok {
		return false
	}
	return bits == 0 && (n == 16 || n == 24 || n == 32) || bits == 8*n
}

// aesBits parses "AES/bits" (bits 128, 192 or 256) or "AES" (bits 0: any).
func aesBits(alg string) (int, bool) {
	name, length, hasLen := strings.Cut(alg, "/")
	if name != "AES" {
		return 0, false
	}
	if !hasLen {
		return 0, true
	}
	bits, err := strconv.Atoi(length)
	if err != nil || (bits != 128 && bits != 192 && bits != 256) {
		return 0, false
	}
	return bits, true
}

// String describes the provider without its keys.
func (p *WrappedProvider) String() string {
	return fmt.Sprintf("legacy.WrappedProvider(%v, %v)", p.wrapping, p.signer)
}

// GoString is String.
func (p *WrappedProvider) GoString() string { return p.String() }

// Format prints String for every verb, so that no verb walks into the keys.
func (p *WrappedProvider) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }
