package esdk_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"

	"github.com/datamask/datamask/esdk"
)

// Encrypt and decrypt with a local AES key. Any AWS Encryption SDK decrypts
// the message with a raw AES keyring of the same key, namespace and name.
func Example_rawAES() {
	// A real key comes from a secret store; datamask keygen writes one.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		log.Fatal(err)
	}
	keyring, err := esdk.NewRawAESKeyring("my-service", "key-2026-01", key)
	if err != nil {
		log.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(keyring)
	if err != nil {
		log.Fatal(err)
	}
	client, err := esdk.NewClient()
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	ec := map[string]string{"tenant": "acme"}
	msg, err := client.Encrypt(ctx, []byte("4111 1111 1111 1111"), cmm, esdk.WithEncryptionContext(ec))
	if err != nil {
		log.Fatal(err)
	}
	plaintext, header, err := client.Decrypt(ctx, msg, cmm, esdk.WithExpectedContext(ec))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(plaintext))
	fmt.Println(header.Suite)
	fmt.Println(header.EncryptionContext["tenant"])
	// Output:
	// 4111 1111 1111 1111
	// AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
	// acme
}

// The unsigned committing suite is several times faster for small values:
// use it where every party that can encrypt is trusted, such as field-level
// encryption inside one service.
func ExampleWithSuite() {
	key := make([]byte, 32)
	rand.Read(key)
	keyring, _ := esdk.NewRawAESKeyring("my-service", "fields", key)
	cmm, _ := esdk.NewDefaultCMM(keyring)
	client, _ := esdk.NewClient()

	msg, err := client.Encrypt(context.Background(), []byte(`"123-45-6789"`), cmm,
		esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		log.Fatal(err)
	}
	pt, h, err := client.Decrypt(context.Background(), msg, cmm)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt), h.Suite, len(msg))
	// Output: "123-45-6789" AES_256_GCM_HKDF_SHA512_COMMIT_KEY 235
}

// A message encrypted under two keys decrypts with either one alone.
func ExampleNewMultiKeyring() {
	primary, _ := esdk.NewRawAESKeyring("my-service", "primary", make([]byte, 32))
	backupKey := make([]byte, 32)
	backupKey[0] = 1
	backup, _ := esdk.NewRawAESKeyring("my-service", "backup", backupKey)
	both, err := esdk.NewMultiKeyring(primary, backup)
	if err != nil {
		log.Fatal(err)
	}
	cmm, _ := esdk.NewDefaultCMM(both)
	client, _ := esdk.NewClient()
	msg, err := client.Encrypt(context.Background(), []byte("hello"), cmm)
	if err != nil {
		log.Fatal(err)
	}

	backupOnly, _ := esdk.NewDefaultCMM(backup)
	pt, h, err := client.Decrypt(context.Background(), msg, backupOnly)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt), len(h.EncryptedDataKeys))
	// Output: hello 2
}

// WithExpectedContext refuses a message whose encryption context differs,
// before any key is used. The error names the keys, never the values.
func ExampleWithExpectedContext() {
	keyring, _ := esdk.NewRawAESKeyring("my-service", "key", make([]byte, 32))
	cmm, _ := esdk.NewDefaultCMM(keyring)
	client, _ := esdk.NewClient()
	msg, _ := client.Encrypt(context.Background(), []byte("hello"), cmm,
		esdk.WithEncryptionContext(map[string]string{"tenant": "acme", "purpose": "billing"}))

	_, _, err := client.Decrypt(context.Background(), msg, cmm,
		esdk.WithExpectedContext(map[string]string{"tenant": "globex", "purpose": "billing"}))
	var mismatch *esdk.ContextMismatchError
	fmt.Println(errors.As(err, &mismatch), mismatch.Keys)
	fmt.Println(err)
	// Output:
	// true [tenant]
	// esdk: the encryption context does not match the message's (keys "tenant")
}

// Errors tell a wrong key from a damaged message.
func ExampleClient_Decrypt_errors() {
	keyring, _ := esdk.NewRawAESKeyring("my-service", "key", make([]byte, 32))
	cmm, _ := esdk.NewDefaultCMM(keyring)
	client, _ := esdk.NewClient()
	msg, _ := client.Encrypt(context.Background(), []byte("hello"), cmm)

	otherKey := make([]byte, 32)
	otherKey[0] = 1
	other, _ := esdk.NewRawAESKeyring("my-service", "key", otherKey)
	otherCMM, _ := esdk.NewDefaultCMM(other)
	_, _, err := client.Decrypt(context.Background(), msg, otherCMM)
	fmt.Println(errors.Is(err, esdk.ErrNoDecryptKey))

	msg[len(msg)-110] ^= 1 // a byte of the body's last tag
	_, _, err = client.Decrypt(context.Background(), msg, cmm)
	fmt.Println(err)
	// Output:
	// true
	// esdk: invalid or tampered message
}
