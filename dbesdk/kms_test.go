package dbesdk_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

func kmsKeyring(t testing.TB, srv *kmstest.Server, arns ...string) *awskms.Keyring {
	t.Helper()
	client := kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	kr, err := awskms.NewKeyring(client, arns)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestKMSCalls counts the KMS calls of items through the fake KMS. With the
// data key cache (the default), writing one item 1,000 times costs one
// GenerateDataKey and reading those 1,000 writes one Decrypt; the DB-ESDK
// makes 1,000 of each. Items with different keys cannot share a data key:
// the DB-ESDK binds each item's key values into the encryption context,
// which KMS binds into its ciphertext, so a cached data key's encrypted
// data key would not decrypt, in any DB-ESDK, under another item's context.
// They cost one call each way, cache or not.
func TestKMSCalls(t *testing.T) {
	srv := kmstest.Start(t)
	key := srv.CreateKey()
	for _, suite := range []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384} {
		for _, version := range []int{1, 2} {
			cfg := baseConfig()
			if version == 2 {
				cfg = v2Config()
			}
			cfg.Suite = suite
			n := 1000
			if suite.Signing() {
				n = 200 // ECDSA costs some 0.7 ms per item each way
			}
			t.Run(fmt.Sprintf("%v/v%d", suite, version), func(t *testing.T) {
				for _, cache := range []bool{true, false} {
					var opts []dbesdk.Option
					if !cache {
						opts = append(opts, dbesdk.WithoutDataKeyCache())
					}
					enc := mustNew(t, cfg, kmsKeyring(t, srv, key), opts...)
					srv.ResetCalls()
					var written []map[string]types.AttributeValue
					for range n {
						out, err := enc.EncryptItem(context.Background(), userItem())
						if err != nil {
							t.Fatal(err)
						}
						written = append(written, out)
					}
					for _, item := range written {
						if _, err := enc.DecryptItem(context.Background(), item); err != nil {
							t.Fatal(err)
						}
					}
					want := 1
					if !cache {
						want = n
					}
					if g, d := srv.Calls(kmstest.OpGenerateDataKey), srv.Calls(kmstest.OpDecrypt); g != want || d != want {
						t.Errorf("cache %v: %d writes and reads of one item made %d GenerateDataKey and %d Decrypt calls, want %d each", cache, n, g, d, want)
					}

					// Items of different keys: one call each way per item.
					srv.ResetCalls()
					written = written[:0]
					for i := range 50 {
						item := userItem()
						item["sk"] = nAV(fmt.Sprint(1000 + i))
						out, err := enc.EncryptItem(context.Background(), item)
						if err != nil {
							t.Fatal(err)
						}
						written = append(written, out)
					}
					for _, item := range written {
						if _, err := enc.DecryptItem(context.Background(), item); err != nil {
							t.Fatal(err)
						}
					}
					if g, d := srv.Calls(kmstest.OpGenerateDataKey), srv.Calls(kmstest.OpDecrypt); g != 50 || d != 50 {
						t.Errorf("cache %v: 50 items of different keys made %d GenerateDataKey and %d Decrypt calls, want 50 each", cache, g, d)
					}
				}
			})
		}
	}
}
