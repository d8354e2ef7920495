package dynamostore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/hierarchy"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/dynamostore"
	"github.com/datamask/datamask/tokenvault/storetest"
)

func kmsKeyring(t testing.TB, srv *kmstest.Server, arn string) *awskms.Keyring {
	t.Helper()
	client := kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	kr, err := awskms.NewKeyring(client, []string{arn})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestKMSCalls counts, with the fake KMS, the KMS calls of tokenizing and
// detokenizing 1,000 values in one batch each, for each kind of keyring of
// the items and of the vault's records (the package doc quotes them). The
// vault's records share one cached data key per batch; items cannot (the
// DB-ESDK binds each item's keys into its encryption context), so a KMS
// keyring for items costs one call per item each way.
func TestKMSCalls(t *testing.T) {
	srv := kmstest.Start(t)
	arn := srv.CreateKey()
	client := dynamolocal.Client(t)
	values := make([]string, tokenvault.MaxBatch)
	for i := range values {
		values[i] = fmt.Sprintf("customer %04d", i)
	}
	for _, tc := range []struct {
		items, records string
		wantTokenize   int // GenerateDataKey
		wantDetokenize int // Decrypt
	}{
		{"local", "local", 0, 0},
		{"local", "kms", 1, 1},
		{"kms", "local", 1000, 1000},
		{"kms", "kms", 1001, 1001},
	} {
		t.Run("items="+tc.items+"/records="+tc.records, func(t *testing.T) {
			var itemKeys esdk.Keyring = localKeyring(t)
			if tc.items == "kms" {
				itemKeys = kmsKeyring(t, srv, arn)
			}
			var recordKeys esdk.Keyring = localKeyring(t)
			if tc.records == "kms" {
				recordKeys = kmsKeyring(t, srv, arn)
			}
			s := newStoreWith(t, client, itemKeys)
			p, err := tokenvault.NewProvider(recordKeys)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := tokenvault.Open(ctx, s, p, storetest.Policies(t)); err != nil {
				t.Fatal(err)
			}
			// A new vault's Open wrote and read its key: start counting now,
			// with a vault opened afresh (empty caches), as a new process.
			p, err = tokenvault.NewProvider(recordKeys)
			if err != nil {
				t.Fatal(err)
			}
			v, err := tokenvault.Open(ctx, s, p, storetest.Policies(t))
			if err != nil {
				t.Fatal(err)
			}
			srv.ResetCalls()
			tokens, errs, err := v.TokenizeBatch(ctx, "acme", tokenvault.PolicyOpaque, values)
			if err != nil || errs[0] != nil {
				t.Fatal(err, errs[0])
			}
			gen := srv.Calls(kmstest.OpGenerateDataKey)
			srv.ResetCalls()
			got, errs, err := v.DetokenizeBatch(ctx, "acme", tokenvault.PolicyOpaque, tokens)
			if err != nil || errs[0] != nil || got[999] != values[999] {
				t.Fatal(err, errs[0])
			}
			dec := srv.Calls(kmstest.OpDecrypt)
			t.Logf("items signed with a %s key, records under a %s key: tokenize 1,000: %d GenerateDataKey; detokenize 1,000: %d Decrypt", tc.items, tc.records, gen, dec)
			// The vault's key was decrypted at Open, before counting.
			if gen != tc.wantTokenize || dec != tc.wantDetokenize {
				t.Errorf("KMS calls = %d GenerateDataKey, %d Decrypt; want %d, %d", gen, dec, tc.wantTokenize, tc.wantDetokenize)
			}
		})
	}
}

// TestKMSCallsHierarchy counts the KMS calls of 1,000 values through a
// DynamoDB vault whose items are signed under an AWS KMS Hierarchical
// keyring (package hierarchy) and whose records are under an AWS KMS key:
// a new process makes one Decrypt for the branch key and one KMS call for
// the records' data key each way, where an AWS KMS keyring on the items
// makes one call per item (TestKMSCalls).
func TestKMSCallsHierarchy(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.Start(t)
	arn := srv.CreateKey()
	client := dynamolocal.Client(t)
	kmsClient := kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	table := dynamolocal.TableName("branch-keys")
	ks, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: table, LogicalName: "vault-keys", KMSKeyARN: arn}, client, kmsClient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteTable(client, table) })
	branchKey, err := ks.CreateKey(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// itemKeys is the keyring of a process: a new one starts with an empty
	// branch key cache.
	itemKeys := func() esdk.Keyring {
		kr, err := hierarchy.NewKeyring(ks, branchKey, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	values := make([]string, tokenvault.MaxBatch)
	for i := range values {
		values[i] = fmt.Sprintf("customer %04d", i)
	}
	s := newStoreWith(t, client, itemKeys(), dynamostore.WithItemOptions(dbesdk.WithoutDataKeyCache()))
	p, err := tokenvault.NewProvider(kmsKeyring(t, srv, arn))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokenvault.Open(ctx, s, p, storetest.Policies(t)); err != nil {
		t.Fatal(err)
	}
	calls := func() int {
		return srv.Calls(kmstest.OpGenerateDataKey) + srv.Calls(kmstest.OpDecrypt) + srv.Calls(kmstest.OpEncrypt)
	}
	// A new process: new keyrings and providers, empty caches.
	if s, err = dynamostore.New(client, s.Table(), itemKeys(), dynamostore.WithItemOptions(dbesdk.WithoutDataKeyCache())); err != nil {
		t.Fatal(err)
	}
	p, err = tokenvault.NewProvider(kmsKeyring(t, srv, arn))
	if err != nil {
		t.Fatal(err)
	}
	v, err := tokenvault.Open(ctx, s, p, storetest.Policies(t))
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	tokens, errs, err := v.TokenizeBatch(ctx, "acme", tokenvault.PolicyOpaque, values)
	if err != nil || errs[0] != nil {
		t.Fatal(err, errs[0])
	}
	tokenize := calls()
	// Another new process reads them back.
	if s, err = dynamostore.New(client, s.Table(), itemKeys(), dynamostore.WithItemOptions(dbesdk.WithoutDataKeyCache())); err != nil {
		t.Fatal(err)
	}
	p, err = tokenvault.NewProvider(kmsKeyring(t, srv, arn))
	if err != nil {
		t.Fatal(err)
	}
	v, err = tokenvault.Open(ctx, s, p, storetest.Policies(t))
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	got, errs, err := v.DetokenizeBatch(ctx, "acme", tokenvault.PolicyOpaque, tokens)
	if err != nil || errs[0] != nil || got[999] != values[999] {
		t.Fatal(err, errs[0])
	}
	detokenize := calls()
	t.Logf("hierarchical keyring on the items, KMS key on the records: tokenize 1,000: %d KMS calls; detokenize 1,000: %d", tokenize, detokenize)
	if tokenize > 2 || detokenize > 2 {
		t.Errorf("KMS calls = %d to tokenize 1,000 values, %d to detokenize them; want at most 2 each (a branch key and a data key)", tokenize, detokenize)
	}
}
