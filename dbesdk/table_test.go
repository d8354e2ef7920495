package dbesdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/internal/motoserver"
)

// backend is a DynamoDB endpoint the table tests run against.
type backend struct {
	name string
	url  func(testing.TB) string
}

// backends are DynamoDB Local (the real DynamoDB Local jar) and
// moto_server. Each fails under CI=true when it cannot be had.
var backends = []backend{
	{"dynamodb-local", dynamolocal.Start},
	{"moto", motoserver.Start},
}

// user is the application's record, as attributevalue marshals it.
type user struct {
	PK      string            `dynamodbav:"pk"`
	SK      string            `dynamodbav:"sk"`
	Name    string            `dynamodbav:"name"`
	Email   string            `dynamodbav:"email"`
	Address map[string]string `dynamodbav:"address"`
	Tags    []string          `dynamodbav:"tags,omitempty"`
	Plan    string            `dynamodbav:"plan"`
	Version int               `dynamodbav:"version"`
	Count   int               `dynamodbav:"u_count,omitempty"`
}

func newUser(pk string, i int) user {
	return user{PK: pk, SK: fmt.Sprintf("item#%03d", i), Name: "Ana " + strconv.Itoa(i), Email: fmt.Sprintf("ana%d@example.com", i),
		Address: map[string]string{"street": "1 Rue Secrète", "city": "Lyon"}, Tags: []string{"a", "b", "c"}, Plan: "pro", Version: 1}
}

func marshal(t testing.TB, v any) map[string]types.AttributeValue {
	t.Helper()
	item, err := attributevalue.MarshalMap(v)
	if err != nil {
		t.Fatal(err)
	}
	return item
}

// tableConfig is the configuration of the users table of these tests.
func tableConfig(table string, suite esdk.Suite) dbesdk.TableConfig {
	return dbesdk.TableConfig{
		LogicalTableName: table,
		PartitionKey:     "pk",
		SortKey:          "sk",
		Actions: map[string]dbesdk.Action{
			"pk": dbesdk.SignOnly, "sk": dbesdk.SignOnly,
			"name": dbesdk.EncryptAndSign, "email": dbesdk.EncryptAndSign, "address": dbesdk.EncryptAndSign, "tags": dbesdk.EncryptAndSign,
			"plan": dbesdk.SignOnly, "version": dbesdk.SignOnly,
		},
		UnsignedPrefix: "u_",
		Suite:          suite,
	}
}

// createUsersTable creates a table keyed by pk and sk, with a global
// secondary index by_plan (plan, projection ALL) and by_plan_keys (plan,
// KEYS_ONLY).
func createUsersTable(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	gsi := func(name string, p types.ProjectionType) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName:  aws.String(name),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("plan"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: p},
		}
	}
	return dynamolocal.CreateTable(t, client, &dynamodb.CreateTableInput{
		TableName: aws.String("users"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("plan"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi("by_plan", types.ProjectionTypeAll), gsi("by_plan_keys", types.ProjectionTypeKeysOnly)},
	})
}

// sent counts the requests a client sends (one per attempt), so that the
// tests can show a refused request was never sent.
type sent struct{ n atomic.Int64 }

func (s *sent) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("CountRequests",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				s.n.Add(1)
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
}

// tableEnv is one backend's table, with a client through the middleware
// and a plain one that sees what is stored.
type tableEnv struct {
	table string
	enc   *dynamodb.Client // through dbesdk.WithEncryption
	plain *dynamodb.Client
	sent  *sent
	items *dbesdk.ItemEncryptor
}

func newTableEnv(t *testing.T, url string, suite esdk.Suite, opts ...func(*dynamodb.Options)) *tableEnv {
	t.Helper()
	plain := dynamolocal.NewClient(url)
	table := createUsersTable(t, plain)
	items := mustNew(t, tableConfig(table, suite), testKeyring(t))
	tables, err := dbesdk.NewEncryptedTables(map[string]*dbesdk.ItemEncryptor{table: items})
	if err != nil {
		t.Fatal(err)
	}
	s := &sent{}
	enc := dynamolocal.NewClient(url, append([]func(*dynamodb.Options){dbesdk.WithEncryption(tables), s.option}, opts...)...)
	return &tableEnv{table: table, enc: enc, plain: plain, sent: s, items: items}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": sAV(pk), "sk": sAV(sk)}
}

// TestEncryptedTable runs every operation through the middleware against
// DynamoDB Local and moto_server.
func TestEncryptedTable(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := b.url(t)
			for _, tc := range []struct {
				name string
				run  func(*testing.T, *tableEnv)
			}{
				{"RoundTrip", testRoundTrip},
				{"Projection", testProjection},
				{"ReturnValues", testReturnValues},
				{"QueryPagination", testQueryPagination},
				{"ScanAndIndexes", testScanAndIndexes},
				{"Batches", testBatches},
				{"UnprocessedItems", testUnprocessed},
				{"Transactions", testTransactions},
				{"UpdateUnsigned", testUpdateUnsigned},
				{"Refusals", testRefusals},
				{"TamperedInTable", testTamperedInTable},
				{"PassThrough", testPassThrough},
			} {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newTableEnv(t, url, esdk.DBEAES256GCMCommitKeyHMACSHA384))
				})
			}
		})
	}
}

func (e *tableEnv) put(t *testing.T, u user) {
	t.Helper()
	if _, err := e.enc.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: marshal(t, u)}); err != nil {
		t.Fatalf("PutItem() = %v", err)
	}
}

func (e *tableEnv) get(t *testing.T, pk, sk string) (user, error) {
	t.Helper()
	out, err := e.enc.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	var u user
	if err == nil {
		err = attributevalue.UnmarshalMap(out.Item, &u)
	}
	return u, err
}

func equalUser(a, b user) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// testRoundTrip: what PutItem stores is encrypted and signed; GetItem
// returns the item; the caller's input is not modified.
func testRoundTrip(t *testing.T, e *tableEnv) {
	u := newUser("user#1", 1)
	in := &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: marshal(t, u)}
	before := itemJSON(t, in.Item)
	if _, err := e.enc.PutItem(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if got := itemJSON(t, in.Item); got != before {
		t.Errorf("PutItem modified the caller's item: %s", got)
	}
	raw, err := e.plain.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key("user#1", "item#001")})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"name", "email", "address", "tags", dbesdk.HeaderName, dbesdk.FooterName} {
		if _, ok := raw.Item[name].(*types.AttributeValueMemberB); !ok {
			t.Errorf("stored attribute %q is %T, want binary", name, raw.Item[name])
		}
	}
	if s := itemJSON(t, raw.Item); strings.Contains(s, "example.com") || strings.Contains(s, "Secrète") {
		t.Errorf("the stored item holds plaintext: %s", s)
	}
	got, err := e.get(t, "user#1", "item#001")
	if err != nil || !equalUser(got, u) {
		t.Errorf("GetItem() = %+v, %v; want %+v", got, err, u)
	}
	// A missing item is no item, not an error.
	out, err := e.enc.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key("nobody", "x")})
	if err != nil || out.Item != nil {
		t.Errorf("GetItem(missing) = %v, %v; want no item", out.Item, err)
	}
	// The table's ARN names it too, where the backend takes ARNs.
	arn := "arn:aws:dynamodb:us-east-1:000000000000:table/" + e.table
	if out, err := e.enc.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(arn), Key: key("user#1", "item#001")}); err == nil {
		if _, ok := out.Item["email"].(*types.AttributeValueMemberS); !ok {
			t.Errorf("GetItem(table ARN) = %s, want the item decrypted", itemJSON(t, out.Item))
		}
	}
}

// testProjection: projections return what was asked, nested paths and
// list indexes included, while what verification needs is fetched.
func testProjection(t *testing.T, e *tableEnv) {
	u := newUser("user#p", 1)
	e.put(t, u)
	for _, tt := range []struct {
		expr  string
		names map[string]string
		attrs []string
		want  string
	}{
		{expr: "email", want: `{"email":{"S":"ana1@example.com"}}`},
		{expr: "#n, #pl, address.city", names: map[string]string{"#n": "name", "#pl": "plan"}, want: `{"address":{"M":{"city":{"S":"Lyon"}}},"name":{"S":"Ana 1"},"plan":{"S":"pro"}}`},
		{expr: "tags[2], tags[0], pk", want: `{"pk":{"S":"user#p"},"tags":{"L":[{"S":"a"},{"S":"c"}]}}`},
		{expr: "address.nowhere, version", want: `{"version":{"N":"1"}}`},
		{attrs: []string{"email", "sk"}, want: `{"email":{"S":"ana1@example.com"},"sk":{"S":"item#001"}}`},
	} {
		in := &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key("user#p", "item#001"), ExpressionAttributeNames: tt.names, AttributesToGet: tt.attrs}
		if tt.expr != "" {
			in.ProjectionExpression = aws.String(tt.expr)
		}
		out, err := e.enc.GetItem(t.Context(), in)
		if err != nil {
			t.Errorf("GetItem(projection %q %v) = %v", tt.expr, tt.attrs, err)
			continue
		}
		if got := itemJSON(t, out.Item); got != tt.want {
			t.Errorf("GetItem(projection %q %v) = %s, want %s", tt.expr, tt.attrs, got, tt.want)
		}
	}
	// The expression package builds projections as users write them.
	proj := expression.NamesList(expression.Name("email"), expression.Name("plan"))
	ex, err := expression.NewBuilder().WithProjection(proj).Build()
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.enc.Query(t.Context(), &dynamodb.QueryInput{TableName: aws.String(e.table),
		KeyConditionExpression: aws.String("pk = :pk"), ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAV("user#p")},
		ProjectionExpression: ex.Projection(), ExpressionAttributeNames: ex.Names()})
	if err != nil || len(out.Items) != 1 || itemJSON(t, out.Items[0]) != `{"email":{"S":"ana1@example.com"},"plan":{"S":"pro"}}` {
		t.Errorf("Query(projection from expression.Builder) = %v, %v", out, err)
	}
}

// testReturnValues: the old and new items DynamoDB returns are decrypted.
func testReturnValues(t *testing.T, e *tableEnv) {
	u := newUser("user#r", 1)
	e.put(t, u)
	u2 := u
	u2.Email = "new@example.com"
	out, err := e.enc.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: marshal(t, u2), ReturnValues: types.ReturnValueAllOld})
	if err != nil || itemJSON(t, out.Attributes) != itemJSON(t, marshal(t, u)) {
		t.Errorf("PutItem(ALL_OLD) = %v, %v; want the old item decrypted", out, err)
	}
	up, err := e.enc.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{TableName: aws.String(e.table), Key: key("user#r", "item#001"),
		UpdateExpression: aws.String("SET u_count = :c"), ExpressionAttributeValues: map[string]types.AttributeValue{":c": nAV("5")},
		ReturnValues: types.ReturnValueAllNew})
	if err != nil {
		t.Fatalf("UpdateItem(ALL_NEW) = %v", err)
	}
	if got := up.Attributes["email"]; itemJSON(t, map[string]types.AttributeValue{"e": got}) != `{"e":{"S":"new@example.com"}}` {
		t.Errorf("UpdateItem(ALL_NEW) email = %v, want it decrypted", got)
	}
	del, err := e.enc.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: aws.String(e.table), Key: key("user#r", "item#001"), ReturnValues: types.ReturnValueAllOld})
	if err != nil || del.Attributes["u_count"] == nil || itemJSON(t, map[string]types.AttributeValue{"e": del.Attributes["email"]}) != `{"e":{"S":"new@example.com"}}` {
		t.Errorf("DeleteItem(ALL_OLD) = %v, %v; want the old item decrypted", del, err)
	}
	// A failed condition with ReturnValuesOnConditionCheckFailure: the old
	// item in the error is decrypted.
	e.put(t, u)
	_, err = e.enc.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: marshal(t, u2),
		ConditionExpression: aws.String("attribute_not_exists(pk)"), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("PutItem(failing condition) = %v, want ConditionalCheckFailedException", err)
	}
	if ccf.Item != nil && itemJSON(t, ccf.Item) != itemJSON(t, marshal(t, u)) {
		t.Errorf("ConditionalCheckFailedException.Item = %s, want the old item decrypted", itemJSON(t, ccf.Item))
	}
}

// testQueryPagination: a query across pages, with the SDK's paginator.
func testQueryPagination(t *testing.T, e *tableEnv) {
	var want []string
	for i := range 23 {
		u := newUser("user#q", i)
		e.put(t, u)
		want = append(want, itemJSON(t, marshal(t, u)))
	}
	keyCond := expression.Key("pk").Equal(expression.Value("user#q"))
	filt := expression.Name("plan").Equal(expression.Value("pro")).And(expression.Name("version").GreaterThanEqual(expression.Value(1)))
	ex, err := expression.NewBuilder().WithKeyCondition(keyCond).WithFilter(filt).Build()
	if err != nil {
		t.Fatal(err)
	}
	p := dynamodb.NewQueryPaginator(e.enc, &dynamodb.QueryInput{TableName: aws.String(e.table), Limit: aws.Int32(5), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: ex.KeyCondition(), FilterExpression: ex.Filter(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("NextPage() = %v", err)
		}
		pages++
		for _, item := range out.Items {
			got = append(got, itemJSON(t, item))
		}
	}
	if pages < 5 || !slices.Equal(got, want) {
		t.Errorf("Query pages: %d pages, %d items; want at least 5 pages and the 23 items in order", pages, len(got))
	}
}

// testScanAndIndexes: Scan, and Query on an index that projects every
// attribute; an index without the header and footer fails, naming it.
func testScanAndIndexes(t *testing.T, e *tableEnv) {
	for i := range 4 {
		u := newUser("user#s", i)
		if i%2 == 1 {
			u.Plan = "free"
		}
		e.put(t, u)
	}
	out, err := e.enc.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(e.table), FilterExpression: aws.String("#p = :p"),
		ExpressionAttributeNames: map[string]string{"#p": "plan"}, ExpressionAttributeValues: map[string]types.AttributeValue{":p": sAV("free")}})
	if err != nil || len(out.Items) != 2 {
		t.Fatalf("Scan(filter on a signed attribute) = %v items, %v; want 2", len(out.Items), err)
	}
	for _, item := range out.Items {
		var u user
		if err := attributevalue.UnmarshalMap(item, &u); err != nil || !strings.HasSuffix(u.Email, "@example.com") {
			t.Errorf("Scan() item = %+v, %v; want it decrypted", u, err)
		}
	}
	q, err := e.enc.Query(t.Context(), &dynamodb.QueryInput{TableName: aws.String(e.table), IndexName: aws.String("by_plan"),
		KeyConditionExpression: aws.String("#p = :p"), ExpressionAttributeNames: map[string]string{"#p": "plan"}, ExpressionAttributeValues: map[string]types.AttributeValue{":p": sAV("pro")}})
	if err != nil || len(q.Items) != 2 || q.Items[0]["email"].(*types.AttributeValueMemberS) == nil {
		t.Errorf("Query(index by_plan) = %v, %v; want 2 items decrypted", q, err)
	}
	_, err = e.enc.Query(t.Context(), &dynamodb.QueryInput{TableName: aws.String(e.table), IndexName: aws.String("by_plan_keys"),
		KeyConditionExpression: aws.String("#p = :p"), ExpressionAttributeNames: map[string]string{"#p": "plan"}, ExpressionAttributeValues: map[string]types.AttributeValue{":p": sAV("pro")}})
	if !errors.Is(err, dbesdk.ErrPlaintextItem) || !strings.Contains(err.Error(), `index "by_plan_keys"`) {
		t.Errorf("Query(KEYS_ONLY index) = %v, want ErrPlaintextItem naming the index", err)
	}
	// Select COUNT returns no item: nothing to decrypt.
	c, err := e.enc.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(e.table), Select: types.SelectCount})
	if err != nil || c.Count != 4 {
		t.Errorf("Scan(COUNT) = %v, %v; want 4", c, err)
	}
}

// testBatches: BatchWriteItem puts and deletes, BatchGetItem with a
// projection.
func testBatches(t *testing.T, e *tableEnv) {
	var writes []types.WriteRequest
	var keys []map[string]types.AttributeValue
	for i := range 25 {
		u := newUser("user#b", i)
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: marshal(t, u)}})
		keys = append(keys, key(u.PK, u.SK))
	}
	if _, err := e.enc.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{e.table: writes}}); err != nil {
		t.Fatalf("BatchWriteItem() = %v", err)
	}
	out, err := e.enc.BatchGetItem(t.Context(), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		e.table: {Keys: keys, ProjectionExpression: aws.String("sk, email")}}})
	if err != nil {
		t.Fatalf("BatchGetItem() = %v", err)
	}
	items := out.Responses[e.table]
	if len(items) != 25 {
		t.Fatalf("BatchGetItem() = %d items, want 25", len(items))
	}
	for _, item := range items {
		if len(item) != 2 || !strings.Contains(itemJSON(t, item), `@example.com"}`) {
			t.Errorf("BatchGetItem() item = %s, want sk and email decrypted", itemJSON(t, item))
		}
	}
	dels := []types.WriteRequest{{DeleteRequest: &types.DeleteRequest{Key: keys[0]}}}
	if _, err := e.enc.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{e.table: dels}}); err != nil {
		t.Fatalf("BatchWriteItem(delete) = %v", err)
	}
	if got, err := e.enc.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: keys[0]}); err != nil || got.Item != nil {
		t.Errorf("GetItem(deleted) = %v, %v", got.Item, err)
	}
}

// withholding plays DynamoDB under load: it sends only the first half of
// each batch's requests and returns the rest as unprocessed, as DynamoDB
// does when it throttles. It sits after the encryption middleware, where
// DynamoDB is.
type withholding struct{}

func (withholding) ID() string { return "WithholdHalf" }

func (withholding) HandleSerialize(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
	switch p := in.Parameters.(type) {
	case *dynamodb.BatchWriteItemInput:
		sendNow, later := map[string][]types.WriteRequest{}, map[string][]types.WriteRequest{}
		for table, w := range p.RequestItems {
			h := (len(w) + 1) / 2
			sendNow[table], later[table] = w[:h], w[h:]
			if len(later[table]) == 0 {
				delete(later, table)
			}
		}
		cp := *p
		cp.RequestItems = sendNow
		in.Parameters = &cp
		out, md, err := next.HandleSerialize(ctx, in)
		if o, ok := out.Result.(*dynamodb.BatchWriteItemOutput); ok && err == nil {
			o.UnprocessedItems = later
		}
		return out, md, err
	case *dynamodb.BatchGetItemInput:
		sendNow, later := map[string]types.KeysAndAttributes{}, map[string]types.KeysAndAttributes{}
		for table, ka := range p.RequestItems {
			h := (len(ka.Keys) + 1) / 2
			now, rest := ka, ka
			now.Keys, rest.Keys = ka.Keys[:h], ka.Keys[h:]
			sendNow[table] = now
			if len(rest.Keys) > 0 {
				later[table] = rest
			}
		}
		cp := *p
		cp.RequestItems = sendNow
		in.Parameters = &cp
		out, md, err := next.HandleSerialize(ctx, in)
		if o, ok := out.Result.(*dynamodb.BatchGetItemOutput); ok && err == nil {
			o.UnprocessedKeys = later
		}
		return out, md, err
	}
	return next.HandleSerialize(ctx, in)
}

// testUnprocessed: unprocessed items and keys come back as the caller gave
// them, and sending them again (the usual retry loop) completes the batch.
func testUnprocessed(t *testing.T, e *tableEnv) {
	e.enc = dynamodb.New(e.enc.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Serialize.Add(withholding{}, middleware.Before) })
	})
	var writes []types.WriteRequest
	var keys []map[string]types.AttributeValue
	originals := map[string]bool{}
	for i := range 10 {
		u := newUser("user#u", i)
		item := marshal(t, u)
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		keys = append(keys, key(u.PK, u.SK))
		originals[itemJSON(t, item)] = true
	}
	request := map[string][]types.WriteRequest{e.table: writes}
	rounds := 0
	for len(request) > 0 {
		rounds++
		out, err := e.enc.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{RequestItems: request})
		if err != nil {
			t.Fatalf("BatchWriteItem() = %v", err)
		}
		for _, w := range out.UnprocessedItems[e.table] {
			if !originals[itemJSON(t, w.PutRequest.Item)] {
				t.Fatalf("unprocessed item %s is not one the caller gave", itemJSON(t, w.PutRequest.Item))
			}
		}
		request = out.UnprocessedItems
	}
	if rounds < 3 {
		t.Errorf("BatchWriteItem took %d rounds; the withholding middleware should have made at least 3", rounds)
	}
	var got int
	keysReq := map[string]types.KeysAndAttributes{e.table: {Keys: keys, ProjectionExpression: aws.String("#e"), ExpressionAttributeNames: map[string]string{"#e": "email"}}}
	for rounds = 0; len(keysReq) > 0; rounds++ {
		out, err := e.enc.BatchGetItem(t.Context(), &dynamodb.BatchGetItemInput{RequestItems: keysReq})
		if err != nil {
			t.Fatalf("BatchGetItem() = %v", err)
		}
		for _, item := range out.Responses[e.table] {
			if len(item) != 1 || !strings.Contains(itemJSON(t, item), "@example.com") {
				t.Errorf("BatchGetItem() item = %s, want the email alone, decrypted", itemJSON(t, item))
			}
			got++
		}
		if ka, ok := out.UnprocessedKeys[e.table]; ok && (aws.ToString(ka.ProjectionExpression) != "#e" || len(ka.ExpressionAttributeNames) != 1) {
			t.Errorf("UnprocessedKeys projection = %q %v, want the caller's", aws.ToString(ka.ProjectionExpression), ka.ExpressionAttributeNames)
		}
		keysReq = out.UnprocessedKeys
	}
	if got != 10 || rounds < 3 {
		t.Errorf("BatchGetItem returned %d items in %d rounds, want 10 in at least 3", got, rounds)
	}
}

// testTransactions: TransactWriteItems and TransactGetItems, and a
// transaction cancelled by a failed condition, which writes nothing.
func testTransactions(t *testing.T, e *tableEnv) {
	a, b := newUser("user#t", 1), newUser("user#t", 2)
	_, err := e.enc.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(e.table), Item: marshal(t, a), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &types.Put{TableName: aws.String(e.table), Item: marshal(t, b)}},
	}})
	if err != nil {
		t.Fatalf("TransactWriteItems() = %v", err)
	}
	got, err := e.enc.TransactGetItems(t.Context(), &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: aws.String(e.table), Key: key(a.PK, a.SK)}},
		{Get: &types.Get{TableName: aws.String(e.table), Key: key(b.PK, b.SK), ProjectionExpression: aws.String("email")}},
	}})
	if err != nil || len(got.Responses) != 2 {
		t.Fatalf("TransactGetItems() = %v, %v", got, err)
	}
	if g, w := itemJSON(t, got.Responses[0].Item), itemJSON(t, marshal(t, a)); g != w {
		t.Errorf("TransactGetItems()[0] = %s, want %s", g, w)
	}
	if g := itemJSON(t, got.Responses[1].Item); g != `{"email":{"S":"ana2@example.com"}}` {
		t.Errorf("TransactGetItems()[1] = %s, want the email", g)
	}
	// A version check that fails cancels the whole transaction.
	c := newUser("user#t", 3)
	_, err = e.enc.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(e.table), Item: marshal(t, c)}},
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String(e.table), Key: key(a.PK, a.SK), ConditionExpression: aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": nAV("2")}, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("TransactWriteItems(failing condition) = %v, want TransactionCanceledException", err)
	}
	for _, r := range tce.CancellationReasons {
		if r.Item != nil && strings.Contains(itemJSON(t, r.Item), dbesdk.HeaderName) {
			t.Errorf("CancellationReason.Item = %s, want it decrypted", itemJSON(t, r.Item))
		}
	}
	if out, err := e.enc.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key(c.PK, c.SK), ConsistentRead: aws.Bool(true)}); err != nil || out.Item != nil {
		t.Errorf("GetItem(item of the cancelled transaction) = %v, %v; want none", out.Item, err)
	}
}

// testUpdateUnsigned: UpdateItem may change unsigned attributes; the item
// still verifies.
func testUpdateUnsigned(t *testing.T, e *tableEnv) {
	u := newUser("user#up", 1)
	e.put(t, u)
	up := expression.Set(expression.Name("u_count"), expression.Value(3))
	cond := expression.Name("version").Equal(expression.Value(1)).And(expression.AttributeExists(expression.Name("email")))
	ex, err := expression.NewBuilder().WithUpdate(up).WithCondition(cond).Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.enc.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{TableName: aws.String(e.table), Key: key(u.PK, u.SK),
		UpdateExpression: ex.Update(), ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}); err != nil {
		t.Fatalf("UpdateItem(unsigned attribute) = %v", err)
	}
	got, err := e.get(t, u.PK, u.SK)
	u.Count = 3
	if err != nil || !equalUser(got, u) {
		t.Errorf("GetItem() after the update = %+v, %v; want %+v", got, err, u)
	}
}

// testRefusals: what cannot be done on ciphertext is refused with a
// *RequestError, and no request is sent.
func testRefusals(t *testing.T, e *tableEnv) {
	tbl := aws.String(e.table)
	vals := map[string]types.AttributeValue{":v": sAV("x")}
	ctx := t.Context()
	for _, tt := range []struct {
		name string
		call func() error
		want string
	}{
		{"query key condition on encrypted", func() error {
			_, err := e.enc.Query(ctx, &dynamodb.QueryInput{TableName: tbl, KeyConditionExpression: aws.String("pk = :v AND email = :v"), ExpressionAttributeValues: vals})
			return err
		}, `the key condition expression reads attribute "email", which is encrypted`},
		{"query filter with placeholder", func() error {
			_, err := e.enc.Query(ctx, &dynamodb.QueryInput{TableName: tbl, KeyConditionExpression: aws.String("pk = :v"), FilterExpression: aws.String("contains(#n, :v)"),
				ExpressionAttributeNames: map[string]string{"#n": "name"}, ExpressionAttributeValues: vals})
			return err
		}, `the filter expression reads attribute "name", which is encrypted`},
		{"scan filter on nested path", func() error {
			_, err := e.enc.Scan(ctx, &dynamodb.ScanInput{TableName: tbl, FilterExpression: aws.String("address.city = :v"), ExpressionAttributeValues: vals})
			return err
		}, `reads attribute "address"`},
		{"scan filter size()", func() error {
			_, err := e.enc.Scan(ctx, &dynamodb.ScanInput{TableName: tbl, FilterExpression: aws.String("plan = :v OR size(tags[0]) > :v"), ExpressionAttributeValues: vals})
			return err
		}, `reads attribute "tags"`},
		{"scan legacy ScanFilter", func() error {
			_, err := e.enc.Scan(ctx, &dynamodb.ScanInput{TableName: tbl, ScanFilter: map[string]types.Condition{"email": {ComparisonOperator: types.ComparisonOperatorNotNull}}})
			return err
		}, `ScanFilter tests attribute "email"`},
		{"put condition on encrypted", func() error {
			_, err := e.enc.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: marshal(t, newUser("r", 1)),
				ConditionExpression: aws.String("attribute_not_exists(pk) OR email <> :v"), ExpressionAttributeValues: vals})
			return err
		}, `the condition expression reads attribute "email"`},
		{"put legacy Expected", func() error {
			_, err := e.enc.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: marshal(t, newUser("r", 1)),
				Expected: map[string]types.ExpectedAttributeValue{"name": {Value: sAV("x")}}})
			return err
		}, `Expected tests attribute "name"`},
		{"delete condition on encrypted", func() error {
			_, err := e.enc.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: key("r", "1"), ConditionExpression: aws.String("begins_with(email, :v)"), ExpressionAttributeValues: vals})
			return err
		}, `reads attribute "email"`},
		{"update signed attribute", func() error {
			_, err := e.enc.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("r", "1"), UpdateExpression: aws.String("SET plan = :v"), ExpressionAttributeValues: vals})
			return err
		}, `the update changes attribute "plan", which is signed`},
		{"update encrypted attribute", func() error {
			_, err := e.enc.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("r", "1"), UpdateExpression: aws.String("SET u_count = :v REMOVE address.city"), ExpressionAttributeValues: vals})
			return err
		}, `the update changes attribute "address", which is encrypted and signed`},
		{"update ADD on signed", func() error {
			_, err := e.enc.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("r", "1"), UpdateExpression: aws.String("ADD #v :v"),
				ExpressionAttributeNames: map[string]string{"#v": "version"}, ExpressionAttributeValues: vals})
			return err
		}, `changes attribute "version", which is signed`},
		{"update reads encrypted", func() error {
			_, err := e.enc.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("r", "1"), UpdateExpression: aws.String("SET u_copy = if_not_exists(u_copy, email)")})
			return err
		}, `the update expression reads attribute "email", which is encrypted`},
		{"update header", func() error {
			_, err := e.enc.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("r", "1"), UpdateExpression: aws.String("REMOVE aws_dbe_foot")})
			return err
		}, `"aws_dbe_foot", which is reserved`},
		{"update legacy AttributeUpdates", func() error {
			_, err := e.enc.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("r", "1"), AttributeUpdates: map[string]types.AttributeValueUpdate{"plan": {Action: types.AttributeActionDelete}}})
			return err
		}, `changes attribute "plan"`},
		{"update invalid expression", func() error {
			_, err := e.enc.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("r", "1"), UpdateExpression: aws.String("SET u_x = = :v")})
			return err
		}, "the update expression is not valid"},
		{"transact update signed", func() error {
			_, err := e.enc.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Update: &types.Update{TableName: tbl, Key: key("r", "1"), UpdateExpression: aws.String("SET #n = :v"), ExpressionAttributeNames: map[string]string{"#n": "name"}, ExpressionAttributeValues: vals}}}})
			return err
		}, `changes attribute "name"`},
		{"transact condition check on encrypted", func() error {
			_, err := e.enc.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{ConditionCheck: &types.ConditionCheck{TableName: tbl, Key: key("r", "1"), ConditionExpression: aws.String("tags[0] = :v"), ExpressionAttributeValues: vals}}}})
			return err
		}, `reads attribute "tags"`},
		{"ExecuteStatement", func() error {
			_, err := e.enc.ExecuteStatement(ctx, &dynamodb.ExecuteStatementInput{Statement: aws.String(`SELECT * FROM "` + e.table + `" WHERE pk = 'a'`)})
			return err
		}, "PartiQL statements on an encrypted table"},
		{"BatchExecuteStatement", func() error {
			_, err := e.enc.BatchExecuteStatement(ctx, &dynamodb.BatchExecuteStatementInput{Statements: []types.BatchStatementRequest{
				{Statement: aws.String(`SELECT * FROM other WHERE pk = 'a'`)}, {Statement: aws.String(`INSERT INTO ` + e.table + ` VALUE {'pk': 'a', 'sk': 'b'}`)}}})
			return err
		}, "PartiQL"},
		{"ExecuteTransaction", func() error {
			_, err := e.enc.ExecuteTransaction(ctx, &dynamodb.ExecuteTransactionInput{TransactStatements: []types.ParameterizedStatement{
				{Statement: aws.String(`UPDATE "` + e.table + `" SET plan = 'x' WHERE pk = 'a' AND sk = 'b'`)}}})
			return err
		}, "PartiQL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.sent.n.Load()
			err := tt.call()
			var re *dbesdk.RequestError
			if !errors.Is(err, dbesdk.ErrRequestRefused) || !errors.As(err, &re) || re.Table != e.table || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want a RequestError for table %q with %q", err, e.table, tt.want)
			}
			if n := e.sent.n.Load() - before; n != 0 {
				t.Errorf("%d requests were sent, want none", n)
			}
			if strings.Contains(fmt.Sprint(err), "ana1@") {
				t.Errorf("error %q holds a value", err)
			}
		})
	}
	// What reads no encrypted value is allowed: attribute_exists on an
	// encrypted attribute tests its presence only.
	if _, err := e.enc.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: marshal(t, newUser("r", 1)),
		ConditionExpression: aws.String("attribute_not_exists(email) AND attribute_not_exists(pk)")}); err != nil {
		t.Errorf("PutItem(attribute_not_exists(encrypted)) = %v", err)
	}
}

// testTamperedInTable: an item changed in the table without the
// middleware fails verification when read through it, in every read
// operation, with an error naming the table and key but no value.
func testTamperedInTable(t *testing.T, e *tableEnv) {
	u := newUser("user#x", 1)
	e.put(t, u)
	e.put(t, newUser("user#x", 2))
	if _, err := e.plain.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{TableName: aws.String(e.table), Key: key(u.PK, u.SK),
		UpdateExpression: aws.String("SET #p = :p"), ExpressionAttributeNames: map[string]string{"#p": "plan"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": sAV("enterprise")}}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		var ie *dbesdk.ItemError
		if !errors.Is(err, dbesdk.ErrInvalidItem) || !errors.As(err, &ie) || ie.Table != e.table ||
			!strings.Contains(err.Error(), `"pk"=S:"user#x", "sk"=S:"item#001"`) {
			t.Errorf("%s = %v, want ErrInvalidItem naming the table and key", what, err)
		}
		if msg := fmt.Sprint(err); strings.Contains(msg, "enterprise") || strings.Contains(msg, "ana1") {
			t.Errorf("%s: error %q holds a value", what, msg)
		}
	}
	_, err := e.enc.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key(u.PK, u.SK)})
	check("GetItem", err)
	q, err := e.enc.Query(t.Context(), &dynamodb.QueryInput{TableName: aws.String(e.table), KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAV("user#x")}})
	check("Query", err)
	if q != nil {
		t.Errorf("Query() returned %d items with the error", len(q.Items))
	}
	_, err = e.enc.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(e.table)})
	check("Scan", err)
	_, err = e.enc.BatchGetItem(t.Context(), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{e.table: {Keys: []map[string]types.AttributeValue{key(u.PK, u.SK)}}}})
	check("BatchGetItem", err)
	_, err = e.enc.TransactGetItems(t.Context(), &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{{Get: &types.Get{TableName: aws.String(e.table), Key: key(u.PK, u.SK)}}}})
	check("TransactGetItems", err)
	// An item put without the middleware is not encrypted: refused too.
	if _, err := e.plain.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: marshal(t, newUser("user#plain", 1))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.enc.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key("user#plain", "item#001")}); !errors.Is(err, dbesdk.ErrPlaintextItem) {
		t.Errorf("GetItem(plaintext item) = %v, want ErrPlaintextItem", err)
	}
}

// testPassThrough: tables without a configuration pass untouched, PartiQL
// included.
func testPassThrough(t *testing.T, e *tableEnv) {
	other := dynamolocal.CreateTable(t, e.plain, nil)
	item := map[string]types.AttributeValue{"pk": sAV("a"), "sk": sAV("b"), "email": sAV("plain@example.com")}
	if _, err := e.enc.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(other), Item: item,
		ConditionExpression: aws.String("email <> :e"), ExpressionAttributeValues: map[string]types.AttributeValue{":e": sAV("x")}}); err != nil {
		t.Fatalf("PutItem(other table) = %v", err)
	}
	raw, err := e.plain.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(other), Key: key("a", "b")})
	if err != nil || itemJSON(t, raw.Item) != itemJSON(t, item) {
		t.Errorf("stored item of the other table = %v, %v; want it as put", raw.Item, err)
	}
	out, err := e.enc.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(other), FilterExpression: aws.String("email = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": sAV("plain@example.com")}})
	if err != nil || len(out.Items) != 1 {
		t.Errorf("Scan(other table) = %v, %v", out, err)
	}
	if _, err := e.enc.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{TableName: aws.String(other), Key: key("a", "b"),
		UpdateExpression: aws.String("SET email = :e"), ExpressionAttributeValues: map[string]types.AttributeValue{":e": sAV("y")}}); err != nil {
		t.Errorf("UpdateItem(other table) = %v", err)
	}
	if _, err := e.enc.ExecuteStatement(t.Context(), &dynamodb.ExecuteStatementInput{Statement: aws.String(`SELECT * FROM "` + other + `"`)}); err != nil && errors.Is(err, dbesdk.ErrRequestRefused) {
		t.Errorf("ExecuteStatement(other table) = %v, want it sent", err)
	}
}

func TestNewEncryptedTables(t *testing.T) {
	enc := mustNew(t, baseConfig(), testKeyring(t))
	for _, tt := range []struct {
		tables map[string]*dbesdk.ItemEncryptor
		want   string
	}{
		{nil, "no table"},
		{map[string]*dbesdk.ItemEncryptor{"users": nil}, `table "users" has a nil item encryptor`},
		{map[string]*dbesdk.ItemEncryptor{"a": enc}, `"a" is not a DynamoDB table name`},
		{map[string]*dbesdk.ItemEncryptor{"users/x": enc}, "is not a DynamoDB table name"},
	} {
		if _, err := dbesdk.NewEncryptedTables(tt.tables); !errors.Is(err, dbesdk.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewEncryptedTables(%v) = %v, want ErrInvalidConfig with %q", tt.tables, err, tt.want)
		}
	}
	tables, err := dbesdk.NewEncryptedTables(map[string]*dbesdk.ItemEncryptor{"users-v2": enc})
	if err != nil {
		t.Fatal(err)
	}
	if s := tables.String(); !strings.Contains(s, `"users-v2": dbesdk.ItemEncryptor{Table: "users"`) {
		t.Errorf("String() = %s", s)
	}
	defer func() {
		if recover() == nil {
			t.Error("WithEncryption(nil) did not panic")
		}
	}()
	dbesdk.WithEncryption(nil)
}

// BenchmarkTable measures PutItem and GetItem (consistent read) of one
// user item (9 attributes, 4 encrypted) against DynamoDB Local, without the
// middleware ("plain") and through it with each suite, in the same run:
// the difference is the encryption's cost per item. A raw AES keyring and
// the data key cache (the default); the same item is written and read, so
// the cache serves every operation after the first.
func BenchmarkTable(b *testing.B) {
	url := dynamolocal.Start(b)
	plain := dynamolocal.NewClient(url)
	table := createUsersTable(b, plain)
	item := marshal(b, newUser("bench", 1))
	k := key("bench", "item#001")
	// DynamoDB Local is a JVM: warm it up before the first measurement, or
	// "plain", measured first, pays for its JIT.
	for range 500 {
		if _, err := plain.PutItem(b.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			b.Fatal(err)
		}
		if _, err := plain.GetItem(b.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: k, ConsistentRead: aws.Bool(true)}); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		suite esdk.Suite
	}{{"plain", 0}, {"0x6700", esdk.DBEAES256GCMCommitKeyHMACSHA384}, {"0x6701", esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384}} {
		client := plain
		if tc.suite != 0 {
			items := mustNew(b, tableConfig(table, tc.suite), testKeyring(b))
			tables, err := dbesdk.NewEncryptedTables(map[string]*dbesdk.ItemEncryptor{table: items})
			if err != nil {
				b.Fatal(err)
			}
			client = dynamolocal.NewClient(url, dbesdk.WithEncryption(tables))
		}
		b.Run("PutItem/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.PutItem(b.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("GetItem/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := client.GetItem(b.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: k, ConsistentRead: aws.Bool(true)})
				if err != nil || out.Item == nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEncryptedTableLegacy: a table migrating from the DynamoDB Encryption
// Client, through the middleware on DynamoDB Local: written in the legacy
// format under ForceLegacyEncryptAllowLegacyDecrypt, then in the DB-ESDK
// format under ForbidLegacyEncryptAllowLegacyDecrypt, and both read by one
// query, projections included.
func TestEncryptedTableLegacy(t *testing.T) {
	url := dynamolocal.Start(t)
	plain := dynamolocal.NewClient(url)
	table := createUsersTable(t, plain)
	wk, err := legacy.NewAESWrappingKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := legacy.NewHMACSigningKey(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	p, err := legacy.NewWrappedProvider(wk, sk)
	if err != nil {
		t.Fatal(err)
	}
	lenc, err := legacy.New(legacy.Config{Table: table, PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign,
		Actions: map[string]legacy.Action{"plan": legacy.SignOnly, "version": legacy.SignOnly}}, p)
	if err != nil {
		t.Fatal(err)
	}
	client := func(policy dbesdk.LegacyPolicy) *dynamodb.Client {
		cfg := tableConfig(table, esdk.DBEAES256GCMCommitKeyHMACSHA384)
		cfg.Legacy = &dbesdk.LegacyOverride{Policy: policy, Encryptor: lenc}
		tables, err := dbesdk.NewEncryptedTables(map[string]*dbesdk.ItemEncryptor{table: mustNew(t, cfg, testKeyring(t))})
		if err != nil {
			t.Fatal(err)
		}
		return dynamolocal.NewClient(url, dbesdk.WithEncryption(tables))
	}
	old, migrating := client(dbesdk.ForceLegacyEncryptAllowLegacyDecrypt), client(dbesdk.ForbidLegacyEncryptAllowLegacyDecrypt)
	ctx := t.Context()
	for i, c := range []*dynamodb.Client{old, migrating} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: marshal(t, newUser("user#l", i))}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := plain.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAV("user#l")}})
	if err != nil || len(raw.Items) != 2 {
		t.Fatalf("Query(raw) = %v, %v", raw, err)
	}
	if _, ok := raw.Items[0][dbesdk.LegacySignatureName]; !ok {
		t.Errorf("the first item, written under the force policy, is not a legacy item: %s", itemJSON(t, raw.Items[0]))
	}
	if _, ok := raw.Items[1][dbesdk.HeaderName]; !ok {
		t.Errorf("the second item is not a DB-ESDK item: %s", itemJSON(t, raw.Items[1]))
	}
	out, err := migrating.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAV("user#l")}, ProjectionExpression: aws.String("email, address.city")})
	if err != nil || len(out.Items) != 2 {
		t.Fatalf("Query(both formats) = %v, %v", out, err)
	}
	for i, item := range out.Items {
		want := fmt.Sprintf(`{"address":{"M":{"city":{"S":"Lyon"}}},"email":{"S":"ana%d@example.com"}}`, i)
		if got := itemJSON(t, item); got != want {
			t.Errorf("Query() item %d = %s, want %s", i, got, want)
		}
	}
}
