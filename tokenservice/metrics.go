package tokenservice

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/tokenvault"
)

// Metrics counts what the service does, for Prometheus (the text
// exposition format, served at GET /metrics): requests by route and
// status, request latency histograms by route, values by operation and
// outcome, keyring calls (KMS calls, with an AWS KMS keyring) and store
// calls and errors, audit lines. Labels hold route patterns, operation
// names, status codes and outcome codes: never a value, a token, a tenant
// or a caller. Build it with [NewMetrics]; give it to [WithMetrics] and
// wrap the vault's keyring and store with [Metrics.Keyring] and
// [Metrics.Store] to count those.
type Metrics struct {
	start time.Time

	mu       sync.RWMutex
	routes   map[string]*routeMetrics
	values   sync.Map // valueKey -> *atomic.Uint64
	keyring  [2]atomic.Uint64
	keyErrs  [2]atomic.Uint64
	store    [numStoreOps]atomic.Uint64
	storeErr [numStoreOps]atomic.Uint64
	audit    atomic.Uint64
	auditErr atomic.Uint64
	inflight atomic.Int64
}

type routeMetrics struct {
	codes   sync.Map // int -> *atomic.Uint64
	buckets [len(latencyBuckets) + 1]atomic.Uint64
	sumNs   atomic.Uint64
}

type valueKey struct{ op, outcome string }

// latencyBuckets are the histogram's upper bounds, in seconds.
var latencyBuckets = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{start: time.Now(), routes: map[string]*routeMetrics{}}
}

func (m *Metrics) route(name string) *routeMetrics {
	m.mu.RLock()
	r := m.routes[name]
	m.mu.RUnlock()
	if r != nil {
		return r
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r = m.routes[name]; r == nil {
		r = &routeMetrics{}
		m.routes[name] = r
	}
	return r
}

// observe counts one request of route answered with code after d.
func (m *Metrics) observe(r *routeMetrics, code int, d time.Duration) {
	c, ok := r.codes.Load(code)
	if !ok {
		c, _ = r.codes.LoadOrStore(code, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
	s := d.Seconds()
	i := 0
	for i < len(latencyBuckets) && s > latencyBuckets[i] {
		i++
	}
	r.buckets[i].Add(1)
	r.sumNs.Add(uint64(d.Nanoseconds()))
}

// countValues adds n values of op with outcome (an error code, or "ok").
func (m *Metrics) countValues(op Operation, outcome string, n int) {
	if n == 0 {
		return
	}
	k := valueKey{string(op), outcome}
	c, ok := m.values.Load(k)
	if !ok {
		c, _ = m.values.LoadOrStore(k, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(uint64(n))
}

func (m *Metrics) countAudit(err error) {
	m.audit.Add(1)
	if err != nil {
		m.auditErr.Add(1)
	}
}

// WriteTo writes the metrics in the Prometheus text exposition format
// (version 0.0.4).
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriter(w)}
	p := func(format string, args ...any) { fmt.Fprintf(cw, format, args...) }

	p("# HELP datamask_http_requests_total HTTP requests answered, by route and status.\n")
	p("# TYPE datamask_http_requests_total counter\n")
	m.mu.RLock()
	names := make([]string, 0, len(m.routes))
	for n := range m.routes {
		names = append(names, n)
	}
	routes := make(map[string]*routeMetrics, len(m.routes))
	for n, r := range m.routes {
		routes[n] = r
	}
	m.mu.RUnlock()
	slices.Sort(names)
	for _, n := range names {
		var codes []int
		routes[n].codes.Range(func(k, _ any) bool { codes = append(codes, k.(int)); return true })
		slices.Sort(codes)
		for _, code := range codes {
			c, _ := routes[n].codes.Load(code)
			p("datamask_http_requests_total{route=%s,code=\"%d\"} %d\n", label(n), code, c.(*atomic.Uint64).Load())
		}
	}
	p("# HELP datamask_http_request_duration_seconds Time to answer HTTP requests, by route.\n")
	p("# TYPE datamask_http_request_duration_seconds histogram\n")
	for _, n := range names {
		r := routes[n]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += r.buckets[i].Load()
			p("datamask_http_request_duration_seconds_bucket{route=%s,le=\"%s\"} %d\n", label(n), strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		cum += r.buckets[len(latencyBuckets)].Load()
		p("datamask_http_request_duration_seconds_bucket{route=%s,le=\"+Inf\"} %d\n", label(n), cum)
		p("datamask_http_request_duration_seconds_sum{route=%s} %s\n", label(n), float(float64(r.sumNs.Load())/1e9))
		p("datamask_http_request_duration_seconds_count{route=%s} %d\n", label(n), cum)
	}
	p("# HELP datamask_http_requests_in_flight HTTP requests being served.\n")
	p("# TYPE datamask_http_requests_in_flight gauge\n")
	p("datamask_http_requests_in_flight %d\n", m.inflight.Load())

	p("# HELP datamask_values_total Values and tokens processed, by operation and outcome (ok or an error code).\n")
	p("# TYPE datamask_values_total counter\n")
	var vks []valueKey
	m.values.Range(func(k, _ any) bool { vks = append(vks, k.(valueKey)); return true })
	slices.SortFunc(vks, func(a, b valueKey) int {
		if a.op != b.op {
			if a.op < b.op {
				return -1
			}
			return 1
		}
		if a.outcome < b.outcome {
			return -1
		} else if a.outcome > b.outcome {
			return 1
		}
		return 0
	})
	for _, k := range vks {
		c, _ := m.values.Load(k)
		p("datamask_values_total{operation=%s,outcome=%s} %d\n", label(k.op), label(k.outcome), c.(*atomic.Uint64).Load())
	}

	p("# HELP datamask_keyring_calls_total Calls to the vault's keyring that missed the data key cache: KMS requests with an AWS KMS keyring.\n")
	p("# TYPE datamask_keyring_calls_total counter\n")
	p("# HELP datamask_keyring_errors_total Keyring calls that failed.\n")
	p("# TYPE datamask_keyring_errors_total counter\n")
	for i, op := range []string{"encrypt", "decrypt"} {
		p("datamask_keyring_calls_total{operation=%q} %d\n", op, m.keyring[i].Load())
		p("datamask_keyring_errors_total{operation=%q} %d\n", op, m.keyErrs[i].Load())
	}
	p("# HELP datamask_store_calls_total Calls to the vault's store, by method.\n")
	p("# TYPE datamask_store_calls_total counter\n")
	p("# HELP datamask_store_errors_total Store calls that failed (context cancellation excluded), by method.\n")
	p("# TYPE datamask_store_errors_total counter\n")
	for i, op := range storeOps {
		p("datamask_store_calls_total{method=%q} %d\n", op, m.store[i].Load())
		p("datamask_store_errors_total{method=%q} %d\n", op, m.storeErr[i].Load())
	}
	p("# HELP datamask_audit_lines_total Audit lines written.\n")
	p("# TYPE datamask_audit_lines_total counter\n")
	p("datamask_audit_lines_total %d\n", m.audit.Load())
	p("# HELP datamask_audit_errors_total Audit lines that could not be written (the call was answered 503).\n")
	p("# TYPE datamask_audit_errors_total counter\n")
	p("datamask_audit_errors_total %d\n", m.auditErr.Load())
	p("# HELP datamask_uptime_seconds Seconds since the metrics were created.\n")
	p("# TYPE datamask_uptime_seconds gauge\n")
	p("datamask_uptime_seconds %s\n", float(time.Since(m.start).Seconds()))
	if err := cw.w.(*bufio.Writer).Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	return cw.n, cw.err
}

// label quotes a label value for the exposition format.
func label(s string) string {
	return strconv.Quote(s) // route patterns and codes: ASCII, no newlines
}

func float(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "0"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
	return n, err
}

// Keyring returns k counting its calls and errors in m: with an AWS KMS
// keyring under the provider's data key cache, each call is a KMS
// request.
func (m *Metrics) Keyring(k esdk.Keyring) esdk.Keyring { return &countingKeyring{k: k, m: m} }

type countingKeyring struct {
	k esdk.Keyring
	m *Metrics
}

func (c *countingKeyring) OnEncrypt(ctx context.Context, em *esdk.EncryptionMaterials) error {
	c.m.keyring[0].Add(1)
	err := c.k.OnEncrypt(ctx, em)
	if err != nil {
		c.m.keyErrs[0].Add(1)
	}
	return err
}

func (c *countingKeyring) OnDecrypt(ctx context.Context, dm *esdk.DecryptionMaterials, edks []esdk.EncryptedDataKey) error {
	c.m.keyring[1].Add(1)
	err := c.k.OnDecrypt(ctx, dm, edks)
	if err != nil {
		c.m.keyErrs[1].Add(1)
	}
	return err
}

// String describes the wrapped keyring.
func (c *countingKeyring) String() string { return fmt.Sprint(c.k) }

const numStoreOps = 7

var storeOps = [numStoreOps]string{"create", "get", "get_by_fingerprint", "swap", "delete", "delete_expired", "list"}

// Store returns s counting its calls and errors in m.
func (m *Metrics) Store(s tokenvault.Store) tokenvault.Store { return &countingStore{s: s, m: m} }

type countingStore struct {
	s tokenvault.Store
	m *Metrics
}

var _ tokenvault.Store = (*countingStore)(nil)

func (c *countingStore) count(i int, err error) {
	c.m.store[i].Add(1)
	if err != nil && !isContextErr(err) {
		c.m.storeErr[i].Add(1)
	}
}

func (c *countingStore) Create(ctx context.Context, recs []tokenvault.Record) ([]tokenvault.CreateResult, error) {
	r, err := c.s.Create(ctx, recs)
	c.count(0, err)
	return r, err
}

func (c *countingStore) Get(ctx context.Context, keys []tokenvault.Key) ([]*tokenvault.Record, error) {
	r, err := c.s.Get(ctx, keys)
	c.count(1, err)
	return r, err
}

func (c *countingStore) GetByFingerprint(ctx context.Context, tenant, policy string, fps [][]byte) ([]*tokenvault.Record, error) {
	r, err := c.s.GetByFingerprint(ctx, tenant, policy, fps)
	c.count(2, err)
	return r, err
}

func (c *countingStore) Swap(ctx context.Context, key tokenvault.Key, prev []byte, next *tokenvault.Record) (bool, error) {
	r, err := c.s.Swap(ctx, key, prev, next)
	c.count(3, err)
	return r, err
}

func (c *countingStore) Delete(ctx context.Context, keys []tokenvault.Key) ([]bool, error) {
	r, err := c.s.Delete(ctx, keys)
	c.count(4, err)
	return r, err
}

func (c *countingStore) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	r, err := c.s.DeleteExpired(ctx, now, limit)
	c.count(5, err)
	return r, err
}

func (c *countingStore) List(ctx context.Context, req tokenvault.ListRequest) ([]tokenvault.Record, string, error) {
	r, next, err := c.s.List(ctx, req)
	c.count(6, err)
	return r, next, err
}
