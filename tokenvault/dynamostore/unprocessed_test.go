package dynamostore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/dynamostore"
	"github.com/datamask/datamask/tokenvault/storetest"
)

// stingyClient is DynamoDB as it is under load: BatchGetItem and
// BatchWriteItem process only the first half of each request (at least
// one) and return the rest as unprocessed, as DynamoDB does when a
// request exceeds its throughput or size limits.
type stingyClient struct {
	*dynamodb.Client
	unprocessed atomic.Int64
}

func (c *stingyClient) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	part := map[string]types.KeysAndAttributes{}
	rest := map[string]types.KeysAndAttributes{}
	for table, ka := range in.RequestItems {
		n := max(1, len(ka.Keys)/2)
		a, b := ka, ka
		a.Keys, b.Keys = ka.Keys[:n], ka.Keys[n:]
		part[table] = a
		if len(b.Keys) > 0 {
			rest[table] = b
			c.unprocessed.Add(int64(len(b.Keys)))
		}
	}
	out, err := c.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: part}, opts...)
	if err != nil {
		return nil, err
	}
	out.UnprocessedKeys = rest
	return out, nil
}

func (c *stingyClient) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	part := map[string][]types.WriteRequest{}
	rest := map[string][]types.WriteRequest{}
	for table, reqs := range in.RequestItems {
		n := max(1, len(reqs)/2)
		part[table] = reqs[:n]
		if len(reqs) > n {
			rest[table] = reqs[n:]
			c.unprocessed.Add(int64(len(reqs) - n))
		}
	}
	out, err := c.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: part}, opts...)
	if err != nil {
		return nil, err
	}
	out.UnprocessedItems = rest
	return out, nil
}

// TestUnprocessed runs batches through a DynamoDB that leaves half of
// every batch request unprocessed: the store retries them (with backoff)
// until every key is read and every expired record deleted.
func TestUnprocessed(t *testing.T) {
	ctx := context.Background()
	client := &stingyClient{Client: dynamolocal.Client(t)}
	table := dynamolocal.TableName("stingy")
	s, err := dynamostore.New(client, table, localKeyring(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteTable(client.Client, table) })
	now := time.Now()
	v, err := tokenvault.Open(ctx, s, storetest.Provider(t), storetest.Policies(t), tokenvault.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	values := make([]string, 300)
	for i := range values {
		values[i] = fmt.Sprintf("value %d", i)
	}
	tokens, errs, err := v.TokenizeBatch(ctx, "acme", "ttl", values)
	if err != nil || errs[0] != nil {
		t.Fatal(err, errs[0])
	}
	got, errs, err := v.DetokenizeBatch(ctx, "acme", "ttl", tokens)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if errs[i] != nil || got[i] != values[i] {
			t.Fatalf("token %d: %v", i, errs[i])
		}
	}
	// An hour later every token has expired: the sweep deletes them all.
	now = now.Add(2 * time.Hour)
	if n, err := v.Sweep(ctx); err != nil || n != len(values) {
		t.Fatalf("Sweep = %d, %v; want %d", n, err, len(values))
	}
	if _, errs, _ := v.DetokenizeBatch(ctx, "acme", "ttl", tokens); errs[0] == nil {
		t.Fatal("a swept token detokenizes")
	}
	if client.unprocessed.Load() == 0 {
		t.Fatal("no batch request was left unprocessed: the test tested nothing")
	}
	t.Logf("%d keys and writes were returned unprocessed and retried", client.unprocessed.Load())
}
