// Package legacy reads and writes DynamoDB items in the format of the
// DynamoDB Encryption Client (DDBEC, aws-dynamodb-encryption-python and
// -java), the predecessor of the AWS Database Encryption SDK for DynamoDB.
//
// Items in the AWS Database Encryption SDK (DB-ESDK) format are datamask's
// default, and new tables should use them (package
// github.com/datamask/datamask/dbesdk). This package is for existing
// tables: to read the items DDBEC wrote, and, while DDBEC clients still read
// a table, to keep writing items they can read.
//
// # Where to start
//
// Describe the table with a [Config] (table name, key attribute names, an
// action per attribute and a default action, as DDBEC's EncryptionContext
// and AttributeActions), choose the provider the items were written with,
// and build an [Encryptor] with [New]:
//
//   - [NewDirectKMSProvider]: DDBEC's Direct KMS provider, a data key from
//     AWS KMS per item (with a cache of decrypted data keys);
//   - [NewWrappedProvider]: a fresh content key per item, wrapped with an
//     AES key ([NewAESWrappingKey]) or an RSA key pair
//     ([NewRSAWrappingKey]), items signed with an HMAC key
//     ([NewHMACSigningKey]) or an RSA key pair ([NewRSASigningKey]);
//   - [NewStaticProvider]: one AES key for every item.
//
// [Encryptor.EncryptItem] and [Encryptor.DecryptItem] take and return the
// aws-sdk-go-v2 item type, map[string]types.AttributeValue, so they sit
// between your code and PutItem, GetItem or Query. [TokenizationSampleConfig]
// is the configuration of the token vault of AWS's serverless tokenization
// sample.
//
// # Format
//
// Each ENCRYPT_AND_SIGN attribute is serialized (DDBEC's attribute
// serialization: type tag, lengths, numbers normalized, set members and map
// entries sorted) and encrypted with AES-CBC and PKCS #5 padding under the
// item's content key, with a random IV, as a binary value. The item is
// signed (HMAC-SHA256 or RSA PKCS #1 v1.5 with SHA-256) over the table name
// and every SIGN_ONLY and ENCRYPT_AND_SIGN attribute, in name order; the
// signature is stored in *amzn-ddb-map-sig*, and the material description
// (encryption mode, algorithms, the wrapped or KMS-encrypted content key) in
// *amzn-ddb-map-desc*. The material description is not signed: everything
// in it that matters is checked otherwise (the key unwraps, KMS checks the
// algorithms in its encryption context, the mode is the only one), and
// entries that do not matter are ignored.
//
// These items are authenticated by the signature only: CBC ciphertexts have
// no integrity of their own, and the encryption key does not commit to the
// ciphertext. DB-ESDK items use AES-GCM with key commitment.
//
// # Compatibility
//
// Items decrypt as DDBEC's Python and Java clients decrypt them, and they
// decrypt what this package writes. The package's tests show it with the
// shared legacy vectors, the Python and Java clients' own static and
// wrapped vectors, items the Python client wrote from its sources (every
// provider, Direct KMS through the fake KMS of package kmstest) and read
// back, and the vault items of the tokenization sample written and read by
// the sample's own code. Items of older Java clients whose RSA-wrapped
// content key has no amzn-ddb-wrap-alg entry (RSA PKCS #1 v1.5) need
// [WithLegacyPKCS1v15Unwrap].
//
// Where DDBEC's two clients disagree, this package does as the Python
// client for ordering and as the Java client for numbers:
//
//   - attribute names, string set members and map keys are ordered by code
//     point (their UTF-8 bytes), as the Python client orders them; the Java
//     client sorts Java strings (UTF-16 code units), which differs only when
//     characters above U+FFFF meet characters from U+E000 to U+FFFF, so a
//     Java item with such names or members does not verify here (nor in
//     Python);
//   - a number with more than 28 significant digits is signed and encrypted
//     exactly, as the Java client does, where the Python client rounds it to
//     28 digits, so such a signed number written by Python does not verify
//     here (nor in Java); a negative zero is "0", as in Java, where Python
//     writes "-0".
//
// Key attributes of secondary indexes get no automatic action: name them in
// [Config.Actions] as they were configured when the items were written.
//
// # Errors
//
// Every item that does not verify or decrypt fails with the same
// [ErrDecrypt]; the error is an [*ItemError] that names the table and the
// item's key values and never another attribute's value. See [ItemError]
// for the others. Configuration mistakes are refused by [New] and the
// provider constructors, not at the first item.
package legacy
