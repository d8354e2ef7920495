package awskms_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

// Encrypt under two KMS keys with data key caching, then decrypt with the
// second key alone. The fake KMS of package kmstest stands in for AWS KMS;
// in production, build the client with config.LoadDefaultConfig and
// kms.NewFromConfig.
func Example() {
	srv, err := kmstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	key1, key2 := srv.CreateKey(), srv.CreateKey()
	client := kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("any", "thing", ""),
	})

	keyring, err := awskms.NewKeyring(client, []string{key1, key2})
	if err != nil {
		log.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(keyring)
	if err != nil {
		log.Fatal(err)
	}
	cache, err := esdk.NewCachingCMM(cmm)
	if err != nil {
		log.Fatal(err)
	}
	c, err := esdk.NewClient()
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	ec := map[string]string{"tenant": "acme"}
	var messages [][]byte
	for _, ssn := range []string{"123-45-6789", "987-65-4321", "555-55-5555"} {
		msg, err := c.Encrypt(ctx, []byte(ssn), cache, esdk.WithEncryptionContext(ec), esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
		if err != nil {
			log.Fatal(err)
		}
		messages = append(messages, msg)
	}
	fmt.Println("3 encrypts:", srv.Calls(kmstest.OpGenerateDataKey), "GenerateDataKey,", srv.Calls(kmstest.OpEncrypt), "Encrypt")

	reader, err := awskms.NewKeyring(client, []string{key2})
	if err != nil {
		log.Fatal(err)
	}
	readerCMM, err := esdk.NewDefaultCMM(reader)
	if err != nil {
		log.Fatal(err)
	}
	readerCache, err := esdk.NewCachingCMM(readerCMM)
	if err != nil {
		log.Fatal(err)
	}
	for _, msg := range messages {
		pt, _, err := c.Decrypt(ctx, msg, readerCache, esdk.WithExpectedContext(ec))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(pt))
	}
	fmt.Println("3 decrypts:", srv.Calls(kmstest.OpDecrypt), "Decrypt")
	// Output:
	// 3 encrypts: 1 GenerateDataKey, 1 Encrypt
	// 123-45-6789
	// 987-65-4321
	// 555-55-5555
	// 3 decrypts: 1 Decrypt
}

// KMS errors keep the AWS error reachable: here the key is disabled.
func Example_errors() {
	srv, err := kmstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	key := srv.CreateKey()
	client := kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("any", "thing", ""),
	})
	keyring, err := awskms.NewKeyring(client, []string{key})
	if err != nil {
		log.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(keyring)
	if err != nil {
		log.Fatal(err)
	}
	c, err := esdk.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.DisableKey(key); err != nil {
		log.Fatal(err)
	}

	_, err = c.Encrypt(context.Background(), []byte("secret"), cmm)
	var disabled *types.DisabledException
	fmt.Println("encrypt key error:", errors.Is(err, esdk.ErrEncryptKey))
	fmt.Println("key disabled:", errors.As(err, &disabled))

	_, err = awskms.NewKeyring(client, []string{"alias/my-key"})
	fmt.Println(err != nil)
	// Output:
	// encrypt key error: true
	// key disabled: true
	// true
}

// Values encrypted with AWS KMS directly, as AWS's guidance for Lambda
// shows (kms.Encrypt of a string, base64 of the CiphertextBlob): read them
// with a DirectProvider, then encrypt them again with envelope encryption,
// which needs one KMS call for many values instead of one per value.
func ExampleNewDirectProvider() {
	srv, err := kmstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	key := srv.CreateKey()
	client := kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("any", "thing", ""),
	})
	ctx := context.Background()
	ec := map[string]string{"table": "customers"}

	// What another service stored.
	out, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("123-45-6789"), EncryptionContext: ec})
	if err != nil {
		log.Fatal(err)
	}
	stored := []byte(`{"id": 7, "ssn": "` + base64.StdEncoding.EncodeToString(out.CiphertextBlob) + `"}`)

	direct, err := awskms.NewDirectProvider(client, key)
	if err != nil {
		log.Fatal(err)
	}
	reader, err := datamask.New(datamask.WithProvider(direct))
	if err != nil {
		log.Fatal(err)
	}
	fields := datamask.Fields("ssn")
	plain, err := reader.Decrypt(ctx, stored, fields, datamask.EncryptionContext(ec))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(plain))

	keyring, err := awskms.NewKeyring(client, []string{key})
	if err != nil {
		log.Fatal(err)
	}
	envelope, err := datamask.NewESDKProvider(keyring)
	if err != nil {
		log.Fatal(err)
	}
	writer, err := datamask.New(datamask.WithProvider(envelope))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := writer.Encrypt(ctx, plain, fields, datamask.EncryptionContext(ec)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("KMS Decrypt calls:", srv.Calls(kmstest.OpDecrypt), "GenerateDataKey calls:", srv.Calls(kmstest.OpGenerateDataKey))
	// Output:
	// {"id": 7, "ssn": "123-45-6789"}
	// KMS Decrypt calls: 1 GenerateDataKey calls: 1
}
