// Package tokenvault replaces sensitive values (card numbers, SSNs,
// emails, any string) with tokens that mean nothing by themselves, and
// gives the values back to callers allowed to ask. Values live encrypted in
// a token vault: records in a [Store], each an AWS Encryption SDK message
// written by a [datamask.Provider].
//
// Start with a store (package boltstore: one file, no server), a provider
// ([NewProvider] over a local key from [datamask.ReadLocalKeyring] or AWS
// KMS keys of package awskms) and policies ([BuiltinPolicies],
// [NewPolicy] or [ParsePolicies]); [Open] the [Vault], then call
// [Vault.Tokenize] and [Vault.Detokenize], or their batch forms for up to
// [MaxBatch] values per call. A Vault is safe for concurrent use. To
// tokenize the fields of JSON documents, give the Vault to
// datamask.WithTokenVault and call datamask.DataMasker.Tokenize and
// Detokenize: a Vault is a datamask.TokenVault. Records are encrypted and
// decrypted on every core; a panic of the provider is raised again in the
// caller's goroutine, and once ctx is done no further record is started.
//
// # Tenants and policies
//
// Every call names a tenant (an identifier of 1 to 256 bytes) and a
// policy: tokens are scoped by both, so one vault serves many fields and
// customers, and a token of one tenant does not detokenize in another. A
// policy is a token format with options ([PolicySpec]):
//
//   - [FormatRandom]: a prefix and at least 128 random bits ("tok_...").
//   - [FormatUUID]: a random UUID (version 4).
//   - [FormatPreserve]: a random token of the value's length and
//     character classes, separators kept, optionally keeping the first or
//     last characters or an email's domain; card tokens Luhn-valid or,
//     safer, Luhn-invalid; never equal to the value; collisions retried;
//     values whose token space is too small refused.
//   - [FormatFF1]: vaultless: the token is the NIST FF1 encryption (package
//     ff1) of the value, under a key derived from the vault's key and a
//     tweak per tenant and policy; nothing is stored.
//
// A format refuses a value it cannot serve with a [*ValueError]; it never
// falls back to another format. Policies are not convergent by default:
// each Tokenize of a value issues a new token. [PolicySpec.Convergent]
// makes the same value get the same token in a tenant, through an
// HMAC-SHA256 fingerprint under a key the vault keeps wrapped; concurrent
// tokenizations of one value still give one token.
//
// # Records and keys
//
// A record's message holds the value, its token, creation and expiry
// times and metadata; its encryption context binds the tenant and policy,
// and the token is bound inside the authenticated plaintext (a per-token
// context would defeat the data key cache: one KMS call per value). A
// record altered in the store, or moved to another token, tenant or
// policy, does not detokenize ([ErrTampered]); neither does an expired
// token ([ErrExpired]), whatever the store says of its expiry.
//
// The vault's key, 32 random bytes from which the fingerprint keys of
// convergent policies and the keys of FF1 policies are derived with HKDF,
// is stored only as a message of the provider (a record of the empty
// tenant), created by the first [Open] of an empty store. The store never
// sees a value, a fingerprint key or an FF1 key in clear. Keys rotate with
// [WithPreviousProviders] and [Vault.Rewrap], which re-encrypts every
// record under the current provider without changing any token.
//
// Suite 0x0478 (committing, unsigned) is the vault's default
// ([NewProvider]), with the data key cache on: a batch of 1,000 values
// costs one KMS call, not 1,000.
//
// # Moving and importing tokens
//
// [Copy] moves a vault from one store to another as it is (records stay
// encrypted; no key is needed), so that a vault outgrowing its embedded
// file moves to PostgreSQL or DynamoDB keeping every token.
// [Vault.Import] stores tokens another system issued, with their values,
// so that they keep detokenizing here: how the tokens of AWS's serverless
// tokenization sample move into a datamask vault (package
// tokenvault/dynamostore reads them; "datamask vault copy" does both).
//
// # Erasure and expiry
//
// [Vault.Delete] deletes a token's record and [Vault.Forget] every record
// of a value in a tenant: the records are gone, not flagged. A TTL per
// policy or per call makes tokens expire; [Vault.Sweep] deletes expired
// records.
//
// # Stores
//
// [Store] is the small interface stores implement: conditional create that
// never overwrites a token, get, compare-and-swap, delete, a fingerprint
// index, an expiry sweep and listing with a cursor, each in batches of up
// to [MaxBatch]. Package tokenvault/storetest is the conformance suite and
// the shared benchmarks every store runs. The stores: tokenvault/boltstore
// (one file, the default), tokenvault/pgstore (PostgreSQL) and
// tokenvault/dynamostore (DynamoDB).
//
// # Errors
//
// [ErrNotFound], [ErrExpired], [ErrTampered], [ErrWrongKey],
// [ErrInvalidToken], [ErrInvalidValue] ([*ValueError]), [ErrUnsupported],
// [ErrTooMany], [ErrExhausted], [ErrTokenTaken], [ErrOtherVault] and
// [*UnknownPolicyError], matched with [errors.Is] and [errors.As]; the
// provider's and store's errors stay reachable. No error text holds a value, a token or key material.
package tokenvault
