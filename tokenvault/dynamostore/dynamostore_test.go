package dynamostore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/internal/motoserver"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
	"github.com/datamask/datamask/tokenvault/dynamostore"
	"github.com/datamask/datamask/tokenvault/storetest"
)

func TestMain(m *testing.M) {
	os.Exit(dynamolocal.Run(m))
}

func localKeyring(t testing.TB) esdk.Keyring {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	k, err := esdk.NewRawAESKeyring("datamask", "items", key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newStoreOn returns a NewStore making a migrated table of its own through
// the client of endpoint, deleted when the test ends.
func newStoreOn(endpoint func(testing.TB) string) storetest.NewStore {
	return func(t testing.TB) tokenvault.Store {
		t.Helper()
		client := dynamolocal.NewClient(endpoint(t))
		return newStoreWith(t, client, localKeyring(t))
	}
}

func newStoreWith(t testing.TB, client *dynamodb.Client, k esdk.Keyring, opts ...dynamostore.Option) *dynamostore.Store {
	t.Helper()
	table := dynamolocal.TableName("vault")
	s, err := dynamostore.New(client, table, k, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteTable(client, table) })
	return s
}

func deleteTable(client *dynamodb.Client, table string) {
	client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table})
}

// newMotoStore is newStoreOn for moto_server, one request at a time.
//
// moto_server (5.2.1) serves requests on threads without locking its
// tables: two conditional writes can both pass their condition, and a
// cancelled TransactWriteItems restores a copy of the whole table, undoing
// other clients' writes made meanwhile. DynamoDB makes each conditional
// write and transaction atomic, and the store relies on it; so the client
// here sends moto one request at a time, which gives moto that atomicity.
// DynamoDB Local, which has it, gets concurrent requests.
func newMotoStore(t testing.TB) tokenvault.Store {
	t.Helper()
	client := dynamolocal.NewClient(motoserver.Start(t), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: &serialTransport{base: http.DefaultTransport}}
	})
	return newStoreWith(t, client, localKeyring(t))
}

// serialTransport sends one request at a time, each read whole before the
// next is sent.
type serialTransport struct {
	mu   sync.Mutex
	base http.RoundTripper
}

func (s *serialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, err := s.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func TestConformance(t *testing.T) {
	t.Run("server=dynamodb-local", func(t *testing.T) { storetest.Run(t, newStoreOn(dynamolocal.Start)) })
	t.Run("server=moto", func(t *testing.T) { storetest.Run(t, newMotoStore) })
}

// BenchmarkVault measures the vault on DynamoDB Local (items signed with a
// local key) and, in the same run, on the embedded store.
func BenchmarkVault(b *testing.B) {
	b.Run("store=dynamodb-local", func(b *testing.B) { storetest.Benchmark(b, newStoreOn(dynamolocal.Start)) })
	b.Run("store=bolt", func(b *testing.B) {
		storetest.Benchmark(b, func(t testing.TB) tokenvault.Store {
			s, err := boltstore.Open(filepath.Join(t.TempDir(), "vault.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}
