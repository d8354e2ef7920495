// Package orders is the order service of AWS's serverless tokenization
// sample, done right, as a client of datamask's tokenization service:
//
//   - POST /order {"customer", "card_number", "amount"} tokenizes the card
//     number (policy "card") and stores the order with the token only: the
//     card number is never stored, logged or answered.
//   - POST /paybill {"order_id"} detokenizes the order's card token with
//     the stated purpose "paybill" and answers the last four digits only:
//     the service reveals card numbers as their last four to this caller
//     (its grant, and the card policy's reveal cap), so the order service
//     never holds the whole number again.
//
// The sample let any signed-up user detokenize any order and answered the
// card number in clear; here the order service's own identity (an access
// token of its app client, or an API key) carries its rights, every
// detokenize is audited with its purpose, and the orders of one tenant
// stay in it.
package orders

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Client calls the tokenization service.
type Client struct {
	// URL is the service's base URL.
	URL string
	// HTTP sends the requests (http.DefaultClient if nil).
	HTTP *http.Client
	// Credential returns the Authorization header value of the order
	// service's identity ("Bearer ..."), fresh for each call.
	Credential func(ctx context.Context) (string, error)
}

// ServiceError is an error answer of the tokenization service.
type ServiceError struct {
	Status  int
	Code    string
	Message string
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("orders: tokenization service answered %d %s: %s", e.Status, e.Code, e.Message)
}

func (c *Client) call(ctx context.Context, path string, body any, purpose string, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	cred, err := c.Credential(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", cred)
	if purpose != "" {
		req.Header.Set("X-Datamask-Purpose", purpose)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("orders: tokenization service: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("orders: tokenization service: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		return &ServiceError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	return json.Unmarshal(raw, out)
}

// Tokenize returns the token of a card number.
func (c *Client) Tokenize(ctx context.Context, card string) (string, error) {
	var out struct{ Token string }
	if err := c.call(ctx, "/v1/tokenize", map[string]string{"policy": "card", "value": card}, "", &out); err != nil {
		return "", err
	}
	return out.Token, nil
}

// Last4 returns the last four digits of the card behind token, for
// purpose. It fails if the service would reveal more: the order service
// must never hold a whole card number.
func (c *Client) Last4(ctx context.Context, token, purpose string) (string, error) {
	var out struct {
		Last4 string  `json:"last4"`
		Value *string `json:"value"`
	}
	if err := c.call(ctx, "/v1/detokenize", map[string]string{"policy": "card", "token": token}, purpose, &out); err != nil {
		return "", err
	}
	if out.Value != nil || len(out.Last4) != 4 {
		return "", errors.New("orders: the tokenization service revealed more than the last four digits: fix the rights of the order service")
	}
	return out.Last4, nil
}

// Order is a stored order: the card is there as its token only.
type Order struct {
	ID        string `json:"order_id"`
	Customer  string `json:"customer"`
	Amount    string `json:"amount"`
	CardToken string `json:"card_token"`
}

// Service is the order service. Build it with New.
type Service struct {
	tokens *Client
	mu     sync.Mutex
	orders map[string]Order
	mux    *http.ServeMux
}

// New returns an order service calling the tokenization service through c.
func New(c *Client) (*Service, error) {
	if c == nil || c.URL == "" || c.Credential == nil {
		return nil, errors.New("orders: New: a client with a URL and a credential is required")
	}
	s := &Service{tokens: c, orders: map[string]Order{}, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /order", s.order)
	s.mux.HandleFunc("POST /paybill", s.paybill)
	return s, nil
}

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Orders returns the stored orders, as a database would hold them.
func (s *Service) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Order
	for _, o := range s.orders {
		out = append(out, o)
	}
	return out
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, err error) {
	var se *ServiceError
	status := http.StatusBadGateway
	if errors.As(err, &se) && se.Status < 500 && se.Status != http.StatusUnauthorized && se.Status != http.StatusForbidden {
		status = http.StatusBadRequest
	}
	// The service's messages hold no value; ours hold none either.
	reply(w, status, map[string]string{"error": err.Error()})
}

func (s *Service) order(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Customer   string `json:"customer"`
		CardNumber string `json:"card_number"`
		Amount     string `json:"amount"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Customer == "" || req.CardNumber == "" || req.Amount == "" {
		reply(w, http.StatusBadRequest, map[string]string{"error": "give customer, card_number and amount"})
		return
	}
	token, err := s.tokens.Tokenize(r.Context(), req.CardNumber)
	if err != nil {
		fail(w, err)
		return
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	o := Order{ID: hex.EncodeToString(id[:]), Customer: req.Customer, Amount: req.Amount, CardToken: token}
	s.mu.Lock()
	s.orders[o.ID] = o
	s.mu.Unlock()
	reply(w, http.StatusCreated, map[string]string{"order_id": o.ID})
}

func (s *Service) paybill(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrderID string `json:"order_id"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": "give order_id"})
		return
	}
	s.mu.Lock()
	o, ok := s.orders[req.OrderID]
	s.mu.Unlock()
	if !ok {
		reply(w, http.StatusNotFound, map[string]string{"error": "no such order"})
		return
	}
	last4, err := s.tokens.Last4(r.Context(), o.CardToken, "paybill")
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, map[string]string{"order_id": o.ID, "amount": o.Amount, "charged_card_last4": last4})
}
