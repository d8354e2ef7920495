// Command lambda is an AWS Lambda function behind an API Gateway HTTP API
// (payload format 2.0) that encrypts chosen fields of a JSON request body on
// POST /encrypt and decrypts them on POST /decrypt, with AWS KMS keys and
// package datamask.
//
// Configuration (environment variables):
//
//	KMS_KEY_ARNS      comma-separated key ARNs; the first generates data keys
//	DATAMASK_FIELDS   a JSON array of JSONPath expressions, e.g. ["$.ssn", "$.card_number"]
//	DATAMASK_SUITE    0478 (default here: committing, unsigned) or 0578 (signed)
//
// Every request names its tenant in the x-tenant-id header; it is bound to
// each encrypted value as encryption context, so a value encrypted for one
// tenant does not decrypt for another (403, before any KMS call).
//
// The DataMasker, its KMS client and its data key cache are built once, when
// the execution environment starts (cold start), and reused by every
// invocation: a warm function calls KMS once per cached data key, not once
// per value.
//
// Why an HTTP API (v2) rather than a REST API (v1): it costs less per
// request and adds less latency, its event is smaller (one routeKey, single-
// valued lower-case headers), and this function needs none of the REST API's
// extras (usage plans, API keys, request validation).
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
)

func main() {
	h, err := initHandler(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h.Handle)
}

// config is the function's configuration, read from the environment.
type config struct {
	keyARNs []string
	fields  []string
	suite   esdk.Suite
}

// configFromEnv reads the configuration with getenv (os.Getenv).
func configFromEnv(getenv func(string) string) (config, error) {
	var c config
	for _, arn := range strings.Split(getenv("KMS_KEY_ARNS"), ",") {
		if arn = strings.TrimSpace(arn); arn != "" {
			c.keyARNs = append(c.keyARNs, arn)
		}
	}
	if len(c.keyARNs) == 0 {
		return c, errors.New("KMS_KEY_ARNS is empty: set it to one or more comma-separated KMS key ARNs")
	}
	if err := json.Unmarshal([]byte(getenv("DATAMASK_FIELDS")), &c.fields); err != nil || len(c.fields) == 0 {
		return c, errors.New(`DATAMASK_FIELDS must be a JSON array of JSONPath expressions, such as ["$.ssn", "$.card_number"]`)
	}
	switch s := getenv("DATAMASK_SUITE"); s {
	case "", "0478":
		c.suite = esdk.AES256GCMHKDFSHA512CommitKey
	case "0578":
		c.suite = esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384
	default:
		return c, fmt.Errorf("DATAMASK_SUITE %q is not 0478 or 0578", s)
	}
	return c, nil
}

// initHandler builds the handler at cold start: configuration, the AWS
// config chain (which honours AWS_ENDPOINT_URL_KMS), the KMS keyring and
// the DataMasker.
func initHandler(ctx context.Context, getenv func(string) string) (*handler, error) {
	cfg, err := configFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return newHandler(cfg, kms.NewFromConfig(awsCfg))
}

// handler serves the two routes with one DataMasker.
type handler struct {
	masker *datamask.DataMasker
	fields datamask.CallOption
}

func newHandler(cfg config, client awskms.Client) (*handler, error) {
	keyring, err := awskms.NewKeyring(client, cfg.keyARNs)
	if err != nil {
		return nil, err
	}
	// Data keys are cached (the default): 100 entries, 5 minutes.
	provider, err := datamask.NewESDKProvider(keyring, datamask.WithSuite(cfg.suite))
	if err != nil {
		return nil, err
	}
	m, err := datamask.New(datamask.WithProvider(provider))
	if err != nil {
		return nil, err
	}
	h := &handler{masker: m, fields: datamask.Fields(cfg.fields...)}
	// Check the expressions now rather than on the first request (Erase
	// compiles them as Encrypt does, and uses no key).
	if _, err := m.Erase([]byte("{}"), h.fields, datamask.AllowMissingFields(nil)); err != nil {
		return nil, err
	}
	return h, nil
}

// Handle serves POST /encrypt and POST /decrypt.
func (h *handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	var op func(context.Context, []byte, ...datamask.CallOption) ([]byte, error)
	switch req.RouteKey {
	case "POST /encrypt":
		op = h.masker.Encrypt
	case "POST /decrypt":
		op = h.masker.Decrypt
	default:
		return respondError(404, "no route "+req.RouteKey+": use POST /encrypt or POST /decrypt"), nil
	}
	tenant := req.Headers["x-tenant-id"]
	if tenant == "" {
		return respondError(400, "the x-tenant-id header is required"), nil
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return respondError(400, "the body is not valid base64"), nil
		}
	}
	out, err := op(ctx, body, h.fields, datamask.EncryptionContext(map[string]string{"tenant": tenant}))
	if err != nil {
		return errorResponse(ctx, req.RouteKey, err), nil
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(out),
	}, nil
}

// errorResponse maps datamask's errors to HTTP responses. The text of an
// error about the request (invalid JSON, a missing field, a value that is
// not a message, another tenant's value) names no payload value and tells
// the caller what to fix, so it is returned. Key errors carry AWS KMS's
// answer, which names key ARNs, the account and the function's role: they
// go to the function's log, and the caller gets a fixed message.
func errorResponse(ctx context.Context, route string, err error) events.APIGatewayV2HTTPResponse {
	var (
		syntax   *datamask.SyntaxError
		missing  *datamask.FieldNotFoundError
		mismatch *datamask.ContextMismatchError
		noKey    *datamask.DecryptKeyError
		keyErr   *datamask.EncryptKeyError
	)
	switch {
	case errors.As(err, &syntax), errors.As(err, &missing),
		errors.Is(err, datamask.ErrUnsupportedType), errors.Is(err, datamask.ErrDecryptValue):
		return respondError(400, err.Error())
	case errors.As(err, &mismatch):
		return respondError(403, err.Error())
	}
	requestID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	log.Printf("request %s: %s: %v", requestID, route, err)
	switch {
	case errors.As(err, &noKey):
		return respondError(403, "datamask: decrypt: no configured key can decrypt this value")
	case errors.As(err, &keyErr):
		return respondError(502, "datamask: encrypt: cannot get a data key")
	}
	return respondError(500, "internal error")
}

func respondError(code int, msg string) events.APIGatewayV2HTTPResponse {
	body, _ := json.Marshal(map[string]string{"error": msg})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: code,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(body),
	}
}
