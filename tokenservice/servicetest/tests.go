package servicetest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/datamask/datamask/tokenservice"
)

// testRefusals: no credentials, bad credentials and missing rights are
// refused (401, 403), each refusal is audited, and nothing is decrypted:
// the KMS serves no Decrypt until an allowed detokenize.
func testRefusals(t *testing.T, c *client) {
	tokens := c.tokenize(Admin, "ssn", "123-45-6789", "987-65-4321")
	opaque := c.tokenize(Admin, "opaque", "refusal-secret-value")
	decrypts := c.h.KMSCalls("Decrypt")
	lines := len(c.h.AuditLines())

	// Unauthenticated: no header, a garbage bearer, a stranger's
	// credentials, another scheme.
	for _, tc := range []struct {
		name, auth string
	}{
		{"no credentials", ""},
		{"garbage", "Bearer not-a-credential"},
		{"stranger", c.h.Credential("stranger")},
		{"basic", "Basic YWRtaW46YWRtaW4="},
	} {
		a := c.post("", "/v1/detokenize", map[string]any{"policy": "ssn", "token": tokens[0]},
			"Authorization", tc.auth, tokenservice.PurposeHeader, "suite")
		c.want(a, http.StatusUnauthorized, "", tc.name)
		if !c.h.GatewayRejects {
			c.want(a, http.StatusUnauthorized, tokenservice.CodeUnauthenticated, tc.name)
			if a.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
			}
		}
		if strings.Contains(string(a.raw), tokens[0]) {
			t.Errorf("%s: the answer holds the token", tc.name)
		}
	}
	a := c.post("", "/v1/tokenize", map[string]any{"policy": "ssn", "value": "123-45-6789"})
	c.want(a, http.StatusUnauthorized, "", "tokenize without credentials")

	// Authenticated, without the right.
	c.want(c.detokenize(Tokenizer, "ssn", tokens[0]), http.StatusForbidden, tokenservice.CodeForbidden, "tokenizer detokenizes")
	c.want(c.detokenize(Payments, "ssn", tokens[1]), http.StatusForbidden, tokenservice.CodeForbidden, "payments detokenizes ssn")
	c.want(c.detokenize(Nobody, "ssn", tokens[0]), http.StatusForbidden, tokenservice.CodeForbidden, "nobody detokenizes")
	c.want(c.post(Nobody, "/v1/tokenize", map[string]any{"policy": "ssn", "value": "555-44-3333"}), http.StatusForbidden, tokenservice.CodeForbidden, "nobody tokenizes")
	c.want(c.post(Support, "/v1/delete", map[string]any{"policy": "ssn", "token": tokens[0]}), http.StatusForbidden, tokenservice.CodeForbidden, "support deletes")
	c.want(c.post(Tokenizer, "/v1/lookup", map[string]any{"policy": "customer", "value": "x"}), http.StatusForbidden, tokenservice.CodeForbidden, "tokenizer looks up")
	c.want(c.post(Support, "/v1/forget", map[string]any{"values": []string{"123-45-6789"}}), http.StatusForbidden, tokenservice.CodeForbidden, "support forgets")
	// Another tenant named in the body: the caller's identity decides.
	c.want(c.detokenize(Globex, "ssn", tokens[0], "tenant", "acme"), http.StatusForbidden, tokenservice.CodeForbidden, "globex names acme")
	c.want(c.detokenize(Admin, "opaque", opaque[0], "tenant", "globex"), http.StatusForbidden, tokenservice.CodeForbidden, "admin names globex")

	if got := c.h.KMSCalls("Decrypt") - decrypts; got != 0 {
		t.Errorf("refused calls made %d KMS Decrypt requests, want 0", got)
	}
	after := c.auditSince(lines)
	denied := []string{"detokenize", "detokenize", "detokenize", "tokenize", "delete", "lookup", "forget", "detokenize", "detokenize"}
	var got []map[string]any
	if !c.h.GatewayRejects {
		got = c.wantAudit(after,
			"detokenize", "unauthenticated", "detokenize", "unauthenticated", "detokenize", "unauthenticated",
			"detokenize", "unauthenticated", "tokenize", "unauthenticated")
		for _, l := range got {
			if str(l["caller"]) != "" || num(l["status"]) != http.StatusUnauthorized {
				t.Errorf("audit line of a 401: %v", l)
			}
		}
	}
	var pairs []string
	for _, op := range denied {
		pairs = append(pairs, op, "denied")
	}
	got = c.wantAudit(after, pairs...)
	if len(got) == len(denied) {
		l := got[0]
		if str(l["caller"]) == "" || str(l["tenant"]) != "acme" || str(l["policy"]) != "ssn" || str(l["purpose"]) != "suite" || num(l["status"]) != http.StatusForbidden {
			t.Errorf("audit line of the tokenizer's refused detokenize: %v", l)
		}
		if hs, _ := l["token_hashes"].([]any); len(hs) != 1 || len(str(hs[0])) != 32 {
			t.Errorf("audit line of a refused detokenize: token_hashes %v, want one keyed hash", l["token_hashes"])
		}
		if str(got[7]["tenant"]) != "acme" {
			t.Errorf("audit line of globex naming acme: tenant %v, want acme", got[7]["tenant"])
		}
	}

	// The counter is live: the first allowed detokenize decrypts.
	a = c.detokenize(Admin, "ssn", tokens[0])
	c.want(a, http.StatusOK, "", "admin detokenizes")
	if a.str("value") != "123-45-6789" {
		t.Errorf("admin detokenized %q", a.str("value"))
	}
	// One for the record's data key (a store that signs its items, as
	// the DynamoDB store does, may need one more for the item's).
	if got := c.h.KMSCalls("Decrypt") - decrypts; got < 1 || got > 2 {
		t.Errorf("the first allowed detokenize made %d KMS Decrypt requests, want 1 or 2 (then cached)", got)
	}
}

// testTokenize: one value and batches, formats, per-value errors.
func testTokenize(t *testing.T, c *client) {
	a := c.post(Tokenizer, "/v1/tokenize", map[string]any{"policy": "ssn", "value": "123-45-6789"})
	c.want(a, http.StatusOK, "", "tokenize one ssn")
	tok := a.str("token")
	c.remember(tok)
	if len(tok) != 11 || tok[3] != '-' || tok[6] != '-' || !strings.HasSuffix(tok, "6789") || tok == "123-45-6789" {
		t.Errorf("ssn token %q: want the shape ddd-dd-6789, not the value", tok)
	}

	values := cards(1000)
	toks := c.tokenize(Payments, "card", values...)
	seen := map[string]bool{}
	for i, tok := range toks {
		if len(tok) != len(values[i]) || tok[len(tok)-4:] != values[i][len(values[i])-4:] || tok == values[i] {
			t.Fatalf("card token %d: %q for a value of length %d: want the same shape and last four", i, tok, len(values[i]))
		}
		if seen[tok] {
			t.Fatalf("token %d issued twice", i)
		}
		seen[tok] = true
	}

	// Per-value errors: a value the card format cannot serve.
	a = c.post(Payments, "/v1/tokenize", map[string]any{"policy": "card", "values": []string{"4111-1111-1111-1111", "not a card", "12"}})
	c.want(a, http.StatusOK, "", "tokenize a batch with bad values")
	rs := a.results()
	if len(rs) != 3 || str(rs[0]["token"]) == "" {
		t.Fatalf("batch results %v", rs)
	}
	for _, r := range rs[1:] {
		e, _ := r["error"].(map[string]any)
		if str(e["code"]) != tokenservice.CodeInvalidValue || str(r["token"]) != "" {
			t.Errorf("bad value's result %v, want error invalid_value", r)
		}
	}
	c.remember(str(rs[0]["token"]))
	if strings.Contains(string(a.raw), "not a card") {
		t.Error("a per-value error holds the value")
	}
	// One value the format cannot serve: 422.
	a = c.post(Payments, "/v1/tokenize", map[string]any{"policy": "card", "value": "not a card"})
	c.want(a, http.StatusUnprocessableEntity, tokenservice.CodeInvalidValue, "tokenize one bad card")

	// TTL and metadata, one value.
	a = c.post(Admin, "/v1/tokenize", map[string]any{"policy": "opaque", "value": "ttl-value", "ttl": "1h", "metadata": map[string]string{"source": "suite"}})
	c.want(a, http.StatusOK, "", "tokenize with ttl and metadata")
	c.remember("ttl-value", a.str("token"))
	if !strings.HasPrefix(a.str("token"), "tok_") {
		t.Errorf("opaque token %q, want tok_...", a.str("token"))
	}
	a = c.post(Admin, "/v1/tokenize", map[string]any{"policy": "opaque", "values": []string{"a", "b"}, "ttl": "1h"})
	c.want(a, http.StatusBadRequest, tokenservice.CodeBadRequest, "ttl with a batch")
	a = c.post(Admin, "/v1/tokenize", map[string]any{"policy": "opaque", "value": "x", "ttl": "soon"})
	c.want(a, http.StatusBadRequest, tokenservice.CodeBadRequest, "a bad ttl")

	// FF1: vaultless, deterministic.
	a1 := c.post(Admin, "/v1/tokenize", map[string]any{"policy": "account", "value": "0012345678"})
	a2 := c.post(Admin, "/v1/tokenize", map[string]any{"policy": "account", "value": "0012345678"})
	c.want(a1, http.StatusOK, "", "tokenize ff1")
	if a1.str("token") != a2.str("token") || len(a1.str("token")) != 10 {
		t.Errorf("ff1 tokens %q and %q of one value: want equal, 10 digits", a1.str("token"), a2.str("token"))
	}
	c.remember("0012345678", a1.str("token"))
}

// testDetokenize: values back, batches with per-token errors, purposes.
func testDetokenize(t *testing.T, c *client) {
	values := []string{"111-22-3333", "444-55-6666", "777-88-9999"}
	toks := c.tokenize(Admin, "ssn", values...)
	a := c.post(Support, "/v1/detokenize", map[string]any{"policy": "ssn", "tokens": append(append([]string{}, toks...), "000-00-0000", "not-a-token")},
		tokenservice.PurposeHeader, "support-ticket-42")
	c.want(a, http.StatusOK, "", "detokenize a batch")
	rs := a.results()
	if len(rs) != 5 {
		t.Fatalf("detokenize: %d results for 5 tokens", len(rs))
	}
	for i, v := range values {
		if str(rs[i]["value"]) != v {
			t.Errorf("token %d detokenized to %q, want %q", i, str(rs[i]["value"]), v)
		}
	}
	for i, code := range []string{tokenservice.CodeNotFound, tokenservice.CodeInvalidToken} {
		e, _ := rs[3+i]["error"].(map[string]any)
		if str(e["code"]) != code {
			t.Errorf("result %d: %v, want error %s", 3+i, rs[3+i], code)
		}
	}

	// One token: the value, or the error's status.
	a = c.detokenize(Support, "ssn", toks[0])
	c.want(a, http.StatusOK, "", "detokenize one")
	if a.str("value") != values[0] {
		t.Errorf("detokenized %q, want %q", a.str("value"), values[0])
	}
	c.want(c.detokenize(Support, "ssn", "000-00-0000"), http.StatusNotFound, tokenservice.CodeNotFound, "detokenize an unknown token")
	c.want(c.detokenize(Support, "ssn", "nope"), http.StatusUnprocessableEntity, tokenservice.CodeInvalidToken, "detokenize a non-token")

	// FF1 tokens come back without a record.
	ff := c.post(Admin, "/v1/tokenize", map[string]any{"policy": "account", "value": "9876543210"})
	c.remember("9876543210", ff.str("token"))
	a = c.detokenize(Admin, "account", ff.str("token"))
	if a.status != http.StatusOK || a.str("value") != "9876543210" {
		t.Errorf("ff1 detokenize: %d %s", a.status, a.raw)
	}

	// A purpose is required, and audited with the call.
	lines := len(c.h.AuditLines())
	for _, p := range []string{"", strings.Repeat("p", 129), "tab\there"} {
		a = c.post(Support, "/v1/detokenize", map[string]any{"policy": "ssn", "token": toks[0]}, tokenservice.PurposeHeader, p)
		c.want(a, http.StatusBadRequest, tokenservice.CodePurposeRequired, "detokenize with purpose "+p)
		if strings.Contains(string(a.raw), values[0]) {
			t.Error("a refused detokenize answered the value")
		}
	}
	got := c.wantAudit(c.auditSince(lines), "detokenize", "invalid", "detokenize", "invalid", "detokenize", "invalid")
	for _, l := range got {
		if str(l["purpose"]) != "" || num(l["status"]) != http.StatusBadRequest {
			t.Errorf("audit line of a detokenize without purpose: %v", l)
		}
	}
	lines = len(c.h.AuditLines())
	c.detokenize(Support, "ssn", toks[1])
	got = c.wantAudit(c.auditSince(lines), "detokenize", "ok")
	if len(got) == 1 {
		l := got[0]
		if str(l["purpose"]) != "suite" || str(l["reveal"]) != "full" || num(l["count"]) != 1 || num(l["status"]) != 200 || str(l["caller"]) == "" {
			t.Errorf("audit line of a detokenize: %v", l)
		}
	}
}

// testReveal: a policy's cap (card: last4, for everyone) and a grant's
// (payments on opaque).
func testReveal(t *testing.T, c *client) {
	card := cards(1)[0]
	toks := c.tokenize(Payments, "card", card)
	for _, caller := range []string{Payments, Admin} {
		a := c.detokenize(caller, "card", toks[0])
		c.want(a, http.StatusOK, "", caller+" detokenizes a card")
		if a.str("last4") != card[len(card)-4:] || a.body["value"] != nil {
			t.Errorf("%s detokenized a card to %s, want only its last four", caller, a.raw)
		}
	}
	long := c.tokenize(Admin, "opaque", "customer-reference-98765", "short")
	a := c.detokenize(Payments, "opaque", long[0])
	if a.status != http.StatusOK || a.str("last4") != "8765" || a.body["value"] != nil {
		t.Errorf("payments detokenized opaque to %d %s, want last4 8765 only", a.status, a.raw)
	}
	a = c.detokenize(Admin, "opaque", long[0])
	if a.str("value") != "customer-reference-98765" {
		t.Errorf("admin detokenized opaque to %s, want the whole value", a.raw)
	}
	c.want(c.detokenize(Payments, "opaque", long[1]), http.StatusUnprocessableEntity, tokenservice.CodeNotRevealable, "last4 of a short value")
	// A batch mixes reveals per token.
	a = c.post(Payments, "/v1/detokenize", map[string]any{"policy": "opaque", "tokens": long}, tokenservice.PurposeHeader, "suite")
	rs := a.results()
	if len(rs) != 2 || str(rs[0]["last4"]) != "8765" {
		t.Errorf("batch with last4: %s", a.raw)
	}
}

// testTenants: tokens are scoped by the caller's tenant.
func testTenants(t *testing.T, c *client) {
	value := unique("tenant-value")
	acme := c.tokenize(Admin, "opaque", value)[0]
	globex := c.tokenize(Globex, "opaque", value)[0]
	if acme == globex {
		t.Error("two tenants got one token")
	}
	c.want(c.detokenize(Globex, "opaque", acme), http.StatusNotFound, tokenservice.CodeNotFound, "globex detokenizes acme's token")
	if a := c.detokenize(Globex, "opaque", globex); a.str("value") != value {
		t.Errorf("globex detokenized its token to %s", a.raw)
	}
	// A caller with two tenants names one.
	a := c.post(Multi, "/v1/tokenize", map[string]any{"policy": "opaque", "value": value})
	c.want(a, http.StatusBadRequest, tokenservice.CodeTenantRequired, "multi names no tenant")
	a = c.post(Multi, "/v1/tokenize", map[string]any{"policy": "opaque", "value": value, "tenant": "globex"})
	c.want(a, http.StatusOK, "", "multi names globex")
	c.remember(a.str("token"))
	if b := c.detokenize(Globex, "opaque", a.str("token")); b.str("value") != value {
		t.Errorf("multi's globex token did not detokenize in globex: %s", b.raw)
	}
	a = c.post(Multi, "/v1/tokenize", map[string]any{"policy": "opaque", "value": value, "tenant": "initech"})
	c.want(a, http.StatusForbidden, tokenservice.CodeForbidden, "multi names a tenant it has no rights in")
}

// testLookup: convergent tokens are found by value.
func testLookup(t *testing.T, c *client) {
	value := unique("customer")
	t1 := c.tokenize(Admin, "customer", value)[0]
	t2 := c.tokenize(Admin, "customer", value)[0]
	if t1 != t2 || !strings.HasPrefix(t1, "cus_") {
		t.Errorf("convergent tokens %q and %q of one value", t1, t2)
	}
	a := c.post(Support, "/v1/lookup", map[string]any{"policy": "customer", "value": value})
	c.want(a, http.StatusOK, "", "lookup")
	if a.str("token") != t1 {
		t.Errorf("lookup found %q, want %q", a.str("token"), t1)
	}
	c.want(c.post(Support, "/v1/lookup", map[string]any{"policy": "customer", "value": unique("absent")}), http.StatusNotFound, tokenservice.CodeNotFound, "lookup of a value without token")
	c.want(c.post(Support, "/v1/lookup", map[string]any{"policy": "ssn", "value": "123-45-6789"}), http.StatusBadRequest, tokenservice.CodeUnsupported, "lookup under a random policy")
	lines := len(c.h.AuditLines())
	c.post(Admin, "/v1/lookup", map[string]any{"policy": "customer", "value": value})
	got := c.wantAudit(c.auditSince(lines), "lookup", "ok")
	if len(got) == 1 {
		if hs, _ := got[0]["token_hashes"].([]any); len(hs) != 1 {
			t.Errorf("lookup's audit line: %v, want the found token's hash", got[0])
		}
	}
}

// testDelete: deleted tokens are gone.
func testDelete(t *testing.T, c *client) {
	toks := c.tokenize(Admin, "opaque", unique("del"), unique("del"), unique("del"))
	before := c.h.Records()
	a := c.post(Admin, "/v1/delete", map[string]any{"policy": "opaque", "token": toks[0]})
	c.want(a, http.StatusOK, "", "delete one")
	if a.body["deleted"] != true {
		t.Errorf("delete answered %s", a.raw)
	}
	c.want(c.post(Admin, "/v1/delete", map[string]any{"policy": "opaque", "token": toks[0]}), http.StatusNotFound, tokenservice.CodeNotFound, "delete twice")
	c.want(c.detokenize(Admin, "opaque", toks[0]), http.StatusNotFound, tokenservice.CodeNotFound, "detokenize a deleted token")
	a = c.post(Admin, "/v1/delete", map[string]any{"policy": "opaque", "tokens": []string{toks[1], toks[2], toks[0], "bad token"}})
	rs := a.results()
	if len(rs) != 4 || rs[0]["deleted"] != true || rs[1]["deleted"] != true {
		t.Fatalf("delete batch: %s", a.raw)
	}
	for i, code := range []string{tokenservice.CodeNotFound, tokenservice.CodeInvalidToken} {
		if e, _ := rs[2+i]["error"].(map[string]any); str(e["code"]) != code {
			t.Errorf("delete result %d: %v, want %s", 2+i, rs[2+i], code)
		}
	}
	if got := before - c.h.Records(); got != 3 {
		t.Errorf("the store holds %d records fewer, want 3", got)
	}
	c.want(c.post(Admin, "/v1/delete", map[string]any{"policy": "account", "token": "0000000000"}), http.StatusBadRequest, tokenservice.CodeUnsupported, "delete an ff1 token")
}

// testForget: every token of a value, under every policy, is gone.
func testForget(t *testing.T, c *client) {
	value := unique("forget")
	a := c.tokenize(Admin, "opaque", value)[0]
	b := c.tokenize(Admin, "customer", value)[0]
	keep := c.tokenize(Admin, "opaque", unique("keep"))[0]
	ans := c.post(Admin, "/v1/forget", map[string]any{"values": []string{value}})
	c.want(ans, http.StatusOK, "", "forget")
	if num(ans.body["deleted"]) != 2 {
		t.Errorf("forget deleted %s, want 2", ans.raw)
	}
	c.want(c.detokenize(Admin, "opaque", a), http.StatusNotFound, tokenservice.CodeNotFound, "a forgotten token")
	c.want(c.detokenize(Admin, "customer", b), http.StatusNotFound, tokenservice.CodeNotFound, "a forgotten convergent token")
	if d := c.detokenize(Admin, "opaque", keep); d.status != http.StatusOK {
		t.Errorf("forget deleted another value's token: %s", d.raw)
	}
	lines := len(c.h.AuditLines())
	c.post(Admin, "/v1/forget", map[string]any{"value": value})
	got := c.wantAudit(c.auditSince(lines), "forget", "ok")
	if len(got) == 1 && strings.Contains(strings.ToLower(mustJSON(got[0])), strings.ToLower(value)) {
		t.Error("forget's audit line holds the value")
	}
}

// testBadRequests: malformed and oversized requests get clear 4xx, and
// nothing is written.
func testBadRequests(t *testing.T, c *client) {
	before := c.h.Records()
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"malformed JSON", []byte(`{"policy": "opaque", "value": "secret-in-broken-json`), 400, tokenservice.CodeBadRequest},
		{"not an object", []byte(`["secret-in-array"]`), 400, tokenservice.CodeBadRequest},
		{"unknown field", []byte(`{"policy": "opaque", "value": "x", "tenent": "acme"}`), 400, tokenservice.CodeBadRequest},
		{"value and values", []byte(`{"policy": "opaque", "value": "x", "values": ["y"]}`), 400, tokenservice.CodeBadRequest},
		{"no value", []byte(`{"policy": "opaque"}`), 400, tokenservice.CodeBadRequest},
		{"empty values", []byte(`{"policy": "opaque", "values": []}`), 400, tokenservice.CodeBadRequest},
		{"number value", []byte(`{"policy": "opaque", "value": 4111111111111111}`), 400, tokenservice.CodeBadRequest},
		{"two objects", []byte(`{"policy": "opaque", "value": "x"} {}`), 400, tokenservice.CodeBadRequest},
		{"no policy", []byte(`{"value": "x"}`), 400, tokenservice.CodeBadRequest},
		{"unknown policy", []byte(`{"policy": "passport", "value": "x"}`), 400, tokenservice.CodeUnknownPolicy},
		{"unknown tenant", []byte(`{"policy": "opaque", "value": "x", "tenant": "umbrella"}`), 403, tokenservice.CodeForbidden},
	} {
		a := c.post(Admin, "/v1/tokenize", tc.body)
		c.want(a, tc.status, tc.code, tc.name)
		if strings.Contains(string(a.raw), "secret-in") || strings.Contains(string(a.raw), "4111111111111111") {
			t.Errorf("%s: the error answer echoes the request: %s", tc.name, a.raw)
		}
	}
	// 10,000 values in one batch.
	many := make([]string, 10000)
	for i := range many {
		many[i] = "value-of-a-big-batch"
	}
	c.want(c.post(Admin, "/v1/tokenize", map[string]any{"policy": "opaque", "values": many}), http.StatusBadRequest, tokenservice.CodeTooManyValues, "10,000 values")
	c.want(c.post(Admin, "/v1/detokenize", map[string]any{"policy": "opaque", "tokens": many}, tokenservice.PurposeHeader, "suite"), http.StatusBadRequest, tokenservice.CodeTooManyValues, "10,000 tokens")
	// A body over the limit (4 MiB by default).
	big := `{"policy": "opaque", "value": "` + strings.Repeat("x", 5<<20) + `"}`
	c.want(c.post(Admin, "/v1/tokenize", []byte(big)), http.StatusRequestEntityTooLarge, tokenservice.CodeBodyTooLarge, "a 5 MiB body")
	// Not JSON.
	a := c.post(Admin, "/v1/tokenize", []byte(`policy=opaque&value=x`), "Content-Type", "application/x-www-form-urlencoded")
	c.want(a, http.StatusUnsupportedMediaType, tokenservice.CodeUnsupportedMedia, "a form body")
	// Wrong method, unknown route.
	a = c.do(Admin, http.MethodGet, "/v1/tokenize", nil)
	c.want(a, http.StatusMethodNotAllowed, tokenservice.CodeMethodNotAllowed, "GET /v1/tokenize")
	if a.header.Get("Allow") != http.MethodPost {
		t.Errorf("405 Allow %q, want POST", a.header.Get("Allow"))
	}
	c.want(c.do(Admin, http.MethodGet, "/v2/tokenize", nil), http.StatusNotFound, tokenservice.CodeRouteNotFound, "GET /v2/tokenize")
	c.want(c.do(Admin, http.MethodPost, "/healthz", []byte(`{}`)), http.StatusMethodNotAllowed, tokenservice.CodeMethodNotAllowed, "POST /healthz")

	if after := c.h.Records(); after != before {
		t.Errorf("refused requests wrote %d records", after-before)
	}
}

// testOperations: health, readiness, metrics and the OpenAPI document.
func testOperations(t *testing.T, c *client) {
	a := c.do("", http.MethodGet, "/healthz", nil)
	if a.status != 200 || a.str("status") != "ok" {
		t.Errorf("GET /healthz: %d %s", a.status, a.raw)
	}
	a = c.do("", http.MethodGet, "/readyz", nil)
	if a.status != 200 || a.str("status") != "ready" {
		t.Errorf("GET /readyz: %d %s", a.status, a.raw)
	}
	a = c.do("", http.MethodGet, "/v1/openapi.json", nil)
	if a.status != 200 || a.str("openapi") != "3.1.0" {
		t.Errorf("GET /v1/openapi.json: %d, openapi %q", a.status, a.str("openapi"))
	}
	a = c.do("", http.MethodGet, "/metrics", nil)
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", a.status, a.header.Get("Content-Type"))
	}
	m := string(a.raw)
	for _, want := range []string{
		`datamask_http_requests_total{route="/v1/tokenize",code="200"}`,
		`datamask_http_requests_total{route="/v1/detokenize",code="403"}`,
		`datamask_http_request_duration_seconds_bucket{route="/v1/tokenize",le="+Inf"}`,
		`datamask_values_total{operation="tokenize",outcome="ok"}`,
		`datamask_values_total{operation="detokenize",outcome="not_found"}`,
		`datamask_keyring_calls_total{operation="decrypt"}`,
		`datamask_store_errors_total{method="create"}`,
		`datamask_audit_lines_total`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("GET /metrics lacks %s", want)
		}
	}
	for _, s := range c.secrets() {
		if strings.Contains(m, s) {
			t.Fatalf("GET /metrics holds a value or token of the suite")
		}
	}
	for _, tenant := range []string{"acme", "globex"} {
		if strings.Contains(m, tenant) {
			t.Errorf("GET /metrics names tenant %s", tenant)
		}
	}
}

// testAuditTrail: no line holds a value or a token of the suite.
func testAuditTrail(t *testing.T, c *client) {
	lines := c.h.AuditLines()
	if len(lines) == 0 {
		t.Fatal("the audit trail is empty")
	}
	var all bytes.Buffer
	for _, l := range lines {
		all.WriteString(mustJSON(l))
		all.WriteByte('\n')
		if l["type"] == "event" && (l["operation"] == nil || l["outcome"] == nil || l["time"] == nil) {
			t.Errorf("audit line without operation, outcome or time: %v", l)
		}
	}
	text := all.String()
	for _, s := range c.secrets() {
		if strings.Contains(text, s) {
			t.Fatalf("the audit trail holds a value or token of the suite (%d characters)", len(s))
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// testDocuments: the fields of a JSON document, tokenized and given back,
// with the reveal caps of each policy, audited.
func testDocuments(t *testing.T, c *client) {
	doc := json.RawMessage(`{"id": 20000000000000000001, "name": "Ana", "ssn": "123-45-6789", "card": "4111-1111-1111-4242", "note": "kept"}`)
	c.remember("123-45-6789", "4111-1111-1111-4242")
	fields := map[string][]string{"ssn": {"$.ssn"}, "card": {"$.card"}}
	a := c.post(Admin, "/v1/documents/tokenize", map[string]any{"fields": fields, "document": doc})
	c.want(a, http.StatusOK, "", "tokenize a document")
	out, _ := a.body["document"].(map[string]any)
	ssn, _ := out["ssn"].(string)
	card, _ := out["card"].(string)
	if ssn == "" || ssn == "123-45-6789" || !strings.HasSuffix(ssn, "6789") || card == "" || card == "4111-1111-1111-4242" || out["note"] != "kept" {
		t.Fatalf("tokenized document %s", a.raw)
	}
	c.remember(ssn, card)
	if !strings.Contains(string(a.raw), "20000000000000000001") {
		t.Errorf("the document's other values changed: %s", a.raw)
	}
	lines := len(c.h.AuditLines())
	a = c.post(Admin, "/v1/documents/detokenize", map[string]any{"fields": fields, "document": out}, tokenservice.PurposeHeader, "suite")
	c.want(a, http.StatusOK, "", "detokenize a document")
	back, _ := a.body["document"].(map[string]any)
	if back["ssn"] != "123-45-6789" || back["card"] != "4242" {
		t.Errorf("detokenized document %s: want the ssn in full, the card's last four (the card policy's cap)", a.raw)
	}
	got := c.wantAudit(c.auditSince(lines), "detokenize", "ok")
	if len(got) == 1 {
		if hs, _ := got[0]["token_hashes"].([]any); len(hs) != 2 || str(got[0]["purpose"]) != "suite" {
			t.Errorf("audit line of a document detokenize: %v", got[0])
		}
	}
	// Rights per policy: the tokenizer may not detokenize; support may
	// not tokenize cards; no purpose, no detokenize.
	c.want(c.post(Tokenizer, "/v1/documents/detokenize", map[string]any{"fields": fields, "document": out}, tokenservice.PurposeHeader, "suite"), http.StatusForbidden, tokenservice.CodeForbidden, "tokenizer detokenizes a document")
	c.want(c.post(Support, "/v1/documents/tokenize", map[string]any{"fields": map[string][]string{"ssn": {"$.ssn"}}, "document": doc}), http.StatusForbidden, tokenservice.CodeForbidden, "support tokenizes a document")
	c.want(c.post(Admin, "/v1/documents/detokenize", map[string]any{"fields": fields, "document": out}), http.StatusBadRequest, tokenservice.CodePurposeRequired, "document detokenize without purpose")
	// Bad requests, nothing written.
	before := c.h.Records()
	c.want(c.post(Admin, "/v1/documents/tokenize", map[string]any{"fields": map[string][]string{"ssn": {"$.missing"}}, "document": doc}), http.StatusUnprocessableEntity, tokenservice.CodeFieldNotFound, "an expression that selects nothing")
	c.want(c.post(Admin, "/v1/documents/tokenize", map[string]any{"fields": map[string][]string{"passport": {"$.ssn"}}, "document": doc}), http.StatusBadRequest, tokenservice.CodeUnknownPolicy, "an unknown policy")
	c.want(c.post(Admin, "/v1/documents/tokenize", map[string]any{"fields": map[string][]string{"ssn": {"$[?("}}, "document": doc}), http.StatusBadRequest, tokenservice.CodeBadRequest, "a bad expression")
	c.want(c.post(Admin, "/v1/documents/tokenize", map[string]any{"fields": map[string][]string{"opaque": {"$.flag"}}, "document": map[string]any{"flag": true}}), http.StatusUnprocessableEntity, tokenservice.CodeUnsupportedType, "a boolean")
	c.want(c.post(Admin, "/v1/documents/tokenize", map[string]any{"fields": fields}), http.StatusBadRequest, tokenservice.CodeBadRequest, "no document")
	if after := c.h.Records(); after != before {
		t.Errorf("refused document calls wrote %d records", after-before)
	}
}
