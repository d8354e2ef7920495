// Package datamask protects sensitive data inside JSON payloads: it erases,
// encrypts, decrypts, tokenizes and detokenizes the fields you select with
// JSONPath.
//
// It is the Go counterpart of the Data Masking utility of Powertools for AWS
// Lambda (Python and TypeScript), and its encrypted values are AWS Encryption
// SDK messages that those tools, the JS ESDK and the official Go ESDK decrypt.
//
// Start with [Erase], which needs no key. To encrypt, build a [Provider]
// once, from a local key file ([ReadLocalKeyring]) or AWS KMS keys (package
// awskms), with [NewESDKProvider]; then a [DataMasker] with
// [New]([WithProvider](p)), and call [DataMasker.Encrypt] and
// [DataMasker.Decrypt]. A DataMasker is safe for concurrent use: build it at
// start-up (in Lambda, before lambda.Start) and share it.
//
// # Erase
//
// [Erase] and [DataMasker.Erase] replace the values that JSONPath
// expressions select ([Fields]) with "*****", a fixed mask ([CustomMask]),
// a shape-keeping mask ([DynamicMask]), a regular expression ([RegexMask])
// or a rule per expression ([MaskingRules]). Expressions are RFC 9535
// JSONPath or the Powertools (jsonpath-ng) dialect: "$.customers[*].ssn"
// and "customers[*].ssn" select the same values. The document is indexed in
// one pass and only the selected values are rewritten: every other byte,
// number spelling and key order included, is kept.
//
// # Encrypt and decrypt
//
// [DataMasker.Encrypt] and [DataMasker.Decrypt] turn values into AWS
// Encryption SDK messages, stored as standard base64 in JSON strings, and
// back. Without [Fields] the whole document is one message (what
// Powertools Python returns); with Fields each selected value's exact JSON
// text is its own message, in place, and Decrypt with the same fields gives
// back the same values and types, byte for byte (as Powertools TypeScript's
// field encryption, which re-serializes values instead).
// [DataMasker.EncryptValue] and [DataMasker.DecryptValue] do the same for
// Go values through the codec of [WithJSONCodec]. Many fields are processed
// in parallel on every core.
//
// The encryption back end is a [Provider]. [NewESDKProvider] builds the
// AWS Encryption SDK one from a keyring: AWS KMS keys (package awskms; the
// first key generates each data key, each other key encrypts it again, and
// any one of them decrypts) or a local AES key file ([ReadLocalKeyring],
// written by "datamask keygen"; no AWS account needed). Its defaults are
// those of Powertools: suite 0x0578 (committing, ECDSA P-384 signed),
// commitment policy REQUIRE_ENCRYPT_REQUIRE_DECRYPT, 4096-byte frames.
// For field-level work where every encryptor is trusted, [WithSuite] with
// suite 0x0478 (committing, unsigned) is 20 to 80 times cheaper per value
// (the most on decrypt, where 0x0578 verifies an ECDSA P-384 signature per
// value). Data keys are cached ([DataKeyCache]):
// with AWS KMS, one KMS call serves many values and many invocations.
//
// [EncryptionContext] binds string pairs to every message. Decrypt requires
// exactly the pairs the message holds (the SDK's own aws-crypto-public-key
// aside) and fails with [*ContextMismatchError] as soon as a message header
// is parsed, before any key is used or KMS called. Keys starting with
// "aws-crypto-" are refused on encrypt. Go's types rule out Powertools'
// non-string context values; text that is not UTF-8, which the message
// format cannot hold, is [ErrUnsupportedType].
//
// Where this differs from Powertools: a selected value that is not a base64
// message on decrypt is [ErrDecryptValue] (TypeScript skips non-strings
// with a warning; Python raises a bare ValueError for bad base64); the
// context is checked before decryption and exactly (TypeScript checks the
// caller's pairs after decrypting, so missing pairs pass); and values keep
// their JSON text (TypeScript's JSON round trip turns 12345678901234567890
// into 12345678901234567000). The README lists every difference from
// Powertools with its reason.
//
// # Tokenize and detokenize
//
// [DataMasker.Tokenize] replaces the selected values with tokens of a
// token vault ([TokenVault]: package tokenvault's Vault, given with
// [WithTokenVault]), and [DataMasker.Detokenize] gives them back: each
// expression names the vault policy of its values ([TokenFields]), and
// every call its tenant ([Tenant]). Strings become string tokens and
// numbers number tokens, so the document keeps its types; values go to
// the vault in batches of up to [MaxTokenBatch], several at once.
//
// # What encryption binds, and what it does not
//
// Each encrypted value is its own message, bound to its keys and to its
// encryption context: it decrypts only with one of the keys it was
// encrypted under, and only for exactly its context. By default it is not
// bound to its place: in a document encrypted with Fields every value is a
// message under the same context, so anyone who can write the stored JSON,
// with no key, can swap two encrypted values ("ssn" and "role", their types
// changing too) or copy one from another record (a "role" holding the
// ciphertext of "admin"), and Decrypt returns the moved values without
// error. Powertools TypeScript's field encryption behaves the same. Two
// opt-in bindings close this, each at a cost:
//
//   - [BindFields] binds each value to the expression that selected it: its
//     context gets the pair [FieldContextKey] = the expression's canonical
//     text ([CanonicalExpression]; "ssn" and "$['ssn']" bind alike). A
//     value moved to a place another expression selects fails with
//     [*ContextMismatchError]. Cost: one data key per expression instead of
//     one per call. Powertools, which requires exactly a message's pairs,
//     decrypts such a value only when given that pair too; the AWS
//     Encryption SDKs, which check only the pairs they are given, read it
//     as before.
//   - [ContextFrom] binds each value to its record: a context pair read
//     from the document itself, such as "id" from "$.id" (exactly one
//     string, number or boolean, left in clear). A value copied into another
//     record fails the same way. Cost: one data key per record, so with AWS
//     KMS one GenerateDataKey per record, and one KMS Decrypt per record to
//     read them back, since the cache cannot share data keys across
//     records.
//
// [WithBindFields] and [WithContextFrom] set them for every call of a
// DataMasker that has Fields. Decrypt must be given the binding options of
// Encrypt: a value bound otherwise than Decrypt expects fails with
// *ContextMismatchError as soon as its header is read, before any key is
// used or KMS called. What stays open: values of one expression can be
// swapped among themselves within one record ("customers[*].ssn" across
// the customers of one document), and a whole record can be replaced by an
// older version of itself; select such values with an expression each, and
// bind a version number with ContextFrom where that matters.
//
// # Large documents, cancellation and panics
//
// [DataMasker.EraseTo], [DataMasker.EncryptTo], [DataMasker.DecryptTo],
// [DataMasker.TokenizeTo] and [DataMasker.DetokenizeTo] write their
// result to an io.Writer as it is made, a chunk of values at a time, so
// that a large document costs about its size and its index (4 bytes per
// value) rather than several copies of it; the command-line tool uses
// them. Once the context of Encrypt or Decrypt is done, no further value
// is started (the work stops within about one value per core) and the
// context's error is returned; Tokenize and Detokenize stop within about
// one batch. A panic in a [Provider], a keyring or a [TokenVault] is
// raised again in the caller's goroutine, with its own value, however many
// values were being processed in parallel.
//
// # Errors
//
// Functions return few errors, matched with [errors.Is] and [errors.As]:
// [*SyntaxError] (the input is not JSON; with its byte offset),
// [*InvalidPathError], [*FieldNotFoundError], [ErrUnsupportedType],
// [ErrNoProvider], [ErrNoTokenVault], [*FieldError] (the error of one
// value, with its expression and rank), [*EncryptKeyError],
// [*DecryptKeyError], [ErrDecryptValue]
// (one opaque error for any malformed or tampered value),
// [*ContextMismatchError] and [*ContextFromError] (a ContextFrom expression
// that does not select one scalar in clear). The cause of a key error, such as an AWS KMS
// exception, stays reachable through errors.As. No error text holds
// plaintext, key material or any part of the payload: error text is API
// surface that Lambda and HTTP wrappers hand to callers.
package datamask

import (
	"errors"
)

// DataMasker erases, encrypts and decrypts values in JSON documents. Build it
// with [New]; it is safe for concurrent use, and it keeps the expressions and
// regular expressions it has compiled, so reuse one DataMasker.
type DataMasker struct {
	provider  Provider
	marshal   func(any) ([]byte, error)
	unmarshal func([]byte, any) error
	codecSet  bool          // WithJSONCodec was given
	cache     *compileCache // compiled expressions and masks; nil disables caching
	binding   bindDefaults  // WithBindFields, WithContextFrom
	vault     TokenVault    // WithTokenVault
}

// New returns a DataMasker configured by opts. Erase needs no option;
// Encrypt and Decrypt need [WithProvider].
func New(opts ...Option) (*DataMasker, error) {
	m := &DataMasker{marshal: jsonMarshal, unmarshal: jsonUnmarshal, cache: newCompileCache()}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("datamask: New: nil Option")
		}
		if err := o.applyMasker(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// newCallConfig applies opts for operation op ("erase", "encrypt",
// "decrypt", "tokenize" or "detokenize") and rejects options that do not
// apply to it.
func newCallConfig(op string, opts []CallOption) (*callConfig, error) {
	c := &callConfig{}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("datamask: " + op + ": nil CallOption")
		}
		if err := o.applyCall(c); err != nil {
			return nil, err
		}
	}
	if c.tokens && op != "tokenize" && op != "detokenize" {
		return nil, errors.New("datamask: " + op + ": TokenFields and Tenant apply only to Tokenize and Detokenize")
	}
	switch op {
	case "tokenize", "detokenize":
		return c, checkTokenConfig(op, c)
	case "erase":
		if c.contextSet {
			return nil, errors.New("datamask: erase: EncryptionContext applies only to Encrypt and Decrypt")
		}
		if c.bind || len(c.contextFrom) > 0 {
			return nil, errors.New("datamask: erase: BindFields and ContextFrom apply only to Encrypt and Decrypt")
		}
		if c.rules != nil && (c.fieldsSet || c.mask != nil) {
			return nil, errors.New("datamask: erase: MaskingRules cannot be combined with Fields or a mask option: put every expression in the rules")
		}
	default:
		if c.mask != nil {
			return nil, errors.New("datamask: " + op + ": " + c.maskFrom + " applies only to Erase")
		}
		if c.rules != nil {
			return nil, errors.New("datamask: " + op + ": MaskingRules applies only to Erase")
		}
	}
	return c, nil
}
