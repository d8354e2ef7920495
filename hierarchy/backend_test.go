package hierarchy_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/hierarchy"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/internal/motoserver"
	"github.com/datamask/datamask/kmstest"
)

// One DynamoDB Local serves every test of this binary.
func TestMain(m *testing.M) { os.Exit(dynamolocal.Run(m)) }

// backend is a DynamoDB and an AWS KMS to run a key store on: DynamoDB
// Local with the fake KMS (whose calls are counted), or moto_server for
// both, an independent emulator of each.
type backend struct {
	name      string
	ddb       *dynamodb.Client
	kms       *kms.Client
	key, key2 string          // two KMS key ARNs
	fake      *kmstest.Server // nil for moto_server
}

func kmsClient(url, region string) *kms.Client {
	return kms.New(kms.Options{Region: region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
}

// localBackend is DynamoDB Local and a fake KMS of the test's own.
func localBackend(t testing.TB, opts ...kmstest.Option) backend {
	t.Helper()
	srv := kmstest.Start(t, opts...)
	return backend{name: "dynamodb-local+kmstest", ddb: dynamolocal.Client(t), kms: kmsClient(srv.URL(), srv.Region()),
		key: srv.CreateKey(), key2: srv.CreateKey(), fake: srv}
}

// motoBackend is moto_server's DynamoDB and KMS.
func motoBackend(t testing.TB) backend {
	t.Helper()
	url := motoserver.Start(t)
	b := backend{name: "moto", ddb: dynamolocal.NewClient(url), kms: kmsClient(url, dynamolocal.Region)}
	for _, k := range []*string{&b.key, &b.key2} {
		out, err := b.kms.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("datamask hierarchy test")})
		if err != nil {
			t.Fatalf("moto_server CreateKey() = %v", err)
		}
		*k = aws.ToString(out.KeyMetadata.Arn)
	}
	return b
}

// backends returns both backends.
func backends(t *testing.T) []backend {
	return []backend{localBackend(t), motoBackend(t)}
}

// newStore returns a key store on a new table of b (created by
// KeyStore.CreateTable, deleted when t ends) under b's first key.
func newStore(t testing.TB, b backend, opts ...hierarchy.KeyStoreOption) *hierarchy.KeyStore {
	t.Helper()
	table := dynamolocal.TableName("keystore")
	ks, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: table, LogicalName: table, KMSKeyARN: b.key}, b.ddb, b.kms, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.CreateTable(context.Background()); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := b.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Errorf("DeleteTable(%q) = %v", table, err)
		}
	})
	return ks
}

// otherStore returns a key store on the same table as ks with another
// configuration.
func otherStore(t testing.TB, ks *hierarchy.KeyStore, b backend, cfg hierarchy.KeyStoreConfig) *hierarchy.KeyStore {
	t.Helper()
	if cfg.TableName == "" {
		cfg.TableName = ks.TableName()
	}
	if cfg.LogicalName == "" {
		cfg.LogicalName = ks.LogicalName()
	}
	o, err := hierarchy.NewKeyStore(cfg, b.ddb, b.kms)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
