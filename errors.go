package datamask

import (
	"errors"
	"strconv"
	"strings"
)

// Errors returned by [DataMasker]. Match them with [errors.Is] and [errors.As].
// No error text produced by this package holds plaintext, key material or any
// part of the payload: error text is API surface that Lambda and HTTP
// wrappers hand to callers.
var (
	// ErrUnsupportedType is returned when fields are given but the document is
	// a scalar (there is nothing to select in 42 or "text" but the document
	// itself, "$"), or when a Go value cannot be represented as JSON.
	ErrUnsupportedType = errors.New("datamask: unsupported type")

	// ErrNoProvider is returned by Encrypt and Decrypt on a DataMasker built
	// without [WithProvider].
	ErrNoProvider = errors.New("datamask: no encryption provider configured (use WithProvider)")

	// ErrNoTokenVault is returned by Tokenize and Detokenize on a
	// DataMasker built without [WithTokenVault].
	ErrNoTokenVault = errors.New("datamask: no token vault configured (use WithTokenVault)")

	// ErrDecryptValue is returned when a value selected for decryption is not
	// an encrypted message, is not valid base64, or was altered: one opaque
	// error for every malformed or tampered message.
	ErrDecryptValue = errors.New("datamask: value is not a valid encrypted message or was tampered with")
)

// FieldNotFoundError is returned when a field expression selects nothing in
// the document and missing fields are not allowed (see [AllowMissingFields]).
// Its message names the expression, never the document.
type FieldNotFoundError struct {
	Expression string
}

func (e *FieldNotFoundError) Error() string {
	return "datamask: field " + strconv.Quote(e.Expression) + " matched nothing in the document"
}

// InvalidPathError is returned when a field expression is neither RFC 9535
// JSONPath nor the Powertools (jsonpath-ng) dialect.
type InvalidPathError struct {
	Expression string
	// Offset is the byte offset in Expression where parsing failed, or -1.
	Offset int
	Err    error
}

func (e *InvalidPathError) Error() string {
	var b strings.Builder
	b.WriteString("datamask: invalid field expression ")
	b.WriteString(strconv.Quote(e.Expression))
	if e.Offset >= 0 {
		b.WriteString(" at offset ")
		b.WriteString(strconv.Itoa(e.Offset))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *InvalidPathError) Unwrap() error { return e.Err }

// SyntaxError is returned when the input is not valid JSON. Offset is the
// byte offset of the first invalid byte. The message describes what was
// expected there, never the bytes found.
type SyntaxError struct {
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "datamask: invalid JSON at byte offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
}

// EncryptKeyError is returned when the provider could not obtain or protect a
// data key while encrypting (for example KMS refused GenerateDataKey). The
// cause, such as a smithy.APIError from AWS, stays reachable by [errors.As].
type EncryptKeyError struct {
	Err error
}

func (e *EncryptKeyError) Error() string {
	if e.Err == nil {
		return "datamask: encrypt: cannot get a data key"
	}
	return "datamask: encrypt: cannot get a data key: " + e.Err.Error()
}

func (e *EncryptKeyError) Unwrap() error { return e.Err }

// DecryptKeyError is returned when no configured key can decrypt the data key
// of a message: a wrong key, a disabled key, or a key the caller may not use.
// The cause stays reachable by [errors.As].
type DecryptKeyError struct {
	Err error
}

func (e *DecryptKeyError) Error() string {
	if e.Err == nil {
		return "datamask: decrypt: no configured key can decrypt this value"
	}
	return "datamask: decrypt: no configured key can decrypt this value: " + e.Err.Error()
}

func (e *DecryptKeyError) Unwrap() error { return e.Err }

// ContextMismatchError is returned by Decrypt when the encryption context
// given by the caller differs from the one stored in a message. It is
// detected when the message header is parsed, before any key is used or any
// KMS call is made. Keys lists the context keys that differ (missing, extra
// or with another value), sorted; values are never reported. Err is the
// provider's own error, if any (such as an *esdk.ContextMismatchError).
type ContextMismatchError struct {
	Keys []string
	Err  error
}

func (e *ContextMismatchError) Error() string {
	if len(e.Keys) == 0 {
		return "datamask: encryption context does not match the message's"
	}
	q := make([]string, len(e.Keys))
	for i, k := range e.Keys {
		q[i] = strconv.Quote(k)
	}
	return "datamask: encryption context does not match the message's (keys " + strings.Join(q, ", ") + ")"
}

// Unwrap returns the provider's own error, or nil.
func (e *ContextMismatchError) Unwrap() error { return e.Err }

// ContextFromError is returned by Encrypt and Decrypt when an expression of
// [ContextFrom] or [WithContextFrom] does not select exactly one string,
// number or boolean left in clear. Reason says what it selected instead
// ("selects nothing", "selects 3 values", "selects an object", ...); the
// message names the context key and the expression, never the document.
type ContextFromError struct {
	Name       string // the encryption context key
	Expression string
	Reason     string
}

func (e *ContextFromError) Error() string {
	return "datamask: context " + strconv.Quote(e.Name) + " from " + strconv.Quote(e.Expression) + " " + e.Reason +
		": it must select exactly one string, number or boolean that is not encrypted"
}

// FieldError is the error of one selected value: Encrypt, Decrypt,
// Tokenize and Detokenize wrap the error of a value (a provider's or a
// token vault's, a type the operation refuses) with the expression that
// selected it and its rank among that expression's values, never the
// value itself. Err, such as a [*DecryptKeyError] or a token vault's
// error, stays reachable with [errors.Is] and [errors.As].
type FieldError struct {
	Op         string // "encrypt", "decrypt", "tokenize" or "detokenize"
	Expression string // the expression, as given
	Match      int    // the value's rank among the expression's values, from 1, in document order
	Err        error
}

func (e *FieldError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "datamask: ")
	msg = strings.TrimPrefix(msg, e.Op+": ")
	return "datamask: " + e.Op + ": field " + strconv.Quote(e.Expression) + " (match " + strconv.Itoa(e.Match) + "): " + msg
}

func (e *FieldError) Unwrap() error { return e.Err }
