package datamask_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

// shorten cuts each base64 message in a document to its first characters,
// so that examples print a stable output: every message of suite 0x0478
// starts with "AgR4" (version 2, suite 04 78), of suite 0x0578 with "AgV4".
func shorten(doc []byte) string {
	return regexp.MustCompile(`"(Ag[RV]4)[A-Za-z0-9+/]{20,}={0,2}"`).ReplaceAllString(string(doc), `"$1..."`)
}

func ExampleDataMasker_Encrypt() {
	// A local key: no AWS account needed. With AWS KMS keys, pass a keyring
	// of package awskms to NewESDKProvider instead.
	keyText, err := datamask.GenerateLocalKey()
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := datamask.NewLocalKeyring(keyText)
	if err != nil {
		log.Fatal(err)
	}
	// Suite 0x0478 (committing, unsigned) for field-level work where every
	// encryptor is trusted; the default is the signed 0x0578.
	provider, err := datamask.NewESDKProvider(keyring, datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		log.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(provider))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	doc := []byte(`{"name": "Ana", "ssn": "123-45-6789", "cards": [4111, 5500], "id": 12345678901234567890}`)
	opts := []datamask.CallOption{
		datamask.Fields("$.ssn", "cards"),
		datamask.EncryptionContext(map[string]string{"tenant": "acme"}),
	}
	enc, err := m.Encrypt(ctx, doc, opts...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shorten(enc))

	// The same fields and context give the document back, byte for byte.
	dec, err := m.Decrypt(ctx, enc, opts...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(dec))
	// Output:
	// {"name": "Ana", "ssn": "AgR4...", "cards": "AgR4...", "id": 12345678901234567890}
	// {"name": "Ana", "ssn": "123-45-6789", "cards": [4111, 5500], "id": 12345678901234567890}
}

func ExampleDataMasker_Encrypt_wholeDocument() {
	keyText, err := datamask.GenerateLocalKey()
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := datamask.NewLocalKeyring(keyText)
	if err != nil {
		log.Fatal(err)
	}
	provider, err := datamask.NewESDKProvider(keyring) // suite 0x0578, as Powertools
	if err != nil {
		log.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(provider))
	if err != nil {
		log.Fatal(err)
	}
	// Without Fields the whole document is one message, a base64 string.
	enc, err := m.Encrypt(context.Background(), []byte(`[1, 2, "string", 4.5]`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shorten(enc))
	dec, err := m.Decrypt(context.Background(), enc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(dec))
	// Output:
	// "AgV4..."
	// [1, 2, "string", 4.5]
}

func ExampleDataMasker_Decrypt_contextMismatch() {
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
	m, err := datamask.New(datamask.WithProvider(provider))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	enc, err := m.Encrypt(ctx, []byte(`{"ssn": "123-45-6789"}`), datamask.Fields("ssn"),
		datamask.EncryptionContext(map[string]string{"tenant": "acme"}))
	if err != nil {
		log.Fatal(err)
	}
	// Another tenant's context: refused before any key is used.
	_, err = m.Decrypt(ctx, enc, datamask.Fields("ssn"),
		datamask.EncryptionContext(map[string]string{"tenant": "globex"}))
	var mismatch *datamask.ContextMismatchError
	fmt.Println(errors.As(err, &mismatch), mismatch.Keys)
	fmt.Println(err)
	// Output:
	// true [tenant]
	// datamask: decrypt: field "ssn" (match 1): encryption context does not match the message's (keys "tenant")
}

func ExampleDataMasker_EncryptValue() {
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
	type Customer struct {
		Name string `json:"name"`
		SSN  string `json:"ssn"`
		Age  int    `json:"age"`
	}
	ctx := context.Background()
	enc, err := m.EncryptValue(ctx, Customer{Name: "Ana", SSN: "123-45-6789", Age: 30}, datamask.Fields("ssn", "age"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shorten(enc))

	var back Customer
	if err := m.DecryptValue(ctx, enc, &back, datamask.Fields("ssn", "age")); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", back)
	// Output:
	// {"name":"Ana","ssn":"AgR4...","age":"AgR4..."}
	// {Name:Ana SSN:123-45-6789 Age:30}
}

func ExampleReadLocalKeyring() {
	// What "datamask keygen -o orders.key" writes.
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "orders.key")
	keyText, err := datamask.GenerateLocalKey()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, keyText, 0o600); err != nil {
		log.Fatal(err)
	}

	// The namespace and name must be the same wherever the key is used.
	keyring, err := datamask.ReadLocalKeyring(path, datamask.WithKeyNamespace("orders"))
	if err != nil {
		log.Fatal(err)
	}
	provider, err := datamask.NewESDKProvider(keyring)
	if err != nil {
		log.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(provider))
	if err != nil {
		log.Fatal(err)
	}
	enc, err := m.Encrypt(context.Background(), []byte(`{"card": "4111 1111 1111 1111"}`), datamask.Fields("card"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shorten(enc))
	// Output:
	// {"card": "AgV4..."}
}

// A provider of your own: here one that keeps the JSON text as it is, to
// show the seam (never use it for real data).
type plainProvider struct{}

func (plainProvider) Encrypt(_ context.Context, pt []byte, _ map[string]string) ([]byte, error) {
	return append([]byte(nil), pt...), nil
}

func (plainProvider) Decrypt(_ context.Context, msg []byte, _ map[string]string) ([]byte, error) {
	return append([]byte(nil), msg...), nil
}

func ExampleProvider() {
	m, err := datamask.New(datamask.WithProvider(plainProvider{}))
	if err != nil {
		log.Fatal(err)
	}
	enc, err := m.Encrypt(context.Background(), []byte(`{"a": -1.11}`), datamask.Fields("a"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(enc))
	// Output:
	// {"a": "LTEuMTE="}
}

// AWS KMS keys: build a keyring of package awskms over a *kms.Client and
// give it to NewESDKProvider. Here the fake KMS of package kmstest stands in
// for AWS KMS; in production build the client with config.LoadDefaultConfig
// and kms.NewFromConfig, and pass key ARNs.
func ExampleNewESDKProvider_awsKMS() {
	srv, err := kmstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	keyARN := srv.CreateKey()
	client := kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("any", "thing", ""),
	})

	keyring, err := awskms.NewKeyring(client, []string{keyARN})
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
	doc := []byte(`{"customers": [{"ssn": "123-45-6789"}, {"ssn": "987-65-4321"}, {"ssn": "555-55-5555"}]}`)
	opts := []datamask.CallOption{datamask.Fields("$.customers[*].ssn"), datamask.EncryptionContext(map[string]string{"tenant": "acme"})}
	enc, err := m.Encrypt(ctx, doc, opts...)
	if err != nil {
		log.Fatal(err)
	}
	dec, err := m.Decrypt(ctx, enc, opts...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(dec))
	// The data key cache: one KMS call each way for the three values.
	fmt.Println(srv.Calls(kmstest.OpGenerateDataKey), "GenerateDataKey,", srv.Calls(kmstest.OpDecrypt), "Decrypt")
	// Output:
	// {"customers": [{"ssn": "123-45-6789"}, {"ssn": "987-65-4321"}, {"ssn": "555-55-5555"}]}
	// 1 GenerateDataKey, 1 Decrypt
}
