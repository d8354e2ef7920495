package esdk

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/datamask/datamask/esdk/internal/format"
)

// DefaultCMM is the default materials manager: it picks the suite, creates
// the signing key of signed suites and publishes its public half in the
// encryption context under [PublicKeyContextKey], and asks its keyring for
// the data key. Build it with [NewDefaultCMM]; it is safe for concurrent use.
type DefaultCMM struct {
	keyring Keyring
}

var _ MaterialsManager = (*DefaultCMM)(nil)

// NewDefaultCMM returns the default materials manager over k.
func NewDefaultCMM(k Keyring) (*DefaultCMM, error) {
	if k == nil {
		return nil, errors.New("esdk: NewDefaultCMM: keyring is nil")
	}
	return &DefaultCMM{keyring: k}, nil
}

// EncryptionMaterials implements [MaterialsManager]. A zero req.Suite gives
// [AES256GCMHKDFSHA512CommitKeyECDSAP384]. It fails if the suite does not
// commit to its key, if the context uses a key starting with "aws-crypto-"
// (for the DB-ESDK suites, whose item encryptor binds such keys, only
// aws-crypto-public-key),
// if a required context key is missing from the context, or if the keyring
// fails or produces no data key.
func (c *DefaultCMM) EncryptionMaterials(ctx context.Context, req EncryptionMaterialsRequest) (*EncryptionMaterials, error) {
	if !req.CommitmentPolicy.valid() {
		return nil, fmt.Errorf("esdk: DefaultCMM: invalid commitment policy %v", req.CommitmentPolicy)
	}
	suite := req.Suite
	if suite == 0 {
		suite = AES256GCMHKDFSHA512CommitKeyECDSAP384
	}
	if !req.CommitmentPolicy.allowsEncrypt(suite) {
		return nil, fmt.Errorf("esdk: DefaultCMM: suite %v cannot encrypt: only %v and %v do (and the DB-ESDK suites, for DynamoDB items)", suite,
			AES256GCMHKDFSHA512CommitKey, AES256GCMHKDFSHA512CommitKeyECDSAP384)
	}
	if suite.DBE() {
		// The DB-ESDK's item encryptor binds its own aws-crypto- pairs
		// (table, key names and values, legend); only the public key is
		// this manager's.
		if _, ok := req.EncryptionContext[PublicKeyContextKey]; ok {
			return nil, fmt.Errorf("esdk: encryption context key %q is reserved for the materials manager", PublicKeyContextKey)
		}
	} else if err := checkReservedKeys(req.EncryptionContext); err != nil {
		return nil, err
	}
	ec := make(map[string]string, len(req.EncryptionContext)+1)
	maps.Copy(ec, req.EncryptionContext)
	m := &EncryptionMaterials{
		Suite:               suite,
		EncryptionContext:   ec,
		RequiredContextKeys: slices.Clone(req.RequiredContextKeys),
	}
	for _, k := range m.RequiredContextKeys {
		if _, ok := ec[k]; !ok {
			return nil, fmt.Errorf("esdk: DefaultCMM: required encryption context key %q is not in the encryption context", k)
		}
	}
	if suite.Signing() {
		priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("esdk: DefaultCMM: cannot generate the signing key: %w", err)
		}
		pub, err := compressPublicKey(&priv.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("esdk: DefaultCMM: %w", err)
		}
		m.signingKey = newSigner(priv)
		ec[PublicKeyContextKey] = pub
	}
	if err := c.keyring.OnEncrypt(ctx, m); err != nil {
		return nil, err
	}
	if m.dataKey == nil {
		return nil, errors.New("esdk: DefaultCMM: the keyring produced no data key")
	}
	if len(m.EncryptedDataKeys) == 0 {
		return nil, errors.New("esdk: DefaultCMM: the keyring produced no encrypted data key")
	}
	if suite.IntermediateKeyWrapping() && len(m.symmetricKeys) != len(m.EncryptedDataKeys) {
		return nil, fmt.Errorf("esdk: DefaultCMM: the keyring added encrypted data keys for suite %v without intermediate key wrapping (keyrings must use EncryptionMaterials.AddEncryptedDataKey)", suite)
	}
	return m, nil
}

// DecryptionMaterials implements [MaterialsManager]. It fails with
// [ErrLegacySuite] if the policy forbids the suite, with
// [ErrInvalidMessage] if the context's verification key is missing for a
// signed suite, present for an unsigned one, or invalid, with
// [*ContextMismatchError] if req.ReproducedContext disagrees with the
// message's context, and with the keyring's error (normally a
// [*NoDecryptKeyError]) if no data key can be decrypted.
//
// Reproduced pairs that the message does not store are added to the
// materials' context and listed in RequiredContextKeys, so that Decrypt
// authenticates them with the header.
func (c *DefaultCMM) DecryptionMaterials(ctx context.Context, req DecryptionMaterialsRequest) (*DecryptionMaterials, error) {
	if !req.CommitmentPolicy.valid() {
		return nil, fmt.Errorf("esdk: DefaultCMM: invalid commitment policy %v", req.CommitmentPolicy)
	}
	if !req.Suite.Known() {
		return nil, invalid("unknown suite")
	}
	if !req.CommitmentPolicy.allowsDecrypt(req.Suite) {
		return nil, ErrLegacySuite
	}
	if keys := reproducedMismatch(req.EncryptionContext, req.ReproducedContext); keys != nil {
		return nil, &ContextMismatchError{Keys: keys}
	}
	m := &DecryptionMaterials{Suite: req.Suite}
	encoded, hasPub := req.EncryptionContext[PublicKeyContextKey]
	if hasPub != req.Suite.Signing() {
		return nil, invalid("verification key presence does not match the suite")
	}
	if hasPub {
		pub, err := parsePublicKey(req.Suite, encoded)
		if err != nil {
			return nil, err
		}
		m.verificationKey = pub
	}
	m.EncryptionContext = make(map[string]string, len(req.EncryptionContext)+len(req.ReproducedContext))
	maps.Copy(m.EncryptionContext, req.EncryptionContext)
	for k, v := range req.ReproducedContext {
		if _, ok := req.EncryptionContext[k]; !ok {
			m.EncryptionContext[k] = v
			m.RequiredContextKeys = append(m.RequiredContextKeys, k)
		}
	}
	slices.Sort(m.RequiredContextKeys)
	if err := c.keyring.OnDecrypt(ctx, m, req.EncryptedDataKeys); err != nil {
		return nil, err
	}
	if m.dataKey == nil {
		return nil, &NoDecryptKeyError{Errors: []error{errors.New("esdk: DefaultCMM: the keyring returned no data key and no error")}}
	}
	if req.Suite.IntermediateKeyWrapping() && m.symmetricKey == nil {
		return nil, &NoDecryptKeyError{Errors: []error{fmt.Errorf("esdk: DefaultCMM: the keyring set a data key for suite %v without its symmetric signing key (keyrings must use DecryptionMaterials.SetIntermediateKey)", req.Suite)}}
	}
	return m, nil
}

// reproducedMismatch returns the sorted keys present in both contexts with
// different values, or nil.
func reproducedMismatch(stored, reproduced map[string]string) []string {
	var keys []string
	for k, v := range reproduced {
		if sv, ok := stored[k]; ok && sv != v {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// checkReservedKeys refuses context keys that start with "aws-crypto-".
func checkReservedKeys(ec map[string]string) error {
	for k := range ec {
		if strings.HasPrefix(k, reservedPrefix) {
			return fmt.Errorf("esdk: encryption context key %q is reserved: keys starting with %q belong to the SDK", k, reservedPrefix)
		}
	}
	return nil
}

// compressPublicKey returns the standard base64 of the SEC 1 compressed
// point of pub.
func compressPublicKey(pub *ecdsa.PublicKey) (string, error) {
	raw, err := pub.Bytes() // 0x04 || X || Y
	if err != nil || len(raw) < 3 || raw[0] != 4 {
		return "", errors.New("cannot encode the signature verification key")
	}
	n := (len(raw) - 1) / 2
	c := make([]byte, 1+n)
	c[0] = 2 | raw[len(raw)-1]&1
	copy(c[1:], raw[1:1+n])
	return base64.StdEncoding.EncodeToString(c), nil
}

// parsePublicKey decodes the base64 compressed point of suite's curve. Any
// failure is ErrInvalidMessage: the value comes from the message.
func parsePublicKey(suite Suite, encoded string) (*ecdsa.PublicKey, error) {
	in, _ := suite.info()
	var curve elliptic.Curve
	switch in.Sig {
	case format.SigP256:
		curve = elliptic.P256()
	case format.SigP384:
		curve = elliptic.P384()
	default:
		return nil, invalid("suite does not sign")
	}
	size := (curve.Params().BitSize + 7) / 8
	if base64.StdEncoding.EncodedLen(1+size) != len(encoded) {
		return nil, invalid("verification key length")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(encoded)
	if err != nil || len(raw) != 1+size {
		return nil, invalid("verification key encoding")
	}
	x, y := elliptic.UnmarshalCompressed(curve, raw)
	if x == nil {
		return nil, invalid("verification key point")
	}
	u := make([]byte, 1+2*size)
	u[0] = 4
	x.FillBytes(u[1 : 1+size])
	y.FillBytes(u[1+size:])
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, u)
	if err != nil {
		return nil, invalid("verification key point")
	}
	return pub, nil
}

// RequiredContextCMM makes some encryption context keys required: Encrypt
// fails unless the caller's context has them, the message authenticates them
// without storing them, and Decrypt fails unless the caller supplies their
// values again with [WithReproducedContext]. It is the AWS Encryption SDK's
// Required Encryption Context CMM. Build it with [NewRequiredContextCMM].
type RequiredContextCMM struct {
	next MaterialsManager
	keys []string
}

var _ MaterialsManager = (*RequiredContextCMM)(nil)

// NewRequiredContextCMM returns a manager that requires keys over next.
func NewRequiredContextCMM(next MaterialsManager, keys ...string) (*RequiredContextCMM, error) {
	if next == nil {
		return nil, errors.New("esdk: NewRequiredContextCMM: materials manager is nil")
	}
	if len(keys) == 0 {
		return nil, errors.New("esdk: NewRequiredContextCMM: no required key given")
	}
	for _, k := range keys {
		if strings.HasPrefix(k, reservedPrefix) {
			return nil, fmt.Errorf("esdk: NewRequiredContextCMM: key %q is reserved", k)
		}
	}
	ks := slices.Clone(keys)
	slices.Sort(ks)
	return &RequiredContextCMM{next: next, keys: slices.Compact(ks)}, nil
}

// EncryptionMaterials implements [MaterialsManager].
func (c *RequiredContextCMM) EncryptionMaterials(ctx context.Context, req EncryptionMaterialsRequest) (*EncryptionMaterials, error) {
	var missing []string
	for _, k := range c.keys {
		if _, ok := req.EncryptionContext[k]; !ok {
			missing = append(missing, strconv.Quote(k))
		}
	}
	if missing != nil {
		return nil, fmt.Errorf("esdk: RequiredContextCMM: the encryption context lacks required keys %s", strings.Join(missing, ", "))
	}
	req.RequiredContextKeys = union(req.RequiredContextKeys, c.keys)
	m, err := c.next.EncryptionMaterials(ctx, req)
	if err != nil {
		return nil, err
	}
	for _, k := range c.keys {
		if !slices.Contains(m.RequiredContextKeys, k) {
			return nil, fmt.Errorf("esdk: RequiredContextCMM: the underlying materials manager dropped required key %q", k)
		}
	}
	return m, nil
}

// DecryptionMaterials implements [MaterialsManager]. It fails with
// [*ContextMismatchError] if the reproduced context lacks a required key.
func (c *RequiredContextCMM) DecryptionMaterials(ctx context.Context, req DecryptionMaterialsRequest) (*DecryptionMaterials, error) {
	var missing []string
	for _, k := range c.keys {
		if _, ok := req.ReproducedContext[k]; !ok {
			missing = append(missing, k)
		}
	}
	if missing != nil {
		return nil, &ContextMismatchError{Keys: missing}
	}
	m, err := c.next.DecryptionMaterials(ctx, req)
	if err != nil {
		return nil, err
	}
	for _, k := range c.keys {
		if _, ok := m.EncryptionContext[k]; !ok {
			return nil, fmt.Errorf("esdk: RequiredContextCMM: the underlying materials manager dropped required key %q", k)
		}
	}
	return m, nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, k := range b {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
