// Package interop checks datamask's AWS Encryption SDK messages against the
// real peers, in both directions, and benchmarks datamask against the
// official Go ESDK in the same run.
//
// It is its own Go module so that the peers used only as test oracles never
// reach the go.mod of datamask's users:
//
//   - the JS ESDK, @aws-crypto/client-node 5.0.2, pinned by
//     js/package-lock.json and driven through a long-running node process
//     (js/esdk.mjs, see [JS]) that answers JSON-lines requests;
//   - the official Go ESDK v0.4.0 with its material providers library v0.4.0,
//     called in-process (see [Official]).
//
// # Running
//
// From the repository root:
//
//	npm ci --prefix interop/js
//	cd interop && go test -race ./...
//
// Without node, npm or interop/js/node_modules the JS tests skip with a
// message saying what to install; with CI=true in the environment they fail
// instead, because CI must never pass on a skipped peer.
//
// # Known peer limits
//
//   - Node 20 refuses PKCS#1 v1.5 RSA private decryption since
//     CVE-2023-46809 (the Marvin attack). The JS peer decrypts PKCS#1 v1.5
//     data keys only when started with [JSOptions].InsecurePKCS1Decrypt,
//     which passes --security-revert=CVE-2023-46809 to that test process.
//   - The JS raw AES keyring is always built with utf8Sorting: true. Its
//     default sorts the keyring AAD in UTF-16 order, so with non-ASCII
//     encryption-context keys its data keys are unreadable by any conformant
//     implementation (esdk/FORMAT.md §5.1).
//   - The official Go ESDK has no caching materials manager; every benchmark
//     here uses raw AES-256 keyrings, with no caching on either side.
package interop
