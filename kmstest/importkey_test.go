package kmstest_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/datamask/datamask/kmstest"
)

// A blob made by one server decrypts on another server given the same key
// id and secret, and only there.
func TestImportKeyReplays(t *testing.T) {
	t.Parallel()
	const keyID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	secret := bytes.Repeat([]byte{7}, 32)
	client := func(srv *kmstest.Server) *kms.Client {
		return kms.New(kms.Options{
			Region:       srv.Region(),
			BaseEndpoint: aws.String(srv.URL()),
			Credentials:  credentials.NewStaticCredentialsProvider(kmstest.AccessKeyID, kmstest.SecretAccessKey, ""),
		})
	}
	ctx := context.Background()
	ec := map[string]string{"table": "t"}

	first := kmstest.Start(t)
	arn, err := first.ImportKey(keyID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:kms:us-east-1:111122223333:key/" + keyID; arn != want {
		t.Fatalf("ImportKey() = %q, want %q", arn, want)
	}
	gen, err := client(first).GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(arn), NumberOfBytes: aws.Int32(32), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if got := first.Calls(kmstest.OpGenerateDataKey); got != 1 {
		t.Errorf("Calls(GenerateDataKey) = %d, want 1", got)
	}

	second := kmstest.Start(t)
	if _, err := second.ImportKey(keyID, secret); err != nil {
		t.Fatal(err)
	}
	out, err := client(second).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: ec, KeyId: aws.String(arn)})
	if err != nil {
		t.Fatalf("Decrypt on a second server with the same key: %v", err)
	}
	if !bytes.Equal(out.Plaintext, gen.Plaintext) || aws.ToString(out.KeyId) != arn {
		t.Errorf("Decrypt on a second server: wrong plaintext or key %q", aws.ToString(out.KeyId))
	}

	other := kmstest.Start(t)
	if _, err := other.ImportKey(keyID, bytes.Repeat([]byte{8}, 32)); err != nil {
		t.Fatal(err)
	}
	_, err = client(other).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: ec})
	var invalid *types.InvalidCiphertextException
	if !errors.As(err, &invalid) {
		t.Errorf("Decrypt under another secret = %v, want InvalidCiphertextException", err)
	}
}

func TestImportKeyErrors(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	const keyID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	if _, err := srv.ImportKey(keyID, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, keyID string
		secret      []byte
		want        string
	}{
		{"not a UUID", "alias/x", make([]byte, 32), "not a UUID"},
		{"short secret", "1f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", make([]byte, 16), "want 32"},
		{"duplicate", keyID, make([]byte, 32), "already has key"},
	} {
		_, err := srv.ImportKey(tc.keyID, tc.secret)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ImportKey() = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if got := len(srv.Keys()); got != 1 {
		t.Errorf("len(Keys()) = %d after refused imports, want 1", got)
	}
}
