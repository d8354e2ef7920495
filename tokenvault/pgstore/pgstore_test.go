package pgstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datamask/datamask/internal/pgtest"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
	"github.com/datamask/datamask/tokenvault/pgstore"
	"github.com/datamask/datamask/tokenvault/storetest"
)

func TestMain(m *testing.M) {
	if crashChildMain() {
		return
	}
	os.Exit(pgtest.Run(m))
}

// newStore returns a store on a new database, migrated.
func newStore(t testing.TB) tokenvault.Store {
	return newStoreAt(t, pgtest.Database(t))
}

func newStoreAt(t testing.TB, url string) *pgstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := pgstore.OpenForMigrate(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Database(t)
	if _, err := pgstore.Open(ctx, url); !errors.Is(err, pgstore.ErrNotMigrated) {
		t.Fatalf("Open before Migrate = %v, want ErrNotMigrated", err)
	}
	s, err := pgstore.OpenForMigrate(ctx, url, pgstore.WithTable("vault_a"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Twice, and from several goroutines at once: Migrate is idempotent.
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- s.Migrate(ctx) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s2, err := pgstore.Open(ctx, url, pgstore.WithTable("vault_a"))
	if err != nil {
		t.Fatalf("Open after Migrate: %v", err)
	}
	s2.Close()
	if _, err := pgstore.Open(ctx, url); !errors.Is(err, pgstore.ErrNotMigrated) {
		t.Fatalf("Open of another table = %v, want ErrNotMigrated", err)
	}
}

func TestOptionsAndURLs(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"", "Vault", "a-b", "x;drop", strings.Repeat("a", 49), "a.b.c"} {
		if _, err := pgstore.OpenForMigrate(ctx, "postgres://u@127.0.0.1:1/db", pgstore.WithTable(name)); err == nil {
			t.Errorf("WithTable(%q) accepted", name)
		}
	}
	if _, err := pgstore.OpenForMigrate(ctx, "postgres://u@127.0.0.1:1/db", pgstore.WithTable("a"), pgstore.WithTable("b")); err == nil {
		t.Error("WithTable twice accepted")
	}
	_, err := pgstore.Open(ctx, "postgres://user:s3cret-pw@127.0.0.1:1/db?connect_timeout=1&sslmode=disable")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error shows the password: %v", err)
	}
	_, err = pgstore.Open(ctx, "postgres://user:s3cret-pw@[bad/db")
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open of a malformed URL = %v, want an error without the password", err)
	}
}

// BenchmarkVault measures the vault on PostgreSQL and, in the same run, on
// the embedded store.
func BenchmarkVault(b *testing.B) {
	b.Run("store=postgres", func(b *testing.B) { storetest.Benchmark(b, newStore) })
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
