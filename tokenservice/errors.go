package tokenservice

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/datamask/datamask/tokenvault"
)

// Error codes of the API: the "code" of every error body
// ({"error": {"code": "...", "message": "..."}}) and of per-value errors in
// batch results. They are stable: clients may branch on them. Messages
// explain, in English, and never hold a value or a token.
const (
	CodeBadRequest           = "bad_request"            // 400: malformed JSON, unknown or missing fields
	CodeTooManyValues        = "too_many_values"        // 400: more than 1,000 values or tokens in one call
	CodeUnknownPolicy        = "unknown_policy"         // 400: the policy is not one of the vault's
	CodeInvalidTenant        = "invalid_tenant"         // 400: not a tenant name
	CodeTenantRequired       = "tenant_required"        // 400: the caller has several tenants: name one
	CodePurposeRequired      = "purpose_required"       // 400: detokenize without X-Datamask-Purpose
	CodeUnsupported          = "unsupported"            // 400: the operation does not apply to the policy
	CodeUnauthenticated      = "unauthenticated"        // 401: no valid credentials
	CodeForbidden            = "forbidden"              // 403: the caller lacks the right
	CodeNotFound             = "not_found"              // 404: no such token (or value, for lookup)
	CodeRouteNotFound        = "route_not_found"        // 404: no such route
	CodeMethodNotAllowed     = "method_not_allowed"     // 405
	CodeExhausted            = "exhausted"              // 409: no free token left in the policy's space
	CodeExpired              = "expired"                // 410: the token's time to live has passed
	CodeBodyTooLarge         = "body_too_large"         // 413
	CodeUnsupportedMedia     = "unsupported_media_type" // 415: the body is not application/json
	CodeInvalidValue         = "invalid_value"          // 422: the policy's format cannot tokenize the value
	CodeInvalidToken         = "invalid_token"          // 422: not a token of the policy's format
	CodeNotRevealable        = "not_revealable"         // 422: too short to reveal its last four
	CodeFieldNotFound        = "field_not_found"        // 422: a JSONPath expression selects nothing in the document
	CodeUnsupportedType      = "unsupported_type"       // 422: a selected value\'s JSON type cannot be tokenized (a boolean; a number whose token is not one)
	CodeTampered             = "tampered"               // 500: the record was altered in the store
	CodeWrongKey             = "wrong_key"              // 500: the service's keys cannot decrypt the record
	CodeInternal             = "internal"               // 500
	CodeUnavailable          = "unavailable"            // 503: the store, the keys or the audit trail failed; retry after Retry-After
	CodeTimeout              = "timeout"                // 503: the call took longer than the request timeout; retry
	CodeIdentityProviderDown = "identity_provider_down" // 503: the issuer's JWKS cannot be fetched; retry
)

// apiError is an error answered to a client.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func newError(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// vaultError maps an error of the vault (of one value, or of a whole
// call) to its API error. The vault's messages hold no value or token.
func vaultError(err error) *apiError {
	var upe *tokenvault.UnknownPolicyError
	switch {
	case transient(err):
		// A KMS or store server failing, or unreachable, even where the
		// vault reports the key as unable to decrypt.
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "the vault's store or keys are unavailable: retry after the time in Retry-After")
	case errors.As(err, &upe):
		return newError(http.StatusBadRequest, CodeUnknownPolicy, "the policy is not one of the vault's")
	case errors.Is(err, tokenvault.ErrTooMany):
		return newError(http.StatusBadRequest, CodeTooManyValues, "more than 1000 values in one call: split the batch")
	case errors.Is(err, tokenvault.ErrUnsupported):
		return newError(http.StatusBadRequest, CodeUnsupported, trimPrefix(err))
	case errors.Is(err, tokenvault.ErrInvalidValue):
		return newError(http.StatusUnprocessableEntity, CodeInvalidValue, trimPrefix(err))
	case errors.Is(err, tokenvault.ErrInvalidToken):
		return newError(http.StatusUnprocessableEntity, CodeInvalidToken, "not a token of this policy's format")
	case errors.Is(err, tokenvault.ErrNotFound):
		return newError(http.StatusNotFound, CodeNotFound, "no such token in this tenant and policy")
	case errors.Is(err, tokenvault.ErrExpired):
		return newError(http.StatusGone, CodeExpired, "the token has expired")
	case errors.Is(err, tokenvault.ErrExhausted):
		return newError(http.StatusConflict, CodeExhausted, "no free token left for this value in the policy's token space")
	case errors.Is(err, tokenvault.ErrTampered):
		return newError(http.StatusInternalServerError, CodeTampered, "the record was altered in the store or belongs to another token")
	case errors.Is(err, tokenvault.ErrWrongKey):
		return newError(http.StatusInternalServerError, CodeWrongKey, "the service's keys cannot decrypt this record")
	case errors.Is(err, context.DeadlineExceeded):
		return newError(http.StatusServiceUnavailable, CodeTimeout, "the call took longer than the service allows: retry")
	}
	// The store or the keys (KMS) failing: transient, as far as the
	// service can tell.
	return newError(http.StatusServiceUnavailable, CodeUnavailable, "the vault's store or keys are unavailable: retry after the time in Retry-After")
}

// transient reports whether err comes from a server answering 5xx or 429,
// a throttled request, or the network: the AWS SDK's and net's errors, told
// apart by their methods rather than their types, so that this package
// needs no AWS SDK.
func transient(err error) bool {
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		if c := status.HTTPStatusCode(); c >= 500 || c == http.StatusTooManyRequests {
			return true
		}
	}
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) && strings.Contains(coded.ErrorCode(), "Throttl") {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func trimPrefix(err error) string {
	s := err.Error()
	const p = "tokenvault: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
