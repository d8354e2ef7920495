package dynamolocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// NewClient returns a DynamoDB client for endpoint (DynamoDB Local,
// moto_server or any other emulator) with [Region] and the static
// credentials [AccessKeyID] and [SecretAccessKey]. It reads no environment
// or shared config, so a developer's AWS profile never leaks into a test.
// optFns adjust the client's options as in [dynamodb.New].
func NewClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	o := dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}
	return dynamodb.New(o, optFns...)
}

// Client returns a client for the DynamoDB Local of [Start].
func Client(tb testing.TB, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	tb.Helper()
	return NewClient(Start(tb), optFns...)
}

// KeyName and SortKeyName are the string key attributes of the table
// [CreateTable] makes when given no input.
const (
	KeyName     = "pk"
	SortKeyName = "sk"
)

// CreateTable creates a table through client with a name no other test
// uses, waits until it is active, deletes it when tb ends, and returns its
// name.
//
// in gives the key schema, attribute definitions and indexes as for
// CreateTable; its TableName, if set, becomes the start of the name, and
// BillingMode defaults to on-demand. A nil in makes a table keyed by the
// string attributes [KeyName] (partition) and [SortKeyName] (sort).
func CreateTable(tb testing.TB, client *dynamodb.Client, in *dynamodb.CreateTableInput) string {
	tb.Helper()
	var input dynamodb.CreateTableInput
	if in != nil {
		input = *in
	} else {
		input = dynamodb.CreateTableInput{
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(KeyName), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String(SortKeyName), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(KeyName), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(SortKeyName), KeyType: types.KeyTypeRange},
			},
		}
	}
	prefix := aws.ToString(input.TableName)
	if prefix == "" {
		prefix = tb.Name()
	}
	name := TableName(prefix)
	input.TableName = aws.String(name)
	if input.BillingMode == "" && input.ProvisionedThroughput == nil {
		input.BillingMode = types.BillingModePayPerRequest
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := client.CreateTable(ctx, &input)
	if err != nil {
		tb.Fatalf("dynamolocal: CreateTable(%q): %v", name, err)
	}
	tb.Cleanup(func() {
		// tb.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			tb.Errorf("dynamolocal: DeleteTable(%q): %v", name, err)
		}
	})
	if out.TableDescription == nil || out.TableDescription.TableStatus != types.TableStatusActive {
		w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay = 50 * time.Millisecond
			o.MaxDelay = time.Second
		})
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
			tb.Fatalf("dynamolocal: table %q did not become active: %v", name, err)
		}
	}
	return name
}

// invalidTableChars are the characters DynamoDB refuses in table names.
var invalidTableChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// TableName returns a valid table name that starts with prefix (its
// characters that DynamoDB refuses replaced with "-", cut to 200 bytes) and
// ends with 16 random hex digits, so that no two calls return the same.
func TableName(prefix string) string {
	p := invalidTableChars.ReplaceAllString(prefix, "-")
	if len(p) > 200 {
		p = p[:200]
	}
	var b [8]byte
	rand.Read(b[:])
	return p + "-" + hex.EncodeToString(b[:])
}
