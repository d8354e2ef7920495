package audit_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/datamask/datamask/tokenservice/audit"
)

// BenchmarkWrite: audit lines written to a file, fsynced before Write
// returns, by 1 and by 64 concurrent writers (group commit: one fsync
// serves every writer waiting).
func BenchmarkWrite(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			l, err := audit.OpenFile(context.Background(), filepath.Join(b.TempDir(), "audit.jsonl"), provider(b))
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			ev := event(1, l)
			b.ReportAllocs()
			b.SetParallelism(max(1, writers/2))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.Write(context.Background(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
