package pgstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/kmstest"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/storetest"
)

// TestKMSCalls counts, with the fake KMS, the KMS calls of tokenizing and
// detokenizing 1,000 values in one batch each on PostgreSQL with an AWS
// KMS key: the records share one cached data key, so one call each way.
func TestKMSCalls(t *testing.T) {
	srv := kmstest.Start(t)
	client := kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	keyring, err := awskms.NewKeyring(client, []string{srv.CreateKey()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := newStore(t)
	open := func() *tokenvault.Vault {
		p, err := tokenvault.NewProvider(keyring)
		if err != nil {
			t.Fatal(err)
		}
		v, err := tokenvault.Open(ctx, s, p, storetest.Policies(t))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	open()      // creates the vault's key
	v := open() // a new process: empty caches
	values := make([]string, tokenvault.MaxBatch)
	for i := range values {
		values[i] = fmt.Sprintf("customer %04d", i)
	}
	for _, policy := range []string{tokenvault.PolicyOpaque, "convergent"} {
		srv.ResetCalls()
		tokens, errs, err := v.TokenizeBatch(ctx, "acme", policy, values)
		if err != nil || errs[0] != nil {
			t.Fatal(err, errs[0])
		}
		gen := srv.Calls(kmstest.OpGenerateDataKey)
		srv.ResetCalls()
		v2 := open()
		srv.ResetCalls()
		got, errs, err := v2.DetokenizeBatch(ctx, "acme", policy, tokens)
		if err != nil || errs[999] != nil || got[999] != values[999] {
			t.Fatal(err, errs[999])
		}
		dec := srv.Calls(kmstest.OpDecrypt)
		t.Logf("%s: tokenize 1,000: %d GenerateDataKey; detokenize 1,000 (another process): %d Decrypt", policy, gen, dec)
		if gen != 1 || dec != 1 {
			t.Errorf("%s: KMS calls = %d GenerateDataKey, %d Decrypt; want 1 and 1", policy, gen, dec)
		}
	}
}
