package kmstest_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/datamask/datamask/kmstest"
)

// BenchmarkSDK measures a round trip of aws-sdk-go-v2 to the fake over
// loopback: what one uncached KMS call costs a test that uses the fake.
func BenchmarkSDK(b *testing.B) {
	srv := kmstest.Start(b)
	key := srv.CreateKey()
	client := newClient(srv)
	ctx := b.Context()
	ec := map[string]string{"tenant": "acme", "purpose": "bench"}
	dk, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(key), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		b.Fatal(err)
	}

	b.Run("GenerateDataKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(key), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Encrypt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: dk.Plaintext, EncryptionContext: ec}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decrypt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecryptParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
