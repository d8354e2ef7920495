package tokenservice_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/audit"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
)

// A vault on the embedded store with a local key, served to callers with
// API keys: the orders service may tokenize card numbers and see their
// last four digits.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "datamask-example")
	defer os.RemoveAll(dir)

	key, _ := datamask.GenerateLocalKey()
	keyring, _ := datamask.NewLocalKeyring(key) // or awskms.NewKeyring(kmsClient, arns)
	provider, _ := tokenvault.NewProvider(keyring)
	store, err := boltstore.Open(filepath.Join(dir, "vault.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	vault, _ := tokenvault.Open(ctx, store, provider, tokenvault.BuiltinPolicies())
	trail, _ := audit.OpenFile(ctx, filepath.Join(dir, "audit.jsonl"), provider)
	defer trail.Close()

	grant, _ := tokenservice.ParseGrant("acme/card/tokenize,detokenize/last4")
	apiKey, entry, _ := tokenservice.NewAPIKey("orders", []tokenservice.Grant{grant})
	keys, _ := tokenservice.ParseAPIKeys(entry) // the file holds entries: hashes only
	svc, err := tokenservice.New(vault,
		tokenservice.WithAuthenticator(keys),
		tokenservice.WithAudit(trail),
		tokenservice.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(svc) // or an http.Server with timeouts
	defer srv.Close()

	post := func(path, body string) string {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set(tokenservice.PurposeHeader, "paybill")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	answer := post("/v1/tokenize", `{"policy": "card", "value": "4111-1111-1111-1234"}`)
	token := strings.Split(answer, `"`)[3]
	fmt.Println("token keeps the last four:", strings.HasSuffix(token, "1234"), token != "4111-1111-1111-1234")
	fmt.Println(post("/v1/detokenize", `{"policy": "card", "token": "`+token+`"}`))
	fmt.Println(post("/v1/detokenize", `{"policy": "ssn", "token": "123-45-6789"}`))
	// Output:
	// token keeps the last four: true true
	// 200 {"last4":"1234"}
	// 403 {"error":{"code":"forbidden","message":"the caller may not detokenize under policy \"ssn\" in tenant \"acme\""}}
}
