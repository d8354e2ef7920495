// Package dynamostore keeps a token vault's records in a DynamoDB table: a
// [tokenvault.Store] for vaults shared by many processes, Lambda functions
// included, with nothing to operate but the table. Every item is signed
// with the AWS Database Encryption SDK's format (package dbesdk).
//
// Start with [New] (a *dynamodb.Client, the table and the keyring that
// signs items), create the table once with [Store.Migrate] (or "datamask
// vault migrate"), and pass the store to tokenvault.Open. The AWS
// serverless tokenization sample's table is read by [OpenSample]; its
// tokens move into any datamask vault with [Sample.CopyTo] (or "datamask
// vault copy").
//
// # Items
//
// The table's keys are pk (partition) and sk (sort), strings. A record is
// one item: pk is its token (tokens are random, so items spread over
// partitions), sk "r", the tenant's length, ":", the tenant and the policy,
// so that tokens are unique per tenant and policy. Its attributes are the
// record's ciphertext (ct), fingerprint (fp), expiry in Unix nanoseconds
// (exp) and, for DynamoDB's TTL, a day later in seconds (ttl).
//
// Each item is signed, not encrypted (every attribute SIGN_ONLY): the
// ciphertext is already an AWS Encryption SDK message that only the
// vault's keys open, and it binds the value to its token, tenant and
// policy. Signing covers what the message does not protect in the item:
// the token, tenant and policy (keys), the clear copies of the expiry that
// the sweep and DynamoDB's TTL act on, and the fingerprint that convergent
// lookups follow. An item altered in the table fails verification and
// does not detokenize (tokenvault.ErrTampered), whatever was changed. The
// default suite signs with HMAC-SHA384 under a data key of the keyring
// (DB-ESDK 0x6700: everyone who can write the vault holds its keys
// anyway); [WithSignedItems] adds an ECDSA signature.
//
// A convergent policy's fingerprint has an item of its own (pk "#f" and
// the fingerprint, sk "f" and the scope, pointing at the token), created
// with the record in one transaction (TransactWriteItems), each on
// condition that it does not exist: two creators of one value cannot both
// win. Fingerprint items are not signed: they only point at a record, which
// is verified and must hold the fingerprint.
//
// # Writes and reads
//
// DynamoDB has no conditional batch write, so Create writes each record
// with a conditional PutItem (attribute_not_exists: a token is never
// overwritten), or a transaction when it has a fingerprint, several at a
// time ([WithConcurrency]). Get and GetByFingerprint use BatchGetItem (100
// keys a request), strongly consistent, retrying unprocessed keys with
// backoff; the sweep deletes with BatchWriteItem the same way.
//
// # Expiry
//
// [Store.Migrate] turns on DynamoDB's TTL on "ttl": expired records are
// deleted by DynamoDB, without cost, usually within days. Until then they
// stay readable in the table but do not detokenize: the vault checks the
// expiry inside the ciphertext at every read. [Store.DeleteExpired]
// (tokenvault's Sweep) deletes them at once with a Scan. A fingerprint item
// whose record DynamoDB's TTL deleted is removed when its value is
// tokenized again.
//
// # KMS calls
//
// The DB-ESDK binds each item's keys into its encryption context, so each
// item has a data key of its own: with an AWS KMS keyring (package awskms)
// every item written costs a GenerateDataKey and every item read a Decrypt
// (repeated reads of one item are cached). Measured with the fake KMS
// (TestKMSCalls), for 1,000 values tokenized and detokenized in batches:
//
//	keyring of the items          tokenize 1,000        detokenize 1,000
//	local AES key                 0                     0
//	AWS KMS key                   1,000 GenerateDataKey 1,000 Decrypt
//
// plus the vault's own records, whose data key is cached: one
// GenerateDataKey and one Decrypt for the whole batch with a KMS provider.
// Where KMS calls cost too much, sign items with a local key, or with the
// AWS KMS Hierarchical keyring, whose branch keys are cached: measured
// by TestKMSCallsHierarchy (docs/tokenization.md has the table): in a new
// process, 2 KMS calls to tokenize 1,000 values and 1 to detokenize them
// (a branch key and the records' data key), not one per item.
//
// # Errors
//
// Calls on a table that does not exist fail with [ErrNotMigrated]. Errors
// of DynamoDB stay reachable with errors.As (smithy.APIError and the
// types of package dynamodb/types); none holds a value or a token.
package dynamostore
