package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/datamask/datamask/kmstest"
)

// setup starts a fake KMS with two keys, points the AWS config chain at it
// through the environment (AWS_ENDPOINT_URL_KMS, Region, credentials), and
// builds the handler as the function's cold start does.
func setup(t testing.TB, fields string) (*kmstest.Server, lambda.Handler) {
	t.Helper()
	s := kmstest.Start(t)
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull) // nothing from the machine's ~/.aws
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("KMS_KEY_ARNS", s.CreateKey()+","+s.CreateKey())
	t.Setenv("DATAMASK_FIELDS", fields)
	h, err := initHandler(context.Background(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	// Invoke through aws-lambda-go's own handler, with the event as JSON,
	// as the Lambda runtime does.
	return s, lambda.NewHandler(h.Handle)
}

// invoke sends an HTTP API event to h and returns its response.
func invoke(t testing.TB, h lambda.Handler, route, tenant, body string, base64Body bool) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: route,
		RawPath:  strings.TrimPrefix(route, "POST "),
		Headers:  map[string]string{"content-type": "application/json"},
		Body:     body,
	}
	if tenant != "" {
		req.Headers["x-tenant-id"] = tenant
	}
	if base64Body {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	event, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Invoke(context.Background(), event)
	if err != nil {
		t.Fatalf("Invoke(%s) = %v", route, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

const order = `{"order": 1042, "customer": {"name": "Ana Silva", "ssn": "123-45-6789", "card_number": "4111-1111-1111-1111"}, "total": 99.90}`

func TestEncryptDecryptRoutes(t *testing.T) {
	s, h := setup(t, `["$.customer.ssn", "customer.card_number"]`)

	enc := invoke(t, h, "POST /encrypt", "acme", order, false)
	if enc.StatusCode != 200 {
		t.Fatalf("POST /encrypt = %d %s", enc.StatusCode, enc.Body)
	}
	var doc struct {
		Order    int `json:"order"`
		Customer struct {
			Name, SSN, Card string
		} `json:"customer"`
	}
	if err := json.Unmarshal([]byte(enc.Body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Customer.Name != "Ana Silva" || !strings.HasPrefix(doc.Customer.SSN, "AgR4") || strings.Contains(enc.Body, "123-45-6789") {
		t.Errorf("POST /encrypt body = %s, want ssn and card encrypted (suite 0478), the rest as is", enc.Body)
	}

	dec := invoke(t, h, "POST /decrypt", "acme", enc.Body, false)
	if dec.StatusCode != 200 || dec.Body != order {
		t.Errorf("POST /decrypt = %d %s, want 200 %s", dec.StatusCode, dec.Body, order)
	}

	// A second invocation of the warm function reuses the cached data
	// keys: no new KMS call. Under two keys, one GenerateDataKey and one
	// Encrypt (second key) in all; one Decrypt.
	again := invoke(t, h, "POST /encrypt", "acme", order, true)
	if again.StatusCode != 200 {
		t.Fatalf("POST /encrypt (base64 body) = %d %s", again.StatusCode, again.Body)
	}
	if dec := invoke(t, h, "POST /decrypt", "acme", again.Body, false); dec.Body != order {
		t.Errorf("POST /decrypt of the second = %s, want %s", dec.Body, order)
	}
	if g, e, d := s.Calls(kmstest.OpGenerateDataKey), s.Calls(kmstest.OpEncrypt), s.Calls(kmstest.OpDecrypt); g != 1 || e != 1 || d != 1 {
		t.Errorf("KMS calls for 2 encrypts and 2 decrypts = %d GenerateDataKey, %d Encrypt, %d Decrypt; want 1, 1, 1", g, e, d)
	}

	// Another tenant: refused before any KMS call, without the values.
	s.ResetCalls()
	other := invoke(t, h, "POST /decrypt", "globex", enc.Body, false)
	if other.StatusCode != 403 || !strings.Contains(other.Body, "encryption context does not match") {
		t.Errorf("POST /decrypt as another tenant = %d %s, want 403 and a context mismatch", other.StatusCode, other.Body)
	}
	if calls := s.CallCounts(); len(calls) != 0 {
		t.Errorf("KMS calls for another tenant = %v, want none", calls)
	}
}

func TestHandlerErrors(t *testing.T) {
	_, h := setup(t, `["$.customer.ssn"]`)
	for _, tc := range []struct {
		route, tenant, body string
		code                int
		msg                 string
	}{
		{"GET /encrypt", "acme", order, 404, "no route"},
		{"POST /encrypt", "", order, 400, "x-tenant-id header is required"},
		{"POST /encrypt", "acme", `{"customer": {"ssn": "123-45-6789",}}`, 400, "invalid JSON"},
		{"POST /encrypt", "acme", `{"customer": {"name": "Ana Silva"}}`, 400, `field \"$.customer.ssn\" matched nothing`},
		{"POST /decrypt", "acme", order, 400, "not a valid encrypted message"},
	} {
		resp := invoke(t, h, tc.route, tc.tenant, tc.body, false)
		if resp.StatusCode != tc.code || !strings.Contains(resp.Body, tc.msg) {
			t.Errorf("%s %s = %d %s, want %d and %q", tc.route, tc.body, resp.StatusCode, resp.Body, tc.code, tc.msg)
		}
		for _, secret := range []string{"123-45-6789", "Ana Silva"} {
			if strings.Contains(resp.Body, secret) {
				t.Errorf("%s error body %s shows %q", tc.route, resp.Body, secret)
			}
		}
	}
}

// TestKeyErrorsStayInTheLog checks that KMS and key errors, whose text
// names key ARNs, the account and AWS's exception, reach the function's log
// but not the HTTP caller, who gets the status and a fixed message.
func TestKeyErrorsStayInTheLog(t *testing.T) {
	s, h := setup(t, `["$.customer.ssn"]`)
	var logged strings.Builder
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	enc := invoke(t, h, "POST /encrypt", "acme", order, false)
	if enc.StatusCode != 200 {
		t.Fatalf("POST /encrypt = %d %s", enc.StatusCode, enc.Body)
	}
	for _, arn := range s.Keys() {
		if err := s.DisableKey(arn); err != nil {
			t.Fatal(err)
		}
	}
	// The cached data keys would let the warm function work without KMS:
	// another execution environment (a cold start) must ask KMS.
	coldHandler, err := initHandler(context.Background(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	cold := lambda.NewHandler(coldHandler.Handle)
	for _, tc := range []struct {
		h     lambda.Handler
		route string
		body  string
		code  int
		msg   string
	}{
		{cold, "POST /decrypt", enc.Body, 403, "no configured key can decrypt this value"},
		{cold, "POST /encrypt", order, 502, "cannot get a data key"},
	} {
		logged.Reset()
		resp := invoke(t, tc.h, tc.route, "acme", tc.body, false)
		if resp.StatusCode != tc.code || !strings.Contains(resp.Body, tc.msg) {
			t.Errorf("%s with disabled keys = %d %s, want %d and %q", tc.route, resp.StatusCode, resp.Body, tc.code, tc.msg)
		}
		for _, private := range []string{"arn:aws:kms", s.Account(), "Exception"} {
			if strings.Contains(resp.Body, private) {
				t.Errorf("%s error body %s shows %q", tc.route, resp.Body, private)
			}
		}
		if !strings.Contains(logged.String(), "arn:aws:kms") {
			t.Errorf("%s logged %q, want the error with its key ARN", tc.route, logged.String())
		}
	}
}

// TestColdStartMakesNoKMSCall checks that checking the expressions at cold
// start uses no key, even for "$", which selects any document.
func TestColdStartMakesNoKMSCall(t *testing.T) {
	s, _ := setup(t, `["$", "$.customer.ssn"]`)
	if calls := s.CallCounts(); len(calls) != 0 {
		t.Errorf("KMS calls at cold start = %v, want none", calls)
	}
}

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env map[string]string
		err string
	}{
		{map[string]string{"DATAMASK_FIELDS": `["$.a"]`}, "KMS_KEY_ARNS is empty"},
		{map[string]string{"KMS_KEY_ARNS": "arn", "DATAMASK_FIELDS": `$.a`}, "DATAMASK_FIELDS must be a JSON array"},
		{map[string]string{"KMS_KEY_ARNS": "arn", "DATAMASK_FIELDS": `[]`}, "DATAMASK_FIELDS must be a JSON array"},
		{map[string]string{"KMS_KEY_ARNS": "arn", "DATAMASK_FIELDS": `["$.a"]`, "DATAMASK_SUITE": "0178"}, "is not 0478 or 0578"},
		{map[string]string{"KMS_KEY_ARNS": " a , b ", "DATAMASK_FIELDS": `["$.a"]`, "DATAMASK_SUITE": "0578"}, ""},
	} {
		c, err := configFromEnv(func(k string) string { return tc.env[k] })
		if tc.err == "" && (err != nil || fmt.Sprint(c.keyARNs) != "[a b]") || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("configFromEnv(%v) = %+v, %v; want error %q", tc.env, c, err, tc.err)
		}
	}
	// Bad keys or expressions fail at cold start, not on the first request.
	s := kmstest.Start(t)
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	for _, tc := range []struct{ keys, fields, err string }{
		{"alias/orders", `["$.a"]`, "not a key ARN"},
		{s.CreateKey(), `["$.a["]`, "invalid field expression"},
	} {
		t.Setenv("KMS_KEY_ARNS", tc.keys)
		t.Setenv("DATAMASK_FIELDS", tc.fields)
		if _, err := initHandler(context.Background(), os.Getenv); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("initHandler(%s, %s) = %v, want an error containing %q", tc.keys, tc.fields, err, tc.err)
		}
	}
}

// BenchmarkHandler measures one warm invocation on a 25-customer body
// (about 12 KB, 50 values: ssn and card_number of each), through the fake
// KMS; with the data key cache warm no KMS call is made, so this is the
// function's own cost per request.
func BenchmarkHandler(b *testing.B) {
	var body strings.Builder
	body.WriteString(`{"customers": [`)
	for i := range 25 {
		if i > 0 {
			body.WriteString(", ")
		}
		fmt.Fprintf(&body, `{"id": %d, "name": "Customer %d", "email": "c%d@example.com", "ssn": "123-45-%04d", "card_number": "4111-1111-1111-%04d", "notes": "Preferred contact by email. Preferred contact by email."}`, i, i, i, i, i)
	}
	body.WriteString("]}")
	for _, suite := range []string{"0478", "0578"} {
		b.Run("suite="+suite, func(b *testing.B) {
			b.Setenv("DATAMASK_SUITE", suite)
			_, h := setup(b, `["$.customers[*].ssn", "$.customers[*].card_number"]`)
			enc := invoke(b, h, "POST /encrypt", "acme", body.String(), false)
			b.Run("route=encrypt", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					invoke(b, h, "POST /encrypt", "acme", body.String(), false)
				}
			})
			b.Run("route=decrypt", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					invoke(b, h, "POST /decrypt", "acme", enc.Body, false)
				}
			})
		})
	}
}
