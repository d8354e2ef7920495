package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/internal/ddbjson"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
)

// env is one test's function: the handler as the Lambda runtime invokes
// it, the fake KMS, and a plain client on its DynamoDB Local table.
type env struct {
	h     lambda.Handler
	kms   *kmstest.Server
	plain *dynamodb.Client
	table string
}

// setup creates a table on DynamoDB Local, starts a fake KMS, points the
// AWS config chain at both through the environment, and builds the handler
// as the function's cold start does.
func setup(t *testing.T) *env {
	t.Helper()
	url := dynamolocal.Start(t)
	s := kmstest.Start(t)
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull) // nothing from the machine's ~/.aws
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
	plain := dynamolocal.NewClient(url)
	table := dynamolocal.CreateTable(t, plain, &dynamodb.CreateTableInput{
		TableName: aws.String("users"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("tenant"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("tenant"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("id"), KeyType: types.KeyTypeRange},
		},
	})
	t.Setenv("TABLE_NAME", table)
	t.Setenv("KMS_KEY_ARN", s.CreateKey())
	h, err := initHandler(context.Background(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	// Invoke through aws-lambda-go's own handler, with the event as JSON,
	// as the Lambda runtime does.
	return &env{h: lambda.NewHandler(h.Handle), kms: s, plain: plain, table: table}
}

// call sends an HTTP API (v2) event for route (such as "GET /users/{id}")
// with the JWT claims of tenant ("" for none).
func (e *env) call(t *testing.T, route, tenant, id string, query map[string]string, body string) (int, map[string]any) {
	t.Helper()
	path := strings.TrimPrefix(strings.SplitN(route, " ", 2)[1], "")
	req := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route,
		RawPath:               strings.Replace(path, "{id}", id, 1),
		Headers:               map[string]string{"content-type": "application/json"},
		QueryStringParameters: query,
		Body:                  body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": "caller-1"}}},
		},
	}
	if tenant != "" {
		req.RequestContext.Authorizer.JWT.Claims["custom:tenant"] = tenant
	}
	if id != "" {
		req.PathParameters = map[string]string{"id": id}
	}
	event, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.h.Invoke(context.Background(), event)
	if err != nil {
		t.Fatalf("Invoke(%s) = %v", route, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
			t.Fatalf("%s: body %q is not a JSON object", route, resp.Body)
		}
	}
	return resp.StatusCode, m
}

// stored returns the number of items in the table, read without the
// middleware.
func (e *env) stored(t *testing.T) []map[string]types.AttributeValue {
	t.Helper()
	out, err := e.plain.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// storedJSON returns the table's items as DynamoDB JSON.
func storedJSON(t *testing.T, e *env) string {
	t.Helper()
	var b strings.Builder
	for _, item := range e.stored(t) {
		j, err := ddbjson.Marshal(item)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
	}
	return b.String()
}

const ana = `{"name": "Ana Silva", "email": "ana@example.com", "date_of_birth": "1990-04-01",
	"address": {"street": "1 Rue Secrète", "city": "Lyon", "postcode": "69001", "country": "FR"}}`

func TestCRUD(t *testing.T) {
	e := setup(t)
	code, u := e.call(t, "POST /users", "acme", "", nil, ana)
	if code != 201 || u["email"] != "ana@example.com" || u["version"] != 1.0 {
		t.Fatalf("POST /users = %d %v", code, u)
	}
	id := u["id"].(string)

	// In the table: personal data is ciphertext, the keys are clear.
	items := e.stored(t)
	if len(items) != 1 {
		t.Fatalf("%d items stored, want 1", len(items))
	}
	for _, name := range []string{"name", "email", "date_of_birth", "address", "aws_dbe_head", "aws_dbe_foot"} {
		if _, ok := items[0][name].(*types.AttributeValueMemberB); !ok {
			t.Errorf("stored %q is %T, want binary", name, items[0][name])
		}
	}
	if v, ok := items[0]["tenant"].(*types.AttributeValueMemberS); !ok || v.Value != "acme" {
		t.Errorf("stored tenant = %v, want acme in clear", items[0]["tenant"])
	}
	if raw := storedJSON(t, e); strings.Contains(raw, "Ana") || strings.Contains(raw, "Lyon") || strings.Contains(raw, "1990") {
		t.Errorf("the stored item holds personal data in clear: %s", raw)
	}

	code, got := e.call(t, "GET /users/{id}", "acme", id, nil, "")
	if code != 200 || got["name"] != "Ana Silva" || got["date_of_birth"] != "1990-04-01" || got["address"].(map[string]any)["city"] != "Lyon" {
		t.Errorf("GET /users/{id} = %d %v", code, got)
	}

	code, got = e.call(t, "PUT /users/{id}", "acme", id, nil, strings.Replace(ana, "Lyon", "Paris", 1))
	if code != 200 || got["version"] != 2.0 || got["address"].(map[string]any)["city"] != "Paris" {
		t.Errorf("PUT /users/{id} = %d %v", code, got)
	}
	if code, got = e.call(t, "GET /users/{id}", "acme", id, nil, ""); got["address"].(map[string]any)["city"] != "Paris" {
		t.Errorf("GET after PUT = %d %v", code, got)
	}

	if code, _ = e.call(t, "DELETE /users/{id}", "acme", id, nil, ""); code != 204 {
		t.Errorf("DELETE /users/{id} = %d", code)
	}
	if code, _ = e.call(t, "GET /users/{id}", "acme", id, nil, ""); code != 404 {
		t.Errorf("GET after DELETE = %d, want 404", code)
	}
	if code, _ = e.call(t, "DELETE /users/{id}", "acme", id, nil, ""); code != 404 {
		t.Errorf("DELETE again = %d, want 404", code)
	}
	if n := len(e.stored(t)); n != 0 {
		t.Errorf("%d items left, want 0", n)
	}
}

func TestList(t *testing.T) {
	e := setup(t)
	ids := map[string]bool{}
	for i := range 12 {
		_, u := e.call(t, "POST /users", "acme", "", nil, strings.Replace(ana, "ana@", fmt.Sprintf("ana%d@", i), 1))
		ids[u["id"].(string)] = true
	}
	e.call(t, "POST /users", "globex", "", nil, ana) // another tenant's
	seen, pages := 0, 0
	next := ""
	for {
		q := map[string]string{"limit": "5"}
		if next != "" {
			q["next"] = next
		}
		code, page := e.call(t, "GET /users", "acme", "", q, "")
		if code != 200 {
			t.Fatalf("GET /users = %d %v", code, page)
		}
		pages++
		for _, u := range page["users"].([]any) {
			m := u.(map[string]any)
			if !ids[m["id"].(string)] || !strings.HasSuffix(m["email"].(string), "@example.com") {
				t.Errorf("listed user %v is not one of acme's, decrypted", m)
			}
			seen++
		}
		n, ok := page["next"].(string)
		if !ok {
			break
		}
		next = n
	}
	if seen != 12 || pages < 3 {
		t.Errorf("GET /users listed %d users in %d pages, want 12 in at least 3", seen, pages)
	}
	if code, body := e.call(t, "GET /users", "acme", "", map[string]string{"limit": "0"}, ""); code != 400 {
		t.Errorf("GET /users?limit=0 = %d %v, want 400", code, body)
	}
}

// TestTenants: the tenant comes from the token's claims; another tenant's
// user cannot be read, changed, deleted or listed, and a page token of
// another tenant is refused.
func TestTenants(t *testing.T) {
	e := setup(t)
	_, u := e.call(t, "POST /users", "acme", "", nil, ana)
	id := u["id"].(string)
	if code, body := e.call(t, "GET /users/{id}", "globex", id, nil, ""); code != 404 || strings.Contains(fmt.Sprint(body), "Ana") {
		t.Errorf("GET another tenant's user = %d %v, want 404", code, body)
	}
	if code, _ := e.call(t, "PUT /users/{id}", "globex", id, nil, ana); code != 404 {
		t.Errorf("PUT another tenant's user = %d, want 404", code)
	}
	if code, _ := e.call(t, "DELETE /users/{id}", "globex", id, nil, ""); code != 404 {
		t.Errorf("DELETE another tenant's user = %d, want 404", code)
	}
	if code, page := e.call(t, "GET /users", "globex", "", nil, ""); code != 200 || len(page["users"].([]any)) != 0 {
		t.Errorf("GET /users as another tenant = %d %v, want an empty list", code, page)
	}
	// A next token naming acme's key, sent by globex.
	_, page := e.call(t, "GET /users", "acme", "", map[string]string{"limit": "1"}, "")
	if _, ok := page["next"]; ok {
		if code, _ := e.call(t, "GET /users", "globex", "", map[string]string{"next": page["next"].(string)}, ""); code != 400 {
			t.Errorf("GET /users with another tenant's token = %d, want 400", code)
		}
	}
	if code, _ := e.call(t, "GET /users", "", "", nil, ""); code != 403 {
		t.Errorf("GET /users without a tenant claim = %d, want 403", code)
	}
	// The item copied under globex's key, by someone with table access:
	// the tenant is signed, so it fails verification (500, nothing shown).
	items := e.stored(t)
	moved := items[0]
	moved["tenant"] = &types.AttributeValueMemberS{Value: "globex"}
	if _, err := e.plain.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: moved}); err != nil {
		t.Fatal(err)
	}
	if code, body := e.call(t, "GET /users/{id}", "globex", id, nil, ""); code != 500 || strings.Contains(fmt.Sprint(body), "Ana") {
		t.Errorf("GET a user moved to another tenant = %d %v, want 500 with nothing of it", code, body)
	}
}

// TestMalformed: a malformed body is answered 400, says what is wrong
// without repeating values, and writes nothing.
func TestMalformed(t *testing.T) {
	e := setup(t)
	for _, tt := range []struct{ body, want string }{
		{`{"name": "Ana"`, "not valid JSON"},
		{`[]`, "must be a JSON object"},
		{`{"name": 5}`, `field "name" must be a string`},
		{`{"name": "Ana", "email": "ana@example.com", "date_of_birth": "1990-04-01", "address": {"city": "Lyon", "country": "FR"}, "role": "admin"}`, `unknown field "role"`},
		{`{"email": "ana@example.com", "date_of_birth": "1990-04-01", "address": {"city": "Lyon", "country": "FR"}}`, `"name" is required`},
		{`{"name": "Ana", "email": "not-an-email-secret", "date_of_birth": "1990-04-01", "address": {"city": "Lyon", "country": "FR"}}`, `"email" must be an e-mail address`},
		{`{"name": "Ana", "email": "ana@example.com", "date_of_birth": "01/04/1990", "address": {"city": "Lyon", "country": "FR"}}`, `"date_of_birth" must be a past date`},
		{`{"name": "Ana", "email": "ana@example.com", "date_of_birth": "1990-04-01"}`, `"address" is required`},
		{`{"name": "Ana", "email": "ana@example.com", "date_of_birth": "1990-04-01", "address": {"city": "Lyon", "country": "FR"}} {}`, "one JSON object"},
		{strings.Repeat(" ", 17<<10) + "{}", "larger than"},
	} {
		code, body := e.call(t, "POST /users", "acme", "", nil, tt.body)
		msg, _ := body["error"].(string)
		if code != 400 || !strings.Contains(msg, tt.want) {
			t.Errorf("POST /users %.40q = %d %q, want 400 with %q", tt.body, code, msg, tt.want)
		}
		if strings.Contains(msg, "not-an-email-secret") {
			t.Errorf("error %q repeats a value", msg)
		}
	}
	if n := len(e.stored(t)); n != 0 {
		t.Errorf("%d items written by malformed requests, want none", n)
	}
	if calls := e.kms.Calls(kmstest.OpGenerateDataKey); calls != 0 {
		t.Errorf("malformed requests made %d GenerateDataKey calls, want none", calls)
	}
	// PUT with a malformed body changes nothing either.
	_, u := e.call(t, "POST /users", "acme", "", nil, ana)
	before := storedJSON(t, e)
	if code, _ := e.call(t, "PUT /users/{id}", "acme", u["id"].(string), nil, `{"name": ""}`); code != 400 {
		t.Errorf("PUT malformed = %d, want 400", code)
	}
	if after := storedJSON(t, e); after != before {
		t.Error("a malformed PUT changed the stored item")
	}
}

// TestKMSCalls: a warm function reads a user again without calling KMS.
func TestKMSCalls(t *testing.T) {
	e := setup(t)
	_, u := e.call(t, "POST /users", "acme", "", nil, ana)
	for range 5 {
		if code, _ := e.call(t, "GET /users/{id}", "acme", u["id"].(string), nil, ""); code != 200 {
			t.Fatal(code)
		}
	}
	if g, d := e.kms.Calls(kmstest.OpGenerateDataKey), e.kms.Calls(kmstest.OpDecrypt); g != 1 || d != 1 {
		t.Errorf("one create and five reads made %d GenerateDataKey and %d Decrypt calls, want 1 and 1", g, d)
	}
}
