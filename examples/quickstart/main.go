// Command quickstart is the Go program of the README: it erases, encrypts
// and decrypts fields of testdata/customer.json. Run it from the root of
// the repository: go run ./examples/quickstart
package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"

	"github.com/datamask/datamask"
)

func main() {
	doc, err := os.ReadFile("testdata/customer.json")
	if err != nil {
		log.Fatal(err)
	}

	// Erase needs no key.
	masked, err := datamask.Erase(doc, datamask.Fields("$.ssn", "$..email"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", masked)

	// Encrypt and decrypt with a local key: datamask.ReadLocalKeyring reads
	// the file "datamask keygen" writes. With AWS KMS keys, use
	// awskms.NewKeyring(kms.NewFromConfig(cfg), keyARNs) instead.
	keyText, err := datamask.GenerateLocalKey()
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := datamask.NewLocalKeyring(keyText)
	if err != nil {
		log.Fatal(err)
	}
	provider, err := datamask.NewESDKProvider(keyring)
	if err != nil {
		log.Fatal(err)
	}
	dm, err := datamask.New(datamask.WithProvider(provider))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	opts := []datamask.CallOption{
		datamask.Fields("$.ssn", "$.card_number"),
		datamask.EncryptionContext(map[string]string{"tenant": "acme"}),
	}
	enc, err := dm.Encrypt(ctx, doc, opts...)
	if err != nil {
		log.Fatal(err)
	}
	dec, err := dm.Decrypt(ctx, enc, opts...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("encrypted, then decrypted to the same bytes:", bytes.Equal(dec, doc))
}
