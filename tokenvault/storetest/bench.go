package storetest

import (
	"sync/atomic"
	"testing"

	"github.com/datamask/datamask/tokenvault"
)

// benchPolicies are the policies Benchmark measures, one per format.
var benchPolicies = []string{tokenvault.PolicyOpaque, "uuid", tokenvault.PolicyCard, tokenvault.PolicySSN, tokenvault.PolicyEmail, "convergent", "ff1"}

// Benchmark measures a vault on the stores newStore returns, per policy
// (one per format): Tokenize and Detokenize of one value, and
// TokenizeBatch and DetokenizeBatch of 1,000 values, with a local key (no
// KMS) and the data key cache on. Batch benchmarks report tokens/s.
// Tokenize makes a new token per iteration (fresh values for the
// convergent policy), so the store grows as it runs.
func Benchmark(b *testing.B, newStore NewStore) {
	for _, policy := range benchPolicies {
		b.Run("Tokenize/"+policy, func(b *testing.B) {
			v := openVault(b, newStore(b))
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Tokenize(bg, "acme", policy, sample(policy, i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("TokenizeBatch1000/"+policy, func(b *testing.B) {
			v := openVault(b, newStore(b))
			values := make([]string, tokenvault.MaxBatch)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				for k := range values {
					values[k] = sample(policy, i)
					i++
				}
				_, errs, err := v.TokenizeBatch(bg, "acme", policy, values)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range errs {
					if e != nil {
						b.Fatal(e)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(values))/b.Elapsed().Seconds(), "tokens/s")
		})
		b.Run("TokenizeBatch1000Parallel/"+policy, func(b *testing.B) {
			// Several callers at once, as a service has: the store may
			// commit their batches together.
			v := openVault(b, newStore(b))
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				values := make([]string, tokenvault.MaxBatch)
				for pb.Next() {
					base := int(next.Add(1)-1) * len(values)
					for k := range values {
						values[k] = sample(policy, base+k)
					}
					_, errs, err := v.TokenizeBatch(bg, "acme", policy, values)
					if err != nil {
						b.Error(err)
						return
					}
					for _, e := range errs {
						if e != nil {
							b.Error(e)
							return
						}
					}
				}
			})
			b.ReportMetric(float64(b.N*tokenvault.MaxBatch)/b.Elapsed().Seconds(), "tokens/s")
		})
		b.Run("Detokenize/"+policy, func(b *testing.B) {
			v := openVault(b, newStore(b))
			values := make([]string, tokenvault.MaxBatch)
			for k := range values {
				values[k] = sample(policy, k)
			}
			tokens, _, err := v.TokenizeBatch(bg, "acme", policy, values)
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Detokenize(bg, "acme", policy, tokens[i%len(tokens)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("DetokenizeBatch1000/"+policy, func(b *testing.B) {
			v := openVault(b, newStore(b))
			values := make([]string, tokenvault.MaxBatch)
			for k := range values {
				values[k] = sample(policy, k)
			}
			tokens, _, err := v.TokenizeBatch(bg, "acme", policy, values)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, errs, err := v.DetokenizeBatch(bg, "acme", policy, tokens)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range errs {
					if e != nil {
						b.Fatal(e)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(tokens))/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
