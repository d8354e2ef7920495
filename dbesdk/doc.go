// Package dbesdk encrypts and signs DynamoDB items in the format of the AWS
// Database Encryption SDK for DynamoDB (DB-ESDK), which AWS ships for Java,
// .NET, Rust and Python but not for Go: items it writes decrypt there, and
// items written there decrypt here. Items are aws-sdk-go-v2's
// map[string]types.AttributeValue, so it fits GetItem, PutItem, Query and
// the attributevalue package as they are.
//
// Start with [New]: a [TableConfig] (the logical table name, the key
// attributes and an [Action] per attribute) and a keyring of package esdk
// or awskms. Then either give the item encryptors of your tables to
// [NewEncryptedTables] and your DynamoDB client the option
// [WithEncryption], so that PutItem, GetItem, Query and the other item
// operations encrypt and decrypt on their own (see ExampleWithEncryption),
// or call [ItemEncryptor.EncryptItem] before PutItem and
// [ItemEncryptor.DecryptItem] after GetItem yourself (the package
// example).
//
// # Encrypted tables
//
// [WithEncryption] is an aws-sdk-go-v2 client option that adds API
// middleware: code keeps its *dynamodb.Client, attributevalue and
// expression code, paginators and retries. Items are encrypted on the way
// in and verified and decrypted on the way out; what DynamoDB cannot do on
// ciphertext (a filter, condition or key condition reading an encrypted
// attribute, an update of a signed attribute, PartiQL) is refused with a
// [*RequestError] before anything is sent, and an item that fails
// verification fails the call with an [*ItemError]. Projections are
// widened to what verification needs and applied after decryption.
// [AddEncryptionMiddleware] lists the rules.
//
// Measured against DynamoDB Local (BenchmarkTable: go test -run '^$' -bench
// BenchmarkTable -benchtime 2000x -count 5 ./dbesdk), one item of 9
// attributes, 4 encrypted, raw AES keyring, warm cache, on a shared 2-core
// machine: PutItem 0.72 ms plain, 0.88 ms with suite 0x6700, 1.48 ms with
// 0x6701; GetItem 0.59, 0.63 and 1.43 ms.
//
// # Format
//
// EncryptItem encrypts each attribute configured [EncryptAndSign] under a
// key of its own (AES-256-GCM), replaces it by its ciphertext (type B), and
// adds two attributes: aws_dbe_head, which records the algorithm suite, a
// legend of how each signed attribute was written and the encrypted data
// keys, and aws_dbe_foot, which authenticates every signed attribute with
// one HMAC-SHA384 per encrypted data key and, for suite 0x6701 (the
// default), an ECDSA P-384 signature. Format version 2 is written when an
// attribute is [SignAndIncludeInEncryptionContext], version 1 otherwise;
// both versions and both suites are read.
//
// The partition and sort keys are always signed and never encrypted:
// DynamoDB needs them. They are bound into the encryption context, so the
// keyring (AWS KMS included) sees them, and errors name them: they are the
// item's identity, not a secret. Attributes named by
// TableConfig.UnsignedPrefix or UnsignedAttributes are neither encrypted
// nor signed; every other attribute of an item is signed, so one added,
// removed or changed after EncryptItem makes DecryptItem fail.
//
// Numbers are normalized as DynamoDB stores them before they are signed or
// encrypted ("2.50" is signed as "2.5"), and sets and maps are serialized in
// canonical order, so an item keeps verifying after a round trip through
// DynamoDB. A number encrypted comes back normalized; one only signed
// comes back as written.
//
// # Keys and KMS calls
//
// Data keys come from esdk's materials managers and keyrings (raw AES, raw
// RSA, multi, awskms strict and discovery, and the AWS KMS Hierarchical
// keyring of package hierarchy), which wrap them through an intermediate
// key for these suites. [New] adds a data key cache (esdk.CachingCMM) by
// default. The DB-ESDK binds each item's key values into the encryption
// context, and so into every KMS ciphertext: with an AWS KMS keyring a data
// key can only serve items with the same key, and writing or reading items
// of different keys costs one KMS call each, as in the DB-ESDK. The cache
// saves the calls of repeated writes and reads of the same item.
//
// To write and read many items with few KMS calls, use the hierarchical
// keyring (package hierarchy), as DB-ESDK users do: a branch key, kept in a
// DynamoDB key store under a KMS key and fetched with one KMS Decrypt, is
// cached for a time to live, and each item's data key is wrapped under a
// key derived from it without calling KMS. Encrypting 1,000 items of
// distinct keys, and decrypting them in another process, costs one KMS
// Decrypt (and one DynamoDB GetItem) each way. Build the item encryptor
// with [WithoutDataKeyCache] then: items of distinct keys never share a
// data key, and the cache would only cost time (about 190 ms instead of
// 60-70 ms for those 1,000 items, suite 0x6700, on the machine below).
//
// # Legacy items
//
// Items of the older DynamoDB Encryption Client (attributes
// *amzn-ddb-map-desc* and *amzn-ddb-map-sig*) are read, and on request
// written, by another implementation plugged in with [LegacyOverride];
// without one, DecryptItem refuses them with [ErrLegacyItem].
//
// # Performance
//
// The benchmark item has 10 attributes, 4 of them encrypted (dbesdk/
// bench_test.go). Figures from
//
//	go test -run '^$' -bench '(En|De)cryptItem' -benchtime 20000x ./dbesdk
//
// on a 2-core AMD EPYC VM with Go 1.26, with a raw AES keyring; the machine
// was shared (load average 10 to 12), so wall-clock times per item were
// about twice the CPU time, which is also given (user time of the benchmark
// process, its garbage collection included, divided by the items):
//
//	suite   operation   warm cache            cold (no cache)     allocations (warm)
//	0x6700  encrypt     25-40 µs (22 µs CPU)  35-55 µs            72
//	0x6700  decrypt     25-30 µs (21 µs CPU)  31-50 µs            88
//	0x6701  encrypt     0.8-1.4 ms (0.42 ms CPU)                  193
//	0x6701  decrypt     0.9-1.5 ms (0.54 ms CPU)                  112
//
// The Go DB-ESDK (v0.1.0-beta.4, material providers v0.4.0), measured in
// the same session on the same item, configuration and key (a local
// benchmark outside this repository), takes 3.2-3.3 ms (2.3 ms CPU) to
// encrypt and 2.5-2.6 ms (2.0 ms CPU) to decrypt with suite 0x6700, with
// some 38,000 and 34,000 allocations; 4-7 ms with 0x6701: about 100 times
// more than datamask's 0x6700. The goal of 20 µs per item each way for
// 0x6700 with a warm cache is about met in CPU time; the wall-clock time on
// this loaded machine was 25 µs at best.
//
// Most of the cost of 0x6700 is SHA-512 and SHA-384 (some 30 blocks: key
// derivation, header commitment, canonical hash, recipient tag, the cache's
// identifier) and one AES key schedule per encrypted attribute. Suite
// 0x6701 adds an ECDSA P-384 signature, signed twice on average because the
// format stores exactly 103 bytes of DER, and its verification.
//
// # Errors
//
// [New] checks the configuration as the DB-ESDK does and fails with errors
// matching [ErrInvalidConfig]. EncryptItem and DecryptItem fail with an
// [*ItemError] naming the table and the item's key values but no other
// value; a tampered item is [ErrInvalidItem], whichever check failed.
package dbesdk
