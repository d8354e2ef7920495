package tokenservice_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datamask/datamask/kmstest"
	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/servicetest"
	"github.com/datamask/datamask/tokenvault"
)

// flakyStore fails every call while down is set, as a store whose server
// is unreachable does.
type flakyStore struct {
	tokenvault.Store
	down atomic.Bool
}

var errDown = errors.New("flakystore: connection refused")

func (f *flakyStore) Create(ctx context.Context, recs []tokenvault.Record) ([]tokenvault.CreateResult, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Create(ctx, recs)
}

func (f *flakyStore) Get(ctx context.Context, keys []tokenvault.Key) ([]*tokenvault.Record, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Get(ctx, keys)
}

// call sends a JSON request with an API key and decodes the answer.
func call(t testing.TB, srv, key, path, body string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s answered %d %q", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header, m
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestStoreDown: while the store fails, calls get 503 with Retry-After
// and the readiness check fails; once it is back, the same service
// serves again, without a restart, and the store errors were counted.
func TestStoreDown(t *testing.T) {
	var flaky *flakyStore
	e := newEnv(t, func(s tokenvault.Store) tokenvault.Store {
		flaky = &flakyStore{Store: s}
		return flaky
	})
	keys, creds := apiKeys(t)
	srv := loopback(t, e.service(t, tokenservice.WithAuthenticator(keys), tokenservice.WithRetryAfter(3*time.Second)))
	admin := creds[servicetest.Admin]
	st, _, m := call(t, srv.URL, admin, "/v1/tokenize", `{"policy":"opaque","value":"before the outage"}`)
	if st != 200 {
		t.Fatalf("tokenize: %d %v", st, m)
	}
	tok := m["token"].(string)

	flaky.down.Store(true)
	for _, tc := range []struct{ path, body string }{
		{"/v1/tokenize", `{"policy":"opaque","value":"during the outage"}`},
		{"/v1/tokenize", `{"policy":"opaque","values":["a","b"]}`},
		{"/v1/detokenize", `{"policy":"opaque","token":"` + tok + `"}`},
	} {
		st, h, m := call(t, srv.URL, admin, tc.path, tc.body, tokenservice.PurposeHeader, "test")
		if st != http.StatusServiceUnavailable || errCode(m) != tokenservice.CodeUnavailable || h.Get("Retry-After") != "3" {
			t.Errorf("%s while the store is down: %d %v Retry-After %q, want 503 unavailable, 3", tc.path, st, m, h.Get("Retry-After"))
		}
		if strings.Contains(e.logs.String(), "during the outage") || strings.Contains(e.logs.String(), tok) {
			t.Fatal("the log holds a value or token")
		}
	}
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz while the store is down: %d, want 503", resp.StatusCode)
	}
	// The failures are in the log, as the store's error, and counted.
	if !strings.Contains(e.logs.String(), "connection refused") {
		t.Error("the log does not say why the calls failed")
	}
	var metrics strings.Builder
	e.metrics.WriteTo(&metrics)
	if !strings.Contains(metrics.String(), `datamask_store_errors_total{method="create"} 2`) {
		t.Errorf("store errors not counted:\n%s", metrics.String())
	}

	flaky.down.Store(false)
	st, _, m = call(t, srv.URL, admin, "/v1/detokenize", `{"policy":"opaque","token":"`+tok+`"}`, tokenservice.PurposeHeader, "test")
	if st != 200 || m["value"] != "before the outage" {
		t.Errorf("after the outage: %d %v", st, m)
	}
	st, _, _ = call(t, srv.URL, admin, "/v1/tokenize", `{"policy":"opaque","value":"after the outage"}`)
	if st != 200 {
		t.Errorf("tokenize after the outage: %d", st)
	}
	// The audit trail has the failed detokenize.
	var failed int
	for _, l := range e.auditLines(t) {
		if l["operation"] == "detokenize" && l["outcome"] == "failed" && l["status"] == float64(503) {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d audit lines of a failed detokenize, want 1", failed)
	}
}

// TestKMSDown: while KMS fails, calls that need a new data key get 503
// with Retry-After; once it answers again, the same service recovers.
func TestKMSDown(t *testing.T) {
	e := newEnv(t, nil)
	keys, creds := apiKeys(t)
	srv := loopback(t, e.service(t, tokenservice.WithAuthenticator(keys)))
	admin := creds[servicetest.Admin]
	// The service's first tokenize needs a data key: KMS fails (the SDK
	// retries each request: 3 attempts) for two calls' worth.
	e.kms.FailNext(kmstest.OpGenerateDataKey, 6, kmstest.Fault{Type: "KMSInternalException", Status: 500, Message: "injected"})
	for range 2 {
		st, h, m := call(t, srv.URL, admin, "/v1/tokenize", `{"policy":"opaque","value":"kms outage"}`)
		if st != http.StatusServiceUnavailable || errCode(m) != tokenservice.CodeUnavailable || h.Get("Retry-After") == "" {
			t.Fatalf("tokenize while KMS fails: %d %v, want 503 unavailable with Retry-After", st, m)
		}
	}
	st, _, m := call(t, srv.URL, admin, "/v1/tokenize", `{"policy":"opaque","value":"kms back"}`)
	if st != 200 {
		t.Fatalf("tokenize once KMS answers: %d %v", st, m)
	}
	// Detokenize with a cold cache: KMS Decrypt fails, then recovers.
	e2 := newEnvSharing(t, e)
	srv2 := loopback(t, e2.service(t, tokenservice.WithAuthenticator(keys)))
	e.kms.FailNext(kmstest.OpDecrypt, 3, kmstest.Fault{Type: "KMSInternalException", Status: 500, Message: "injected"})
	body := `{"policy":"opaque","token":"` + m["token"].(string) + `"}`
	st, _, m2 := call(t, srv2.URL, admin, "/v1/detokenize", body, tokenservice.PurposeHeader, "test")
	if st != http.StatusServiceUnavailable {
		t.Fatalf("detokenize while KMS Decrypt fails: %d %v, want 503", st, m2)
	}
	st, _, m2 = call(t, srv2.URL, admin, "/v1/detokenize", body, tokenservice.PurposeHeader, "test")
	if st != 200 || m2["value"] != "kms back" {
		t.Errorf("detokenize once KMS answers: %d %v", st, m2)
	}
	var metrics strings.Builder
	e.metrics.WriteTo(&metrics)
	if !strings.Contains(metrics.String(), `datamask_keyring_errors_total{operation="encrypt"} 2`) {
		t.Errorf("keyring errors not counted:\n%s", metrics.String())
	}
}

// TestAuditDown: when the audit trail cannot be written, audited calls are
// answered 503 and reveal nothing.
func TestAuditDown(t *testing.T) {
	e := newEnv(t, nil)
	keys, creds := apiKeys(t)
	srv := loopback(t, e.service(t, tokenservice.WithAuthenticator(keys)))
	admin := creds[servicetest.Admin]
	_, _, m := call(t, srv.URL, admin, "/v1/tokenize", `{"policy":"opaque","value":"audited value"}`)
	tok := m["token"].(string)
	e.audit.Close() // every Write now fails
	st, h, m := call(t, srv.URL, admin, "/v1/detokenize", `{"policy":"opaque","token":"`+tok+`"}`, tokenservice.PurposeHeader, "test")
	if st != http.StatusServiceUnavailable || errCode(m) != tokenservice.CodeUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("detokenize without an audit trail: %d %v", st, m)
	}
	if _, ok := m["value"]; ok {
		t.Error("a value was revealed without an audit line")
	}
	// Tokenize is not audited when allowed: it goes on.
	if st, _, _ := call(t, srv.URL, admin, "/v1/tokenize", `{"policy":"opaque","value":"x"}`); st != 200 {
		t.Errorf("tokenize without an audit trail: %d", st)
	}
}

// TestDrain: after Drain, readiness is 503 while requests are still
// served, as during a graceful shutdown.
func TestDrain(t *testing.T) {
	e := newEnv(t, nil)
	keys, creds := apiKeys(t)
	s := e.service(t, tokenservice.WithAuthenticator(keys))
	srv := loopback(t, s)
	s.Drain()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "draining") {
		t.Errorf("GET /readyz after Drain: %d %s", resp.StatusCode, body)
	}
	if st, _, _ := call(t, srv.URL, creds[servicetest.Admin], "/v1/tokenize", `{"policy":"opaque","value":"x"}`); st != 200 {
		t.Errorf("tokenize while draining: %d", st)
	}
	// Without an audit trail the service must be asked for loudly.
	if _, err := tokenservice.New(e.vault, tokenservice.WithAuthenticator(keys)); err == nil || !strings.Contains(err.Error(), "audit") {
		t.Errorf("New without WithAudit = %v", err)
	}
	if _, err := tokenservice.New(e.vault, tokenservice.WithAudit(e.audit)); err == nil || !strings.Contains(err.Error(), "authenticator") {
		t.Errorf("New without WithAuthenticator = %v", err)
	}
	if _, err := tokenservice.New(e.vault, tokenservice.WithAuthenticator(keys), tokenservice.InsecureWithoutAudit()); err != nil {
		t.Errorf("New with InsecureWithoutAudit = %v", err)
	}
}
