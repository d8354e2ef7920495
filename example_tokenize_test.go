package datamask_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
)

// A Lambda function in the style of Powertools' data masking: the vault
// and the DataMasker are built once, at start-up, and each invocation
// tokenizes the fields of its event before passing it on.
func ExampleDataMasker_Tokenize() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "vault")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// At start-up (before lambda.Start): the keys, the vault, the masker.
	keyText, _ := datamask.GenerateLocalKey() // or datamask.ReadLocalKeyring("datamask.key"), or awskms
	keyring, err := datamask.NewLocalKeyring(keyText)
	if err != nil {
		log.Fatal(err)
	}
	provider, err := tokenvault.NewProvider(keyring)
	if err != nil {
		log.Fatal(err)
	}
	store, err := boltstore.Open(filepath.Join(dir, "datamask-vault.db")) // a server's store in production
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	vault, err := tokenvault.Open(ctx, store, provider, tokenvault.BuiltinPolicies())
	if err != nil {
		log.Fatal(err)
	}
	masker, err := datamask.New(datamask.WithTokenVault(vault))
	if err != nil {
		log.Fatal(err)
	}
	fields := []datamask.CallOption{
		datamask.Tenant("acme"),
		datamask.TokenFields(tokenvault.PolicySSN, "customers[*].ssn"),
		datamask.TokenFields(tokenvault.PolicyCard, "customers[*].card_number"),
	}

	handler := func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		return masker.Tokenize(ctx, event, fields...)
	}

	event := json.RawMessage(`{"customers": [{"name": "Ana", "ssn": "123-45-6789", "card_number": "4111-1111-1111-1111"}]}`)
	out, err := handler(ctx, event)
	if err != nil {
		log.Fatal(err)
	}
	// The tokens are random but for the last four digits, which the ssn
	// and card policies keep.
	random := regexp.MustCompile(`\d+-`)
	fmt.Println(random.ReplaceAllStringFunc(string(out), func(s string) string { return strings.Repeat("#", len(s)-1) + "-" }))

	back, err := masker.Detokenize(ctx, out, fields...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(back))
	// Output:
	// {"customers": [{"name": "Ana", "ssn": "###-##-6789", "card_number": "####-####-####-1111"}]}
	// {"customers": [{"name": "Ana", "ssn": "123-45-6789", "card_number": "4111-1111-1111-1111"}]}
}
