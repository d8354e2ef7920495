package tokenservice_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/internal/pgtest"
	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/audit"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
)

// loadStores are the stores the load benchmark drives the service on.
var loadStores = map[string]func(b *testing.B) tokenvault.Store{
	"embedded": func(b *testing.B) tokenvault.Store {
		s, err := boltstore.Open(filepath.Join(b.TempDir(), "vault.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	},
	"postgres": func(b *testing.B) tokenvault.Store {
		return pgStore(b, pgtest.Database(b))
	},
	"memory": func(b *testing.B) tokenvault.Store {
		return &memStore{recs: map[tokenvault.Key]tokenvault.Record{}}
	},
}

// loadService serves a vault on store over a loopback listener, as
// datamask serve does (API keys, an fsynced audit file, a local key), and
// returns its URL and an admin key.
func loadService(b *testing.B, store tokenvault.Store) (string, string) {
	key, err := datamask.GenerateLocalKey()
	if err != nil {
		b.Fatal(err)
	}
	kr, err := datamask.NewLocalKeyring(key)
	if err != nil {
		b.Fatal(err)
	}
	p, err := tokenvault.NewProvider(kr)
	if err != nil {
		b.Fatal(err)
	}
	v, err := tokenvault.Open(context.Background(), store, p, tokenvault.BuiltinPolicies())
	if err != nil {
		b.Fatal(err)
	}
	l, err := audit.OpenFile(context.Background(), filepath.Join(b.TempDir(), "audit.jsonl"), p)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	g, _ := tokenservice.ParseGrant("acme/*/tokenize,detokenize")
	apiKey, entry, err := tokenservice.NewAPIKey("load", []tokenservice.Grant{g})
	if err != nil {
		b.Fatal(err)
	}
	keys, err := tokenservice.ParseAPIKeys(entry)
	if err != nil {
		b.Fatal(err)
	}
	s, err := tokenservice.New(v, tokenservice.WithAuthenticator(keys), tokenservice.WithAudit(l),
		tokenservice.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	srv := loopback(b, s)
	return srv.URL, apiKey
}

// BenchmarkLoad drives the service on a loopback listener with 8 and 64
// concurrent clients (keep-alive connections), one value per request,
// and reports requests per second and the 50th and 99th percentile
// latencies, for tokenize and detokenize, on each store. Run it for a
// bounded time:
//
//	go test -run '^$' -bench BenchmarkLoad -benchtime 10s ./tokenservice
func BenchmarkLoad(b *testing.B) {
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range loadStores {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, tc := range []struct {
			op      string
			clients int
		}{{"tokenize", 8}, {"tokenize", 64}, {"detokenize", 8}, {"detokenize", 64}} {
			op := tc.op
			b.Run(fmt.Sprintf("%s/%s/clients=%d", op, name, tc.clients), func(b *testing.B) {
				url, key := loadService(b, loadStores[name](b))
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
				send := func(path, body string, purpose bool) (int, []byte) {
					req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+key)
					if purpose {
						req.Header.Set(tokenservice.PurposeHeader, "load")
					}
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					data, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					return resp.StatusCode, data
				}
				// Detokenize reads tokens made beforehand.
				var tokens []string
				if op == "detokenize" {
					for i := range 10 {
						var vals []string
						for j := range 1000 {
							vals = append(vals, fmt.Sprintf("%03d-%02d-%04d", i, j%100, j))
						}
						st, data := send("/v1/tokenize", `{"policy":"ssn","values":`+jsonList(vals)+`}`, false)
						if st != 200 {
							b.Fatalf("tokenize: %d %s", st, data)
						}
						for _, part := range strings.Split(string(data), `"token":"`)[1:] {
							tokens = append(tokens, part[:11])
						}
					}
				}
				var mu sync.Mutex
				var lat []time.Duration
				var n atomic.Int64
				b.ReportAllocs()
				b.SetParallelism(max(1, tc.clients/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					var mine []time.Duration
					for pb.Next() {
						i := n.Add(1)
						var path, body string
						if op == "tokenize" {
							path, body = "/v1/tokenize", fmt.Sprintf(`{"policy":"ssn","value":"%03d-%02d-%04d"}`, i%1000, i%100, i%10000)
						} else {
							path, body = "/v1/detokenize", `{"policy":"ssn","token":"`+tokens[int(i)%len(tokens)]+`"}`
						}
						t0 := time.Now()
						st, data := send(path, body, op == "detokenize")
						mine = append(mine, time.Since(t0))
						if st != 200 {
							b.Errorf("%s: %d %s", op, st, data)
							return
						}
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				})
				elapsed := time.Since(start)
				b.StopTimer()
				slices.Sort(lat)
				if len(lat) > 0 {
					b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				}
			})
		}
	}
}

func jsonList(vals []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + v + `"`)
	}
	b.WriteByte(']')
	return b.String()
}

// memStore keeps records in memory, with none of a store's durability: the
// load benchmark runs on it to show what the service itself costs,
// without the embedded store's fsync. Only what tokenize and detokenize
// of a random policy need is there.
type memStore struct {
	tokenvault.Store // nil: other methods panic
	mu               sync.RWMutex
	recs             map[tokenvault.Key]tokenvault.Record
}

func (m *memStore) Create(_ context.Context, recs []tokenvault.Record) ([]tokenvault.CreateResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]tokenvault.CreateResult, len(recs))
	for i, r := range recs {
		if _, ok := m.recs[r.Key]; ok {
			out[i].Outcome = tokenvault.TokenTaken
			continue
		}
		r.Ciphertext = bytes.Clone(r.Ciphertext)
		m.recs[r.Key] = r
		out[i].Outcome = tokenvault.Created
	}
	return out, nil
}

func (m *memStore) Get(_ context.Context, keys []tokenvault.Key) ([]*tokenvault.Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*tokenvault.Record, len(keys))
	for i, k := range keys {
		if r, ok := m.recs[k]; ok {
			out[i] = &r
		}
	}
	return out, nil
}
