package tokenvault

import (
	"errors"
	"strconv"
)

// Errors of the vault, matched with [errors.Is] and [errors.As]. Batch
// calls return them per value. No error text holds a value, a token, a
// fingerprint or key material; names of tenants and policies, which are
// identifiers, are quoted.
var (
	// ErrNotFound: the token (or, for Lookup, the value) has no record in
	// this tenant and policy: it was never issued, was deleted, forgotten
	// or swept.
	ErrNotFound = errors.New("tokenvault: no such token in this tenant and policy")

	// ErrExpired: the token's time to live has passed. It will be swept.
	ErrExpired = errors.New("tokenvault: the token has expired")

	// ErrTampered: the record does not decrypt, or decrypts to another
	// token, tenant or policy: it was altered in the store or moved there
	// from elsewhere.
	ErrTampered = errors.New("tokenvault: the record was altered or belongs to another token, tenant or policy")

	// ErrWrongKey: the keys the vault was opened with cannot decrypt a
	// record or the vault's own key; the provider's error (such as a
	// *datamask.DecryptKeyError) stays reachable with errors.As.
	ErrWrongKey = errors.New("tokenvault: the keys given cannot decrypt this vault's records (use the keys it was created with)")

	// ErrInvalidToken: the string is not a token of the policy's format.
	ErrInvalidToken = errors.New("tokenvault: not a token of this policy's format")

	// ErrInvalidValue: the policy's format cannot tokenize the value (a
	// [*ValueError] says why).
	ErrInvalidValue = errors.New("tokenvault: the policy cannot tokenize this value")

	// ErrUnsupported: the operation does not apply to the policy, such as
	// Lookup on a policy that is not convergent, or Delete on a vaultless
	// FF1 policy.
	ErrUnsupported = errors.New("tokenvault: the operation does not apply to this policy")

	// ErrTooMany: a batch holds more than MaxBatch values.
	ErrTooMany = errors.New("tokenvault: more than 1000 values in one call: split the batch")

	// ErrTokenTaken: Import was given a token that already stands for
	// another value (or, under a convergent policy, a value that already
	// has another token).
	ErrTokenTaken = errors.New("tokenvault: the token already stands for another value in this tenant and policy")

	// ErrExhausted: no free token was found for the value after repeated
	// collisions: the policy's token space is nearly full in this tenant.
	ErrExhausted = errors.New("tokenvault: no free token left for this value in the policy's token space")
)

// ValueError is returned (per value in batches) when a policy's format
// cannot tokenize a value. Reason says why in terms of length, position or
// character class; it never holds the value. It matches
// [ErrInvalidValue].
type ValueError struct {
	Policy string
	Reason string
}

func (e *ValueError) Error() string {
	return "tokenvault: policy " + strconv.Quote(e.Policy) + " cannot tokenize this value: " + e.Reason
}

// Is reports whether target is [ErrInvalidValue].
func (e *ValueError) Is(target error) bool { return target == ErrInvalidValue }

// UnknownPolicyError is returned when a call names a policy the vault was
// not opened with.
type UnknownPolicyError struct {
	Name string
}

func (e *UnknownPolicyError) Error() string {
	return "tokenvault: unknown policy " + strconv.Quote(e.Name)
}

// keyError is ErrWrongKey with the provider's error behind it.
type keyError struct {
	what string // "record" or "vault key"
	err  error
}

func (e *keyError) Error() string {
	s := "tokenvault: the keys given cannot decrypt the " + e.what + " (use the keys the vault was created with, or pass the old ones with WithPreviousProviders)"
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *keyError) Is(target error) bool { return target == ErrWrongKey }
func (e *keyError) Unwrap() error        { return e.err }
