package awskms_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

// callCounter is an awskms.Client that counts the calls it forwards.
type callCounter struct {
	awskms.Client
	n atomic.Int64
}

func (c *callCounter) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.n.Add(1)
	return c.Client.GenerateDataKey(ctx, in, optFns...)
}

func (c *callCounter) Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	c.n.Add(1)
	return c.Client.Encrypt(ctx, in, optFns...)
}

func (c *callCounter) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.n.Add(1)
	return c.Client.Decrypt(ctx, in, optFns...)
}

// BenchmarkKMS encrypts and decrypts 1 KiB through the KMS keyring and the
// fake KMS (loopback HTTP, no added latency), warm (the data key is cached)
// and cold (no cache, or a new encryption context per message, which
// misses), and reports the KMS calls per operation. A real KMS call adds
// its network round trip (typically several milliseconds) to each cold
// operation.
func BenchmarkKMS(b *testing.B) {
	srv := kmstest.Start(b)
	key := srv.CreateKey()
	counter := &callCounter{Client: newSDKClient(srv.URL(), srv.Region())}
	kr, err := awskms.NewKeyring(counter, []string{key})
	if err != nil {
		b.Fatal(err)
	}
	client := mustClient(b)
	pt := make([]byte, 1024)
	ec := map[string]string{"purpose": "benchmark"}
	ctx := context.Background()
	for _, suite := range suites {
		name := fmt.Sprintf("suite=%04x", uint16(suite))
		newCache := func() *esdk.CachingCMM {
			c, err := esdk.NewCachingCMM(mustCMM(b, kr))
			if err != nil {
				b.Fatal(err)
			}
			return c
		}
		run := func(b *testing.B, op func(i int) error) {
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			if err := op(-1); err != nil { // warm up: fill the cache
				b.Fatal(err)
			}
			counter.n.Store(0)
			i := 0
			for b.Loop() {
				if err := op(i); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(counter.n.Load())/float64(b.N), "kms-calls/op")
		}

		b.Run("op=encrypt/cache=warm/"+name, func(b *testing.B) {
			cmm := newCache()
			run(b, func(int) error {
				_, err := client.Encrypt(ctx, pt, cmm, esdk.WithSuite(suite), esdk.WithEncryptionContext(ec))
				return err
			})
		})
		b.Run("op=encrypt/cache=new-context/"+name, func(b *testing.B) {
			cmm := newCache()
			run(b, func(i int) error {
				_, err := client.Encrypt(ctx, pt, cmm, esdk.WithSuite(suite), esdk.WithEncryptionContext(map[string]string{"n": fmt.Sprint(i)}))
				return err
			})
		})
		b.Run("op=encrypt/cache=off/"+name, func(b *testing.B) {
			cmm := mustCMM(b, kr)
			run(b, func(int) error {
				_, err := client.Encrypt(ctx, pt, cmm, esdk.WithSuite(suite), esdk.WithEncryptionContext(ec))
				return err
			})
		})

		msg, err := client.Encrypt(ctx, pt, mustCMM(b, kr), esdk.WithSuite(suite), esdk.WithEncryptionContext(ec))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("op=decrypt/cache=warm/"+name, func(b *testing.B) {
			cmm := newCache()
			run(b, func(int) error {
				_, _, err := client.Decrypt(ctx, msg, cmm, esdk.WithExpectedContext(ec))
				return err
			})
		})
		b.Run("op=decrypt/cache=off/"+name, func(b *testing.B) {
			cmm := mustCMM(b, kr)
			run(b, func(int) error {
				_, _, err := client.Decrypt(ctx, msg, cmm, esdk.WithExpectedContext(ec))
				return err
			})
		})
	}
}
