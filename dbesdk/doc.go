// Package dbesdk encrypts and signs DynamoDB items in the format of the AWS
// Database Encryption SDK for DynamoDB (DB-ESDK), which AWS ships for Java,
// .NET, Rust and Python but not for Go: items it writes decrypt there, and
// items written there decrypt here. Items are aws-sdk-go-v2's
// map[string]types.AttributeValue, so it fits GetItem, PutItem, Query and
// the attributevalue package as they are.
//
// Start with [New]: a [TableConfig] (the logical table name, the key
// attributes and an [Action] per attribute) and a keyring of package esdk
// or awskms; then call [ItemEncryptor.EncryptItem] before PutItem and
// [ItemEncryptor.DecryptItem] after GetItem. See the package example.
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
// RSA, multi, awskms strict and discovery), which wrap them through an
// intermediate key for these suites. [New] adds a data key cache
// (esdk.CachingCMM) by default. The DB-ESDK binds each item's key values
// into the encryption context, and so into every KMS ciphertext: a data key
// can only serve items with the same key, and writing or reading items of
// different keys costs one KMS call each, as in the DB-ESDK. The cache
// saves the calls of repeated writes and reads of the same item.
//
// # Legacy items
//
// Items of the older DynamoDB Encryption Client (attributes
// *amzn-ddb-map-desc* and *amzn-ddb-map-sig*) are read, and on request
// written, by another implementation plugged in with [LegacyOverride];
// without one, DecryptItem refuses them with [ErrLegacyItem].
//
// # Errors
//
// [New] checks the configuration as the DB-ESDK does and fails with errors
// matching [ErrInvalidConfig]. EncryptItem and DecryptItem fail with an
// [*ItemError] naming the table and the item's key values but no other
// value; a tampered item is [ErrInvalidItem], whichever check failed.
package dbesdk
