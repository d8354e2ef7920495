package kmstest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/datamask/datamask/kmstest"
)

// Point an aws-sdk-go-v2 KMS client at the fake with BaseEndpoint, then
// count the calls your code made. In a test, use kmstest.Start(t) instead of
// NewServer and Close.
func Example() {
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
	ctx := context.Background()
	ec := map[string]string{"tenant": "acme"}
	dk, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(keyARN), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec,
	})
	if err != nil {
		log.Fatal(err)
	}
	dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same data key:", bytes.Equal(dec.Plaintext, dk.Plaintext))
	fmt.Println("named by ARN:", aws.ToString(dec.KeyId) == keyARN)

	// The encryption context is bound to the ciphertext.
	_, err = client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	var invalid *types.InvalidCiphertextException
	fmt.Println("without the context:", errors.As(err, &invalid))

	fmt.Println("calls:", srv.Calls(kmstest.OpGenerateDataKey), "GenerateDataKey,", srv.Calls(kmstest.OpDecrypt), "Decrypt")
	// Output:
	// same data key: true
	// named by ARN: true
	// without the context: true
	// calls: 1 GenerateDataKey, 2 Decrypt
}

// A disabled key is refused as AWS KMS refuses it; the AWS error is
// reachable as a smithy.APIError.
func ExampleServer_DisableKey() {
	srv, err := kmstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	keyARN := srv.CreateKey()
	if err := srv.DisableKey(keyARN); err != nil {
		log.Fatal(err)
	}

	client := kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("any", "thing", ""),
	})
	_, err = client.Encrypt(context.Background(), &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.ErrorCode())
	}
	// Output: DisabledException
}

// Throttle the next calls of an operation: the SDK's retryer retries them,
// and every attempt counts.
func ExampleServer_Throttle() {
	srv, err := kmstest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	keyARN := srv.CreateKey()
	client := newClient(srv) // the standard retryer, 3 attempts, with a 1ms backoff

	srv.Throttle(kmstest.OpGenerateDataKey, 2)
	_, err = client.GenerateDataKey(context.Background(), &kms.GenerateDataKeyInput{
		KeyId: aws.String(keyARN), KeySpec: types.DataKeySpecAes256,
	})
	fmt.Println("error:", err)
	fmt.Println("attempts:", srv.Calls(kmstest.OpGenerateDataKey))
	// Output:
	// error: <nil>
	// attempts: 3
}

// Env gives the variables that point a subprocess (a Node.js or Python
// program, the AWS CLI) at the fake: add them to exec.Cmd.Env.
func ExampleServer_Env() {
	srv, err := kmstest.NewServer(kmstest.WithRegion("eu-west-1"))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	env := srv.Env()
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if k == "AWS_ENDPOINT_URL_KMS" {
			fmt.Println(k, "=", env[k] == srv.URL())
			continue
		}
		fmt.Println(k, "=", env[k])
	}
	// Output:
	// AWS_ACCESS_KEY_ID = kmstest
	// AWS_DEFAULT_REGION = eu-west-1
	// AWS_EC2_METADATA_DISABLED = true
	// AWS_ENDPOINT_URL_KMS = true
	// AWS_REGION = eu-west-1
	// AWS_SECRET_ACCESS_KEY = kmstest
}
