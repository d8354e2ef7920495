// Package esdk reads and writes AWS Encryption SDK messages: envelope
// encryption whose output the AWS Encryption SDKs (Python, Java, JavaScript,
// .NET, C, Go, the CLI) and Powertools for AWS Lambda decrypt, and which
// decrypts what they write. It is written from the public specification on
// Go's standard crypto only.
//
// Start with [NewClient], a keyring ([NewRawAESKeyring] for a local key; the
// AWS KMS keyrings live in their own package so that this one needs no AWS
// SDK), and [NewDefaultCMM] over the keyring; then call [Client.Encrypt] and
// [Client.Decrypt]. See Example (RawAES).
//
// # Messages
//
// Encrypt writes message format version 2, framed (frame length 4096 by
// default, [WithFrameLength]), with one of the two suites that commit to
// their key: [AES256GCMHKDFSHA512CommitKeyECDSAP384] (0x0578, the default,
// signed with ECDSA P-384) or [AES256GCMHKDFSHA512CommitKey] (0x0478,
// unsigned and much faster; right when everyone who can encrypt is trusted).
// A plaintext that is an exact multiple of the frame length ends with an
// empty final frame, as the Python and JavaScript SDKs write.
//
// Decrypt reads format versions 1 and 2, framed and non-framed, in all
// eleven suites. The nine legacy suites, which do not commit to their key,
// are refused with [ErrLegacySuite] unless the client is built with
// [RequireEncryptAllowLegacyDecrypt]. Decrypt returns nothing until every
// check has passed, in the specification's order: the commitment policy and
// the caller's expected context before any materials manager runs; the key
// commitment, compared in constant time before the key is otherwise used;
// the header tag; each frame, whose sequence numbers and IVs must run from 1
// without gaps; the signature over every byte before the footer; and no byte
// after the end. Plaintext is never released early: there is no streaming
// API, a message is decrypted from memory in one call.
//
// # Materials
//
// A [Keyring] wraps and unwraps data keys; [RawAESKeyring], [RawRSAKeyring]
// and [MultiKeyring] are the local ones. A [MaterialsManager] turns a
// request into materials: [DefaultCMM] creates the signing key of signed
// suites (publishing its public half in the encryption context under
// aws-crypto-public-key) and calls a keyring; [RequiredContextCMM] makes
// context keys required (authenticated but not stored); [CachingCMM]
// (built with [NewCachingCMM]) caches the materials of any manager, so that
// a KMS keyring calls KMS once per cached data key instead of once per
// message. Materials never print their keys: String, GoString,
// Format and LogValue redact them, and the keys are held where no fmt verb
// or reflection reaches them.
//
// The two suites of the AWS Database Encryption SDK's item format
// ([DBEAES256GCMCommitKeyHMACSHA384], 0x6700, and
// [DBEAES256GCMCommitKeyECDSAP384HMACSHA384], 0x6701) exist in the
// materials model only, for package dbesdk: [Client] refuses them. Their
// keyrings wrap each data key through an intermediate key, from which the
// symmetric signing key of that encrypted data key is derived: keyrings add
// encrypted data keys with [EncryptionMaterials.AddEncryptedDataKey] and set
// data keys with [DecryptionMaterials.SetIntermediateKey]; the local
// keyrings, the multi-keyring and the AWS KMS keyrings do, and the caching
// manager caches such materials like the others.
//
// # Encryption context
//
// [WithEncryptionContext] binds key-value pairs to a message; they are
// stored in its header in the clear. Keys starting with "aws-crypto-" are
// reserved. On decrypt, [WithExpectedContext] demands that the message's
// context (ignoring aws-crypto-public-key) equal the given one exactly, the
// semantics of Powertools' data masking, and [WithReproducedContext] gives
// the specification's semantics: shared keys must agree, and pairs the
// message does not store are authenticated with its header. Either mismatch
// is a [*ContextMismatchError], raised right after the header is parsed,
// before any key is used.
//
// # Errors
//
// Decrypt fails with [ErrInvalidMessage] for any malformed, truncated,
// extended or altered message, without saying which check failed; with a
// [*NoDecryptKeyError] (errors.Is [ErrNoDecryptKey]) when no keyring can
// decrypt a data key, listing each attempt's cause; with
// [*ContextMismatchError], [ErrLegacySuite] or [ErrTooManyEncryptedDataKeys]
// as above. Invalid arguments and options give descriptive errors. No error
// holds plaintext, key material or message bytes.
//
// # Limits
//
// A message may carry at most [DefaultMaxEncryptedDataKeys] (10) encrypted
// data keys, on encrypt and on decrypt, unless [WithMaxEncryptedDataKeys]
// says otherwise: each one of a hostile message could cost a keyring attempt.
// No length field of a message is trusted for an allocation before it has
// been checked against the bytes that remain: decrypting n bytes allocates a
// small multiple of n (FuzzDecrypt checks it).
//
// # Performance
//
// Medians of five runs of
//
//	go test -run '^$' -bench . -benchtime 1s -count 5 ./esdk
//
// on a quiet 2-core AMD EPYC VM with Go 1.26 (medians by benchstat; 51 of
// the 60 runs were within 10% of their median, the farthest 35% off), with
// a raw AES-256 keyring, the default CMM, frame length 4096 and a two-pair
// context; one message per operation:
//
//	suite   size    encrypt                decrypt
//	0x0478  64 B     6.2 µs                 5.4 µs
//	0x0478  1 KiB    6.8 µs                 5.8 µs
//	0x0478  1 MiB    0.46 ms (2.3 GB/s)     0.44 ms (2.4 GB/s)
//	0x0578  64 B     297 µs                 500 µs
//	0x0578  1 KiB    306 µs                 520 µs
//	0x0578  1 MiB    1.93 ms (0.54 GB/s)    2.31 ms (0.45 GB/s)
//
// Allocations per message: 33 (encrypt) and 39 (decrypt) for 0x0478, 143
// and 80 for 0x0578 (most of them in crypto/ecdsa), plus the output.
//
// The unsigned suite costs HKDF-SHA512 (done as three HMACs on one reused
// digest), one AES key schedule and AES-GCM. The signed suite adds an ECDSA
// P-384 key generation and signature (about 290 µs) to encrypt and a
// signature verification (about 495 µs) to decrypt, and SHA-384 over the
// whole message (about 0.9 GB/s on this CPU, so a large signed message
// cannot reach 1 GB/s). Hashing on a second core beside AES-GCM was tried and
// measured no faster on this machine. A data key cache that reuses materials
// (and so the signing key) saves the key generation but not the signature.
package esdk
