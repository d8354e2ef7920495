package legacy

import (
	"errors"
	"strconv"
	"strings"
)

// Errors returned by [Encryptor.EncryptItem] and [Encryptor.DecryptItem],
// always inside an [*ItemError] that names the table and the item's key.
// Match them with [errors.Is]. No error of this package holds an attribute
// value other than the item's key values, nor key material.
var (
	// ErrDecrypt is the one error for every item that does not verify or
	// decrypt: a signature that does not match (an attribute changed, added
	// or removed, a wrong table name, signing key or attribute actions), a
	// missing or malformed signature or material description, a content key
	// that does not unwrap, a ciphertext that does not decrypt, or a Direct
	// KMS data key that KMS refuses because its encryption context (table,
	// key values, algorithms) differs. On purpose it does not say which.
	ErrDecrypt = errors.New("legacy: item does not verify or decrypt")

	// ErrInvalidItem is returned by EncryptItem for an item it cannot
	// encrypt: no key attribute, a reserved attribute name, a value that is
	// not a DynamoDB value (such as an invalid number). The message names
	// the attribute, never its value.
	ErrInvalidItem = errors.New("legacy: item cannot be encrypted")

	// ErrKMS is returned when AWS KMS failed or refused a call of the Direct
	// KMS provider for another reason than the item's ciphertext: a
	// disabled, unknown or other key, missing permissions, throttling after
	// the SDK's retries, an unreachable endpoint, or an answer that does not
	// name the configured key. The AWS SDK's error stays reachable with
	// [errors.As] (smithy.APIError, *types.DisabledException, ...).
	ErrKMS = errors.New("legacy: AWS KMS call failed")
)

// ItemError is the error of one item: Op is "encrypt" or "decrypt", Table
// the configured table name and Key the item's key attributes as they were
// given (name to value as text: strings as they are, numbers as written,
// binary values in base64; absent keys are left out). Its Unwrap returns
// [ErrDecrypt], [ErrInvalidItem] or [ErrKMS] with the cause, or a
// cancelled or expired context's error as it is.
//
// Key values appear in Error() unless the [Encryptor] was built with
// [WithKeyValuesRedacted]: key attributes are not encrypted, but a table
// whose keys are themselves sensitive (tokens, e-mail addresses) should
// keep them out of logs.
type ItemError struct {
	Op    string
	Table string
	Key   map[string]string

	redacted bool
	keyNames []string // Key's names in order: partition key, then sort key
	err      error
}

func (e *ItemError) Error() string {
	var b strings.Builder
	b.WriteString("legacy: ")
	b.WriteString(e.Op)
	b.WriteString(" item of table ")
	b.WriteString(strconv.Quote(e.Table))
	for _, name := range e.keyNames {
		v, ok := e.Key[name]
		if !ok {
			continue
		}
		b.WriteString(", ")
		b.WriteString(strconv.Quote(name))
		b.WriteString("=")
		if e.redacted {
			b.WriteString("(redacted)")
		} else {
			b.WriteString(strconv.Quote(v))
		}
	}
	if e.err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.err.Error(), "legacy: "))
	}
	return b.String()
}

// Unwrap returns the cause: ErrDecrypt, ErrInvalidItem or ErrKMS (joined
// with the AWS error for ErrKMS), or a context error.
func (e *ItemError) Unwrap() error { return e.err }

// causeError joins a sentinel with a detail that is safe to show (an
// attribute name, what is wrong) or an AWS error to reach with errors.As.
type causeError struct {
	sentinel error
	detail   string
	cause    error
}

func (e *causeError) Error() string {
	s := e.sentinel.Error()
	if e.detail != "" {
		s += ": " + e.detail
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *causeError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.sentinel}
	}
	return []error{e.sentinel, e.cause}
}

func invalidItem(detail string) error {
	return &causeError{sentinel: ErrInvalidItem, detail: detail}
}

func kmsError(detail string, cause error) error {
	return &causeError{sentinel: ErrKMS, detail: detail, cause: cause}
}
