package pgstore_test

import (
	"context"
	"fmt"
	"os"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/pgstore"
)

// A vault on PostgreSQL: create the table once, then open the store in
// every process. (Not run as a test: it needs a server; the package's
// tests run the same calls on one.)
func ExampleOpen() {
	ctx := context.Background()
	url := os.Getenv("VAULT_DATABASE_URL") // postgres://USER:PASSWORD@HOST:PORT/DATABASE

	// Once, at deployment ("datamask vault migrate --vault URL" does the same).
	m, err := pgstore.OpenForMigrate(ctx, url)
	if err != nil {
		panic(err)
	}
	if err := m.Migrate(ctx); err != nil {
		panic(err)
	}
	m.Close()

	store, err := pgstore.Open(ctx, url)
	if err != nil {
		panic(err) // pgstore.ErrNotMigrated if the table is missing
	}
	defer store.Close()
	keyring, err := datamask.ReadLocalKeyring("datamask.key") // or AWS KMS keys of package awskms
	if err != nil {
		panic(err)
	}
	provider, _ := tokenvault.NewProvider(keyring)
	v, err := tokenvault.Open(ctx, store, provider, tokenvault.BuiltinPolicies())
	if err != nil {
		panic(err)
	}
	token, _ := v.Tokenize(ctx, "acme", tokenvault.PolicyCard, "4111 1111 1111 1111")
	value, _ := v.Detokenize(ctx, "acme", tokenvault.PolicyCard, token)
	fmt.Println(value)
}
