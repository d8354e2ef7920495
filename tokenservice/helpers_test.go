package tokenservice_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/kmstest"
	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/audit"
	"github.com/datamask/datamask/tokenservice/servicetest"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
)

// env is a vault on the embedded store, with AWS KMS keys of a fake KMS,
// an audit file and metrics: what datamask serve builds.
type env struct {
	kms       *kmstest.Server
	keyARN    string
	store     tokenvault.Store
	raw       tokenvault.Store // the store under the wrappers
	vault     *tokenvault.Vault
	provider  datamask.Provider
	metrics   *tokenservice.Metrics
	auditPath string
	audit     *audit.Log
	logs      *syncBuffer
}

// newEnv builds an env whose store is wrapped by wrap (if not nil).
func newEnv(t testing.TB, wrap func(tokenvault.Store) tokenvault.Store) *env {
	t.Helper()
	e := &env{kms: kmstest.Start(t)}
	e.keyARN = e.kms.CreateKey()
	dir := t.TempDir()
	raw, err := boltstore.Open(filepath.Join(dir, "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	e.raw = raw
	e.open(t, wrap, dir)
	return e
}

// newEnvSharing builds a second env on the store and KMS key of e, with
// keys of its own (cold caches), as a second instance of the service.
func newEnvSharing(t testing.TB, e *env) *env {
	t.Helper()
	e2 := &env{kms: e.kms, keyARN: e.keyARN, raw: e.raw}
	e2.open(t, nil, t.TempDir())
	return e2
}

func (e *env) open(t testing.TB, wrap func(tokenvault.Store) tokenvault.Store, dir string) {
	t.Helper()
	e.metrics = tokenservice.NewMetrics()
	e.logs = &syncBuffer{}
	client := kms.New(kms.Options{
		Region:       e.kms.Region(),
		BaseEndpoint: aws.String(e.kms.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	kr, err := awskms.NewKeyring(client, []string{e.keyARN})
	if err != nil {
		t.Fatal(err)
	}
	e.provider, err = tokenvault.NewProvider(e.metrics.Keyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	var store tokenvault.Store = e.raw
	if wrap != nil {
		store = wrap(store)
	}
	e.store = e.metrics.Store(store)
	policies, err := tokenvault.ParsePolicies([]byte(servicetest.Policies))
	if err != nil {
		t.Fatal(err)
	}
	e.vault, err = tokenvault.Open(context.Background(), e.store, e.provider, append(tokenvault.BuiltinPolicies(), policies...))
	if err != nil {
		t.Fatal(err)
	}
	e.auditPath = filepath.Join(dir, "audit.jsonl")
	e.audit, err = audit.OpenFile(context.Background(), e.auditPath, e.provider)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.audit.Close() })
}

// service builds the service of e with opts added.
func (e *env) service(t testing.TB, opts ...tokenservice.Option) *tokenservice.Service {
	t.Helper()
	base := []tokenservice.Option{
		tokenservice.WithAudit(e.audit),
		tokenservice.WithMetrics(e.metrics),
		tokenservice.WithLogger(slog.New(slog.NewJSONHandler(e.logs, nil))),
		tokenservice.WithReadiness(func(ctx context.Context) error {
			_, err := e.store.Get(ctx, []tokenvault.Key{{Tenant: "readiness", Policy: "probe", Token: "probe"}})
			return err
		}),
	}
	s, err := tokenservice.New(e.vault, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// auditLines decodes the audit file.
func (e *env) auditLines(t testing.TB) []map[string]any {
	t.Helper()
	return readAudit(t, e.auditPath)
}

func readAudit(t testing.TB, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if m["type"] == "event" {
			out = append(out, m)
		}
	}
	return out
}

// records counts the records of callers' tenants in the store.
func (e *env) records(t testing.TB) int {
	t.Helper()
	n := 0
	cursor := ""
	for {
		page, next, err := e.raw.List(context.Background(), tokenvault.ListRequest{Cursor: cursor, Limit: tokenvault.MaxBatch})
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

// apiKeys mints a key for each caller of the suite, and one for
// "stranger" that is not in the file.
func apiKeys(t testing.TB) (*tokenservice.APIKeys, map[string]string) {
	t.Helper()
	keys := map[string]string{}
	var file bytes.Buffer
	grants := servicetest.Grants()
	for _, caller := range servicetest.Callers {
		key, entry, err := tokenservice.NewAPIKey(caller, grants[caller])
		if err != nil {
			t.Fatal(err)
		}
		keys[caller] = key
		file.Write(entry)
		file.WriteByte('\n')
	}
	stranger, _, err := tokenservice.NewAPIKey("stranger", grants[servicetest.Admin])
	if err != nil {
		t.Fatal(err)
	}
	keys["stranger"] = stranger
	k, err := tokenservice.ParseAPIKeys(file.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return k, keys
}

// revealRights is the fixture's reveal caps with no groups.
func revealRights(t testing.TB) *tokenservice.Rights {
	t.Helper()
	r, err := tokenservice.NewRights(tokenservice.RightsSpec{Reveal: servicetest.Reveal()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// loopback serves h on a real loopback listener.
func loopback(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (logs).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bearer returns the Authorization value of a credential.
func bearer(cred string) string { return "Bearer " + cred }
