package datamask_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/benchdata"
)

// benchMasker returns a DataMasker over a local key with the provider's
// defaults (data key cache on) and suite s.
func benchMasker(b *testing.B, s esdk.Suite, opts ...datamask.ProviderOption) *datamask.DataMasker {
	b.Helper()
	return newMasker(b, localKeyring(b), append(opts, datamask.WithSuite(s))...)
}

// countValues returns how many values the fields of p select (outermost).
func countValues(b *testing.B, p benchdata.Payload) int {
	b.Helper()
	c := &countingProvider{}
	m, err := datamask.New(datamask.WithProvider(c))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Encrypt(context.Background(), p.Doc, datamask.Fields(p.Fields...)); err != nil {
		b.Fatal(err)
	}
	return int(c.n.Load())
}

// countingProvider is the base64Provider counting Encrypt calls.
type countingProvider struct {
	base64Provider
	n atomic.Int64
}

func (c *countingProvider) Encrypt(ctx context.Context, pt []byte, ec map[string]string) ([]byte, error) {
	c.n.Add(1)
	return c.base64Provider.Encrypt(ctx, pt, ec)
}

// BenchmarkEncryptFields encrypts the fields of fields.json in the shared
// payloads (small: 1 customer, medium: 25, large: 2,000; about 5 values
// each) with a local key, data key cache on. ns/value is the cost of one
// value on all cores, the figure for sizing.
func BenchmarkEncryptFields(b *testing.B) {
	ctx := context.Background()
	for _, s := range suites {
		for _, p := range benchdata.Load(b) {
			b.Run(suiteName(s)+"/payload="+p.Name, func(b *testing.B) {
				m := benchMasker(b, s)
				opts := []datamask.CallOption{datamask.Fields(p.Fields...), datamask.EncryptionContext(benchContext)}
				n := countValues(b, p)
				b.ReportAllocs()
				b.SetBytes(int64(len(p.Doc)))
				for b.Loop() {
					if _, err := m.Encrypt(ctx, p.Doc, opts...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n), "values/op")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
			})
		}
	}
}

// BenchmarkDecryptFields decrypts what BenchmarkEncryptFields encrypts.
func BenchmarkDecryptFields(b *testing.B) {
	ctx := context.Background()
	for _, s := range suites {
		for _, p := range benchdata.Load(b) {
			b.Run(suiteName(s)+"/payload="+p.Name, func(b *testing.B) {
				m := benchMasker(b, s)
				opts := []datamask.CallOption{datamask.Fields(p.Fields...), datamask.EncryptionContext(benchContext)}
				enc, err := m.Encrypt(ctx, p.Doc, opts...)
				if err != nil {
					b.Fatal(err)
				}
				n := countValues(b, p)
				b.ReportAllocs()
				b.SetBytes(int64(len(p.Doc)))
				for b.Loop() {
					if _, err := m.Decrypt(ctx, enc, opts...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n), "values/op")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
			})
		}
	}
}

// BenchmarkEncryptDocument encrypts each whole payload as one message.
func BenchmarkEncryptDocument(b *testing.B) {
	ctx := context.Background()
	for _, s := range suites {
		for _, p := range benchdata.Load(b) {
			b.Run(suiteName(s)+"/payload="+p.Name, func(b *testing.B) {
				m := benchMasker(b, s)
				b.ReportAllocs()
				b.SetBytes(int64(len(p.Doc)))
				for b.Loop() {
					if _, err := m.Encrypt(ctx, p.Doc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecryptDocument decrypts what BenchmarkEncryptDocument writes.
func BenchmarkDecryptDocument(b *testing.B) {
	ctx := context.Background()
	for _, s := range suites {
		for _, p := range benchdata.Load(b) {
			b.Run(suiteName(s)+"/payload="+p.Name, func(b *testing.B) {
				m := benchMasker(b, s)
				enc, err := m.Encrypt(ctx, p.Doc)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(p.Doc)))
				for b.Loop() {
					if _, err := m.Decrypt(ctx, enc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

var benchContext = map[string]string{"tenant": "acme"}
