package hierarchy_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/hierarchy"
)

// A branch key store in DynamoDB, protected by an AWS KMS key, and a
// hierarchical keyring over it for DynamoDB items. Set the key store up
// once (CreateTable, CreateKey); then every process builds the key store
// and keyring and encrypts and decrypts any number of items with one KMS
// call per branch key version per time to live.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ks, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{
		TableName:   "branch-keys",
		LogicalName: "branch-keys",
		KMSKeyARN:   "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	}, dynamodb.NewFromConfig(cfg), kms.NewFromConfig(cfg))
	if err != nil {
		log.Fatal(err)
	}

	// Once, by an administrator (kms:GenerateDataKeyWithoutPlaintext and
	// kms:ReEncrypt*, dynamodb:CreateTable and PutItem):
	if _, err := ks.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}
	branchKeyID, err := ks.CreateKey(ctx, "", nil) // keep it in the service's configuration
	if err != nil {
		log.Fatal(err)
	}

	// In the service (kms:Decrypt, dynamodb:GetItem):
	keyring, err := hierarchy.NewKeyring(ks, branchKeyID, 5*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	users, err := dbesdk.New(dbesdk.TableConfig{
		LogicalTableName: "users", PartitionKey: "pk",
		Actions: map[string]dbesdk.Action{"pk": dbesdk.SignOnly, "email": dbesdk.EncryptAndSign},
	}, keyring, dbesdk.WithoutDataKeyCache())
	if err != nil {
		log.Fatal(err)
	}
	item, err := users.EncryptItem(ctx, map[string]types.AttributeValue{
		"pk":    &types.AttributeValueMemberS{Value: "user#1"},
		"email": &types.AttributeValueMemberS{Value: "ana@example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(item)) // pk, email (encrypted), aws_dbe_head, aws_dbe_foot
}

// exampleStore is a BranchKeyStore in memory with one branch key of one
// version, for the runnable examples. Use a [hierarchy.KeyStore] for real
// keys.
type exampleStore struct {
	versions map[string]*hierarchy.BranchKeyMaterials // by branch key id
}

func newExampleStore(ids ...string) *exampleStore {
	s := &exampleStore{versions: map[string]*hierarchy.BranchKeyMaterials{}}
	for _, id := range ids {
		key := make([]byte, hierarchy.BranchKeyLen)
		rand.Read(key)
		m, err := hierarchy.NewBranchKeyMaterials(id, "0b6c2d80-9a41-4f0e-8f0a-3c1f7e2a9b55", key, nil)
		if err != nil {
			log.Fatal(err)
		}
		s.versions[id] = m
	}
	return s
}

func (s *exampleStore) GetActiveBranchKey(ctx context.Context, id string) (*hierarchy.BranchKeyMaterials, error) {
	m := s.versions[id]
	if m == nil {
		return nil, hierarchy.ErrBranchKeyNotFound
	}
	return hierarchy.NewBranchKeyMaterials(id, m.Version, m.Key(), nil)
}

func (s *exampleStore) GetBranchKeyVersion(ctx context.Context, id, version string) (*hierarchy.BranchKeyMaterials, error) {
	m := s.versions[id]
	if m == nil || m.Version != version {
		return nil, hierarchy.ErrBranchKeyNotFound
	}
	return hierarchy.NewBranchKeyMaterials(id, version, m.Key(), nil)
}

// The keyring encrypts AWS Encryption SDK messages too: each message's data
// key is wrapped under a key derived from the branch key.
func ExampleNewKeyring() {
	keyring, err := hierarchy.NewKeyring(newExampleStore("orders"), "orders", 5*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(keyring)
	if err != nil {
		log.Fatal(err)
	}
	client, err := esdk.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	msg, err := client.Encrypt(ctx, []byte("4111 1111 1111 1111"), cmm,
		esdk.WithEncryptionContext(map[string]string{"order": "o-42"}), esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		log.Fatal(err)
	}
	plaintext, header, err := client.Decrypt(ctx, msg, cmm)
	if err != nil {
		log.Fatal(err)
	}
	edk := header.EncryptedDataKeys[0]
	fmt.Println(string(plaintext))
	fmt.Println(edk.ProviderID, string(edk.ProviderInfo), len(edk.Ciphertext))
	// Output:
	// 4111 1111 1111 1111
	// aws-kms-hierarchy orders 92
}

// For a table or service shared by tenants, each with a branch key of its
// own, a supplier chooses the branch key from the encryption context.
func ExampleNewKeyringWithSupplier() {
	store := newExampleStore("tenant-acme", "tenant-globex")
	supplier := hierarchy.BranchKeyIDSupplierFunc(func(ctx context.Context, ec map[string]string) (string, error) {
		tenant, ok := ec["tenant"]
		if !ok {
			return "", errors.New("no tenant in the encryption context")
		}
		return "tenant-" + tenant, nil
	})
	keyring, err := hierarchy.NewKeyringWithSupplier(store, supplier, 5*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	cmm, _ := esdk.NewDefaultCMM(keyring)
	client, _ := esdk.NewClient()
	ctx := context.Background()
	for _, tenant := range []string{"acme", "globex"} {
		msg, err := client.Encrypt(ctx, []byte("secret of "+tenant), cmm,
			esdk.WithEncryptionContext(map[string]string{"tenant": tenant}), esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
		if err != nil {
			log.Fatal(err)
		}
		_, header, err := client.Decrypt(ctx, msg, cmm)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(header.EncryptedDataKeys[0].ProviderInfo))
	}
	// Output:
	// tenant-acme
	// tenant-globex
}
