package tokenvault

import (
	"context"
	"time"

	"github.com/datamask/datamask"
)

// MaxBatch is the most values one batch call of the vault takes, and the
// most records, keys or fingerprints one call of a [Store] receives: the
// batch size of datamask.DataMasker's Tokenize and Detokenize.
const MaxBatch = datamask.MaxTokenBatch

// Key names one record: a token within a tenant and a policy. Tokens are
// unique per tenant and policy, not across them. The vault keeps its own
// wrapped keys as records of the empty tenant, so a store must accept an
// empty Tenant and Policy (the vault refuses them from callers).
type Key struct {
	Tenant string
	Policy string
	Token  string
}

// Record is what a store keeps for one token. Ciphertext is an encrypted
// message (an AWS Encryption SDK message, with [datamask.ESDKProvider])
// holding the value, the token, its metadata, creation and expiry time; the
// store never sees a value in clear. Fingerprint is a keyed HMAC-SHA256 of
// the value, set for convergent policies only and unique per tenant and
// policy. Expires (zero for never) is a copy, in clear, of the expiry bound
// in Ciphertext, so that a store can sweep: the vault trusts only the copy
// in Ciphertext.
type Record struct {
	Key
	Fingerprint []byte
	Ciphertext  []byte
	Expires     time.Time
}

// Outcome says what [Store.Create] did with one record.
type Outcome int

const (
	_ Outcome = iota // the zero Outcome is invalid
	// Created: the record is stored, durably once Create returns.
	Created
	// TokenTaken: a record with the same Key exists (or comes earlier in
	// the same call); nothing was written.
	TokenTaken
	// FingerprintTaken: a record of the same tenant and policy holds the
	// same Fingerprint (or one earlier in the same call does); nothing was
	// written, and [CreateResult.Existing] is that record.
	FingerprintTaken
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case TokenTaken:
		return "token taken"
	case FingerprintTaken:
		return "fingerprint taken"
	}
	return "invalid outcome"
}

// CreateResult is the result of [Store.Create] for one record.
type CreateResult struct {
	Outcome Outcome
	// Existing is the record that holds the fingerprint, for
	// FingerprintTaken.
	Existing *Record
}

// ListRequest selects a page of records for [Store.List].
type ListRequest struct {
	// Tenant limits the page to one tenant; "" lists every record,
	// the vault's own included.
	Tenant string
	// Policy limits the page to one policy of Tenant; "" lists every
	// policy. It is only given with a Tenant.
	Policy string
	// Cursor continues a listing where the page before it ended; ""
	// starts one.
	Cursor string
	// Limit is the most records of the page, 1 to [MaxBatch].
	Limit int
}

// Store keeps the records of a [Vault]. Package boltstore is the embedded
// one; servers' stores (PostgreSQL, DynamoDB) live in their own packages.
// Every store must pass the conformance suite of package
// tokenvault/storetest, which checks each rule written here, under
// concurrency too.
//
// A store is safe for concurrent use. Slices given to it belong to the
// caller and may be reused after the call returns; records it returns
// belong to the caller. Each method takes at most [MaxBatch] items and
// returns an error (and no result) only when the whole call failed, for
// example the server was unreachable or ctx was done; a call that failed
// may or may not have written some of its records.
type Store interface {
	// Create stores each record unless its Key or, when its Fingerprint is
	// not nil, its fingerprint is taken within its tenant and policy
	// (see [Outcome]). It never overwrites a record. Records are
	// independent: one refused record does not stop the others. Each
	// record is checked against those stored and those before it in recs.
	Create(ctx context.Context, recs []Record) ([]CreateResult, error)

	// Get returns the record of each key, or nil where there is none.
	// Expired records are returned until they are deleted.
	Get(ctx context.Context, keys []Key) ([]*Record, error)

	// GetByFingerprint returns the record of tenant and policy holding
	// each fingerprint, or nil where there is none.
	GetByFingerprint(ctx context.Context, tenant, policy string, fingerprints [][]byte) ([]*Record, error)

	// Swap replaces the record at key with next, or deletes it when next
	// is nil, only if the record stored there has the ciphertext prev
	// (compare and swap); it reports whether it did. next has the same
	// Key and Fingerprint; its Ciphertext and Expires may differ.
	Swap(ctx context.Context, key Key, prev []byte, next *Record) (bool, error)

	// Delete deletes the record of each key, with its fingerprint, and
	// reports for each whether there was one.
	Delete(ctx context.Context, keys []Key) ([]bool, error)

	// DeleteExpired deletes up to limit (1 to [MaxBatch]) records whose
	// Expires is not zero and not after now, and returns how many it
	// deleted: fewer than limit means none is left.
	DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error)

	// List returns a page of the records req selects, in an order of the
	// store's choosing that does not change between pages, and the cursor
	// of the next page ("" after the last). A record created or deleted
	// during a listing may or may not be listed; every other record is
	// listed exactly once.
	List(ctx context.Context, req ListRequest) ([]Record, string, error)
}
