// Package awskms holds the AWS KMS keyrings of the AWS Encryption SDK
// (package esdk): messages whose data keys are protected by symmetric AWS
// KMS keys, readable by every AWS Encryption SDK and by Powertools for AWS
// Lambda given the same keys.
//
// Start with [NewKeyring] over a *kms.Client of the AWS SDK for Go v2 and
// one or more key ARNs, wrap it in [esdk.NewDefaultCMM] and, to call KMS
// once per cached data key rather than once per message, in
// [esdk.NewCachingCMM]; then encrypt and decrypt with an [esdk.Client]. See
// the package example. The package is separate from esdk and from the root
// datamask package so that only programs that use KMS import the AWS SDK.
//
// # Keys
//
// The strict [Keyring] is configured with key ARNs
// (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID). Its first key generates each data
// key (kms:GenerateDataKey) and every other key encrypts it again
// (kms:Encrypt), so the message carries one encrypted data key per key and
// any one key decrypts it (kms:Decrypt). Aliases and key ids are refused
// when the keyring is built: messages record the key ARN, and the keyring
// decrypts only what is recorded under its own ARNs. Keys may be in
// different Regions: each call is made in the Region of its key's ARN, with
// the client's credentials, retryer and endpoint settings. Since the SDK
// builds the KMS host from that Region, a key ARN, configured or read from
// a message, must name a well-formed Region (lowercase letters and digits
// in parts joined by hyphens, ending with a number, such as us-east-1): a
// "Region" such as x.s3.us-east-1 would send the call to another host
// under the partition's domain, and is refused before any call. ARNs are matched
// exactly, as the specification's (not multi-Region-aware) AWS KMS keyring
// does: a replica of a multi-Region key in another Region does not decrypt
// what was recorded under the primary's ARN.
//
// The [DiscoveryKeyring] only decrypts, with whichever key ARN a message
// records; [WithDiscoveryFilter] limits it to some accounts of one
// partition and [WithDiscoveryRegions] to some Regions, and keys outside
// them are refused without a KMS call.
//
// # Values encrypted with KMS directly
//
// [DirectProvider] is not a keyring but a datamask.Provider for values
// that other systems encrypt with one KMS Encrypt call each, storing the
// base64 of the CiphertextBlob (AWS's guidance for Lambda, many tables of
// personal data): datamask reads them, can encrypt them again with
// envelope encryption, or keeps writing them. Each value costs a KMS call
// and KMS takes 4,096 bytes at most: for new data, use the keyrings.
//
// The encryption context, including the aws-crypto-public-key that signed
// suites add, is sent with every KMS call, so KMS binds it to its
// ciphertexts and can log it in CloudTrail. [WithGrantTokens] adds grant
// tokens to every call.
//
// # DynamoDB items
//
// For the DB-ESDK suites of package dbesdk ([esdk.Suite.IntermediateKeyWrapping]),
// the keyrings work as the material providers library's AWS KMS keyring
// does: the data key is generated locally, every key of a strict keyring
// (the first included) calls GenerateDataKey for an intermediate key of its
// own, and the encrypted data key holds the data key sealed under a key
// derived from it followed by the KMS ciphertext. Decrypting calls Decrypt
// on that KMS ciphertext, once per item or cached materials.
//
// # Permissions
//
// Encrypting needs kms:GenerateDataKey on the first key and kms:Encrypt on
// each other key (for DynamoDB items, kms:GenerateDataKey on every key); decrypting needs kms:Decrypt on the key that decrypts
// (for a discovery keyring, on every key it may meet). The calls carry the
// encryption context, so key policies and grants can constrain it with the
// kms:EncryptionContext: condition keys.
//
// # Errors
//
// A KMS failure while encrypting (GenerateDataKey or Encrypt: a disabled or
// unknown key, access denied, throttling after the SDK's retries) is an
// [*esdk.EncryptKeyError]; while decrypting, an [*esdk.NoDecryptKeyError]
// listing each attempt. In both, the AWS SDK's error stays reachable with
// errors.As: smithy.APIError for its code, or the KMS exception types such
// as *types.DisabledException. A response that does not name the key asked
// for, or has a data key of the wrong length, is an error of the same kind.
// A cancelled or expired ctx ends the call and is returned as it is
// (errors.Is(err, context.Canceled)), not as a key error. The SDK's retryer
// is used as configured on the client. No error holds key material.
//
// # Testing
//
// Package kmstest is a fake KMS that speaks the KMS protocol on loopback;
// point a *kms.Client at it with BaseEndpoint (or AWS_ENDPOINT_URL_KMS) as in
// the package example, and count the KMS calls your code makes.
package awskms
