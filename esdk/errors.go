package esdk

import (
	"errors"
	"strconv"
	"strings"
)

// Errors returned by [Client.Decrypt] and the materials managers and
// keyrings of this package. Match them with [errors.Is] and [errors.As]. No
// error of this package holds plaintext, key material or message bytes.
var (
	// ErrInvalidMessage is the one error for every message that is malformed,
	// truncated, extended or altered: a bad header, a wrong key commitment,
	// header tag, frame, signature or sequence number, or bytes after the
	// end. On purpose it does not say which check failed.
	ErrInvalidMessage = errors.New("esdk: invalid or tampered message")

	// ErrLegacySuite is returned by Decrypt for a message whose algorithm
	// suite does not commit to its key when the client's commitment policy
	// is [RequireEncryptRequireDecrypt] (the default). See
	// [RequireEncryptAllowLegacyDecrypt].
	ErrLegacySuite = errors.New("esdk: the message uses a legacy algorithm suite without key commitment, " +
		"which the commitment policy forbids (opt in with WithCommitmentPolicy(RequireEncryptAllowLegacyDecrypt) only to read old messages)")

	// ErrTooManyEncryptedDataKeys is returned by Decrypt, as soon as the
	// count is read, for a message with more encrypted data keys than the
	// client allows (see [WithMaxEncryptedDataKeys]).
	ErrTooManyEncryptedDataKeys = errors.New("esdk: the message has more encrypted data keys than the client allows " +
		"(raise the limit with WithMaxEncryptedDataKeys if you expect such messages)")

	// ErrNoDecryptKey is matched (with errors.Is) by every
	// [*NoDecryptKeyError].
	ErrNoDecryptKey = errors.New("esdk: no keyring could decrypt a data key of the message")

	// ErrEncryptKey is matched (with errors.Is) by every
	// [*EncryptKeyError].
	ErrEncryptKey = errors.New("esdk: cannot generate or encrypt the data key")
)

// EncryptKeyError is returned, through the materials manager and
// [Client.Encrypt], when a keyring could not generate or encrypt the data
// key: a key service refused (a disabled or unknown key, no permission, a
// throttled or unreachable service) or answered something invalid. Err is
// the cause; an AWS error in it (smithy.APIError, *types.DisabledException,
// ...) is reachable with [errors.As]. errors.Is(err, ErrEncryptKey) is true
// for it. Keyrings return a cancelled or expired ctx as it is, not as an
// EncryptKeyError.
type EncryptKeyError struct {
	Err error
}

func (e *EncryptKeyError) Error() string {
	if e.Err == nil {
		return ErrEncryptKey.Error()
	}
	return ErrEncryptKey.Error() + ": " + strings.TrimPrefix(e.Err.Error(), "esdk: ")
}

// Unwrap returns the cause.
func (e *EncryptKeyError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrEncryptKey].
func (e *EncryptKeyError) Is(target error) bool { return target == ErrEncryptKey }

// NoDecryptKeyError is returned when no keyring could decrypt any encrypted
// data key of a message: no key is configured for them, the keys are wrong,
// or a key service refused. Errors holds the cause of each failed attempt
// (a keyring's own explanation, or an AWS error that [errors.As] reaches).
// errors.Is(err, ErrNoDecryptKey) is true for it.
type NoDecryptKeyError struct {
	Errors []error
}

func (e *NoDecryptKeyError) Error() string {
	var b strings.Builder
	b.WriteString(ErrNoDecryptKey.Error())
	for i, err := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(strings.TrimPrefix(err.Error(), "esdk: "))
	}
	return b.String()
}

// Unwrap returns the causes of the failed attempts.
func (e *NoDecryptKeyError) Unwrap() []error { return e.Errors }

// Is reports whether target is [ErrNoDecryptKey].
func (e *NoDecryptKeyError) Is(target error) bool { return target == ErrNoDecryptKey }

// ContextMismatchError is returned by Decrypt when the encryption context
// given with [WithExpectedContext] or [WithReproducedContext] disagrees with
// the message's. It is detected right after the header is parsed, before any
// materials manager or keyring runs (no key is used, no KMS call is made).
// Keys lists, sorted, the keys that differ (missing, extra or with another
// value); values are never reported.
type ContextMismatchError struct {
	Keys []string
}

func (e *ContextMismatchError) Error() string {
	if len(e.Keys) == 0 {
		return "esdk: the encryption context does not match the message's"
	}
	q := make([]string, len(e.Keys))
	for i, k := range e.Keys {
		q[i] = strconv.Quote(k)
	}
	return "esdk: the encryption context does not match the message's (keys " + strings.Join(q, ", ") + ")"
}

// invalid returns ErrInvalidMessage. reason documents, at the call site,
// which check failed; it is deliberately not part of the error.
func invalid(reason string) error {
	_ = reason
	return ErrInvalidMessage
}
