package tokenservice_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/datamask/datamask/internal/pgtest"
	"github.com/datamask/datamask/kmstest"
	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/servicetest"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/pgstore"
)

// newEnvOn builds an env on store (a server's, which the caller closes).
func newEnvOn(t testing.TB, store tokenvault.Store, wrap func(tokenvault.Store) tokenvault.Store) *env {
	t.Helper()
	e := &env{kms: kmstest.Start(t), raw: store}
	e.keyARN = e.kms.CreateKey()
	e.open(t, wrap, t.TempDir())
	return e
}

// pgStore opens a migrated vault store on the PostgreSQL database at url.
func pgStore(tb testing.TB, url string) tokenvault.Store {
	tb.Helper()
	s, err := pgstore.OpenForMigrate(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestPostgresRestart: the service on PostgreSQL, the server stopped and
// started again while clients tokenize: 503 with Retry-After while it is
// down, served again without restarting the service, and every token
// acknowledged before, during and after detokenizes.
func TestPostgresRestart(t *testing.T) {
	srv := pgtest.StartServer(t)
	e := newEnvOn(t, pgStore(t, srv.Database(t)), nil)
	keys, creds := apiKeys(t)
	hs := loopback(t, e.service(t, tokenservice.WithAuthenticator(keys), tokenservice.WithRequestTimeout(3*time.Second)))
	admin := creds[servicetest.Admin]

	var mu sync.Mutex
	acked := map[string]string{}
	statuses := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				value := fmt.Sprintf("pg-restart-%d-%d", c, i)
				st, h, m := call(t, hs.URL, admin, "/v1/tokenize", `{"policy":"opaque","value":"`+value+`"}`)
				mu.Lock()
				statuses[st]++
				if st == 200 {
					acked[m["token"].(string)] = value
				} else if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
					t.Errorf("tokenize during the restart: %d %v", st, m)
				}
				mu.Unlock()
				if st != 200 {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if err := srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	resp, err := http.Get(hs.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with the server down: %d, want 503", resp.StatusCode)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Served again: wait for a success after the restart.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		before := statuses[200]
		mu.Unlock()
		time.Sleep(500 * time.Millisecond)
		mu.Lock()
		after := statuses[200]
		mu.Unlock()
		if after > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the service did not recover after the server restarted")
		}
	}
	close(stop)
	wg.Wait()
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no 503 while the server was down (statuses %v)", statuses)
	}
	tokens := make([]string, 0, len(acked))
	for tok := range acked {
		tokens = append(tokens, tok)
	}
	for lo := 0; lo < len(tokens); lo += 1000 {
		chunk := tokens[lo:min(lo+1000, len(tokens))]
		body, _ := json.Marshal(map[string]any{"policy": "opaque", "tokens": chunk})
		st, _, m := call(t, hs.URL, admin, "/v1/detokenize", string(body), tokenservice.PurposeHeader, "check")
		if st != 200 {
			t.Fatalf("detokenize after the restart: %d %v", st, m)
		}
		for i, r := range m["results"].([]any) {
			if r.(map[string]any)["value"] != acked[chunk[i]] {
				t.Errorf("acknowledged token %d: %v", lo+i, r)
			}
		}
	}
	t.Logf("statuses %v; %d acknowledged tokens detokenize", statuses, len(tokens))
}
