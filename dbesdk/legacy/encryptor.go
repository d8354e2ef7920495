package legacy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Encryptor encrypts and signs items, and verifies and decrypts them, in the
// format of the DynamoDB Encryption Client. Build it with [New]; it is safe
// for concurrent use.
type Encryptor struct {
	cfg    *config
	p      Provider
	redact bool
}

// Option configures [New].
type Option interface {
	applyEncryptor(*encryptorConfig) error
}

type encryptorConfig struct {
	redact bool
	set    map[string]bool
}

type encryptorOption func(*encryptorConfig) error

func (f encryptorOption) applyEncryptor(c *encryptorConfig) error { return f(c) }

// WithKeyValuesRedacted keeps the item's key values out of the text of
// [ItemError]s (its Key field still has them, for code that needs them).
// Use it when key values are sensitive, such as the tokens of a token
// vault.
func WithKeyValuesRedacted() Option {
	return encryptorOption(func(c *encryptorConfig) error {
		if c.set["WithKeyValuesRedacted"] {
			return errors.New("legacy: WithKeyValuesRedacted given twice")
		}
		c.set["WithKeyValuesRedacted"] = true
		c.redact = true
		return nil
	})
}

// New returns an Encryptor for the table cfg describes, with the keys of p.
// It refuses a configuration that is incomplete or that the DynamoDB
// Encryption Client would refuse (see [Config]).
func New(cfg Config, p Provider, opts ...Option) (*Encryptor, error) {
	c, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("legacy: New: nil Provider; use NewWrappedProvider, NewDirectKMSProvider or NewStaticProvider")
	}
	if err := p.checkConfig(c); err != nil {
		return nil, err
	}
	oc := &encryptorConfig{set: map[string]bool{}}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("legacy: New: nil Option")
		}
		if err := o.applyEncryptor(oc); err != nil {
			return nil, err
		}
	}
	return &Encryptor{cfg: c, p: p, redact: oc.redact}, nil
}

// IsLegacyItem reports whether item was written by the DynamoDB Encryption
// Client: whether it has a [SignatureAttribute] or a
// [MaterialDescriptionAttribute]. (An item whose attributes were all
// DO_NOTHING was stored unchanged and is not recognisable.)
func IsLegacyItem(item map[string]types.AttributeValue) bool {
	_, sig := item[SignatureAttribute]
	_, md := item[MaterialDescriptionAttribute]
	return sig || md
}

// IsLegacyItem is the package function [IsLegacyItem]. It makes an
// Encryptor a dbesdk.LegacyItemDetector: plugged into a DB-ESDK item
// encryptor (dbesdk.LegacyOverride), an item with either legacy attribute
// comes here, so one that lost the other is refused as a damaged legacy
// item ([ErrDecrypt]) rather than as an item never encrypted.
func (e *Encryptor) IsLegacyItem(item map[string]types.AttributeValue) bool {
	return IsLegacyItem(item)
}

func (e *Encryptor) itemError(op string, item map[string]types.AttributeValue, err error) error {
	ie := &ItemError{Op: op, Table: e.cfg.table, Key: map[string]string{}, redacted: e.redact, keyNames: e.cfg.keyNames(), err: err}
	for _, name := range ie.keyNames {
		switch v := item[name].(type) {
		case nil:
		case *types.AttributeValueMemberS, *types.AttributeValueMemberN, *types.AttributeValueMemberB:
			ie.Key[name], _ = keyText(v)
		default:
			ie.Key[name] = fmt.Sprintf("(not a key type: %T)", v)
		}
	}
	return ie
}

// EncryptItem returns item encrypted and signed: each ENCRYPT_AND_SIGN
// attribute replaced by its ciphertext (a binary value), and the signature
// and material description attributes added. Attributes that are not
// encrypted are shared with item, which is not modified. The item must have
// its key attributes (a string, number or binary value each) and no
// attribute named [SignatureAttribute] or [MaterialDescriptionAttribute].
//
// Errors are [*ItemError]s: [ErrInvalidItem] for an item that cannot be
// encrypted, [ErrKMS] when the Direct KMS provider's call fails, or the
// context's error.
func (e *Encryptor) EncryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if err := ctx.Err(); err != nil {
		return nil, e.itemError("encrypt", item, err)
	}
	if item == nil {
		return nil, e.itemError("encrypt", item, invalidItem("the item is nil"))
	}
	for name := range item {
		if isReserved(name) {
			return nil, e.itemError("encrypt", item, invalidItem(fmt.Sprintf("attribute %q is reserved for the DynamoDB Encryption Client; "+
				"is the item already encrypted?", name)))
		}
	}
	for _, name := range e.cfg.keyNames() {
		if _, ok := keyText(item[name]); !ok {
			return nil, e.itemError("encrypt", item, invalidItem(fmt.Sprintf("key attribute %q is missing or not a string, number or binary value", name)))
		}
	}
	if e.cfg.noActions {
		return maps.Clone(item), nil
	}
	// Serialize what is signed before asking for keys, so that a bad value
	// costs no KMS call.
	names := e.signedNames(item)
	serialized := make([][]byte, len(names))
	var buf []byte
	for i, name := range names {
		start := len(buf)
		var err error
		if buf, err = appendAttribute(buf, item[name]); err != nil {
			return nil, e.itemError("encrypt", item, invalidItem(fmt.Sprintf("attribute %q: %v", name, err)))
		}
		serialized[i] = buf[start:len(buf):len(buf)]
	}
	m, err := e.p.encryptionMaterials(ctx, e.cfg, item)
	if err != nil {
		return nil, e.itemError("encrypt", item, err)
	}
	out := make(map[string]types.AttributeValue, len(item)+2)
	for name, v := range item {
		out[name] = v
	}
	for i, name := range names {
		if e.cfg.action(name) == EncryptAndSign {
			ct := encryptCBC(m.block, serialized[i])
			out[name] = &types.AttributeValueMemberB{Value: ct}
			serialized[i] = appendLV(append(make([]byte, 0, 6+len(ct)), 0, tagB), ct)
		}
	}
	sig, err := m.signer.sign(e.stringToSign(names, serialized))
	if err != nil {
		return nil, e.itemError("encrypt", item, fmt.Errorf("legacy: signing: %v", err))
	}
	md := m.md
	if md == nil {
		md = map[string]string{}
	}
	md[mdEncryptionMode] = encryptionModeCBC
	md[mdSigningAlg] = m.signer.alg
	out[SignatureAttribute] = &types.AttributeValueMemberB{Value: sig}
	out[MaterialDescriptionAttribute] = &types.AttributeValueMemberB{Value: appendMaterialDescription(nil, md)}
	return out, nil
}

// signedNames returns the names of the attributes of item that the
// signature covers, in the order it covers them: by code point, which is
// the order of their UTF-8 bytes.
func (e *Encryptor) signedNames(item map[string]types.AttributeValue) []string {
	names := make([]string, 0, len(item))
	for name := range item {
		if e.cfg.action(name) != DoNothing {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

var (
	hashPlaintext = sha256.Sum256([]byte("PLAINTEXT"))
	hashEncrypted = sha256.Sum256([]byte("ENCRYPTED"))
)

// stringToSign returns what the signature covers: SHA-256 of
// "TABLE>name<TABLE", then for each signed attribute in name order the
// SHA-256 of its name, of "ENCRYPTED" or "PLAINTEXT" (its action), and of
// its serialized (for encrypted ones: encrypted) value.
func (e *Encryptor) stringToSign(names []string, serialized [][]byte) []byte {
	data := make([]byte, 0, sha256.Size*(1+3*len(names)))
	h := sha256.Sum256([]byte("TABLE>" + e.cfg.table + "<TABLE"))
	data = append(data, h[:]...)
	for i, name := range names {
		h = sha256.Sum256([]byte(name))
		data = append(data, h[:]...)
		if e.cfg.action(name) == EncryptAndSign {
			data = append(data, hashEncrypted[:]...)
		} else {
			data = append(data, hashPlaintext[:]...)
		}
		h = sha256.Sum256(serialized[i])
		data = append(data, h[:]...)
	}
	return data
}

// DecryptItem verifies item's signature and returns it with its
// ENCRYPT_AND_SIGN attributes decrypted and without the signature and
// material description attributes. item is not modified; attributes that
// were not encrypted are shared with it. Decrypted numbers come back
// normalized ("2.50" as "2.5") and decrypted sets in their serialized
// order, as DDBEC returns them.
//
// Every item that does not verify or decrypt fails with the same
// [ErrDecrypt]; a failed Direct KMS call fails with [ErrKMS]; both inside
// an [*ItemError] that names the table and key values. A cancelled context
// is returned as it is. No item is returned with an error.
func (e *Encryptor) DecryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if err := ctx.Err(); err != nil {
		return nil, e.itemError("decrypt", item, err)
	}
	if e.cfg.noActions {
		if item == nil {
			return nil, e.itemError("decrypt", item, ErrDecrypt)
		}
		return maps.Clone(item), nil
	}
	out, err := e.decrypt(ctx, item)
	if err != nil {
		if ctxErr := ctx.Err(); !errors.Is(err, ErrKMS) && (ctxErr == nil || !errors.Is(err, ctxErr)) {
			err = ErrDecrypt // one error, whatever failed
		}
		return nil, e.itemError("decrypt", item, err)
	}
	return out, nil
}

func (e *Encryptor) decrypt(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	sigAV, ok := item[SignatureAttribute].(*types.AttributeValueMemberB)
	if !ok {
		return nil, ErrDecrypt
	}
	md := map[string]string{}
	if av, present := item[MaterialDescriptionAttribute]; present {
		b, ok := av.(*types.AttributeValueMemberB)
		if !ok {
			return nil, ErrDecrypt
		}
		var err error
		if md, err = parseMaterialDescription(b.Value); err != nil {
			return nil, ErrDecrypt
		}
	}
	stored := make(map[string]types.AttributeValue, len(item))
	for name, v := range item {
		if !isReserved(name) {
			stored[name] = v
		}
	}
	m, err := e.p.decryptionMaterials(ctx, e.cfg, stored, md)
	if err != nil {
		return nil, err
	}
	names := e.signedNames(stored)
	serialized := make([][]byte, len(names))
	var buf []byte
	encrypted := 0
	for i, name := range names {
		start := len(buf)
		if buf, err = appendAttribute(buf, stored[name]); err != nil {
			return nil, ErrDecrypt
		}
		serialized[i] = buf[start:len(buf):len(buf)]
		if e.cfg.action(name) == EncryptAndSign {
			encrypted++
		}
	}
	if !m.signer.verify(e.stringToSign(names, serialized), sigAV.Value) {
		return nil, ErrDecrypt
	}
	if encrypted > 0 && md[mdEncryptionMode] != encryptionModeCBC {
		return nil, ErrDecrypt
	}
	for _, name := range names {
		if e.cfg.action(name) != EncryptAndSign {
			continue
		}
		b, ok := stored[name].(*types.AttributeValueMemberB)
		if !ok {
			return nil, ErrDecrypt
		}
		pt, err := decryptCBC(m.block, b.Value)
		if err != nil {
			return nil, ErrDecrypt
		}
		av, err := parseAttribute(pt)
		if err != nil {
			return nil, ErrDecrypt
		}
		stored[name] = av
	}
	return stored, nil
}

// String describes the table configuration and the provider, never a key.
func (e *Encryptor) String() string {
	return fmt.Sprintf("legacy.Encryptor(%v, %v)", e.cfg, e.p)
}

// GoString is String.
func (e *Encryptor) GoString() string { return e.String() }

// Format prints String for every verb, so that no verb walks into the keys.
func (e *Encryptor) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(e.String())) }

// LogValue logs String.
func (e *Encryptor) LogValue() slog.Value { return slog.StringValue(e.String()) }
