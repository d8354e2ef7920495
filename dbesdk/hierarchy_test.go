package dbesdk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/hierarchy"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
)

// countingDynamoDB counts the GetItem calls of a key store.
type countingDynamoDB struct {
	*dynamodb.Client
	gets atomic.Int64
}

func (c *countingDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return c.Client.GetItem(ctx, in, optFns...)
}

// branchKeyStore returns a key store on a new DynamoDB Local table (deleted
// when t ends), under a key of srv, with one branch key, and its id.
func branchKeyStore(t testing.TB, srv *kmstest.Server, ddb hierarchy.DynamoDBClient) (*hierarchy.KeyStore, string) {
	t.Helper()
	table := dynamolocal.TableName("branch-keys")
	kmsClient := kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ks, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: table, LogicalName: table, KMSKeyARN: srv.CreateKey()}, ddb, kmsClient)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := ks.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := ddb.(interface {
			DeleteTable(context.Context, *dynamodb.DeleteTableInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
		}).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Errorf("DeleteTable(%q) = %v", table, err)
		}
	})
	id, err := ks.CreateKey(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return ks, id
}

// TestHierarchyKMSCalls: with the AWS KMS Hierarchical keyring, encrypting
// 1,000 items of distinct keys costs one AWS KMS Decrypt (and one DynamoDB
// GetItem) for the branch key, and decrypting them with another item
// encryptor one more; with the AWS KMS keyring the same items cost 1,000
// GenerateDataKey and 1,000 Decrypt (TestKMSCalls), because the DB-ESDK
// binds each item's keys into the encryption context. Both suites, both
// format versions, with and without the data key cache.
func TestHierarchyKMSCalls(t *testing.T) {
	srv := kmstest.Start(t)
	ddb := &countingDynamoDB{Client: dynamolocal.Client(t)}
	ks, id := branchKeyStore(t, srv, ddb)
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
			for _, cache := range []bool{true, false} {
				t.Run(fmt.Sprintf("%v/v%d/cache=%v", suite, version, cache), func(t *testing.T) {
					var opts []dbesdk.Option
					if !cache {
						opts = append(opts, dbesdk.WithoutDataKeyCache())
					}
					newEncryptor := func() *dbesdk.ItemEncryptor {
						kr, err := hierarchy.NewKeyring(ks, id, 5*time.Minute)
						if err != nil {
							t.Fatal(err)
						}
						return mustNew(t, cfg, kr, opts...)
					}
					writer, reader := newEncryptor(), newEncryptor()
					srv.ResetCalls()
					ddb.gets.Store(0)
					written := make([]map[string]types.AttributeValue, n)
					for i := range written {
						item := userItem()
						item["pk"] = sAV(fmt.Sprintf("user#%d", i))
						item["sk"] = nAV(fmt.Sprint(i))
						out, err := writer.EncryptItem(context.Background(), item)
						if err != nil {
							t.Fatalf("EncryptItem(item %d) = %v", i, err)
						}
						written[i] = out
					}
					if got := srv.CallCounts(); len(got) != 1 || got[kmstest.OpDecrypt] != 1 || ddb.gets.Load() != 1 {
						t.Errorf("encrypting %d items of distinct keys made KMS calls %v and %d GetItem, want one Decrypt and one GetItem", n, got, ddb.gets.Load())
					}
					srv.ResetCalls()
					ddb.gets.Store(0)
					for i, item := range written {
						got, err := reader.DecryptItem(context.Background(), item)
						if err != nil {
							t.Fatalf("DecryptItem(item %d) = %v", i, err)
						}
						if s, _ := got["pk"].(*types.AttributeValueMemberS); s == nil || s.Value != fmt.Sprintf("user#%d", i) {
							t.Fatalf("DecryptItem(item %d) = pk %v", i, got["pk"])
						}
					}
					if got := srv.CallCounts(); len(got) != 1 || got[kmstest.OpDecrypt] != 1 || ddb.gets.Load() != 1 {
						t.Errorf("decrypting %d items of distinct keys made KMS calls %v and %d GetItem, want one Decrypt and one GetItem", n, got, ddb.gets.Load())
					}
				})
			}
		}
	}
}

// TestHierarchyItems: the keyring's items decrypt with another keyring of
// the same branch key, through a discovery key store, and after VersionKey;
// tampered items and items of another branch key fail.
func TestHierarchyItems(t *testing.T) {
	srv := kmstest.Start(t)
	ddb := dynamolocal.Client(t)
	ks, id := branchKeyStore(t, srv, ddb)
	ctx := context.Background()
	other, err := ks.CreateKey(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	keyring := func(store hierarchy.BranchKeyStore, id string) esdk.Keyring {
		kr, err := hierarchy.NewKeyring(store, id, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	cfg := v2Config()
	cfg.Suite = esdk.DBEAES256GCMCommitKeyHMACSHA384
	enc := mustNew(t, cfg, keyring(ks, id))
	item, err := enc.EncryptItem(ctx, userItem())
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.VersionKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	rotated, err := mustNew(t, cfg, keyring(ks, id)).EncryptItem(ctx, userItem())
	if err != nil {
		t.Fatal(err)
	}
	discovery, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: ks.TableName(), LogicalName: ks.LogicalName(), Discovery: true},
		ddb, kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()), Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")}))
	if err != nil {
		t.Fatal(err)
	}
	for name, reader := range map[string]esdk.Keyring{"same store": keyring(ks, id), "discovery store": keyring(discovery, id)} {
		dec := mustNew(t, cfg, reader)
		for _, it := range []map[string]types.AttributeValue{item, rotated} {
			got, err := dec.DecryptItem(ctx, it)
			if err != nil {
				t.Fatalf("%s: DecryptItem() = %v", name, err)
			}
			if g, w := itemJSON(t, got), itemJSON(t, mustDecrypt(t, enc, item)); g != w {
				t.Errorf("%s: DecryptItem() = %s, want %s", name, g, w)
			}
		}
	}
	if _, err := mustNew(t, cfg, keyring(ks, other)).DecryptItem(ctx, item); !errors.Is(err, esdk.ErrNoDecryptKey) {
		t.Errorf("DecryptItem(with another branch key) = %v, want ErrNoDecryptKey", err)
	}
	tampered := map[string]types.AttributeValue{}
	for k, v := range item {
		tampered[k] = v
	}
	tampered["tier"] = nAV("4")
	if _, err := enc.DecryptItem(ctx, tampered); !errors.Is(err, dbesdk.ErrInvalidItem) && !errors.Is(err, esdk.ErrNoDecryptKey) {
		t.Errorf("DecryptItem(tampered) = %v, want an error", err)
	}
}

func mustDecrypt(t *testing.T, enc *dbesdk.ItemEncryptor, item map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := enc.DecryptItem(context.Background(), item)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHierarchySupplier: one branch key per tenant in a shared table. The
// tenant attribute is SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT, so its value
// is in each item's encryption context (aws-crypto-attr.tenant), where the
// supplier reads it; an item whose tenant is changed does not decrypt.
func TestHierarchySupplier(t *testing.T) {
	srv := kmstest.Start(t)
	ks, _ := branchKeyStore(t, srv, dynamolocal.Client(t))
	ctx := context.Background()
	for _, tenant := range []string{"acme", "globex"} {
		if _, err := ks.CreateKey(ctx, "tenant-"+tenant, map[string]string{"tenant": tenant}); err != nil {
			t.Fatal(err)
		}
	}
	supplier := hierarchy.BranchKeyIDSupplierFunc(func(ctx context.Context, ec map[string]string) (string, error) {
		tenant, ok := ec["aws-crypto-attr.tenant"]
		if !ok {
			return "", errors.New("the item has no tenant in its encryption context")
		}
		return "tenant-" + tenant, nil
	})
	kr, err := hierarchy.NewKeyringWithSupplier(ks, supplier, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cfg := v2Config()
	cfg.Actions["tenant"] = dbesdk.SignAndIncludeInEncryptionContext
	cfg.Suite = esdk.DBEAES256GCMCommitKeyHMACSHA384
	enc := mustNew(t, cfg, kr, dbesdk.WithoutDataKeyCache())
	written := map[string]map[string]types.AttributeValue{}
	for _, tenant := range []string{"acme", "globex"} {
		item := userItem()
		item["tenant"] = sAV(tenant)
		out, err := enc.EncryptItem(ctx, item)
		if err != nil {
			t.Fatalf("EncryptItem(tenant %s) = %v", tenant, err)
		}
		if _, err := enc.DecryptItem(ctx, out); err != nil {
			t.Fatalf("DecryptItem(tenant %s) = %v", tenant, err)
		}
		written[tenant] = out
	}
	moved := map[string]types.AttributeValue{}
	for k, v := range written["acme"] {
		moved[k] = v
	}
	moved["tenant"] = sAV("globex")
	if _, err := enc.DecryptItem(ctx, moved); !errors.Is(err, esdk.ErrNoDecryptKey) {
		t.Errorf("DecryptItem(acme's item relabelled globex) = %v, want ErrNoDecryptKey (globex's branch key has no key for it)", err)
	}
	item := userItem()
	cfg2 := v2Config()
	cfg2.Suite = esdk.DBEAES256GCMCommitKeyHMACSHA384
	if _, err := mustNew(t, cfg2, kr).EncryptItem(ctx, item); err == nil || !strings.Contains(err.Error(), "no tenant") {
		t.Errorf("EncryptItem(no tenant attribute in the context) = %v, want the supplier's error", err)
	}
}
