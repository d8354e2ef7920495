package dbesdk_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
)

// TestTableKMSCalls counts the AWS KMS calls of 1,000 items written and
// read through the middleware, on DynamoDB Local with the fake KMS, with
// the data key cache (the default) and without it (as the DB-ESDK).
//
// What holds: one item written 1,000 times costs one GenerateDataKey with
// the cache and 1,000 without; reading it 1,000 times, one Decrypt and
// 1,000; 1,000 items read again while cached cost no call.
//
// What does not hold with the AWS KMS keyring: 1,000 items of distinct keys
// cost 1,000 GenerateDataKey and, read once, 1,000 Decrypt, cache or not.
// The DB-ESDK binds each item's key values into the encryption context,
// which AWS KMS binds into each ciphertext, so one data key cannot serve
// two items. One call per 1,000 items needs the AWS KMS Hierarchical
// keyring (its branch key is what KMS decrypts; package hierarchy, built
// separately), not a cache over this keyring.
func TestTableKMSCalls(t *testing.T) {
	url := dynamolocal.Start(t)
	srv := kmstest.Start(t)
	kmsKey := srv.CreateKey()
	const n = 1000
	for _, cache := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			plain := dynamolocal.NewClient(url)
			table := createUsersTable(t, plain)
			opts := []dbesdk.Option{dbesdk.WithDataKeyCache(esdk.WithCacheCapacity(2 * n))}
			want := 1
			if !cache {
				opts, want = []dbesdk.Option{dbesdk.WithoutDataKeyCache()}, n
			}
			items := mustNew(t, tableConfig(table, esdk.DBEAES256GCMCommitKeyHMACSHA384), kmsKeyring(t, srv, kmsKey), opts...)
			tables, err := dbesdk.NewEncryptedTables(map[string]*dbesdk.ItemEncryptor{table: items})
			if err != nil {
				t.Fatal(err)
			}
			client := dynamolocal.NewClient(url, dbesdk.WithEncryption(tables))
			ctx := t.Context()

			// One item, 1,000 writes and 1,000 reads.
			srv.ResetCalls()
			u := marshal(t, newUser("user#k", 0))
			parallel(t, n, func(ctx context.Context, _ int) error {
				_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: u})
				return err
			})
			parallel(t, n, func(ctx context.Context, _ int) error {
				_, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key("user#k", "item#000")})
				return err
			})
			if g, d := srv.Calls(kmstest.OpGenerateDataKey), srv.Calls(kmstest.OpDecrypt); g != want || d != want {
				t.Errorf("1,000 writes and 1,000 reads of one item: %d GenerateDataKey and %d Decrypt, want %d each", g, d, want)
			}

			// 1,000 items of distinct keys, written in batches, read twice
			// by a query across pages.
			srv.ResetCalls()
			for b := 0; b < n; b += 25 {
				var writes []types.WriteRequest
				for i := b; i < b+25; i++ {
					writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: marshal(t, newUser("user#m", i))}})
				}
				if _, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: writes}}); err != nil {
					t.Fatal(err)
				}
			}
			if g := srv.Calls(kmstest.OpGenerateDataKey); g != n {
				t.Errorf("1,000 items of distinct keys: %d GenerateDataKey, want 1,000 (one per item, cache or not)", g)
			}
			for round, wantDecrypt := range []int{n, map[bool]int{true: n, false: 2 * n}[cache]} {
				read := 0
				p := dynamodb.NewQueryPaginator(client, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :pk"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAV("user#m")}})
				for p.HasMorePages() {
					out, err := p.NextPage(ctx)
					if err != nil {
						t.Fatal(err)
					}
					read += len(out.Items)
				}
				if d := srv.Calls(kmstest.OpDecrypt); read != n || d != wantDecrypt {
					t.Errorf("read %d of 1,000 items of distinct keys (round %d): %d Decrypt in all, want %d", read, round+1, d, wantDecrypt)
				}
			}
		})
	}
}

// parallel runs f n times on 8 goroutines.
func parallel(t *testing.T, n int, f func(context.Context, int) error) {
	t.Helper()
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error { return f(ctx, i) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}
