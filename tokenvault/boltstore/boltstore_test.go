package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
	"github.com/datamask/datamask/tokenvault/storetest"
)

func newStore(t testing.TB) tokenvault.Store {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func BenchmarkVault(b *testing.B) {
	storetest.Benchmark(b, newStore)
}
