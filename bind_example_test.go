package datamask_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
)

// Without binding, anyone who can write the stored document can swap two
// encrypted fields, or copy one from another record, and Decrypt returns
// the moved values. BindFields binds each value to its expression and
// ContextFrom to its record: a moved value then fails with
// *ContextMismatchError before any key is used.
func ExampleBindFields() {
	keyText, err := datamask.GenerateLocalKey()
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := datamask.NewLocalKeyring(keyText)
	if err != nil {
		log.Fatal(err)
	}
	provider, err := datamask.NewESDKProvider(keyring, datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		log.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(provider))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	doc := []byte(`{"id": "u-2", "role": "user", "level": 1}`)

	// swap exchanges the encrypted role and level, as an attacker would.
	swap := func(enc []byte) []byte {
		var v map[string]json.RawMessage
		if err := json.Unmarshal(enc, &v); err != nil {
			log.Fatal(err)
		}
		v["role"], v["level"] = v["level"], v["role"]
		out, err := json.Marshal(v)
		if err != nil {
			log.Fatal(err)
		}
		return out
	}
	for _, opts := range [][]datamask.CallOption{
		{datamask.Fields("role", "level")},
		{datamask.Fields("role", "level"), datamask.BindFields(), datamask.ContextFrom("user", "$.id")},
	} {
		enc, err := m.Encrypt(ctx, doc, opts...)
		if err != nil {
			log.Fatal(err)
		}
		dec, err := m.Decrypt(ctx, swap(enc), opts...)
		var cme *datamask.ContextMismatchError
		switch {
		case errors.As(err, &cme):
			fmt.Println("refused, context keys", cme.Keys)
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println(string(dec))
		}
	}
	fmt.Println(datamask.CanonicalExpression("role"))
	// Output:
	// {"id":"u-2","level":"user","role":1}
	// refused, context keys [datamask-field]
	// $["role"] <nil>
}
