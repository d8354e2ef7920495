package legacy

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMSClient is the part of the AWS SDK for Go v2 KMS client that the Direct
// KMS provider uses. *kms.Client satisfies it.
type KMSClient interface {
	GenerateDataKey(ctx context.Context, params *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, params *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ KMSClient = (*kms.Client)(nil)

// The Direct KMS provider's names and defaults, as in DDBEC's Java
// DirectKmsMaterialProvider and Python AwsKmsCryptographicMaterialsProvider.
const (
	kmsContentAlg    = "AES/256"
	kmsSignatureAlg  = "HmacSHA256/256"
	kmsCoverage      = "*keys*"
	kmsWrapAlg       = "kms"
	kmsECTable       = "*aws-kms-table*"
	kmsECContentAlg  = "*" + mdContentAlg + "*"
	kmsECSignAlg     = "*" + mdSignatureAlg + "*"
	kmsDataKeyLen    = 32
	hkdfInfoEncrypt  = "Encryption"
	hkdfInfoSigning  = "Signing"
	defaultCacheSize = 1000
	defaultCacheAge  = 5 * time.Minute
)

// DirectKMSProvider asks AWS KMS for a fresh data key for every item it
// writes (kms:GenerateDataKey) and derives the item's AES-256 encryption key
// and HMAC-SHA256 signing key from it with HKDF-SHA256; the data key,
// encrypted by KMS, is stored in the item's material description and
// decrypted by KMS (kms:Decrypt) to read the item: DDBEC's Direct KMS
// materials provider (DirectKmsMaterialProvider,
// AwsKmsCryptographicMaterialsProvider).
//
// Each KMS call carries the encryption context DDBEC sends: the table name
// ("*aws-kms-table*"), the partition and sort key values under their
// attribute names (strings and numbers as stored, binary values in base64)
// and the two algorithms ("*amzn-ddb-env-alg*", "*amzn-ddb-sig-alg*"). An
// item therefore only decrypts in its table under its own key, and KMS key
// policies can test these values.
//
// Decrypted data keys are cached (by default up to 1,000 for 5 minutes;
// see [WithDataKeyCache]), keyed by the encrypted data key and the whole
// encryption context, so reading an item again costs no KMS call and
// reading N items written by DDBEC costs one kms:Decrypt per distinct data
// key (DDBEC writes one per item). Concurrent reads of the same data key
// share one call. Writing costs one kms:GenerateDataKey per item, as in
// DDBEC; the new key is cached too, so reading back an item just written
// costs nothing.
//
// Decrypt calls name the configured key (KeyId), so an item whose data key
// another KMS key encrypted fails with [ErrKMS] rather than being decrypted
// with whatever key it names.
type DirectKMSProvider struct {
	client      KMSClient
	keyARN      string
	region      string
	grantTokens []string
	cache       *keyCache // nil: no cache
}

// DirectKMSOption configures [NewDirectKMSProvider].
type DirectKMSOption interface {
	applyKMS(*kmsConfig) error
}

type kmsConfig struct {
	grantTokens []string
	capacity    int
	maxAge      time.Duration
	set         map[string]bool
}

type kmsOption func(*kmsConfig) error

func (f kmsOption) applyKMS(c *kmsConfig) error { return f(c) }

func onceKMS(c *kmsConfig, name string) error {
	if c.set[name] {
		return fmt.Errorf("legacy: %s given twice", name)
	}
	c.set[name] = true
	return nil
}

// WithGrantTokens sends grant tokens with every KMS call.
func WithGrantTokens(tokens ...string) DirectKMSOption {
	return kmsOption(func(c *kmsConfig) error {
		if err := onceKMS(c, "WithGrantTokens"); err != nil {
			return err
		}
		if len(tokens) == 0 || slices.Contains(tokens, "") {
			return errors.New("legacy: WithGrantTokens: give one or more non-empty tokens")
		}
		c.grantTokens = slices.Clone(tokens)
		return nil
	})
}

// WithDataKeyCache sets how many decrypted data keys the provider keeps
// (capacity, at least 1; the least recently used goes first) and for how
// long (maxAge, more than 0). The default is 1,000 keys for 5 minutes.
func WithDataKeyCache(capacity int, maxAge time.Duration) DirectKMSOption {
	return kmsOption(func(c *kmsConfig) error {
		if err := onceKMS(c, "WithDataKeyCache"); err != nil {
			return err
		}
		if c.set["WithoutDataKeyCache"] {
			return errors.New("legacy: WithDataKeyCache and WithoutDataKeyCache conflict")
		}
		if capacity < 1 || maxAge <= 0 {
			return fmt.Errorf("legacy: WithDataKeyCache(%d, %v): the capacity must be at least 1 and the age more than 0 (WithoutDataKeyCache turns the cache off)", capacity, maxAge)
		}
		c.capacity, c.maxAge = capacity, maxAge
		return nil
	})
}

// WithoutDataKeyCache turns the data key cache off: every item read costs
// one kms:Decrypt, as in DDBEC.
func WithoutDataKeyCache() DirectKMSOption {
	return kmsOption(func(c *kmsConfig) error {
		if err := onceKMS(c, "WithoutDataKeyCache"); err != nil {
			return err
		}
		if c.set["WithDataKeyCache"] {
			return errors.New("legacy: WithDataKeyCache and WithoutDataKeyCache conflict")
		}
		c.capacity = 0
		return nil
	})
}

// NewDirectKMSProvider returns a Direct KMS provider over client (a
// *kms.Client, or anything with its GenerateDataKey and Decrypt) with the
// symmetric KMS key keyARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID; key ids
// and aliases are refused, because the key must be matched exactly). Calls
// are made in the key's Region, with the client's credentials, endpoint and
// retryer.
//
// Writing needs kms:GenerateDataKey on the key, reading kms:Decrypt.
func NewDirectKMSProvider(client KMSClient, keyARN string, opts ...DirectKMSOption) (*DirectKMSProvider, error) {
	if client == nil {
		return nil, errors.New("legacy: NewDirectKMSProvider: nil KMS client")
	}
	region, err := keyARNRegion(keyARN)
	if err != nil {
		return nil, err
	}
	c := &kmsConfig{capacity: defaultCacheSize, maxAge: defaultCacheAge, set: map[string]bool{}}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("legacy: NewDirectKMSProvider: nil option")
		}
		if err := o.applyKMS(c); err != nil {
			return nil, err
		}
	}
	p := &DirectKMSProvider{client: client, keyARN: keyARN, region: region, grantTokens: c.grantTokens}
	if c.capacity > 0 {
		p.cache = newKeyCache(c.capacity, c.maxAge)
	}
	return p, nil
}

// keyARNRegion checks that arn is a KMS key ARN and returns its Region.
func keyARNRegion(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	bad := func(why string) error {
		return fmt.Errorf("legacy: NewDirectKMSProvider: %q is not a KMS key ARN (%s); want arn:aws:kms:REGION:ACCOUNT:key/KEY-ID", arn, why)
	}
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" {
		return "", bad("not an ARN")
	}
	if parts[2] != "kms" {
		return "", bad("not of service kms")
	}
	if parts[3] == "" || parts[4] == "" {
		return "", bad("no Region or account")
	}
	id, ok := strings.CutPrefix(parts[5], "key/")
	if !ok || id == "" {
		return "", bad("not a key resource: aliases are refused")
	}
	return parts[3], nil
}

func (p *DirectKMSProvider) checkConfig(cfg *config) error {
	for _, name := range cfg.keyNames() {
		switch name {
		case kmsECTable, kmsECContentAlg, kmsECSignAlg:
			return fmt.Errorf("legacy: key attribute %q has the name of an entry of the Direct KMS encryption context", name)
		}
	}
	return nil
}

func (p *DirectKMSProvider) withRegion(o *kms.Options) { o.Region = p.region }

// encryptionContext returns the KMS encryption context of item.
func (p *DirectKMSProvider) encryptionContext(cfg *config, item map[string]types.AttributeValue, contentAlg, sigAlg string) (map[string]string, error) {
	ec := map[string]string{
		kmsECContentAlg: contentAlg,
		kmsECSignAlg:    sigAlg,
		kmsECTable:      cfg.table,
	}
	for _, name := range cfg.keyNames() {
		v, ok := keyText(item[name])
		if !ok {
			return nil, invalidItem(fmt.Sprintf("key attribute %q is missing or not a string, number or binary value", name))
		}
		ec[name] = v
	}
	return ec, nil
}

// keyText returns a key value as KMS encryption context text.
func keyText(av types.AttributeValue) (string, bool) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value, true
	case *types.AttributeValueMemberN:
		return v.Value, true
	case *types.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(v.Value), true
	}
	return "", false
}

func (p *DirectKMSProvider) encryptionMaterials(ctx context.Context, cfg *config, item map[string]types.AttributeValue) (*materials, error) {
	ec, err := p.encryptionContext(cfg, item, kmsContentAlg, kmsSignatureAlg)
	if err != nil {
		return nil, err
	}
	out, err := p.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             &p.keyARN,
		NumberOfBytes:     ptr(int32(kmsDataKeyLen)),
		EncryptionContext: ec,
		GrantTokens:       p.grantTokens,
	}, p.withRegion)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, kmsError("GenerateDataKey", err)
	}
	defer clear(out.Plaintext)
	if out.KeyId == nil || *out.KeyId != p.keyARN {
		return nil, kmsError("GenerateDataKey answered for another key than "+strconv.Quote(p.keyARN), nil)
	}
	if len(out.Plaintext) != kmsDataKeyLen || len(out.CiphertextBlob) == 0 {
		return nil, kmsError(fmt.Sprintf("GenerateDataKey returned a %d-byte data key, want %d", len(out.Plaintext), kmsDataKeyLen), nil)
	}
	keys, err := deriveKMSKeys(out.Plaintext, kmsContentAlg, kmsSignatureAlg)
	if err != nil {
		return nil, err
	}
	if p.cache != nil {
		p.cache.put(cacheID(out.CiphertextBlob, ec), keys)
	}
	md := map[string]string{
		mdKMSCoverage:  kmsCoverage,
		mdWrappingAlg:  kmsWrapAlg,
		mdContentAlg:   kmsContentAlg,
		mdSignatureAlg: kmsSignatureAlg,
		mdEnvelopeKey:  base64.StdEncoding.EncodeToString(out.CiphertextBlob),
	}
	return &materials{block: keys.block, signer: keys.signer, md: md}, nil
}

func (p *DirectKMSProvider) decryptionMaterials(ctx context.Context, cfg *config, item map[string]types.AttributeValue, md map[string]string) (*materials, error) {
	contentAlg, okC := md[mdContentAlg]
	sigAlg, okS := md[mdSignatureAlg]
	if !okC || !okS {
		return nil, ErrDecrypt
	}
	if _, ok := aesBits(contentAlg); !ok {
		return nil, ErrDecrypt
	}
	if _, _, ok := hmacAlg(sigAlg); !ok {
		return nil, ErrDecrypt
	}
	blob, err := base64.StdEncoding.DecodeString(md[mdEnvelopeKey])
	if err != nil || len(blob) == 0 {
		return nil, ErrDecrypt
	}
	ec, err := p.encryptionContext(cfg, item, contentAlg, sigAlg)
	if err != nil {
		return nil, ErrDecrypt
	}
	fetch := func(ctx context.Context) (*kmsKeys, error) {
		out, err := p.client.Decrypt(ctx, &kms.DecryptInput{
			CiphertextBlob:    blob,
			EncryptionContext: ec,
			KeyId:             &p.keyARN,
			GrantTokens:       p.grantTokens,
		}, p.withRegion)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var invalid *kmstypes.InvalidCiphertextException
			if errors.As(err, &invalid) {
				// The blob or its encryption context (table, key
				// values, algorithms) is not what KMS encrypted.
				return nil, ErrDecrypt
			}
			return nil, kmsError("Decrypt", err)
		}
		defer clear(out.Plaintext)
		if out.KeyId == nil || *out.KeyId != p.keyARN {
			return nil, kmsError("Decrypt answered for another key than "+strconv.Quote(p.keyARN), nil)
		}
		if len(out.Plaintext) != kmsDataKeyLen {
			return nil, ErrDecrypt
		}
		return deriveKMSKeys(out.Plaintext, contentAlg, sigAlg)
	}
	var keys *kmsKeys
	if p.cache != nil {
		keys, err = p.cache.get(ctx, cacheID(blob, ec), fetch)
	} else {
		keys, err = fetch(ctx)
	}
	if err != nil {
		return nil, err
	}
	return &materials{block: keys.block, signer: keys.signer}, nil
}

// kmsKeys are the keys derived from one data key; immutable, shared by
// the items that use it.
type kmsKeys struct {
	block  cipher.Block
	signer *SigningKey
}

// deriveKMSKeys derives the encryption and signing keys from a data key
// with HKDF-SHA256 (no salt), info "Encryption" and "Signing", of the
// lengths the algorithms name.
func deriveKMSKeys(dataKey []byte, contentAlg, sigAlg string) (*kmsKeys, error) {
	bits, ok := aesBits(contentAlg)
	if !ok {
		return nil, ErrDecrypt
	}
	if bits == 0 {
		bits = 256
	}
	macAlg, macBits, ok := hmacAlg(sigAlg)
	if !ok {
		return nil, ErrDecrypt
	}
	encKey, err := hkdf.Key(sha256.New, dataKey, nil, hkdfInfoEncrypt, bits/8)
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(encKey)
	macKey, err := hkdf.Key(sha256.New, dataKey, nil, hkdfInfoSigning, macBits/8)
	if err != nil {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, ErrDecrypt
	}
	signer := hmacKey(macAlg, macKey)
	clear(macKey)
	return &kmsKeys{block: block, signer: signer}, nil
}

// hmacAlg parses a Direct KMS signature algorithm: "HmacSHA256",
// "HmacSHA384" or "HmacSHA512", optionally with a key length in bits
// ("/256"; 128 to 512, a multiple of 8; 256 when absent).
func hmacAlg(desc string) (string, int, bool) {
	name, length, hasLen := strings.Cut(desc, "/")
	switch name {
	case "HmacSHA256", "HmacSHA384", "HmacSHA512":
	default:
		return "", 0, false
	}
	bits := 256
	if hasLen {
		var err error
		bits, err = strconv.Atoi(length)
		if err != nil || bits < 128 || bits > 512 || bits%8 != 0 {
			return "", 0, false
		}
	}
	return name, bits, true
}

// cacheID identifies a data key by its encrypted form and the encryption
// context KMS checked it under, so that a cached key is only used for the
// context it was decrypted (or generated) for.
func cacheID(blob []byte, ec map[string]string) [32]byte {
	h := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(blob)))
	h.Write(n[:])
	h.Write(blob)
	for _, k := range slices.Sorted(maps.Keys(ec)) {
		v := ec[k]
		binary.BigEndian.PutUint32(n[:], uint32(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
		binary.BigEndian.PutUint32(n[:], uint32(len(v)))
		h.Write(n[:])
		h.Write([]byte(v))
	}
	var id [32]byte
	h.Sum(id[:0])
	return id
}

func ptr[T any](v T) *T { return &v }

// String names the key and the cache settings.
func (p *DirectKMSProvider) String() string {
	if p.cache == nil {
		return fmt.Sprintf("legacy.DirectKMSProvider(%s, no cache)", p.keyARN)
	}
	return fmt.Sprintf("legacy.DirectKMSProvider(%s, cache of %d keys for %v)", p.keyARN, p.cache.capacity, p.cache.maxAge)
}

// GoString is String.
func (p *DirectKMSProvider) GoString() string { return p.String() }

// Format prints String for every verb, so that no verb walks into the
// cached keys.
func (p *DirectKMSProvider) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }
