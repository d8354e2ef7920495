package dbesdk_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
)

// benchItem is the benchmarks' item: 10 attributes, 4 encrypted (two
// strings, a number and a small map), the two keys and 3 more signed, one
// unsigned. /work/peers/dbesdk measures the Go DB-ESDK on the same item.
func benchItem(sk int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":     sAV("customer#000123"),
		"sk":     nAV(fmt.Sprint(sk)),
		"email":  sAV("ana.garcia@example.com"),
		"name":   sAV("Ana García"),
		"card":   nAV("4111111111111111"),
		"addr":   &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"street": sAV("1 Main St"), "zip": sAV("94107"), "city": sAV("SF")}},
		"plan":   sAV("pro"),
		"tier":   nAV("3"),
		"active": &types.AttributeValueMemberBOOL{Value: true},
		":ttl":   nAV("1700000000"),
	}
}

// benchConfig is the benchmarks' configuration: version 1, or version 2
// with plan and the keys in the encryption context.
func benchConfig(version int, suite esdk.Suite) dbesdk.TableConfig {
	keys := dbesdk.SignOnly
	plan := dbesdk.SignOnly
	if version == 2 {
		keys, plan = dbesdk.SignAndIncludeInEncryptionContext, dbesdk.SignAndIncludeInEncryptionContext
	}
	return dbesdk.TableConfig{
		LogicalTableName: "customers", PartitionKey: "pk", SortKey: "sk", Suite: suite, UnsignedPrefix: ":",
		Actions: map[string]dbesdk.Action{
			"pk": keys, "sk": keys, "plan": plan, "tier": dbesdk.SignOnly, "active": dbesdk.SignOnly,
			"email": dbesdk.EncryptAndSign, "name": dbesdk.EncryptAndSign, "card": dbesdk.EncryptAndSign, "addr": dbesdk.EncryptAndSign,
		},
	}
}

type benchCase struct {
	name    string
	suite   esdk.Suite
	version int
	warm    bool
}

func benchCases() []benchCase {
	var out []benchCase
	for _, suite := range []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384} {
		for _, version := range []int{1, 2} {
			for _, warm := range []bool{true, false} {
				cache := map[bool]string{true: "warm", false: "cold"}[warm]
				out = append(out, benchCase{fmt.Sprintf("%04x/v%d/%s", uint16(suite), version, cache), suite, version, warm})
			}
		}
	}
	return out
}

// encryptor returns the item encryptor of c: the default data key cache
// (warm once the first item is done), or none (cold: the raw AES keyring
// wraps a data key for every item and unwraps it for every read).
func (c benchCase) encryptor(b *testing.B, capacity int) *dbesdk.ItemEncryptor {
	opts := []dbesdk.Option{dbesdk.WithoutDataKeyCache()}
	if c.warm {
		opts = []dbesdk.Option{dbesdk.WithDataKeyCache(esdk.WithCacheCapacity(capacity))}
	}
	return mustNew(b, benchConfig(c.version, c.suite), testKeyring(b), opts...)
}

// BenchmarkEncryptItem encrypts one item per operation; warm, the same
// item (as for repeated writes of one key) is served from the cache.
func BenchmarkEncryptItem(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			enc := c.encryptor(b, 100)
			item := benchItem(1)
			ctx := context.Background()
			if _, err := enc.EncryptItem(ctx, item); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.EncryptItem(ctx, item); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecryptItem decrypts one item per operation.
func BenchmarkDecryptItem(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			enc := c.encryptor(b, 100)
			ctx := context.Background()
			item, err := enc.EncryptItem(ctx, benchItem(1))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := enc.DecryptItem(ctx, item); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.DecryptItem(ctx, item); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkItems1000 encrypts, then decrypts, 1,000 items of different sort
// keys per operation. Warm, the same 1,000 items each time, with a cache
// that holds them all; cold, no cache.
func BenchmarkItems1000(b *testing.B) {
	items := make([]map[string]types.AttributeValue, 1000)
	for i := range items {
		items[i] = benchItem(i)
	}
	for _, c := range benchCases() {
		if c.suite.Signing() && !c.warm {
			continue // cold 0x6701 costs about what 1,000 single items do
		}
		b.Run(c.name, func(b *testing.B) {
			enc := c.encryptor(b, 2*len(items))
			ctx := context.Background()
			encrypted := make([]map[string]types.AttributeValue, len(items))
			run := func() {
				for i, item := range items {
					out, err := enc.EncryptItem(ctx, item)
					if err != nil {
						b.Fatal(err)
					}
					encrypted[i] = out
				}
				for _, item := range encrypted {
					if _, err := enc.DecryptItem(ctx, item); err != nil {
						b.Fatal(err)
					}
				}
			}
			run()
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
		})
	}
}
