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
//     data keys only when started with [JSOptions.InsecurePKCS1Decrypt],
//     which passes --security-revert=CVE-2023-46809 to that test process.
//   - The JS raw AES keyring is always built with utf8Sorting: true. Its
//     default sorts the keyring AAD in UTF-16 order, so with non-ASCII
//     encryption-context keys its data keys are unreadable by any conformant
//     implementation (esdk/FORMAT.md §5.1).
//   - The official Go ESDK v0.4.0 is not race-free: its Dafny runtime writes
//     shared values on every encrypt, which go test -race reports even
//     across separate clients. [Official] therefore runs one SDK call at a
//     time in the whole process.
//   - The official Go ESDK has no caching materials manager, so comparisons
//     with it use no caching on either side.
//
// # Benchmarks
//
// BenchmarkEncrypt and BenchmarkDecrypt compare datamask's esdk with the
// official Go ESDK in the same run: raw AES-256 keyring on both sides,
// frame length 4096, a one-pair encryption context, no caching; decrypt
// reads the same datamask-written message with both. Besides ns/op they
// report cpu-ns/op, the process CPU time per operation, which a busy machine
// inflates much less than wall time.
//
//	cd interop
//	go test -run '^$' -bench '^Benchmark(En|De)crypt$' -benchtime 1s -count 10 . > bench.txt
//	benchstat -col /impl bench.txt
//
// Medians of 10 runs on a shared 2-core AMD EPYC (Go 1.26, load average
// about 2 to 3 from other work), official/datamask as a speed-up:
//
//	                     datamask     official   speed-up  datamask throughput
//	Encrypt 0478   64 B     8.6 µs     246 µs      29x
//	Encrypt 0478  1 KiB    10.2 µs     316 µs      31x
//	Encrypt 0478  1 MiB    1.10 ms    8.55 ms     7.8x    0.95 GB/s (1.7-2.2 GB/s when the machine is quiet)
//	Encrypt 0578   64 B     282 µs     998 µs     3.5x
//	Encrypt 0578  1 KiB     293 µs    1039 µs     3.5x
//	Encrypt 0578  1 MiB    2.13 ms    9.20 ms     4.3x    0.49 GB/s
//	Decrypt 0478   64 B     6.4 µs     302 µs      47x
//	Decrypt 0478  1 KiB     8.3 µs     392 µs      47x
//	Decrypt 0478  1 MiB     534 µs   10.08 ms      19x    1.97 GB/s
//	Decrypt 0578   64 B     503 µs     984 µs     2.0x
//	Decrypt 0578  1 KiB     517 µs     985 µs     1.9x    (2.2x in CPU time)
//	Decrypt 0578  1 MiB    2.47 ms    9.60 ms     3.9x    0.43 GB/s
//
// Allocations per operation: datamask 33 to 147, the official SDK 3,400 to
// 66,000.
//
// Issue 3's goals: 0x0478 at 1 KiB at least 15x both ways is met (31x and
// 47x). 0x0578 at least 2.5x is met for encrypt (3.5x) but not for decrypt
// (1.9x): 91% of datamask's 0578 decrypt is crypto/ecdsa's P-384
// verification (about 470 µs here), which the official SDK pays too, so the
// ratio cannot exceed about 2.1x with the standard library's P-384. 1 MiB at
// 1 GB/s holds for 0x0478 decrypt and, on a quiet machine, encrypt (the
// 1 MiB output allocation per call makes encrypt sensitive to GC and load);
// 0x0578 is bound by SHA-384 over the whole message for the signature
// (about 0.95 GB/s on one core of this CPU, hashed beside the encryption),
// so it reaches about 0.45 GB/s.
package interop
