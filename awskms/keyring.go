package awskms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/esdk"
)

// ProviderID is the provider ID of the encrypted data keys of AWS KMS
// keyrings, in every AWS Encryption SDK.
const ProviderID = "aws-kms"

// Client is the part of the AWS KMS API the keyrings use, with the method
// signatures of *kms.Client from github.com/aws/aws-sdk-go-v2/service/kms,
// which implements it. Tests and users may plug in their own. The keyrings
// pass an option that sets the Region of each call to the Region of the key
// ARN, so that one *kms.Client serves keys of every Region.
type Client interface {
	GenerateDataKey(ctx context.Context, params *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Encrypt(ctx context.Context, params *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, params *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ Client = (*kms.Client)(nil)

// key is a configured key ARN.
type key struct {
	arn    string
	parsed arn
}

// inRegion makes a call in the Region of a's key.
func inRegion(a arn) func(*kms.Options) {
	region := a.region
	return func(o *kms.Options) { o.Region = region }
}

// Keyring is the AWS Encryption SDK's strict AWS KMS keyring over one or
// more symmetric KMS keys named by their key ARNs. On encrypt, the first key
// generates the data key (GenerateDataKey) and each other key encrypts it
// again (Encrypt), so the message carries one encrypted data key per key and
// any one key decrypts it. On decrypt it tries, in message order, only the
// encrypted data keys recorded under one of its ARNs, each with that key.
// The encryption context, aws-crypto-public-key included, is bound to every
// KMS ciphertext.
//
// Build it with [NewKeyring]; it is safe for concurrent use. Wrap it in
// [esdk.NewDefaultCMM], and in [esdk.NewCachingCMM] to call KMS once per
// cached data key rather than once per message.
type Keyring struct {
	client      Client
	keys        []key
	grantTokens []string
}

var _ esdk.Keyring = (*Keyring)(nil)

// NewKeyring returns a strict KMS keyring over keyARNs, the first of which
// generates data keys. Each must be a key ARN,
// arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID: an alias, alias ARN or bare
// key id is refused, because the keyring recognizes its encrypted data keys
// by the ARN KMS records in them. Keys may be in any Region (see [Client]).
// The only option is [WithGrantTokens].
func NewKeyring(client Client, keyARNs []string, opts ...Option) (*Keyring, error) {
	if client == nil {
		return nil, errors.New("awskms: NewKeyring: client is nil")
	}
	if len(keyARNs) == 0 {
		return nil, fmt.Errorf("awskms: NewKeyring: no key ARN given: give at least one, such as %q", exampleARN)
	}
	cfg, err := newConfig("NewKeyring", opts)
	if err != nil {
		return nil, err
	}
	if cfg.filter != nil {
		return nil, errors.New("awskms: NewKeyring: WithDiscoveryFilter applies only to NewDiscoveryKeyring")
	}
	if cfg.regions != nil {
		return nil, errors.New("awskms: NewKeyring: WithDiscoveryRegions applies only to NewDiscoveryKeyring")
	}
	k := &Keyring{client: client, grantTokens: cfg.grantTokens}
	for i, id := range keyARNs {
		a, err := checkConfiguredKey(id)
		if err != nil {
			return nil, fmt.Errorf("awskms: NewKeyring: key %d: %v", i+1, err)
		}
		if slices.ContainsFunc(k.keys, func(c key) bool { return c.arn == id }) {
			return nil, fmt.Errorf("awskms: NewKeyring: key %q is given twice", id)
		}
		k.keys = append(k.keys, key{arn: id, parsed: a})
	}
	return k, nil
}

// KeyARNs returns the keyring's key ARNs, the generator first.
func (k *Keyring) KeyARNs() []string {
	arns := make([]string, len(k.keys))
	for i, c := range k.keys {
		arns[i] = c.arn
	}
	return arns
}

// OnEncrypt implements [esdk.Keyring]. If m has no data key, the first key
// generates one; then every other key (every key, if m had a data key)
// encrypts it. A KMS error or an invalid KMS response is returned as an
// [*esdk.EncryptKeyError] whose cause keeps the AWS error reachable with
// errors.As (smithy.APIError, *types.DisabledException, ...); a done ctx is
// returned as it is.
func (k *Keyring) OnEncrypt(ctx context.Context, m *esdk.EncryptionMaterials) error {
	n := m.Suite.DataKeyLen()
	if n == 0 {
		return fmt.Errorf("awskms: keyring: unknown algorithm suite %v", m.Suite)
	}
	ec := requestContext(m.EncryptionContext)
	if m.Suite.IntermediateKeyWrapping() {
		return k.onEncryptIntermediate(ctx, m, ec, n)
	}
	keys := k.keys
	if m.DataKey() == nil {
		gen := keys[0]
		keys = keys[1:]
		out, err := k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
			KeyId:             aws.String(gen.arn),
			NumberOfBytes:     aws.Int32(int32(n)),
			EncryptionContext: ec,
			GrantTokens:       k.grantTokens,
		}, inRegion(gen.parsed))
		if err != nil {
			return callError(ctx, "GenerateDataKey", gen.arn, err)
		}
		defer clear(out.Plaintext)
		if err := checkEncryptResponse("GenerateDataKey", gen.arn, out.KeyId, out.CiphertextBlob); err != nil {
			return err
		}
		if len(out.Plaintext) != n {
			return encryptKeyError(fmt.Errorf("awskms: GenerateDataKey with key %s returned a %d-byte data key, want %d", gen.arn, len(out.Plaintext), n))
		}
		if err := m.SetDataKey(out.Plaintext); err != nil {
			return encryptKeyError(fmt.Errorf("awskms: GenerateDataKey with key %s: %v", gen.arn, err))
		}
		m.EncryptedDataKeys = append(m.EncryptedDataKeys, esdk.EncryptedDataKey{
			ProviderID: ProviderID, ProviderInfo: []byte(gen.arn), Ciphertext: out.CiphertextBlob,
		})
	}
	for _, c := range keys {
		out, err := k.client.Encrypt(ctx, &kms.EncryptInput{
			KeyId:             aws.String(c.arn),
			Plaintext:         m.DataKey(),
			EncryptionContext: ec,
			GrantTokens:       k.grantTokens,
		}, inRegion(c.parsed))
		if err != nil {
			return callError(ctx, "Encrypt", c.arn, err)
		}
		if err := checkEncryptResponse("Encrypt", c.arn, out.KeyId, out.CiphertextBlob); err != nil {
			return err
		}
		m.EncryptedDataKeys = append(m.EncryptedDataKeys, esdk.EncryptedDataKey{
			ProviderID: ProviderID, ProviderInfo: []byte(c.arn), Ciphertext: out.CiphertextBlob,
		})
	}
	return nil
}

// onEncryptIntermediate is OnEncrypt for suites with intermediate key
// wrapping (the DB-ESDK suites), as the material providers library's AWS
// KMS keyring does it: the data key is generated locally if m has none, and
// every key, the first included, calls GenerateDataKey for an intermediate
// key of its own, which esdk uses to wrap the data key and derive that
// encrypted data key's symmetric signing key.
func (k *Keyring) onEncryptIntermediate(ctx context.Context, m *esdk.EncryptionMaterials, ec map[string]string, n int) error {
	if m.DataKey() == nil {
		dk := make([]byte, n)
		defer clear(dk)
		if _, err := rand.Read(dk); err != nil {
			return encryptKeyError(fmt.Errorf("awskms: cannot generate a data key: %w", err))
		}
		if err := m.SetDataKey(dk); err != nil {
			return encryptKeyError(fmt.Errorf("awskms: %v", err))
		}
	}
	for _, c := range k.keys {
		out, err := k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
			KeyId:             aws.String(c.arn),
			NumberOfBytes:     aws.Int32(int32(n)),
			EncryptionContext: ec,
			GrantTokens:       k.grantTokens,
		}, inRegion(c.parsed))
		if err != nil {
			return callError(ctx, "GenerateDataKey", c.arn, err)
		}
		err = checkEncryptResponse("GenerateDataKey", c.arn, out.KeyId, out.CiphertextBlob)
		if err == nil && len(out.Plaintext) != n {
			err = encryptKeyError(fmt.Errorf("awskms: GenerateDataKey with key %s returned a %d-byte intermediate key, want %d", c.arn, len(out.Plaintext), n))
		}
		if err == nil {
			if err = m.AddEncryptedDataKey(esdk.EncryptedDataKey{
				ProviderID: ProviderID, ProviderInfo: []byte(c.arn), Ciphertext: out.CiphertextBlob,
			}, out.Plaintext); err != nil {
				err = encryptKeyError(fmt.Errorf("awskms: GenerateDataKey with key %s: %v", c.arn, err))
			}
		}
		clear(out.Plaintext)
		if err != nil {
			return err
		}
	}
	return nil
}

// checkEncryptResponse checks that KMS answered for the key asked, with a
// ciphertext that fits a message header.
func checkEncryptResponse(op, want string, got *string, ciphertext []byte) error {
	if aws.ToString(got) != want {
		return encryptKeyError(fmt.Errorf("awskms: %s with key %s answered for key %q", op, want, aws.ToString(got)))
	}
	if len(ciphertext) == 0 || len(ciphertext) > 0xFFFF {
		return encryptKeyError(fmt.Errorf("awskms: %s with key %s returned a %d-byte ciphertext, which no message can hold", op, want, len(ciphertext)))
	}
	return nil
}

func encryptKeyError(err error) error { return &esdk.EncryptKeyError{Err: err} }

// requestContext is the encryption context to send: nil when empty, so that
// the request carries none.
func requestContext(ec map[string]string) map[string]string {
	if len(ec) == 0 {
		return nil
	}
	return ec
}

// callError wraps the error of a KMS call made for encrypting in an
// [*esdk.EncryptKeyError], unless ctx is done (see ctxError).
func callError(ctx context.Context, op, keyARN string, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx, op, keyARN, err)
	}
	return encryptKeyError(fmt.Errorf("awskms: %s with key %s: %w", op, keyARN, err))
}

// ctxError wraps the error of a KMS call that failed because ctx is done:
// that is the caller's doing, not a key's fault, so it is no key error, and
// errors.Is finds ctx's error in it.
func ctxError(ctx context.Context, op, keyARN string, err error) error {
	if ctxErr := ctx.Err(); !errors.Is(err, ctxErr) {
		err = fmt.Errorf("%w (%w)", ctxErr, err)
	}
	return fmt.Errorf("awskms: %s with key %s: %w", op, keyARN, err)
}

// OnDecrypt implements [esdk.Keyring]. It calls KMS Decrypt for each
// encrypted data key recorded under one of its ARNs, in message order, with
// KeyId set to that ARN, until one yields a data key of the suite's length
// under that key. Otherwise it returns an [*esdk.NoDecryptKeyError] with the
// cause of each attempt (KMS errors stay reachable with errors.As), or,
// without calling KMS, with the ARNs the message was encrypted under. An
// "aws-kms" encrypted data key whose provider info is not a key ARN makes
// it fail without calling KMS, as the specification requires. A done ctx
// stops it and is returned as it is.
func (k *Keyring) OnDecrypt(ctx context.Context, m *esdk.DecryptionMaterials, edks []esdk.EncryptedDataKey) error {
	return decryptEDKs(ctx, m, edks, k.client, k.grantTokens, func(a arn, info string) (bool, error) {
		return slices.ContainsFunc(k.keys, func(c key) bool { return c.arn == info }), nil
	}, func() string {
		return "the keyring's keys " + strings.Join(k.KeyARNs(), ", ")
	})
}

// decryptEDKs is OnDecrypt of both keyrings: match says whether to try an
// encrypted data key under a key ARN (or, with an error, refuses it without
// calling KMS); mine describes the keys tried, for the error when none
// matched. Key ARNs read from the message are quoted in errors: the
// message's writer chooses them, line breaks included.
func decryptEDKs(ctx context.Context, m *esdk.DecryptionMaterials, edks []esdk.EncryptedDataKey, client Client,
	grantTokens []string, match func(a arn, info string) (bool, error), mine func() string) error {
	if m.DataKey() != nil {
		return nil
	}
	want := m.Suite.DataKeyLen()
	if want == 0 {
		return fmt.Errorf("awskms: keyring: unknown algorithm suite %v", m.Suite)
	}
	var errs []error
	var seen []string
	ec := requestContext(m.EncryptionContext)
	for i, e := range edks {
		if e.ProviderID != ProviderID {
			continue
		}
		info := string(e.ProviderInfo)
		a, err := parseKeyARN(info)
		if errors.Is(err, errBadRegion) {
			errs = append(errs, fmt.Errorf("awskms: encrypted data key %d: its key ARN %q names a Region that is not a Region name: "+
				"not tried, since the Region chooses the KMS host", i+1, info))
			return &esdk.NoDecryptKeyError{Errors: errs}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("awskms: encrypted data key %d: its provider info is not a KMS key ARN", i+1))
			return &esdk.NoDecryptKeyError{Errors: errs}
		}
		seen = append(seen, strconv.Quote(info))
		ok, err := match(a, info)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		// With intermediate key wrapping (the DB-ESDK suites) KMS holds
		// the intermediate key, after the sealed data key.
		blob, ok := m.KeyringCiphertext(e.Ciphertext)
		if !ok {
			errs = append(errs, fmt.Errorf("awskms: encrypted data key %d under key %q is too short", i+1, info))
			continue
		}
		out, err := client.Decrypt(ctx, &kms.DecryptInput{
			KeyId:             aws.String(info),
			CiphertextBlob:    blob,
			EncryptionContext: ec,
			GrantTokens:       grantTokens,
		}, inRegion(a))
		if err != nil {
			if ctx.Err() != nil {
				return ctxError(ctx, "Decrypt", strconv.Quote(info), err)
			}
			errs = append(errs, fmt.Errorf("awskms: Decrypt with key %q: %w", info, err))
			continue
		}
		switch got := aws.ToString(out.KeyId); {
		case got != info:
			errs = append(errs, fmt.Errorf("awskms: Decrypt with key %q answered for key %q", info, got))
		case len(out.Plaintext) != want:
			errs = append(errs, fmt.Errorf("awskms: Decrypt with key %q returned a %d-byte data key, want %d", info, len(out.Plaintext), want))
		case m.Suite.IntermediateKeyWrapping():
			err = m.SetIntermediateKey(e.Ciphertext, out.Plaintext)
		default:
			err = m.SetDataKey(out.Plaintext)
		}
		clear(out.Plaintext)
		if err != nil {
			errs = append(errs, fmt.Errorf("awskms: Decrypt with key %q: %v", info, err))
		}
		if m.DataKey() != nil {
			return nil
		}
	}
	if errs == nil {
		msg := "the message has no AWS KMS encrypted data key"
		if seen != nil {
			msg = "the message's data keys are encrypted under " + strings.Join(seen, ", ") + ", none of which is " + mine()
		}
		errs = []error{errors.New("awskms: " + msg)}
	}
	return &esdk.NoDecryptKeyError{Errors: errs}
}

// String lists the key ARNs and the number of grant tokens, never the
// tokens.
func (k *Keyring) String() string {
	var b strings.Builder
	b.WriteString("awskms.Keyring{Keys: [")
	for i, c := range k.keys {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(strconv.Quote(c.arn))
	}
	b.WriteString("], GrantTokens: ")
	b.WriteString(strconv.Itoa(len(k.grantTokens)))
	b.WriteString("}")
	return b.String()
}

// GoString is String.
func (k *Keyring) GoString() string { return k.String() }

// Format prints String for every verb, so no verb prints a grant token.
func (k *Keyring) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue logs the key ARNs and the number of grant tokens.
func (k *Keyring) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", "aws-kms"),
		slog.Any("keys", k.KeyARNs()),
		slog.Int("grant_tokens", len(k.grantTokens)),
	)
}
