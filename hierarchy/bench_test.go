package hierarchy_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/datamask/datamask/esdk"
)

// BenchmarkKeyring wraps (OnEncrypt) and unwraps (OnDecrypt) one data key
// per operation with the branch key cached, beside the raw AES keyring of
// package esdk in the same run (one AES-GCM wrap, no key derivation): the
// hierarchical keyring adds one HMAC-SHA256 key derivation and an AES key
// schedule per data key. Suite 0x0478 wraps the data key; 0x6700 (DB-ESDK)
// an intermediate key, from which esdk derives two more keys.
func BenchmarkKeyring(b *testing.B) {
	store := newMemStore()
	store.create("bk", nil)
	hier := mustKeyring(b, store, "bk")
	raw, err := esdk.NewRawAESKeyring("bench", "aes", bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	ec := map[string]string{"aws-crypto-table-name": "customers", "aws-crypto-partition-name": "pk", "aws-crypto-partition-value": "customer#000123"}
	for _, kr := range []struct {
		name string
		kr   esdk.Keyring
	}{{"hierarchy", hier}, {"raw-aes", raw}} {
		for _, suite := range []esdk.Suite{esdk.AES256GCMHKDFSHA512CommitKey, esdk.DBEAES256GCMCommitKeyHMACSHA384} {
			b.Run(kr.name+"/OnEncrypt/"+hex4(suite), func(b *testing.B) {
				ctx := context.Background()
				encryptMaterials(b, kr.kr, suite, ec) // the branch key cached
				b.ReportAllocs()
				for b.Loop() {
					if err := kr.kr.OnEncrypt(ctx, &esdk.EncryptionMaterials{Suite: suite, EncryptionContext: ec}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(kr.name+"/OnDecrypt/"+hex4(suite), func(b *testing.B) {
				ctx := context.Background()
				edks := encryptMaterials(b, kr.kr, suite, ec).EncryptedDataKeys
				b.ReportAllocs()
				for b.Loop() {
					if err := kr.kr.OnDecrypt(ctx, &esdk.DecryptionMaterials{Suite: suite, EncryptionContext: ec}, edks); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func hex4(s esdk.Suite) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[s>>12&15], digits[s>>8&15], digits[s>>4&15], digits[s&15]})
}
