// Package kmstest is a fake AWS KMS for tests: an HTTP server on loopback
// that speaks the real KMS JSON 1.1 protocol, so the AWS SDK for Go v2, the
// AWS SDK for JavaScript v3 and boto3 work against it unchanged. It needs
// nothing but the standard library.
//
// Start one per test with [Start] (or [NewServer] outside tests), create
// keys with [Server.CreateKey], and point your KMS client at [Server.URL].
// The fake serves CreateKey, DescribeKey, GenerateDataKey,
// GenerateDataKeyWithoutPlaintext, Encrypt, Decrypt, ReEncrypt, DisableKey
// and EnableKey for symmetric encryption keys (what the AWS KMS keyrings and
// the hierarchical keyring's branch key store call), and behaves as AWS KMS
// does where datamask depends on it:
//
//   - responses name keys by their key ARN,
//     arn:aws:kms:REGION:ACCOUNT:key/UUID; requests may use the ARN or the
//     bare key id;
//   - ciphertext blobs are AES-256-GCM under a secret of the key that never
//     leaves the server, with the encryption context bound as additional
//     data: Decrypt with a different, missing or extra context pair, or of
//     an altered blob, fails with InvalidCiphertextException;
//   - ReEncrypt opens a blob under its source context and seals the key
//     under the destination key and context without returning it;
//     GenerateDataKeyWithoutPlaintext returns only the blob;
//   - Decrypt (or ReEncrypt) with a KeyId (SourceKeyId) other than the
//     blob's key fails with IncorrectKeyException, a disabled key with
//     DisabledException (HTTP 409), an unknown key or any alias with
//     NotFoundException, bad parameters with ValidationException, all with
//     KMS's messages and HTTP statuses;
//   - requests must carry a SigV4 Authorization header scoped to the
//     server's Region and the kms service (any credentials, no signature
//     check), so a client configured for the wrong Region fails as it
//     would against AWS.
//
// It does not check signatures, key policies, grants (grant tokens are
// accepted and recorded) or quotas, has no aliases, and its blobs are not in
// AWS's format: they only decrypt on the server that made them.
//
// # Pointing clients at it
//
// With the AWS SDK for Go v2, set the client's BaseEndpoint to
// [Server.URL] and its Region to [Server.Region], as in the package
// example; or set the environment variables from [Server.Env] (above all
// AWS_ENDPOINT_URL_KMS) and call config.LoadDefaultConfig as usual.
//
// With the AWS SDK for JavaScript v3:
//
//	new KMSClient({ endpoint: url, region: "us-east-1",
//	  credentials: { accessKeyId: "kmstest", secretAccessKey: "kmstest" } })
//
// With boto3:
//
//	boto3.client("kms", endpoint_url=url, region_name="us-east-1",
//	  aws_access_key_id="kmstest", aws_secret_access_key="kmstest")
//
// All three SDKs (and the AWS CLI, built on botocore) also read the
// variables of [Server.Env], so a subprocess started with them needs no code
// change.
//
// # Counting calls and injecting faults
//
// [Server.Calls] counts the requests for each operation (so a test can
// show that a cache saved KMS calls), and [Server.Requests] records the
// KeyId, encryption context and grant tokens of each (and ReEncrypt's
// source key and context). [Server.Throttle]
// makes the next requests fail with ThrottlingException, which SDK
// retryers retry; [Server.FailNext] injects any other error;
// [Server.SetLatency] delays every request. A request whose client gives up
// (its context is cancelled) is dropped without being served.
//
// # Conformance
//
// [Check] runs, over plain HTTP, a suite of the KMS behaviours datamask
// relies on against any KMS emulator. This package's tests run it against
// the fake and against moto_server; [Deviation] names where moto_server
// differs from AWS KMS.
//
// # Running it standalone
//
// The command github.com/datamask/datamask/cmd/fakekms serves a fake KMS
// until interrupted and prints its endpoint and key ARNs, for tests in
// other languages and for trying things by hand.
package kmstest
