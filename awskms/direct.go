package awskms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/internal/jsontext"
)

// MaxDirectPlaintext is the most KMS Encrypt takes: 4,096 bytes of
// plaintext per call.
const MaxDirectPlaintext = 4096

// ErrPlaintextTooLarge is returned by [DirectProvider.Encrypt], before any
// call to KMS, for a value longer than [MaxDirectPlaintext] bytes.
var ErrPlaintextTooLarge = errors.New("awskms: value too large for KMS Encrypt")

// DirectProvider is the [datamask.Provider] for values encrypted with AWS
// KMS directly, the pattern of AWS's guidance for secrets in Lambda
// environment variables and of many tables of personal data: each value's
// text is the Plaintext of one KMS Encrypt call, and what is stored is the
// standard base64 of the CiphertextBlob. With it a [datamask.DataMasker]
// decrypts the values such services wrote (so they can be encrypted again
// with envelope encryption, [datamask.NewESDKProvider]), and encrypts
// values they can read.
//
// Values are strings: Encrypt takes a JSON string and sends its text
// (UTF-8, 1 to 4,096 bytes) to KMS; Decrypt gives back the JSON string of
// the KMS plaintext, which must be UTF-8 text. Encrypting a number, a
// boolean, null, an object or an array is refused ([datamask.ErrUnsupportedType]).
// The encryption context is sent with every call: KMS binds it to the
// ciphertext and refuses to decrypt under another.
//
// It is the wrong choice for new data: every value costs a KMS request
// (latency, a charge per 10,000 requests, and a share of the account's
// KMS request quota), where envelope encryption with a cached data key
// makes one request for many values, and KMS takes at most 4 KB per call.
// Use it to read, migrate or keep writing data that other systems encrypt
// this way.
//
// Build it with [NewDirectProvider]; it is immutable and safe for
// concurrent use.
type DirectProvider struct {
	client      Client
	key         key
	grantTokens []string
}

var _ datamask.Provider = (*DirectProvider)(nil)

// NewDirectProvider returns a provider that encrypts values with the
// symmetric KMS key keyARN and decrypts only ciphertexts of that key (its
// ARN is the KeyId of every Decrypt call, so KMS refuses any other key's).
// keyARN must be a key ARN, as for [NewKeyring]; the call goes to its
// Region. The only option is [WithGrantTokens].
func NewDirectProvider(client Client, keyARN string, opts ...Option) (*DirectProvider, error) {
	if client == nil {
		return nil, errors.New("awskms: NewDirectProvider: client is nil")
	}
	cfg, err := newConfig("NewDirectProvider", opts)
	if err != nil {
		return nil, err
	}
	if cfg.filter != nil {
		return nil, errors.New("awskms: NewDirectProvider: WithDiscoveryFilter applies only to NewDiscoveryKeyring")
	}
	a, err := checkConfiguredKey(keyARN)
	if err != nil {
		return nil, fmt.Errorf("awskms: NewDirectProvider: %v", err)
	}
	return &DirectProvider{client: client, key: key{arn: keyARN, parsed: a}, grantTokens: cfg.grantTokens}, nil
}

// KeyARN returns the provider's key ARN.
func (p *DirectProvider) KeyARN() string { return p.key.arn }

// Encrypt implements [datamask.Provider]: plaintext must be the JSON text
// of a string, whose text is sent to KMS Encrypt; it returns the
// CiphertextBlob. A value that is not a JSON string is
// [datamask.ErrUnsupportedType]; an empty one, or one longer than
// [MaxDirectPlaintext] bytes ([ErrPlaintextTooLarge]), is refused before
// any call. A KMS failure is a [*datamask.EncryptKeyError] whose cause
// keeps the AWS error reachable with errors.As; a done ctx is returned as
// it is.
func (p *DirectProvider) Encrypt(ctx context.Context, plaintext []byte, encryptionContext map[string]string) ([]byte, error) {
	text, err := stringText(plaintext)
	if err != nil {
		return nil, err
	}
	defer clear(text)
	switch {
	case len(text) == 0:
		return nil, errors.New("awskms: DirectProvider: an empty string cannot be encrypted with KMS directly (KMS Encrypt takes 1 to 4,096 bytes)")
	case len(text) > MaxDirectPlaintext:
		return nil, fmt.Errorf("%w: the value is %d bytes, KMS Encrypt takes at most %d: encrypt larger values with envelope encryption (datamask.NewESDKProvider over awskms.NewKeyring)",
			ErrPlaintextTooLarge, len(text), MaxDirectPlaintext)
	}
	out, err := p.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(p.key.arn),
		Plaintext:         text,
		EncryptionContext: requestContext(encryptionContext),
		GrantTokens:       p.grantTokens,
	}, inRegion(p.key.parsed))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(ctx, "Encrypt", p.key.arn, err)
		}
		return nil, &datamask.EncryptKeyError{Err: fmt.Errorf("awskms: Encrypt with key %s: %w", p.key.arn, err)}
	}
	if got := aws.ToString(out.KeyId); got != p.key.arn {
		return nil, &datamask.EncryptKeyError{Err: fmt.Errorf("awskms: Encrypt with key %s answered for key %q", p.key.arn, got)}
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, &datamask.EncryptKeyError{Err: fmt.Errorf("awskms: Encrypt with key %s returned no ciphertext", p.key.arn)}
	}
	return out.CiphertextBlob, nil
}

// stringText returns the text of the JSON string plaintext.
func stringText(plaintext []byte) ([]byte, error) {
	d, err := jsontext.Parse(plaintext)
	if err != nil {
		return nil, fmt.Errorf("%w: awskms: DirectProvider: the value is not JSON text", datamask.ErrUnsupportedType)
	}
	defer d.Release()
	if k := d.Kind(0); k != jsontext.String {
		return nil, fmt.Errorf("%w: awskms: DirectProvider: the value is %s %s: values encrypted with KMS directly are strings (select string values, or use envelope encryption, datamask.NewESDKProvider, for others)",
			datamask.ErrUnsupportedType, article(k), k)
	}
	return d.AppendStr(nil, 0), nil
}

func article(k jsontext.Kind) string {
	if k == jsontext.Object || k == jsontext.Array {
		return "an"
	}
	return "a"
}

// Decrypt implements [datamask.Provider]: it calls KMS Decrypt with the
// provider's key and encryptionContext and returns the plaintext as a JSON
// string. KMS checks the context; it reports a wrong context as it reports
// an altered ciphertext (InvalidCiphertextException), so both are
// [datamask.ErrDecryptValue], as is a plaintext that is not UTF-8 text. A
// ciphertext of another key, or a key KMS will not use, is a
// [*datamask.DecryptKeyError]. AWS errors stay reachable with errors.As; a
// done ctx is returned as it is.
func (p *DirectProvider) Decrypt(ctx context.Context, ciphertext []byte, encryptionContext map[string]string) ([]byte, error) {
	out, err := p.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(p.key.arn),
		CiphertextBlob:    ciphertext,
		EncryptionContext: requestContext(encryptionContext),
		GrantTokens:       p.grantTokens,
	}, inRegion(p.key.parsed))
	if err != nil {
		var ice *types.InvalidCiphertextException
		switch {
		case ctx.Err() != nil:
			return nil, ctxError(ctx, "Decrypt", p.key.arn, err)
		case errors.As(err, &ice):
			return nil, &directValueError{reason: "KMS refused the ciphertext (InvalidCiphertextException): it was altered, or encrypted under another encryption context", cause: err}
		}
		return nil, &datamask.DecryptKeyError{Err: fmt.Errorf("awskms: Decrypt with key %s: %w", p.key.arn, err)}
	}
	defer clear(out.Plaintext)
	if got := aws.ToString(out.KeyId); got != p.key.arn {
		return nil, &datamask.DecryptKeyError{Err: fmt.Errorf("awskms: Decrypt with key %s answered for key %q", p.key.arn, got)}
	}
	if !utf8.Valid(out.Plaintext) {
		return nil, &directValueError{reason: "the KMS plaintext is not UTF-8 text (KMS-direct values are strings)"}
	}
	return jsontext.AppendQuote(nil, string(out.Plaintext)), nil
}

// directValueError is a [datamask.ErrDecryptValue] with its reason, which
// never holds any part of the value, and the AWS error.
type directValueError struct {
	reason string
	cause  error
}

func (e *directValueError) Error() string {
	return datamask.ErrDecryptValue.Error() + ": " + e.reason
}

func (e *directValueError) Unwrap() []error {
	if e.cause == nil {
		return []error{datamask.ErrDecryptValue}
	}
	return []error{datamask.ErrDecryptValue, e.cause}
}

// String names the key and the number of grant tokens, never the tokens
// (a copy of the provider prints the same).
func (p DirectProvider) String() string {
	var b strings.Builder
	b.WriteString("awskms.DirectProvider{Key: ")
	b.WriteString(strconv.Quote(p.key.arn))
	b.WriteString(", GrantTokens: ")
	b.WriteString(strconv.Itoa(len(p.grantTokens)))
	b.WriteString("}")
	return b.String()
}

// GoString is String.
func (p DirectProvider) GoString() string { return p.String() }

// Format prints String for every verb, so no verb prints a grant token.
func (p DirectProvider) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(p.String())) }

// LogValue logs the key ARN and the number of grant tokens.
func (p DirectProvider) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", "aws-kms-direct"),
		slog.String("key", p.key.arn),
		slog.Int("grant_tokens", len(p.grantTokens)),
	)
}
