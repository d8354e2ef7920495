package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/internal/motoserver"
	"github.com/datamask/datamask/kmstest"
	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/servicetest"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/dynamostore"
)

// gateway stands in for API Gateway (HTTP API, payload 2.0) in front of
// the function: POST /v1/{proxy+} has a JWT authorizer on the Cognito
// pool, which verifies the access token (signature against the pool's
// JWKS, issuer, audience, expiry) and answers 401 itself when it fails,
// as API Gateway does; ANY /{proxy+} has none. The function is invoked as
// the Lambda runtime invokes it: the event as JSON through
// lambda.Handler.Invoke, the answer decoded from JSON.
type gateway struct {
	verifier *tokenservice.JWTAuthenticator
	handler  lambda.Handler
	n        atomic.Int64
}

func (g *gateway) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		body = b
	}
	headers := map[string]string{}
	for k, vs := range req.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY /{proxy+}", RawPath: req.URL.Path, RawQueryString: req.URL.RawQuery,
		Headers: headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "ANY /{proxy+}", AccountID: "111122223333", Stage: "$default",
			RequestID: fmt.Sprintf("req-%d", g.n.Add(1)), APIID: "abc123", DomainName: "abc123.execute-api.us-east-1.amazonaws.com",
			DomainPrefix: "abc123", Time: time.Now().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: req.Method, Path: req.URL.Path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7", UserAgent: req.UserAgent(),
			},
		},
	}
	// Bodies of JSON requests come as text; others base64.
	if len(body) > 0 {
		if strings.HasPrefix(headers["content-type"], "application/json") {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	if req.Method == http.MethodPost && strings.HasPrefix(req.URL.Path, "/v1/") {
		ev.RouteKey, ev.RequestContext.RouteKey = "POST /v1/{proxy+}", "POST /v1/{proxy+}"
		claims, scopes, ok := g.authorize(req)
		if !ok {
			return response(req, http.StatusUnauthorized, map[string]string{"content-type": "application/json", "www-authenticate": "Bearer"}, `{"message":"Unauthorized"}`), nil
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: scopes},
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	// API Gateway's payload limit is 10 MB: a larger body never reaches
	// the function.
	if len(payload) > 10<<20 {
		return response(req, http.StatusRequestEntityTooLarge, map[string]string{"content-type": "application/json"}, `{"message":"Request Entity Too Large"}`), nil
	}
	out, err := g.handler.Invoke(req.Context(), payload)
	if err != nil {
		return nil, fmt.Errorf("lambda: %v", err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, err
	}
	b := resp.Body
	if resp.IsBase64Encoded {
		raw, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return nil, err
		}
		b = string(raw)
	}
	return response(req, resp.StatusCode, resp.Headers, b), nil
}

// authorize is API Gateway's JWT authorizer: the claims of a valid access
// token, as HTTP APIs pass them (strings; arrays as "[a b]").
func (g *gateway) authorize(req *http.Request) (map[string]string, []string, bool) {
	h := req.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil, nil, false
	}
	if _, err := g.verifier.Verify(req.Context(), tok); err != nil {
		return nil, nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		return nil, nil, false
	}
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, false
	}
	claims := map[string]string{}
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			claims[k] = v
		case json.Number:
			claims[k] = v.String()
		case []any:
			parts := make([]string, len(v))
			for i, e := range v {
				parts[i] = fmt.Sprint(e)
			}
			claims[k] = "[" + strings.Join(parts, " ") + "]"
		default:
			claims[k] = fmt.Sprint(v)
		}
	}
	return claims, strings.Fields(claims["scope"]), true
}

func response(req *http.Request, status int, headers map[string]string, body string) *http.Response {
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	return &http.Response{
		Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// lockedBuffer is standard output for the function: the audit trail.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// function is the Lambda function built for the suite's fixture, behind
// the gateway.
type function struct {
	app      *app
	gw       *gateway
	kms      *kmstest.Server
	pool     *motoserver.Pool
	auditOut *lockedBuffer
	logOut   *lockedBuffer
}

// newFunction builds the function on a vault file, or with dynamo on a
// new table of DynamoDB Local.
func newFunction(t *testing.T, dynamo ...bool) *function {
	t.Helper()
	moto := motoserver.Start(t)
	users := map[string][]string{}
	for _, c := range servicetest.Callers {
		users[c] = []string{c}
	}
	pool := motoserver.NewPool(t, moto, users)
	k := kmstest.Start(t)
	for name, v := range k.Env() {
		t.Setenv(name, v)
	}
	rights, err := json.Marshal(tokenservice.RightsSpec{Groups: servicetest.Grants(), Reveal: servicetest.Reveal()})
	if err != nil {
		t.Fatal(err)
	}
	vault := "file:" + filepath.Join(t.TempDir(), "vault.db")
	if len(dynamo) > 0 && dynamo[0] {
		endpoint := dynamolocal.Start(t)
		t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
		table := dynamolocal.TableName("vault")
		if err := dynamostore.Migrate(t.Context(), dynamolocal.NewClient(endpoint), table); err != nil {
			t.Fatal(err)
		}
		vault = "dynamodb://" + table
	}
	env := map[string]string{
		"DATAMASK_VAULT":     vault,
		"KMS_KEY_ARNS":       k.CreateKey(),
		"COGNITO_ISSUER":     pool.Issuer,
		"COGNITO_CLIENT_IDS": pool.ClientID,
		"DATAMASK_RIGHTS":    string(rights),
		"DATAMASK_POLICIES":  servicetest.Policies,
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	f := &function{kms: k, pool: pool, auditOut: &lockedBuffer{}, logOut: &lockedBuffer{}}
	f.app, err = newApp(context.Background(), cfg, f.auditOut, f.logOut)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.app.Close() })
	verifier, err := tokenservice.NewJWTAuthenticator(pool.Issuer, []string{pool.ClientID}, tokenservice.WithJWKSURL(pool.JWKSURL))
	if err != nil {
		t.Fatal(err)
	}
	f.gw = &gateway{verifier: verifier, handler: lambda.NewHandler(f.app.adapter.ProxyWithContext)}
	return f
}

func (f *function) auditLines(t testing.TB) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(f.auditOut.Bytes()))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line: %v", err)
		}
		if m["type"] == "event" {
			out = append(out, m)
		}
	}
	return out
}

func (f *function) records(t testing.TB) int {
	n, cursor := 0, ""
	for {
		page, next, err := f.app.store.List(context.Background(), tokenvault.ListRequest{Cursor: cursor, Limit: tokenvault.MaxBatch})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if r.Tenant != "" {
				n++
			}
		}
		if next == "" {
			return n
		}
		cursor = next
	}
}

// TestLambdaSuite runs the client suite through the Lambda adapter: every
// request becomes an API Gateway v2 event, its caller's access token
// (moto_server's Cognito, InitiateAuth) verified by the gateway and its
// claims passed in the event, the function invoked as the runtime does.
func TestLambdaSuite(t *testing.T) {
	t.Run("file", func(t *testing.T) { lambdaSuite(t, false) })
	t.Run("dynamodb", func(t *testing.T) { lambdaSuite(t, true) })
}

// lambdaSuite runs the suite on the function, with its vault on DynamoDB
// Local if dynamo.
func lambdaSuite(t *testing.T, dynamo bool) {
	servicetest.Run(t, func(t *testing.T) *servicetest.Harness {
		f := newFunction(t, dynamo)
		forged := strings.Split(f.pool.Access[servicetest.Nobody], ".")
		forged[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"cognito:groups":["admin"],"token_use":"access"}`))
		return &servicetest.Harness{
			URL:    "https://abc123.execute-api.us-east-1.amazonaws.com",
			Client: &http.Client{Transport: f.gw},
			Credential: func(caller string) string {
				if caller == "stranger" {
					return "Bearer " + strings.Join(forged, ".")
				}
				return "Bearer " + f.pool.Access[caller]
			},
			AuditLines:     func() []map[string]any { return f.auditLines(t) },
			KMSCalls:       func(op string) int { return f.kms.Calls(kmstest.Op(op)) },
			Records:        func() int { return f.records(t) },
			GatewayRejects: true,
		}
	})
}

// TestLambdaWithoutAuthorizer: a request that reaches the function
// without the authorizer's claims (a route deployed without it) gets no
// rights: 401, audited.
func TestLambdaWithoutAuthorizer(t *testing.T) {
	f := newFunction(t)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /v1/{proxy+}", RawPath: "/v1/detokenize",
		Headers: map[string]string{"content-type": "application/json", "authorization": "Bearer " + f.pool.Access[servicetest.Admin], "x-datamask-purpose": "test"},
		Body:    `{"policy":"ssn","token":"123-45-6789"}`,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "POST /v1/{proxy+}", DomainName: "abc123.execute-api.us-east-1.amazonaws.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v1/detokenize"},
		},
	}
	payload, _ := json.Marshal(ev)
	out, err := lambda.NewHandler(f.app.adapter.ProxyWithContext).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	json.Unmarshal(out, &resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Body, "unauthenticated") {
		t.Errorf("no authorizer claims, a valid bearer token: %d %s, want 401", resp.StatusCode, resp.Body)
	}
	lines := f.auditLines(t)
	if len(lines) != 1 || lines[0]["outcome"] != "unauthenticated" {
		t.Errorf("audit lines %v", lines)
	}
}
