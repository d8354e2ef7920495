//go:build dbesdkpeer

package dbesdk_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/dynamolocal"
)

// TestPeerOverDynamoDBLocal crosses items with the Go DB-ESDK through a
// DynamoDB Local table: items written through the middleware are read raw
// from the table and decrypted by the peer, and items the peer encrypted
// are put raw into the table and read through the middleware; both suites.
// Like TestPeerInterop it builds only with -tags dbesdkpeer and needs
// DBESDK_PEER.
func TestPeerOverDynamoDBLocal(t *testing.T) {
	peer := requirePeer(t)
	url := dynamolocal.Start(t)
	for _, suite := range []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384} {
		t.Run(suite.String(), func(t *testing.T) {
			e := newTableEnv(t, url, suite)
			kr := peerKeyring{vectorKeyringDef: vectorKeyringDef{Type: "raw-aes", Namespace: "datamask-test", Name: "dbesdk",
				Key: base64.StdEncoding.EncodeToString(testKeyringBytes)}}
			c := peerCase{cfg: tableConfig(e.table, suite)}
			ctx := t.Context()

			// Ours, through the middleware, to the peer through the table.
			var want, stored []json.RawMessage
			for i := range 10 {
				u := newUser("peer#ours", i)
				e.put(t, u)
				want = append(want, json.RawMessage(itemJSON(t, marshal(t, u))))
			}
			out, err := e.plain.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(e.table), KeyConditionExpression: aws.String("pk = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAV("peer#ours")}, ConsistentRead: aws.Bool(true)})
			if err != nil || len(out.Items) != 10 {
				t.Fatalf("Query(raw) = %v, %v", out, err)
			}
			for _, item := range out.Items {
				stored = append(stored, json.RawMessage(itemJSON(t, item)))
			}
			req := c.request(suite, kr)
			req.Items = stored
			resp := runPeer(t, peer, "decrypt", req)
			for i := range resp.Items {
				if resp.Errors[i] != nil {
					t.Fatalf("peer decrypt of item %d: %s", i, *resp.Errors[i])
				}
				if g, w := itemJSON(t, mustItem(t, resp.Items[i])), string(want[i]); g != w {
					t.Errorf("peer decrypt of item %d =\n%s\nwant\n%s", i, g, w)
				}
			}

			// The peer's, put raw into the table, read through the
			// middleware.
			req = c.request(suite, kr)
			var theirs []map[string]types.AttributeValue
			for i := range 10 {
				item := marshal(t, newUser("peer#theirs", i))
				theirs = append(theirs, item)
				req.Items = append(req.Items, json.RawMessage(itemJSON(t, item)))
			}
			resp = runPeer(t, peer, "encrypt", req)
			for i, raw := range resp.Items {
				if resp.Errors[i] != nil {
					t.Fatalf("peer encrypt of item %d: %s", i, *resp.Errors[i])
				}
				if _, err := e.plain.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: mustItem(t, raw)}); err != nil {
					t.Fatal(err)
				}
			}
			q, err := e.enc.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(e.table), KeyConditionExpression: aws.String("pk = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAV("peer#theirs")}, ConsistentRead: aws.Bool(true)})
			if err != nil || len(q.Items) != 10 {
				t.Fatalf("Query(peer items, through the middleware) = %v, %v", q, err)
			}
			for i, item := range q.Items {
				if g, w := itemJSON(t, item), itemJSON(t, theirs[i]); g != w {
					t.Errorf("peer item %d read through the middleware =\n%s\nwant\n%s", i, g, w)
				}
			}
			t.Logf("%v: 10 items each way over DynamoDB Local", suite)
		})
	}
}
