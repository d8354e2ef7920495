package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "vault")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "datamask-vault.db")

	keyText, _ := datamask.GenerateLocalKey()
	keyring, _ := datamask.NewLocalKeyring(keyText)
	provider, _ := tokenvault.NewProvider(keyring)
	ctx := context.Background()

	store, err := boltstore.Open(path)
	if err != nil {
		panic(err)
	}
	v, err := tokenvault.Open(ctx, store, provider, tokenvault.BuiltinPolicies())
	if err != nil {
		panic(err)
	}
	token, _ := v.Tokenize(ctx, "acme", tokenvault.PolicyEmail, "ana.silva@example.com")
	store.Close()

	// The token outlives the process: reopen the file.
	store, err = boltstore.Open(path)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	v, _ = tokenvault.Open(ctx, store, provider, tokenvault.BuiltinPolicies())
	value, err := v.Detokenize(ctx, "acme", tokenvault.PolicyEmail, token)
	fmt.Println(value, err)
	fmt.Println(token[len(token)-12:])
	// Output:
	// ana.silva@example.com <nil>
	// @example.com
}
