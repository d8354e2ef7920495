// Package servicetest is the client-side test suite of the tokenization
// service (package tokenservice): it calls every route as clients do,
// over whatever carries the requests, so that one suite covers the
// service on a loopback listener and behind the AWS Lambda adapter with
// API Gateway events.
//
// Start with [Run]: the caller builds a service for the suite's fixture
// ([Policies], [Grants], [Reveal]) and returns a [Harness] that reaches
// it:
//
//	servicetest.Run(t, func(t *testing.T) *servicetest.Harness {
//		// a vault with servicetest.Policies, a service whose callers
//		// have servicetest.Grants, over a listener or an adapter
//		return &servicetest.Harness{URL: ..., Client: ..., Credential: ...}
//	})
package servicetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/datamask/datamask/tokenservice"
)

// The callers of the fixture. Each needs credentials ([Harness.Credential])
// that give it the grants [Grants] lists.
const (
	// Admin: every operation on every policy of tenant acme.
	Admin = "admin"
	// Tokenizer: tokenize only, every policy of acme.
	Tokenizer = "tokenizer"
	// Payments: tokenize and detokenize card (reveal last4), detokenize
	// opaque with reveal last4, in acme.
	Payments = "payments"
	// Support: detokenize and lookup of ssn, email and customer in acme.
	Support = "support"
	// Globex: every operation on every policy of tenant globex.
	Globex = "globex"
	// Multi: tokenize in acme and in globex: it must name its tenant.
	Multi = "multi"
	// Nobody: authenticated, with a grant on a tenant no one uses and no
	// operation of the suite: every call of the suite is refused.
	Nobody = "nobody"
)

// Callers lists the callers of the fixture.
var Callers = []string{Admin, Tokenizer, Payments, Support, Globex, Multi, Nobody}

// Policies is the policies file of the fixture's vault, beside the
// built-in ones (card, ssn, email, opaque).
const Policies = `{
  "customer": {"format": "random", "prefix": "cus_", "convergent": true},
  "account":  {"format": "ff1", "charset": "digits"}
}`

// Grants returns the grants of each caller of the fixture.
func Grants() map[string][]tokenservice.Grant {
	all := []tokenservice.Operation{tokenservice.OpTokenize, tokenservice.OpDetokenize, tokenservice.OpLookup, tokenservice.OpDelete, tokenservice.OpForget}
	return map[string][]tokenservice.Grant{
		Admin:     {{Tenant: "acme", Policies: []string{"*"}, Operations: all}},
		Tokenizer: {{Tenant: "acme", Policies: []string{"*"}, Operations: []tokenservice.Operation{tokenservice.OpTokenize}}},
		Payments: {
			{Tenant: "acme", Policies: []string{"card"}, Operations: []tokenservice.Operation{tokenservice.OpTokenize, tokenservice.OpDetokenize}},
			{Tenant: "acme", Policies: []string{"opaque"}, Operations: []tokenservice.Operation{tokenservice.OpDetokenize}, Reveal: tokenservice.RevealLast4},
		},
		Support: {{Tenant: "acme", Policies: []string{"ssn", "email", "customer"}, Operations: []tokenservice.Operation{tokenservice.OpDetokenize, tokenservice.OpLookup}}},
		Globex:  {{Tenant: "globex", Policies: []string{"*"}, Operations: all}},
		Multi: {
			{Tenant: "acme", Policies: []string{"*"}, Operations: []tokenservice.Operation{tokenservice.OpTokenize}},
			{Tenant: "globex", Policies: []string{"*"}, Operations: []tokenservice.Operation{tokenservice.OpTokenize}},
		},
		Nobody: {{Tenant: "initech", Policies: []string{"opaque"}, Operations: []tokenservice.Operation{tokenservice.OpTokenize}}},
	}
}

// Reveal is the fixture's reveal cap per policy: card numbers come back
// as their last four digits only, to every caller.
func Reveal() map[string]tokenservice.Reveal {
	return map[string]tokenservice.Reveal{"card": tokenservice.RevealLast4}
}

// Harness reaches a service built for the fixture.
type Harness struct {
	// URL is the service's base URL, such as "http://127.0.0.1:8080".
	URL string
	// Client carries the requests (a loopback client, or one whose
	// transport invokes a Lambda handler with API Gateway events).
	Client *http.Client
	// Credential returns the Authorization header value of a caller of
	// [Callers] ("Bearer ..."), or of "stranger": credentials the service
	// must refuse (an unknown API key, a forged JWT).
	Credential func(caller string) string
	// AuditLines returns the lines of the audit trail written so far,
	// decoded.
	AuditLines func() []map[string]any
	// KMSCalls returns how many requests of op ("Decrypt",
	// "GenerateDataKey") the vault's KMS has served.
	KMSCalls func(op string) int
	// Records returns how many records the vault's store holds.
	Records func() int
	// GatewayRejects says that requests without valid credentials are
	// refused before they reach the service (API Gateway's JWT
	// authorizer answers 401 itself), so they leave no audit line.
	GatewayRejects bool
}

// Run runs the suite on the harness newHarness returns (one for the whole
// suite; its subtests run in order and share it).
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	h := newHarness(t)
	c := &client{t: t, h: h, seen: map[string]bool{}}
	tests := []struct {
		name string
		fn   func(t *testing.T, c *client)
	}{
		// First: no value of the suite has been decrypted yet, so the
		// KMS Decrypt counter shows that refusals decrypt nothing.
		{"Refusals", testRefusals},
		{"Tokenize", testTokenize},
		{"Detokenize", testDetokenize},
		{"Reveal", testReveal},
		{"Tenants", testTenants},
		{"Lookup", testLookup},
		{"Delete", testDelete},
		{"Forget", testForget},
		{"Documents", testDocuments},
		{"BadRequests", testBadRequests},
		{"Operations", testOperations},
		{"AuditTrail", testAuditTrail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, c.with(t))
		})
	}
}

// client calls the service and remembers every value and token it saw,
// which no audit line, metric or error may hold.
type client struct {
	t    *testing.T
	h    *Harness
	mu   *sync.Mutex
	seen map[string]bool
}

func (c *client) with(t *testing.T) *client {
	if c.mu == nil {
		c.mu = &sync.Mutex{}
	}
	return &client{t: t, h: c.h, mu: c.mu, seen: c.seen}
}

func (c *client) remember(s ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range s {
		if len(v) >= 4 {
			c.seen[v] = true
		}
	}
}

func (c *client) secrets() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.seen))
}

// answer is a decoded answer.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (a *answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (a *answer) str(key string) string {
	s, _ := a.body[key].(string)
	return s
}

func (a *answer) results() []map[string]any {
	rs, _ := a.body["results"].([]any)
	out := make([]map[string]any, len(rs))
	for i, r := range rs {
		out[i], _ = r.(map[string]any)
	}
	return out
}

// do sends method path with body (marshalled unless []byte) as caller.
func (c *client) do(caller, method, path string, body any, header ...string) *answer {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.h.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if caller != "" {
		req.Header.Set("Authorization", c.h.Credential(caller))
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := c.h.Client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			c.t.Fatalf("%s %s: answer %d is not a JSON object: %v", method, path, resp.StatusCode, err)
		}
	}
	if a.status >= 400 && !(c.h.GatewayRejects && a.status == http.StatusUnauthorized) {
		if a.code() == "" {
			c.t.Errorf("%s %s: answer %d has no error code: %s", method, path, a.status, raw)
		}
	}
	return a
}

func (c *client) post(caller, path string, body any, header ...string) *answer {
	c.t.Helper()
	return c.do(caller, http.MethodPost, path, body, header...)
}

// want checks an answer's status and, if code is not "", its error code.
func (c *client) want(a *answer, status int, code string, what string) {
	c.t.Helper()
	if a.status != status || (code != "" && a.code() != code) {
		c.t.Errorf("%s: answered %d %q, want %d %q; body %s", what, a.status, a.code(), status, code, a.raw)
	}
}

// tokenize tokenizes values under policy as caller and returns the
// tokens, failing the test on any error.
func (c *client) tokenize(caller, policy string, values ...string) []string {
	c.t.Helper()
	c.remember(values...)
	a := c.post(caller, "/v1/tokenize", map[string]any{"policy": policy, "values": values})
	if a.status != http.StatusOK {
		c.t.Fatalf("tokenize %d values under %s as %s: %d %s", len(values), policy, caller, a.status, a.raw)
	}
	var toks []string
	for i, r := range a.results() {
		tok, _ := r["token"].(string)
		if tok == "" {
			c.t.Fatalf("tokenize under %s as %s: value %d: %v", policy, caller, i, r)
		}
		toks = append(toks, tok)
	}
	if len(toks) != len(values) {
		c.t.Fatalf("tokenize: %d results for %d values", len(toks), len(values))
	}
	c.remember(toks...)
	return toks
}

// detokenize is a detokenize call of one token with a purpose.
func (c *client) detokenize(caller, policy, token string, extra ...string) *answer {
	c.t.Helper()
	body := map[string]any{"policy": policy, "token": token}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	return c.post(caller, "/v1/detokenize", body, tokenservice.PurposeHeader, "suite")
}

// auditSince returns the audit lines after the first n.
func (c *client) auditSince(n int) []map[string]any {
	c.t.Helper()
	lines := c.h.AuditLines()
	if len(lines) < n {
		c.t.Fatalf("the audit trail lost lines: %d, had %d", len(lines), n)
	}
	return lines[n:]
}

// wantAudit checks that lines hold one line with each of the given
// operation and outcome pairs, in order, and returns them.
func (c *client) wantAudit(lines []map[string]any, pairs ...string) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	for i := 0; i+1 < len(pairs); i += 2 {
		op, outcome := pairs[i], pairs[i+1]
		found := false
		for len(lines) > 0 && !found {
			l := lines[0]
			lines = lines[1:]
			if l["operation"] == op && l["outcome"] == outcome {
				out = append(out, l)
				found = true
			}
		}
		if !found {
			c.t.Errorf("no audit line %s/%s where expected (pairs %v)", op, outcome, pairs)
			return out
		}
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

func num(v any) int { f, _ := v.(float64); return int(f) }

// counter makes the suite's values unique in the run, so that they never
// collide with another test's.
var counter struct {
	sync.Mutex
	n int
}

// cards returns n card numbers unique in the run.
func cards(n int) []string {
	counter.Lock()
	defer counter.Unlock()
	var out []string
	for range n {
		counter.n++
		out = append(out, fmt.Sprintf("4111-%04d-%04d-%04d", (counter.n/100000000)%10000, (counter.n/10000)%10000, counter.n%10000))
	}
	return out
}

// unique returns prefix and a number unique in the run.
func unique(prefix string) string {
	counter.Lock()
	defer counter.Unlock()
	counter.n++
	return fmt.Sprintf("%s-%08d", prefix, counter.n)
}
