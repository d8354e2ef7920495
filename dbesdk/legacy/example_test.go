package legacy_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/kmstest"
)

// Encryptor has the item encryptor methods of package dbesdk, which reads
// legacy items through it.
var _ interface {
	EncryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error)
	DecryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error)
} = (*legacy.Encryptor)(nil)

// Encrypt and sign an item as DDBEC's wrapped materials provider does, then
// verify and decrypt it. In a real program the keys come from your secret
// store, and the encrypted item goes to PutItem.
func Example() {
	wrappingKey, signingKey := make([]byte, 32), make([]byte, 32)
	rand.Read(wrappingKey)
	rand.Read(signingKey)
	wk, err := legacy.NewAESWrappingKey(wrappingKey)
	if err != nil {
		log.Fatal(err)
	}
	sk, err := legacy.NewHMACSigningKey(signingKey)
	if err != nil {
		log.Fatal(err)
	}
	provider, err := legacy.NewWrappedProvider(wk, sk)
	if err != nil {
		log.Fatal(err)
	}
	enc, err := legacy.New(legacy.Config{
		Table:         "Customers",
		PartitionKey:  "id",
		DefaultAction: legacy.EncryptAndSign,
		Actions:       map[string]legacy.Action{"country": legacy.SignOnly, "note": legacy.DoNothing},
	}, provider)
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	stored, err := enc.EncryptItem(ctx, map[string]types.AttributeValue{
		"id":      &types.AttributeValueMemberS{Value: "c-42"},
		"email":   &types.AttributeValueMemberS{Value: "ada@example.com"},
		"country": &types.AttributeValueMemberS{Value: "UK"},
		"note":    &types.AttributeValueMemberS{Value: "not signed"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(stored)) {
		fmt.Printf("%s: %T\n", name, stored[name])
	}

	item, err := enc.DecryptItem(ctx, stored)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("email:", item["email"].(*types.AttributeValueMemberS).Value)
	// Output:
	// *amzn-ddb-map-desc*: *types.AttributeValueMemberB
	// *amzn-ddb-map-sig*: *types.AttributeValueMemberB
	// country: *types.AttributeValueMemberS
	// email: *types.AttributeValueMemberB
	// id: *types.AttributeValueMemberS
	// note: *types.AttributeValueMemberS
	// email: ada@example.com
}

// Read items written with DDBEC's Direct KMS provider. The fake KMS of
// package kmstest stands in for AWS KMS; in production, build the client
// with config.LoadDefaultConfig and kms.NewFromConfig. Each item has its own
// data key: reading three items costs three kms:Decrypt calls the first
// time and none the second, from the provider's cache.
func Example_directKMS() {
	srv, err := kmstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	keyARN := srv.CreateKey()
	client := kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("any", "thing", ""),
	})
	cfg := legacy.Config{Table: "Orders", PartitionKey: "customer", SortKey: "order", DefaultAction: legacy.EncryptAndSign}
	newEncryptor := func() *legacy.Encryptor {
		p, err := legacy.NewDirectKMSProvider(client, keyARN)
		if err != nil {
			log.Fatal(err)
		}
		enc, err := legacy.New(cfg, p)
		if err != nil {
			log.Fatal(err)
		}
		return enc
	}

	ctx := context.Background()
	writer := newEncryptor()
	var stored []map[string]types.AttributeValue
	for i, card := range []string{"4111111111111111", "5555555555554444", "378282246310005"} {
		item, err := writer.EncryptItem(ctx, map[string]types.AttributeValue{
			"customer": &types.AttributeValueMemberS{Value: "c-42"},
			"order":    &types.AttributeValueMemberN{Value: fmt.Sprint(i + 1)},
			"card":     &types.AttributeValueMemberS{Value: card},
		})
		if err != nil {
			log.Fatal(err)
		}
		stored = append(stored, item)
	}
	fmt.Println("written:", srv.Calls(kmstest.OpGenerateDataKey), "GenerateDataKey")

	reader := newEncryptor()
	for range 2 {
		for _, s := range stored {
			item, err := reader.DecryptItem(ctx, s)
			if err != nil {
				log.Fatal(err)
			}
			_ = item["card"]
		}
		fmt.Println("read:", srv.Calls(kmstest.OpDecrypt), "Decrypt")
	}
	// Output:
	// written: 3 GenerateDataKey
	// read: 3 Decrypt
	// read: 3 Decrypt
}

// An item that was changed after it was written fails with one error,
// which names the table and key but no other value.
func Example_tampered() {
	wk, _ := legacy.NewAESWrappingKey(make([]byte, 32))
	sk, _ := legacy.NewHMACSigningKey(make([]byte, 32))
	provider, _ := legacy.NewWrappedProvider(wk, sk)
	enc, err := legacy.New(legacy.Config{Table: "Customers", PartitionKey: "id", DefaultAction: legacy.EncryptAndSign,
		Actions: map[string]legacy.Action{"plan": legacy.SignOnly}}, provider)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	stored, err := enc.EncryptItem(ctx, map[string]types.AttributeValue{
		"id":   &types.AttributeValueMemberS{Value: "c-42"},
		"plan": &types.AttributeValueMemberS{Value: "basic"},
	})
	if err != nil {
		log.Fatal(err)
	}
	stored["plan"] = &types.AttributeValueMemberS{Value: "premium"}

	_, err = enc.DecryptItem(ctx, stored)
	fmt.Println(errors.Is(err, legacy.ErrDecrypt))
	fmt.Println(err)
	// Output:
	// true
	// legacy: decrypt item of table "Customers", "id"="c-42": item does not verify or decrypt
}

// Read the token vault of AWS's serverless tokenization sample: its
// CandidateString attribute holds the card number, encrypted with the
// Direct KMS provider under the sample's KMS key.
func ExampleTokenizationSampleConfig() {
	srv, err := kmstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client := kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("any", "thing", ""),
	})
	p, err := legacy.NewDirectKMSProvider(client, srv.CreateKey())
	if err != nil {
		log.Fatal(err)
	}
	vault, err := legacy.New(legacy.TokenizationSampleConfig(legacy.TokenizationSampleTable), p, legacy.WithKeyValuesRedacted())
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// What the sample's ddb_encrypt_item.encrypt_item stores.
	stored, err := vault.EncryptItem(ctx, map[string]types.AttributeValue{
		"Hash_Key":        &types.AttributeValueMemberS{Value: "6f1d0c4e-8a43-4c53-9f0e-2b9f61d4f7a1"},
		"Account_Id":      &types.AttributeValueMemberS{Value: "111122223333"},
		"CandidateString": &types.AttributeValueMemberS{Value: "4111111111111111"},
	})
	if err != nil {
		log.Fatal(err)
	}
	item, err := vault.DecryptItem(ctx, stored)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(item["CandidateString"].(*types.AttributeValueMemberS).Value)

	stored["Account_Id"] = &types.AttributeValueMemberS{Value: "444455556666"}
	_, err = vault.DecryptItem(ctx, stored)
	fmt.Println(err)
	// Output:
	// 4111111111111111
	// legacy: decrypt item of table "CreditCardTokenizerTable", "Hash_Key"=(redacted), "Account_Id"=(redacted): item does not verify or decrypt
}
