package interop

import (
	"context"
	"fmt"
	"testing"

	"github.com/datamask/datamask/esdk"
)

// benchSizes are the plaintext sizes of issue 3's benchmarks.
var benchSizes = []struct {
	name string
	n    int
}{
	{"64B", 64},
	{"1KiB", 1 << 10},
	{"1MiB", 1 << 20},
}

// benchContext is a one-pair encryption context, as field-level encryption
// typically binds.
var benchContext = map[string]string{"purpose": "benchmark"}

// cpuPerOp runs op in the benchmark loop and also reports the
// process CPU time per operation ("cpu-ns/op", all threads, GC included).
// On a machine shared with other work, wall time (ns/op) swings with the
// load; CPU time much less, so compare both.
func cpuPerOp(b *testing.B, op func() error) {
	b.Helper()
	start, ok := processCPU()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	if end, ok2 := processCPU(); ok && ok2 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}

// benchPeers are the two implementations, each with a raw AES-256 keyring
// under the same namespace, name and key, frame length 4096, no caching.
type benchPeers struct {
	dm     *ours
	off    *Official
	offKR  OfficialKeyring
	suites []uint16
}

func newBenchPeers(b *testing.B) *benchPeers {
	b.Helper()
	off := newOfficial(b)
	offKR, err := off.RawAESKeyring(context.Background(), keyNamespace, aesKeyName, aesKey)
	if err != nil {
		b.Fatal(err)
	}
	return &benchPeers{dm: oursAES(b), off: off, offKR: offKR, suites: []uint16{suite0478, suite0578}}
}

// BenchmarkEncrypt compares datamask's esdk with the official Go ESDK;
// compare with: benchstat -col /impl.
func BenchmarkEncrypt(b *testing.B) {
	p := newBenchPeers(b)
	ctx := context.Background()
	for _, suite := range p.suites {
		for _, size := range benchSizes {
			pt := randomBytes(size.n, 1)
			prefix := fmt.Sprintf("suite=%04x/size=%s", suite, size.name)
			b.Run(prefix+"/impl=datamask", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size.n))
				opts := []esdk.EncryptOption{esdk.WithSuite(esdk.Suite(suite)), esdk.WithFrameLength(4096), esdk.WithEncryptionContext(benchContext)}
				cpuPerOp(b, func() error {
					_, err := p.dm.client.Encrypt(ctx, pt, p.dm.cmm, opts...)
					return err
				})
			})
			b.Run(prefix+"/impl=official", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size.n))
				opts := OfficialEncryptOptions{Suite: suite, FrameLength: 4096, EncryptionContext: benchContext}
				cpuPerOp(b, func() error {
					_, err := p.off.Encrypt(ctx, p.offKR, pt, opts)
					return err
				})
			})
		}
	}
}

// BenchmarkDecrypt compares decrypting the same message (written by
// datamask) with datamask's esdk and with the official Go ESDK.
func BenchmarkDecrypt(b *testing.B) {
	p := newBenchPeers(b)
	ctx := context.Background()
	for _, suite := range p.suites {
		for _, size := range benchSizes {
			pt := randomBytes(size.n, 1)
			msg, err := p.dm.client.Encrypt(ctx, pt, p.dm.cmm,
				esdk.WithSuite(esdk.Suite(suite)), esdk.WithFrameLength(4096), esdk.WithEncryptionContext(benchContext))
			if err != nil {
				b.Fatal(err)
			}
			prefix := fmt.Sprintf("suite=%04x/size=%s", suite, size.name)
			b.Run(prefix+"/impl=datamask", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size.n))
				cpuPerOp(b, func() error {
					_, _, err := p.dm.client.Decrypt(ctx, msg, p.dm.cmm)
					return err
				})
			})
			b.Run(prefix+"/impl=official", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size.n))
				cpuPerOp(b, func() error {
					_, err := p.off.Decrypt(ctx, p.offKR, msg, nil)
					return err
				})
			})
		}
	}
}
