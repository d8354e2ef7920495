package esdk_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"time"

	"github.com/datamask/datamask/esdk"
)

// countingKeyring counts the data keys a keyring generates; with a KMS
// keyring each one is a GenerateDataKey call.
type countingKeyring struct {
	esdk.Keyring
	generated int
}

func (k *countingKeyring) OnEncrypt(ctx context.Context, m *esdk.EncryptionMaterials) error {
	k.generated++
	return k.Keyring.OnEncrypt(ctx, m)
}

// A caching materials manager reuses one data key for many messages: here
// three messages under the same encryption context cost the keyring one
// data key. With an AWS KMS keyring (package awskms) that is one KMS call
// per five minutes (the default max age) instead of one per message.
func ExampleNewCachingCMM() {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		log.Fatal(err)
	}
	aes, err := esdk.NewRawAESKeyring("my-service", "key-1", key)
	if err != nil {
		log.Fatal(err)
	}
	keyring := &countingKeyring{Keyring: aes}
	cmm, err := esdk.NewDefaultCMM(keyring)
	if err != nil {
		log.Fatal(err)
	}
	cache, err := esdk.NewCachingCMM(cmm, esdk.WithCacheMaxAge(time.Minute), esdk.WithCacheMaxMessages(1000))
	if err != nil {
		log.Fatal(err)
	}
	client, err := esdk.NewClient()
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	ec := esdk.WithEncryptionContext(map[string]string{"tenant": "acme"})
	for _, s := range []string{"alice", "bob", "carol"} {
		if _, err := client.Encrypt(ctx, []byte(s), cache, ec); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("data keys generated:", keyring.generated)
	fmt.Println(cache)
	// Output:
	// data keys generated: 1
	// esdk.CachingCMM{Capacity: 100, MaxAge: 1m0s, MaxMessages: 1000, MaxBytes: 9223372036854775807}
}
