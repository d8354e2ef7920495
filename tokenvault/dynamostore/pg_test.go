package dynamostore_test

import (
	"context"
	"testing"

	"github.com/datamask/datamask/internal/pgtest"
	"github.com/datamask/datamask/tokenvault/pgstore"
)

// newPGStore returns a PostgreSQL store on a new database, migrated.
func newPGStore(t *testing.T) *pgstore.Store {
	t.Helper()
	ctx := context.Background()
	st, err := pgstore.OpenForMigrate(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}
