package legacy_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/kmstest"
)

// The benchmark item has 10 attributes: the two keys, 4 encrypted, 3
// signed only and 1 unsigned.
var benchConfig = legacy.Config{
	Table: "Customers", PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign,
	Actions: map[string]legacy.Action{"status": legacy.SignOnly, "created": legacy.SignOnly, "tags": legacy.SignOnly, "etag": legacy.DoNothing},
}

func benchItem(i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":      &types.AttributeValueMemberS{Value: fmt.Sprintf("customer#%07d", i)},
		"sk":      &types.AttributeValueMemberN{Value: fmt.Sprint(i % 100)},
		"card":    &types.AttributeValueMemberS{Value: "4111 1111 1111 1111"},
		"email":   &types.AttributeValueMemberS{Value: "ada.lovelace@example.com"},
		"balance": &types.AttributeValueMemberN{Value: "1234.50"},
		"address": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"street": &types.AttributeValueMemberS{Value: "12 Analytical Row"},
			"city":   &types.AttributeValueMemberS{Value: "London"},
			"zip":    &types.AttributeValueMemberS{Value: "N1 9GU"},
		}},
		"status":  &types.AttributeValueMemberS{Value: "active"},
		"created": &types.AttributeValueMemberN{Value: "1733011200"},
		"tags":    &types.AttributeValueMemberSS{Value: []string{"gold", "newsletter"}},
		"etag":    &types.AttributeValueMemberS{Value: "W/\"1\""},
	}
}

func benchKey(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// benchProviders returns the providers to measure; Direct KMS goes through
// the fake KMS on loopback (a real KMS call adds a network round trip).
func benchProviders(b *testing.B) (map[string]func(...legacy.DirectKMSOption) legacy.Provider, *kmstest.Server) {
	wk, _ := legacy.NewAESWrappingKey(benchKey(32))
	sk, _ := legacy.NewHMACSigningKey(benchKey(32))
	wrapped, _ := legacy.NewWrappedProvider(wk, sk)
	static, _ := legacy.NewStaticProvider(benchKey(32), sk)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	rwk, _ := legacy.NewRSAWrappingKey(&rsaKey.PublicKey, rsaKey)
	rsk, _ := legacy.NewRSASigningKey(rsaKey, nil)
	wrappedRSA, _ := legacy.NewWrappedProvider(rwk, rsk)
	srv := kmstest.Start(b)
	key := srv.CreateKey()
	return map[string]func(...legacy.DirectKMSOption) legacy.Provider{
		"wrapped-aes": func(...legacy.DirectKMSOption) legacy.Provider { return wrapped },
		"wrapped-rsa": func(...legacy.DirectKMSOption) legacy.Provider { return wrappedRSA },
		"static":      func(...legacy.DirectKMSOption) legacy.Provider { return static },
		"direct-kms": func(opts ...legacy.DirectKMSOption) legacy.Provider {
			p, err := legacy.NewDirectKMSProvider(newKMSClient(srv), key, opts...)
			if err != nil {
				b.Fatal(err)
			}
			return p
		},
	}, srv
}

func benchEncryptor(b *testing.B, p legacy.Provider) *legacy.Encryptor {
	enc, err := legacy.New(benchConfig, p)
	if err != nil {
		b.Fatal(err)
	}
	return enc
}

func reportKMS(b *testing.B, srv *kmstest.Server, items int) {
	calls := srv.Calls(kmstest.OpGenerateDataKey) + srv.Calls(kmstest.OpDecrypt)
	b.ReportMetric(float64(calls)/float64(b.N*items), "kms-calls/item")
}

// BenchmarkItem encrypts or decrypts one item (10 attributes, 4
// encrypted). Direct KMS decrypts with a warm data key cache and, "cold",
// without a cache (one kms:Decrypt per item, as DDBEC); its encryption
// always costs one kms:GenerateDataKey per item, as in DDBEC.
func BenchmarkItem(b *testing.B) {
	providers, srv := benchProviders(b)
	ctx := context.Background()
	for _, name := range []string{"wrapped-aes", "wrapped-rsa", "static", "direct-kms"} {
		newProvider := providers[name]
		b.Run("encrypt/"+name, func(b *testing.B) {
			enc := benchEncryptor(b, newProvider())
			item := benchItem(1)
			srv.ResetCalls()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.EncryptItem(ctx, item); err != nil {
					b.Fatal(err)
				}
			}
			reportKMS(b, srv, 1)
		})
		caches := []string{""}
		if name == "direct-kms" {
			caches = []string{"/warm", "/cold"}
		}
		for _, cache := range caches {
			b.Run("decrypt/"+name+cache, func(b *testing.B) {
				var opts []legacy.DirectKMSOption
				if cache == "/cold" {
					opts = append(opts, legacy.WithoutDataKeyCache())
				}
				ct, err := benchEncryptor(b, newProvider()).EncryptItem(ctx, benchItem(1))
				if err != nil {
					b.Fatal(err)
				}
				enc := benchEncryptor(b, newProvider(opts...))
				if _, err := enc.DecryptItem(ctx, ct); err != nil {
					b.Fatal(err)
				}
				srv.ResetCalls()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := enc.DecryptItem(ctx, ct); err != nil {
						b.Fatal(err)
					}
				}
				reportKMS(b, srv, 1)
			})
		}
	}
}

// Benchmark1000Items encrypts or decrypts 1,000 distinct items per
// operation. Direct KMS: writing costs 1,000 kms:GenerateDataKey; a reader
// new to the items ("cold") costs one kms:Decrypt per item, since DDBEC
// items each have their own data key; a reader that has read them before
// ("warm") none.
func Benchmark1000Items(b *testing.B) {
	providers, srv := benchProviders(b)
	ctx := context.Background()
	const n = 1000
	plain := make([]map[string]types.AttributeValue, n)
	for i := range plain {
		plain[i] = benchItem(i)
	}
	for _, name := range []string{"wrapped-aes", "direct-kms"} {
		newProvider := providers[name]
		writer := benchEncryptor(b, newProvider())
		stored := make([]map[string]types.AttributeValue, n)
		for i := range plain {
			var err error
			if stored[i], err = writer.EncryptItem(ctx, plain[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("encrypt/"+name, func(b *testing.B) {
			srv.ResetCalls()
			b.ReportAllocs()
			for b.Loop() {
				for _, item := range plain {
					if _, err := writer.EncryptItem(ctx, item); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportKMS(b, srv, n)
		})
		caches := []string{""}
		if name == "direct-kms" {
			caches = []string{"/cold", "/warm"}
		}
		for _, cache := range caches {
			b.Run("decrypt/"+name+cache, func(b *testing.B) {
				warm := benchEncryptor(b, newProvider(legacy.WithDataKeyCache(n, 1<<62)))
				for _, item := range stored {
					if _, err := warm.DecryptItem(ctx, item); err != nil {
						b.Fatal(err)
					}
				}
				srv.ResetCalls()
				b.ReportAllocs()
				for b.Loop() {
					reader := warm
					if cache == "/cold" {
						reader = benchEncryptor(b, newProvider())
					}
					for _, item := range stored {
						if _, err := reader.DecryptItem(ctx, item); err != nil {
							b.Fatal(err)
						}
					}
				}
				reportKMS(b, srv, n)
			})
		}
	}
}
