package dbesdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
)

func Example() {
	// A local key: no AWS account needed. With AWS KMS keys, pass a keyring
	// of package awskms instead.
	keyText, err := datamask.GenerateLocalKey()
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := datamask.NewLocalKeyring(keyText)
	if err != nil {
		log.Fatal(err)
	}
	users, err := dbesdk.New(dbesdk.TableConfig{
		LogicalTableName: "users",
		PartitionKey:     "pk",
		SortKey:          "sk",
		Actions: map[string]dbesdk.Action{
			"pk":    dbesdk.SignOnly, // keys are signed, never encrypted
			"sk":    dbesdk.SignOnly,
			"email": dbesdk.EncryptAndSign,
			"dob":   dbesdk.EncryptAndSign,
			"plan":  dbesdk.SignOnly,
		},
		UnsignedPrefix: ":", // ":last_seen" and the like are neither encrypted nor signed
	}, keyring)
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	item := map[string]types.AttributeValue{
		"pk":         &types.AttributeValueMemberS{Value: "user#42"},
		"sk":         &types.AttributeValueMemberS{Value: "profile"},
		"email":      &types.AttributeValueMemberS{Value: "ana@example.com"},
		"dob":        &types.AttributeValueMemberS{Value: "1990-04-01"},
		"plan":       &types.AttributeValueMemberS{Value: "pro"},
		":last_seen": &types.AttributeValueMemberN{Value: "1700000000"},
	}
	encrypted, err := users.EncryptItem(ctx, item) // then PutItem
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(encrypted)) {
		fmt.Printf("%-12s %T\n", name, encrypted[name])
	}

	decrypted, err := users.DecryptItem(ctx, encrypted) // after GetItem
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("email:", decrypted["email"].(*types.AttributeValueMemberS).Value)

	// A changed signed attribute makes the item fail, naming only its key.
	encrypted["plan"] = &types.AttributeValueMemberS{Value: "enterprise"}
	_, err = users.DecryptItem(ctx, encrypted)
	fmt.Println(errors.Is(err, dbesdk.ErrInvalidItem), err)
	// Output:
	// :last_seen   *types.AttributeValueMemberN
	// aws_dbe_foot *types.AttributeValueMemberB
	// aws_dbe_head *types.AttributeValueMemberB
	// dob          *types.AttributeValueMemberB
	// email        *types.AttributeValueMemberB
	// pk           *types.AttributeValueMemberS
	// plan         *types.AttributeValueMemberS
	// sk           *types.AttributeValueMemberS
	// email: ana@example.com
	// true dbesdk: cannot decrypt item (table "users", "pk"=S:"user#42", "sk"=S:"profile"): invalid or tampered item
}

// Version 2 items bind chosen attributes, and then the keys, into the
// encryption context, where keyrings and AWS KMS see them (a key policy can
// require a tenant, for example). Suite 0x6700 drops the ECDSA signature:
// right where everyone who can encrypt is trusted, and much faster.
func ExampleNew_encryptionContext() {
	keyText, _ := datamask.GenerateLocalKey()
	keyring, err := datamask.NewLocalKeyring(keyText)
	if err != nil {
		log.Fatal(err)
	}
	_, err = dbesdk.New(dbesdk.TableConfig{
		LogicalTableName: "orders",
		PartitionKey:     "tenant",
		SortKey:          "order",
		Actions: map[string]dbesdk.Action{
			"tenant": dbesdk.SignAndIncludeInEncryptionContext,
			"order":  dbesdk.SignAndIncludeInEncryptionContext,
			"card":   dbesdk.EncryptAndSign,
		},
		Suite: esdk.DBEAES256GCMCommitKeyHMACSHA384,
	}, keyring)
	fmt.Println(err)

	// The keys of a version 2 configuration must be in the context too.
	_, err = dbesdk.New(dbesdk.TableConfig{
		LogicalTableName: "orders",
		PartitionKey:     "tenant",
		Actions: map[string]dbesdk.Action{
			"tenant": dbesdk.SignOnly,
			"region": dbesdk.SignAndIncludeInEncryptionContext,
		},
	}, keyring)
	fmt.Println(errors.Is(err, dbesdk.ErrInvalidConfig))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// dbesdk: the partition key "tenant" is SIGN_ONLY, but with an attribute configured as SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT the keys must be SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT too
}
