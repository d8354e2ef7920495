// Package tokenservice is the tokenization service: an [http.Handler]
// serving the JSON API of a token vault (package tokenvault) to
// authenticated callers within their rights, writing every reveal to a
// hash-chained audit trail (package tokenservice/audit). The same handler
// runs as a long-lived server ("datamask serve") and as an AWS Lambda
// function behind API Gateway (examples/tokenization).
//
// Start with [New]: a vault, an [Authenticator] ([ParseAPIKeys] for API
// keys, [NewJWTAuthenticator] for OpenID Connect access tokens such as
// Amazon Cognito's, [NewGatewayAuthenticator] behind API Gateway's JWT
// authorizer), [WithRights] to map groups and scopes to grants, and
// [WithAudit]. Serve the result with an [http.Server] whose timeouts are
// set, and call [Service.Drain] before [http.Server.Shutdown].
//
// # The API
//
// Versioned JSON routes, documented by the OpenAPI 3.1 document [OpenAPI]
// (also served at GET /v1/openapi.json):
//
//   - POST /v1/tokenize: {"policy", "value"} gives {"token"};
//     {"policy", "values": [...]} (up to 1,000) gives {"results": [...]},
//     a token or an error per value.
//   - POST /v1/detokenize: {"policy", "token"} or "tokens", with the header
//     X-Datamask-Purpose: {"value"}, or {"last4"} where the policy or the
//     caller's grant reveals only the last four letters or digits.
//   - POST /v1/lookup, /v1/delete, /v1/forget.
//   - POST /v1/documents/tokenize and /v1/documents/detokenize: the
//     fields of a JSON document that JSONPath expressions select, per
//     policy ({"fields": {"ssn": ["$.ssn"]}, "document": {...}}), through
//     [datamask.DataMasker.Tokenize] and Detokenize.
//   - GET /healthz, /readyz, /metrics (Prometheus text format).
//
// Errors are {"error": {"code", "message"}}, with a stable code (the Code
// constants) and a message that never holds a value or a token; 503
// answers carry Retry-After.
//
// # Rights
//
// A [Grant] gives operations ([OpTokenize], [OpDetokenize], [OpLookup],
// [OpDelete], [OpForget]) on policies of one tenant, with a [Reveal]
// limit for detokenize. The tenant of a call comes from the caller's
// grants: a request may name one of them, never another. A caller without
// the right gets 403 before the vault is asked, so nothing is decrypted.
//
// # Audit
//
// Every detokenize, lookup, delete and forget, allowed or not, and every
// refused call (401, 403) is written to the audit trail, with a keyed hash
// of each token, before the call is answered; if the line cannot be
// written, the call is answered 503 and reveals nothing.
//
// # Logs and metrics
//
// One log/slog line per request (route, status, duration, caller, tenant,
// policy, counts, error code) and [Metrics] (requests, latency histograms,
// values by outcome, KMS and store calls and errors, audit lines): never a
// value or a token. Wrap the vault's keyring with [Metrics.Keyring] and
// its store with [Metrics.Store] to count KMS and store calls.
//
// Package tokenservice/servicetest is the client suite that runs against
// the service over any transport.
package tokenservice
