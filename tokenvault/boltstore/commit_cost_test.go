package boltstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/storetest"
)

// BenchmarkCommitCost measures where the time of a batch of 1,000 random
// tokens goes: the vault's encryption, then bbolt's commit (spill: the
// B+tree's dirty nodes onto pages; write: pwrite of every dirty page and
// two fdatasyncs), with the pages written per batch, on a vault that
// already holds `prefill` records. Fsync measures fsync alone after
// writing 4 KiB and 4 MiB, on the same disk.
func BenchmarkCommitCost(b *testing.B) {
	ctx := context.Background()
	for _, prefill := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("prefill=%d", prefill), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "vault.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			v, err := tokenvault.Open(ctx, s, storetest.Provider(b), tokenvault.BuiltinPolicies())
			if err != nil {
				b.Fatal(err)
			}
			values := make([]string, tokenvault.MaxBatch)
			n := 0
			batch := func() {
				for k := range values {
					values[k] = fmt.Sprintf("value number %d", n)
					n++
				}
				if _, _, err := v.TokenizeBatch(ctx, "acme", tokenvault.PolicyOpaque, values); err != nil {
					b.Fatal(err)
				}
			}
			for range prefill / tokenvault.MaxBatch {
				batch()
			}
			before := s.db.Stats().TxStats
			b.ResetTimer()
			b.ReportAllocs()
			for b.Loop() {
				batch()
			}
			after := s.db.Stats().TxStats
			d := after.Sub(&before)
			per := func(x int64) float64 { return float64(x) / float64(b.N) }
			b.ReportMetric(per(d.GetWrite()), "pages/batch")
			b.ReportMetric(per(int64(d.GetSpillTime()))/1e6, "spill-ms/batch")
			b.ReportMetric(per(int64(d.GetWriteTime()))/1e6, "write+sync-ms/batch")
			b.ReportMetric(float64(b.N*tokenvault.MaxBatch)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
	for _, size := range []int{4 << 10, 4 << 20} {
		b.Run(fmt.Sprintf("Fsync/%dKiB", size>>10), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "f"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, size)
			var sync time.Duration
			for b.Loop() {
				if _, err := f.WriteAt(buf, 0); err != nil {
					b.Fatal(err)
				}
				t := time.Now()
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				sync += time.Since(t)
			}
			b.ReportMetric(float64(sync.Microseconds())/float64(b.N)/1000, "fsync-ms")
		})
	}
}
