package esdk_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/datamask/datamask/esdk"
)

var benchSizes = []struct {
	name string
	n    int
}{{"64B", 64}, {"1KiB", 1 << 10}, {"1MiB", 1 << 20}}

// BenchmarkEncrypt and BenchmarkDecrypt measure one message per operation
// with a raw AES-256 keyring, the default CMM, frame length 4096 and a
// two-pair encryption context (the interop benchmarks use one pair).
func BenchmarkEncrypt(b *testing.B) {
	ctx := context.Background()
	client := newClient(b)
	cmm := newAESCMM(b, "key", testKey)
	for _, suite := range writtenSuites {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("suite=%04x/size=%s", uint16(suite), size.name), func(b *testing.B) {
				pt := bytes.Repeat([]byte{'a'}, size.n)
				opts := []esdk.EncryptOption{esdk.WithSuite(suite), esdk.WithEncryptionContext(benchContext)}
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := client.Encrypt(ctx, pt, cmm, opts...); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

var benchContext = map[string]string{"tenant": "acme", "purpose": "benchmark"}

func BenchmarkDecrypt(b *testing.B) {
	ctx := context.Background()
	client := newClient(b)
	cmm := newAESCMM(b, "key", testKey)
	for _, suite := range writtenSuites {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("suite=%04x/size=%s", uint16(suite), size.name), func(b *testing.B) {
				pt := bytes.Repeat([]byte{'a'}, size.n)
				msg, err := client.Encrypt(ctx, pt, cmm, esdk.WithSuite(suite), esdk.WithEncryptionContext(benchContext))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := client.Decrypt(ctx, msg, cmm); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
