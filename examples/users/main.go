// Command users is an AWS Lambda function behind an API Gateway HTTP API
// (payload format 2.0, JWT authorizer) that keeps users in a DynamoDB table
// whose personal data is encrypted on the client, with package dbesdk:
//
//	POST   /users        create a user (201)
//	GET    /users        list the tenant's users (?limit=N&next=TOKEN)
//	GET    /users/{id}   read one (200, or 404)
//	PUT    /users/{id}   replace one (200, 404, or 409 on a concurrent change)
//	DELETE /users/{id}   delete one (204, or 404)
//
// A user's name, email, date of birth and address are encrypted and
// signed (ENCRYPT_AND_SIGN); its tenant (the partition key) and id (the
// sort key), its version and timestamps are signed (SIGN_ONLY). The tenant
// comes from the JWT authorizer's claims, never from the request: a caller
// only ever reads, lists, changes and deletes its own tenant's users, and
// an item moved to another tenant's key fails verification.
//
// Configuration (environment variables):
//
//	TABLE_NAME    the DynamoDB table (partition key "tenant", sort key "id", both strings)
//	KMS_KEY_ARN   the AWS KMS key that protects the data keys
//	TENANT_CLAIM  the JWT claim naming the tenant (default "custom:tenant")
//
// The DynamoDB client (with dbesdk.WithEncryption), the KMS keyring and the
// data key cache are built once per execution environment, at cold start.
// AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS point them at DynamoDB
// Local and a fake KMS to run locally (see README.md).
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/dbesdk"
)

func main() {
	h, err := initHandler(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h.Handle)
}

// TableConfig returns the encryption configuration of the users table.
func TableConfig(table string) dbesdk.TableConfig {
	return dbesdk.TableConfig{
		LogicalTableName: table,
		PartitionKey:     "tenant",
		SortKey:          "id",
		Actions: map[string]dbesdk.Action{
			"tenant":        dbesdk.SignOnly,
			"id":            dbesdk.SignOnly,
			"name":          dbesdk.EncryptAndSign,
			"email":         dbesdk.EncryptAndSign,
			"date_of_birth": dbesdk.EncryptAndSign,
			"address":       dbesdk.EncryptAndSign,
			"version":       dbesdk.SignOnly,
			"created_at":    dbesdk.SignOnly,
			"updated_at":    dbesdk.SignOnly,
		},
	}
}

// initHandler builds the handler at cold start from the environment
// (getenv is os.Getenv) and the AWS config chain.
func initHandler(ctx context.Context, getenv func(string) string) (*handler, error) {
	table, keyARN := getenv("TABLE_NAME"), getenv("KMS_KEY_ARN")
	if table == "" || keyARN == "" {
		return nil, errors.New("users: set TABLE_NAME (the DynamoDB table) and KMS_KEY_ARN (the KMS key ARN)")
	}
	claim := getenv("TENANT_CLAIM")
	if claim == "" {
		claim = "custom:tenant"
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	keyring, err := awskms.NewKeyring(kms.NewFromConfig(cfg), []string{keyARN})
	if err != nil {
		return nil, err
	}
	users, err := dbesdk.New(TableConfig(table), keyring) // data key cache on by default
	if err != nil {
		return nil, err
	}
	tables, err := dbesdk.NewEncryptedTables(map[string]*dbesdk.ItemEncryptor{table: users})
	if err != nil {
		return nil, err
	}
	return &handler{db: dynamodb.NewFromConfig(cfg, dbesdk.WithEncryption(tables)), table: table, claim: claim}, nil
}

// handler serves the routes.
type handler struct {
	db    *dynamodb.Client
	table string
	claim string
}

// Address is a postal address.
type Address struct {
	Street   string `json:"street" dynamodbav:"street"`
	City     string `json:"city" dynamodbav:"city"`
	Postcode string `json:"postcode" dynamodbav:"postcode"`
	Country  string `json:"country" dynamodbav:"country"`
}

// User is a user as the API and the table hold it.
type User struct {
	Tenant      string  `json:"-" dynamodbav:"tenant"`
	ID          string  `json:"id" dynamodbav:"id"`
	Name        string  `json:"name" dynamodbav:"name"`
	Email       string  `json:"email" dynamodbav:"email"`
	DateOfBirth string  `json:"date_of_birth" dynamodbav:"date_of_birth"`
	Address     Address `json:"address" dynamodbav:"address"`
	Version     int     `json:"version" dynamodbav:"version"`
	CreatedAt   string  `json:"created_at" dynamodbav:"created_at"`
	UpdatedAt   string  `json:"updated_at" dynamodbav:"updated_at"`
}

// userInput is the body of POST and PUT.
type userInput struct {
	Name        string   `json:"name"`
	Email       string   `json:"email"`
	DateOfBirth string   `json:"date_of_birth"`
	Address     *Address `json:"address"`
}

// maxBody bounds request bodies.
const maxBody = 16 << 10

// parseInput reads and checks a body. Its errors say what is wrong and
// never repeat a value.
func parseInput(req events.APIGatewayV2HTTPRequest) (*userInput, error) {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return nil, errors.New("the body is not valid base64")
		}
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("the body is larger than %d bytes", maxBody)
	}
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.DisallowUnknownFields()
	var in userInput
	if err := d.Decode(&in); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("the body is not valid JSON (at byte %d)", se.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return nil, errors.New("the body is not valid JSON: it ends before the object does")
		case errors.As(err, &te) && te.Field != "":
			return nil, fmt.Errorf("field %q must be a %s", te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return nil, fmt.Errorf("unknown field %s: the fields are name, email, date_of_birth and address", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return nil, errors.New("the body must be a JSON object with name, email, date_of_birth and address")
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("the body must hold one JSON object")
	}
	switch {
	case strings.TrimSpace(in.Name) == "" || len(in.Name) > 200:
		return nil, errors.New(`"name" is required (at most 200 bytes)`)
	case !validEmail(in.Email):
		return nil, errors.New(`"email" must be an e-mail address such as ana@example.com`)
	case !validDate(in.DateOfBirth):
		return nil, errors.New(`"date_of_birth" must be a past date written YYYY-MM-DD`)
	case in.Address == nil || in.Address.City == "" || in.Address.Country == "":
		return nil, errors.New(`"address" is required, with at least "city" and "country"`)
	}
	return &in, nil
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && len(s) <= 254
}

func validDate(s string) bool {
	t, err := time.Parse(time.DateOnly, s)
	return err == nil && t.Before(time.Now()) && t.Year() >= 1900
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// tenant returns the caller's tenant from the JWT authorizer's claims.
func (h *handler) tenant(req events.APIGatewayV2HTTPRequest) string {
	if a := req.RequestContext.Authorizer; a != nil && a.JWT != nil {
		return a.JWT.Claims[h.claim]
	}
	return ""
}

// Handle serves one HTTP API request.
func (h *handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	tenant := h.tenant(req)
	if tenant == "" {
		return respondError(403, "the token has no "+h.claim+" claim: the caller's tenant is unknown"), nil
	}
	id := req.PathParameters["id"]
	switch req.RouteKey {
	case "POST /users":
		return h.create(ctx, tenant, req), nil
	case "GET /users":
		return h.list(ctx, tenant, req), nil
	case "GET /users/{id}":
		return h.read(ctx, tenant, id), nil
	case "PUT /users/{id}":
		return h.replace(ctx, tenant, id, req), nil
	case "DELETE /users/{id}":
		return h.remove(ctx, tenant, id), nil
	}
	return respondError(404, "no route "+req.RouteKey), nil
}

func (h *handler) key(tenant, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: tenant}, "id": &types.AttributeValueMemberS{Value: id}}
}

func (h *handler) create(ctx context.Context, tenant string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	in, err := parseInput(req)
	if err != nil {
		return respondError(400, err.Error())
	}
	now := time.Now().UTC().Format(time.RFC3339)
	u := User{Tenant: tenant, ID: newID(), Name: in.Name, Email: in.Email, DateOfBirth: in.DateOfBirth, Address: *in.Address,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	item, err := attributevalue.MarshalMap(u)
	if err != nil {
		return internalError(ctx, "create", err)
	}
	if _, err := h.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(h.table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(#id)"), ExpressionAttributeNames: map[string]string{"#id": "id"}}); err != nil {
		return internalError(ctx, "create", err)
	}
	return respond(201, u)
}

func (h *handler) get(ctx context.Context, tenant, id string) (*User, error) {
	out, err := h.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(h.table), Key: h.key(tenant, id), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return nil, err
	}
	var u User
	if err := attributevalue.UnmarshalMap(out.Item, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

func (h *handler) read(ctx context.Context, tenant, id string) events.APIGatewayV2HTTPResponse {
	u, err := h.get(ctx, tenant, id)
	switch {
	case err != nil:
		return internalError(ctx, "read", err)
	case u == nil:
		return respondError(404, "no such user")
	}
	return respond(200, u)
}

// replace puts the new version of a user if nobody changed it since it was
// read: the encrypted attributes are signed, so they change by a whole new
// item, not by UpdateItem (which the middleware refuses).
func (h *handler) replace(ctx context.Context, tenant, id string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	in, err := parseInput(req)
	if err != nil {
		return respondError(400, err.Error())
	}
	u, err := h.get(ctx, tenant, id)
	switch {
	case err != nil:
		return internalError(ctx, "update", err)
	case u == nil:
		return respondError(404, "no such user")
	}
	prev := u.Version
	u.Name, u.Email, u.DateOfBirth, u.Address = in.Name, in.Email, in.DateOfBirth, *in.Address
	u.Version++
	u.UpdatedAt = time.Now().UTC().Format(time.RFC3339)
	item, err := attributevalue.MarshalMap(u)
	if err != nil {
		return internalError(ctx, "update", err)
	}
	_, err = h.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(h.table), Item: item,
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.Itoa(prev)}}})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return respondError(409, "the user changed since it was read: read it again and retry")
	case err != nil:
		return internalError(ctx, "update", err)
	}
	return respond(200, u)
}

func (h *handler) remove(ctx context.Context, tenant, id string) events.APIGatewayV2HTTPResponse {
	_, err := h.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(h.table), Key: h.key(tenant, id),
		ConditionExpression: aws.String("attribute_exists(#id)"), ExpressionAttributeNames: map[string]string{"#id": "id"}})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return respondError(404, "no such user")
	case err != nil:
		return internalError(ctx, "delete", err)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 204}
}

// listPage is the body of GET /users.
type listPage struct {
	Users []User `json:"users"`
	Next  string `json:"next,omitempty"`
}

// pageToken is the opaque "next" token: the last key of a page.
type pageToken struct {
	Tenant string `json:"t"`
	ID     string `json:"i"`
}

func (h *handler) list(ctx context.Context, tenant string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	limit := 25
	if s, ok := req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return respondError(400, "limit must be a number from 1 to 100")
		}
		limit = n
	}
	in := &dynamodb.QueryInput{TableName: aws.String(h.table), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression:    aws.String("#t = :t"),
		ExpressionAttributeNames:  map[string]string{"#t": "tenant"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: tenant}}}
	if s := req.QueryStringParameters["next"]; s != "" {
		var tok pageToken
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || json.Unmarshal(b, &tok) != nil || tok.Tenant != tenant || tok.ID == "" {
			return respondError(400, "next is not a token of this list: pass the next value of the previous page")
		}
		in.ExclusiveStartKey = h.key(tok.Tenant, tok.ID)
	}
	out, err := h.db.Query(ctx, in)
	if err != nil {
		return internalError(ctx, "list", err)
	}
	page := listPage{Users: []User{}}
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &page.Users); err != nil {
		return internalError(ctx, "list", err)
	}
	if out.LastEvaluatedKey != nil {
		var tok pageToken
		if err := attributevalue.UnmarshalMap(out.LastEvaluatedKey, &struct {
			T *string `dynamodbav:"tenant"`
			I *string `dynamodbav:"id"`
		}{&tok.Tenant, &tok.ID}); err != nil {
			return internalError(ctx, "list", err)
		}
		b, _ := json.Marshal(tok)
		page.Next = base64.RawURLEncoding.EncodeToString(b)
	}
	return respond(200, page)
}

// internalError logs err (which names the table and the item's key, never
// a personal value: dbesdk's errors hold none) and answers 500 without
// details.
func internalError(ctx context.Context, op string, err error) events.APIGatewayV2HTTPResponse {
	requestID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	log.Printf("request %s: %s: %v", requestID, op, err)
	return respondError(500, "internal error")
}

func respond(code int, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		return respondError(500, "internal error")
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: code, Headers: map[string]string{"content-type": "application/json"}, Body: string(body)}
}

func respondError(code int, msg string) events.APIGatewayV2HTTPResponse {
	body, _ := json.Marshal(map[string]string{"error": msg})
	return events.APIGatewayV2HTTPResponse{StatusCode: code, Headers: map[string]string{"content-type": "application/json"}, Body: string(body)}
}
