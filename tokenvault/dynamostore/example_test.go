package dynamostore_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/dynamostore"
)

// A vault on DynamoDB whose records and items are protected by an AWS KMS
// key. (Not run as a test: it needs AWS; the package's tests run the same
// calls on DynamoDB Local, moto and the fake KMS.)
func ExampleNew() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		panic(err)
	}
	keyring, err := awskms.NewKeyring(kms.NewFromConfig(cfg), []string{"arn:aws:kms:eu-west-1:111122223333:key/..."})
	if err != nil {
		panic(err)
	}
	store, err := dynamostore.New(dynamodb.NewFromConfig(cfg), "datamask-vault", keyring)
	if err != nil {
		panic(err)
	}
	// Once, at deployment ("datamask vault migrate --vault dynamodb://datamask-vault").
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}
	provider, _ := tokenvault.NewProvider(keyring)
	v, err := tokenvault.Open(ctx, store, provider, tokenvault.BuiltinPolicies())
	if err != nil {
		panic(err)
	}
	tokens, errs, err := v.TokenizeBatch(ctx, "acme", tokenvault.PolicySSN, []string{"123-45-6789", "987-65-4321"})
	fmt.Println(len(tokens), errs[0], err)
}

// The tokens AWS's serverless tokenization sample issued, moved into a
// datamask vault keeping every token. (Not run as a test: it needs AWS;
// TestSampleCopy runs it on the items the sample's own code wrote.)
func ExampleSample_CopyTo() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		panic(err)
	}
	sample, err := dynamostore.OpenSample(dynamodb.NewFromConfig(cfg), "CreditCardTokenizerTable",
		kms.NewFromConfig(cfg), "arn:aws:kms:eu-west-1:111122223333:key/...") // the sample's key
	if err != nil {
		panic(err)
	}
	// The datamask vault, which knows the sample's policy (UUID tokens).
	keyring, err := awskms.NewKeyring(kms.NewFromConfig(cfg), []string{"arn:aws:kms:eu-west-1:111122223333:key/..."})
	if err != nil {
		panic(err)
	}
	store, err := dynamostore.New(dynamodb.NewFromConfig(cfg), "datamask-vault", keyring)
	if err != nil {
		panic(err)
	}
	provider, _ := tokenvault.NewProvider(keyring)
	v, err := tokenvault.Open(ctx, store, provider, append(tokenvault.BuiltinPolicies(), dynamostore.NewSamplePolicy()))
	if err != nil {
		panic(err)
	}
	// Each token keeps its tenant: the sample's Account_Id ("").
	stats, err := sample.CopyTo(ctx, v, "", dynamostore.SamplePolicy)
	if err != nil {
		panic(err)
	}
	fmt.Println(stats.Copied, "tokens copied;", stats.Tampered, "items do not verify")
	// From then on, v.Detokenize(ctx, accountID, dynamostore.SamplePolicy, token)
	// gives the card numbers of the sample's tokens.
}
