package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/datamask/datamask/examples/tokenization/orders"
	"github.com/datamask/datamask/tokenservice/servicetest"
)

// TestOrders: the order service of AWS's sample, as a client of the
// tokenization function through API Gateway, with the access token of
// its own identity (the "payments" group: tokenize and detokenize card
// numbers, revealed as their last four): POST /order stores only the
// token, POST /paybill answers the last four, and the detokenize is
// audited with its purpose. A signed-up user without rights (the sample
// let any user detokenize) is refused, and nothing is decrypted for it.
func TestOrders(t *testing.T) {
	f := newFunction(t)
	as := func(caller string) *orders.Service {
		s, err := orders.New(&orders.Client{
			URL:  "https://abc123.execute-api.us-east-1.amazonaws.com",
			HTTP: &http.Client{Transport: f.gw},
			Credential: func(context.Context) (string, error) {
				return "Bearer " + f.pool.Access[caller], nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	shop := as(servicetest.Payments)
	post := func(s *orders.Service, path, body string) (int, map[string]string) {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		var m map[string]string
		json.Unmarshal(w.Body.Bytes(), &m)
		return w.Code, m
	}
	const card = "4111-1111-1111-1234"
	st, m := post(shop, "/order", `{"customer": "ana", "card_number": "`+card+`", "amount": "42.50"}`)
	if st != http.StatusCreated || m["order_id"] == "" {
		t.Fatalf("POST /order: %d %v", st, m)
	}
	id := m["order_id"]
	// The order holds the token, never the card number.
	stored, _ := json.Marshal(shop.Orders())
	if strings.Contains(string(stored), "4111") || strings.Contains(string(stored), card) {
		t.Fatalf("the stored order holds the card number: %s", stored)
	}
	tok := shop.Orders()[0].CardToken
	if len(tok) != len(card) || !strings.HasSuffix(tok, "1234") {
		t.Errorf("card token %q: want the card's shape and last four", tok)
	}

	st, m = post(shop, "/paybill", `{"order_id": "`+id+`"}`)
	if st != http.StatusOK || m["charged_card_last4"] != "1234" || m["amount"] != "42.50" {
		t.Fatalf("POST /paybill: %d %v", st, m)
	}
	lines := f.auditLines(t)
	last := lines[len(lines)-1]
	if last["operation"] != "detokenize" || last["purpose"] != "paybill" || last["reveal"] != "last4" ||
		last["caller"] != "jwt:"+f.pool.Subs[servicetest.Payments] || last["outcome"] != "ok" {
		t.Errorf("audit line of paybill: %v", last)
	}

	// Another signed-up user, without the right, runs the same code.
	snoop := as(servicetest.Tokenizer)
	if st, m := post(snoop, "/order", `{"customer": "eve", "card_number": "5500-0000-0000-0004", "amount": "1"}`); st != http.StatusCreated {
		t.Fatalf("the tokenizer may tokenize: %d %v", st, m)
	}
	if st, _ := post(snoop, "/paybill", `{"order_id": "`+snoop.Orders()[0].ID+`"}`); st != http.StatusBadGateway {
		t.Errorf("paybill without the detokenize right: %d, want 502 (the service refused)", st)
	}
	// Ana's card token, copied out of the order database: refused,
	// nothing decrypted.
	o := shop.Orders()[0]
	before := f.kms.Calls("Decrypt")
	lc := &orders.Client{URL: "https://abc123.execute-api.us-east-1.amazonaws.com", HTTP: &http.Client{Transport: f.gw},
		Credential: func(context.Context) (string, error) { return "Bearer " + f.pool.Access[servicetest.Tokenizer], nil }}
	if _, err := lc.Last4(context.Background(), o.CardToken, "paybill"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("a user without the right detokenized: %v", err)
	}
	if n := f.kms.Calls("Decrypt") - before; n != 0 {
		t.Errorf("the refusal made %d KMS Decrypt requests", n)
	}
	lines = f.auditLines(t)
	if l := lines[len(lines)-1]; l["outcome"] != "denied" || l["caller"] != "jwt:"+f.pool.Subs[servicetest.Tokenizer] {
		t.Errorf("audit line of the refusal: %v", l)
	}
	// Unknown orders and bad requests.
	if st, _ := post(shop, "/paybill", `{"order_id": "nope"}`); st != http.StatusNotFound {
		t.Errorf("paybill of an unknown order: %d", st)
	}
	if st, _ := post(shop, "/order", `{"customer": "ana"}`); st != http.StatusBadRequest {
		t.Errorf("order without a card: %d", st)
	}
}
