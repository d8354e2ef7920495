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
//	go test -run '^$' -bench '^Benchmark(En|De)crypt$' -benchtime 1s -count 6 . > bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl bench.txt
//
// Medians of 6 runs on a quiet 2-core AMD EPYC VM with Go 1.26, the
// official SDK's time over datamask's as the speed-up:
//
//	                     datamask     official   speed-up  datamask throughput
//	Encrypt 0478   64 B     6.0 µs     145 µs      24x
//	Encrypt 0478  1 KiB     6.5 µs     171 µs      26x
//	Encrypt 0478  1 MiB     434 µs    4.77 ms      11x    2.4 GB/s
//	Encrypt 0578   64 B     298 µs     908 µs     3.0x
//	Encrypt 0578  1 KiB     296 µs     856 µs     2.9x
//	Encrypt 0578  1 MiB    1.93 ms    8.58 ms     4.5x    0.54 GB/s
//	Decrypt 0478   64 B     6.2 µs     227 µs      37x
//	Decrypt 0478  1 KiB     6.3 µs     233 µs      37x
//	Decrypt 0478  1 MiB     523 µs    5.06 ms     9.7x    2.0 GB/s
//	Decrypt 0578   64 B     502 µs     945 µs     1.9x
//	Decrypt 0578  1 KiB     506 µs     918 µs     1.8x    (2.2x in CPU time)
//	Decrypt 0578  1 MiB    2.26 ms   10.05 ms     4.5x    0.46 GB/s
//
// Allocations per operation: datamask 33 to 143, the official SDK 3,393 to
// 66,488.
//
// Issue 3's goals: 0x0478 at 1 KiB at least 15x both ways is met (26x and
// 37x). 0x0578 at least 2.5x is met for encrypt (2.9x) but not for decrypt
// (1.8x): about 495 µs of datamask's 506 µs there is crypto/ecdsa's P-384
// signature verification, which the official SDK pays too, so with the
// standard library's P-384 the ratio cannot exceed about 918/495, 1.9x. 1 MiB
// at 1 GB/s or more holds for 0x0478 both ways (2.4 and 2.0 GB/s). 0x0578
// also hashes the whole message with SHA-384 for the signature (about
// 0.9 GB/s on one core of this CPU), so it reaches about 0.5 GB/s.
package interop
