package kmstest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/datamask/datamask/kmstest"
)

// newClient returns an aws-sdk-go-v2 KMS client for srv through BaseEndpoint,
// with the SDK's standard retryer (3 attempts) but a 1 ms backoff and no
// retry quota, so retry tests run fast and deterministically.
func newClient(srv *kmstest.Server, optFns ...func(*kms.Options)) *kms.Client {
	return kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "not-a-secret", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		}),
	}, optFns...)
}

func TestOperations(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t, kmstest.WithRegion("eu-west-3"), kmstest.WithAccount("123456789012"))
	client := newClient(srv)
	ctx := t.Context()

	created, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("sdk test")})
	if err != nil {
		t.Fatalf("CreateKey() = %v, want a key", err)
	}
	md := created.KeyMetadata
	keyID, arn := aws.ToString(md.KeyId), aws.ToString(md.Arn)
	if want := "arn:aws:kms:eu-west-3:123456789012:key/" + keyID; arn != want {
		t.Errorf("CreateKey().Arn = %q, want %q", arn, want)
	}
	if !md.Enabled || md.KeyState != types.KeyStateEnabled || md.KeyUsage != types.KeyUsageTypeEncryptDecrypt ||
		md.KeySpec != types.KeySpecSymmetricDefault || aws.ToString(md.Description) != "sdk test" ||
		aws.ToString(md.AWSAccountId) != "123456789012" || md.CreationDate == nil ||
		time.Since(*md.CreationDate) > time.Minute || time.Since(*md.CreationDate) < -time.Minute {
		t.Errorf("CreateKey().KeyMetadata = %+v, want an enabled symmetric key created now", md)
	}
	if got := srv.Keys(); !slices.Equal(got, []string{arn}) {
		t.Errorf("Keys() = %v, want [%s]", got, arn)
	}

	for _, id := range []string{keyID, arn} {
		d, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		if err != nil || aws.ToString(d.KeyMetadata.Arn) != arn {
			t.Errorf("DescribeKey(%q) = %v, %v, want key %s", id, d, err, arn)
		}
	}

	ec := map[string]string{"tenant": "acme", "purpose": "test"}
	for _, tt := range []struct {
		name string
		in   kms.GenerateDataKeyInput
		want int
	}{
		{"AES_256", kms.GenerateDataKeyInput{KeySpec: types.DataKeySpecAes256}, 32},
		{"AES_128", kms.GenerateDataKeyInput{KeySpec: types.DataKeySpecAes128}, 16},
		{"NumberOfBytes", kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(48)}, 48},
	} {
		t.Run("GenerateDataKey/"+tt.name, func(t *testing.T) {
			in := tt.in
			in.KeyId, in.EncryptionContext = aws.String(keyID), ec
			out, err := client.GenerateDataKey(ctx, &in)
			if err != nil {
				t.Fatalf("GenerateDataKey(%s) = %v", tt.name, err)
			}
			if len(out.Plaintext) != tt.want || aws.ToString(out.KeyId) != arn {
				t.Fatalf("GenerateDataKey(%s) = %d bytes under %q, want %d under %q", tt.name, len(out.Plaintext), aws.ToString(out.KeyId), tt.want, arn)
			}
			dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec, KeyId: aws.String(arn)})
			if err != nil || !bytes.Equal(dec.Plaintext, out.Plaintext) || aws.ToString(dec.KeyId) != arn {
				t.Fatalf("Decrypt(data key) = %v, want the data key under %s", err, arn)
			}
		})
	}

	enc, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: []byte("hello"), EncryptionContext: ec})
	if err != nil {
		t.Fatalf("Encrypt() = %v", err)
	}
	if aws.ToString(enc.KeyId) != arn || enc.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
		t.Errorf("Encrypt() = KeyId %q, algorithm %q, want %q, SYMMETRIC_DEFAULT", aws.ToString(enc.KeyId), enc.EncryptionAlgorithm, arn)
	}
	dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if err != nil || string(dec.Plaintext) != "hello" || aws.ToString(dec.KeyId) != arn || dec.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
		t.Errorf("Decrypt() = %+v, %v, want hello under %s", dec, err, arn)
	}

	// DisableKey and EnableKey over the protocol, by ARN and by key id.
	if _, err := client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatalf("DisableKey(ARN) = %v", err)
	}
	d, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
	if err != nil || d.KeyMetadata.Enabled || d.KeyMetadata.KeyState != types.KeyStateDisabled {
		t.Errorf("DescribeKey(disabled) = %+v, %v, want Disabled", d, err)
	}
	if _, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec}); !isAPIError(err, "DisabledException") {
		t.Errorf("Decrypt(disabled key) = %v, want DisabledException", err)
	}
	if _, err := client.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatalf("EnableKey(key id) = %v", err)
	}
	if _, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec}); err != nil {
		t.Errorf("Decrypt(enabled again) = %v, want success", err)
	}
}

func isAPIError(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// TestErrors checks each error path through the SDK: the error code, the
// SDK's typed error (reachable with errors.As) and the HTTP status.
func TestErrors(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	other := kmstest.Start(t)
	client := newClient(srv)
	ctx := t.Context()
	a, b, off := srv.CreateKey(), srv.CreateKey(), srv.CreateKey()
	if err := srv.DisableKey(off); err != nil {
		t.Fatal(err)
	}
	aID := a[strings.LastIndexByte(a, '/')+1:]
	ec := map[string]string{"k": "v"}
	blob := encrypt(t, client, a, "secret", ec)
	offBlob := func() []byte {
		if err := srv.EnableKey(off); err != nil {
			t.Fatal(err)
		}
		defer srv.DisableKey(off)
		return encrypt(t, client, off, "secret", nil)
	}()
	foreign := encrypt(t, newClient(other), other.CreateKey(), "secret", ec)
	flipped := slices.Clone(blob)
	flipped[len(flipped)/2] ^= 1

	unknownARN := "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000"
	gdk := func(in kms.GenerateDataKeyInput) func() error {
		return func() error { _, err := client.GenerateDataKey(ctx, &in); return err }
	}
	encryptIn := func(in kms.EncryptInput) func() error {
		return func() error { _, err := client.Encrypt(ctx, &in); return err }
	}
	decryptIn := func(in kms.DecryptInput) func() error {
		return func() error { _, err := client.Decrypt(ctx, &in); return err }
	}
	describe := func(id string) func() error {
		return func() error {
			_, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
			return err
		}
	}

	var (
		notFound   *types.NotFoundException
		invalidCT  *types.InvalidCiphertextException
		incorrect  *types.IncorrectKeyException
		disabledEx *types.DisabledException
		dryRun     *types.DryRunOperationException
		keyUsage   *types.InvalidKeyUsageException
		grantToken *types.InvalidGrantTokenException
		unsupport  *types.UnsupportedOperationException
	)
	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
		typed  any // pointer to the SDK's typed error, or nil
	}{
		{"DescribeKey/UnknownARN", describe(unknownARN), "NotFoundException", 400, &notFound},
		{"DescribeKey/UnknownKeyID", describe("00000000-0000-4000-8000-000000000000"), "NotFoundException", 400, &notFound},
		{"DescribeKey/Malformed", describe("not-a-key"), "NotFoundException", 400, &notFound},
		{"DescribeKey/OtherRegion", describe(strings.Replace(a, "us-east-1", "us-west-2", 1)), "NotFoundException", 400, &notFound},
		{"DescribeKey/OtherAccount", describe(strings.Replace(a, "111122223333", "444455556666", 1)), "NotFoundException", 400, &notFound},
		{"DescribeKey/OtherPartition", describe(strings.Replace(a, "arn:aws:", "arn:aws-cn:", 1)), "NotFoundException", 400, &notFound},
		{"DescribeKey/Alias", describe("alias/mine"), "NotFoundException", 400, &notFound},
		{"DescribeKey/AliasARN", describe("arn:aws:kms:us-east-1:111122223333:alias/mine"), "NotFoundException", 400, &notFound},
		{"GenerateDataKey/Unknown", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(unknownARN), KeySpec: types.DataKeySpecAes256}), "NotFoundException", 400, &notFound},
		{"GenerateDataKey/Alias", gdk(kms.GenerateDataKeyInput{KeyId: aws.String("alias/x"), KeySpec: types.DataKeySpecAes256}), "NotFoundException", 400, &notFound},
		{"GenerateDataKey/Both", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(a), KeySpec: types.DataKeySpecAes256, NumberOfBytes: aws.Int32(32)}), "ValidationException", 400, nil},
		{"GenerateDataKey/Neither", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(a)}), "ValidationException", 400, nil},
		{"GenerateDataKey/Zero", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(a), NumberOfBytes: aws.Int32(0)}), "ValidationException", 400, nil},
		{"GenerateDataKey/1025", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(a), NumberOfBytes: aws.Int32(1025)}), "ValidationException", 400, nil},
		{"GenerateDataKey/AES_512", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(a), KeySpec: "AES_512"}), "ValidationException", 400, nil},
		{"GenerateDataKey/Disabled", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(off), KeySpec: types.DataKeySpecAes256}), "DisabledException", 409, &disabledEx},
		{"GenerateDataKey/DryRun", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(a), KeySpec: types.DataKeySpecAes256, DryRun: aws.Bool(true)}), "DryRunOperationException", 412, &dryRun},
		{"GenerateDataKey/11GrantTokens", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(a), KeySpec: types.DataKeySpecAes256, GrantTokens: make([]string, 11)}), "ValidationException", 400, nil},
		{"GenerateDataKey/EmptyGrantToken", gdk(kms.GenerateDataKeyInput{KeyId: aws.String(a), KeySpec: types.DataKeySpecAes256, GrantTokens: []string{""}}), "InvalidGrantTokenException", 400, &grantToken},
		{"Encrypt/Unknown", encryptIn(kms.EncryptInput{KeyId: aws.String(unknownARN), Plaintext: []byte("x")}), "NotFoundException", 400, &notFound},
		{"Encrypt/Disabled", encryptIn(kms.EncryptInput{KeyId: aws.String(off), Plaintext: []byte("x")}), "DisabledException", 409, &disabledEx},
		{"Encrypt/Empty", encryptIn(kms.EncryptInput{KeyId: aws.String(a), Plaintext: []byte{}}), "ValidationException", 400, nil},
		{"Encrypt/4097", encryptIn(kms.EncryptInput{KeyId: aws.String(a), Plaintext: make([]byte, 4097)}), "ValidationException", 400, nil},
		{"Encrypt/RSAAlgorithm", encryptIn(kms.EncryptInput{KeyId: aws.String(a), Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256}), "InvalidKeyUsageException", 400, &keyUsage},
		{"Encrypt/UnknownAlgorithm", encryptIn(kms.EncryptInput{KeyId: aws.String(a), Plaintext: []byte("x"), EncryptionAlgorithm: "ROT13"}), "ValidationException", 400, nil},
		{"Decrypt/WrongContext", decryptIn(kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: map[string]string{"k": "w"}}), "InvalidCiphertextException", 400, &invalidCT},
		{"Decrypt/NoContext", decryptIn(kms.DecryptInput{CiphertextBlob: blob}), "InvalidCiphertextException", 400, &invalidCT},
		{"Decrypt/ExtraContext", decryptIn(kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: map[string]string{"k": "v", "x": "y"}}), "InvalidCiphertextException", 400, &invalidCT},
		{"Decrypt/Tampered", decryptIn(kms.DecryptInput{CiphertextBlob: flipped, EncryptionContext: ec}), "InvalidCiphertextException", 400, &invalidCT},
		{"Decrypt/Truncated", decryptIn(kms.DecryptInput{CiphertextBlob: blob[:20], EncryptionContext: ec}), "InvalidCiphertextException", 400, &invalidCT},
		{"Decrypt/OtherServer", decryptIn(kms.DecryptInput{CiphertextBlob: foreign, EncryptionContext: ec}), "InvalidCiphertextException", 400, &invalidCT},
		{"Decrypt/IncorrectKeyARN", decryptIn(kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec, KeyId: aws.String(b)}), "IncorrectKeyException", 400, &incorrect},
		{"Decrypt/UnknownKeyId", decryptIn(kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec, KeyId: aws.String(unknownARN)}), "NotFoundException", 400, &notFound},
		{"Decrypt/Disabled", decryptIn(kms.DecryptInput{CiphertextBlob: offBlob}), "DisabledException", 409, &disabledEx},
		{"Decrypt/DisabledNamed", decryptIn(kms.DecryptInput{CiphertextBlob: offBlob, KeyId: aws.String(off)}), "DisabledException", 409, &disabledEx},
		{"Decrypt/TooLarge", decryptIn(kms.DecryptInput{CiphertextBlob: make([]byte, 6145)}), "ValidationException", 400, nil},
		{"Decrypt/DryRun", decryptIn(kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec, DryRun: aws.Bool(true)}), "DryRunOperationException", 412, &dryRun},
		{"Decrypt/DryRunWrongContext", decryptIn(kms.DecryptInput{CiphertextBlob: blob, DryRun: aws.Bool(true)}), "InvalidCiphertextException", 400, &invalidCT},
		{"CreateKey/SignVerify", func() error {
			_, err := client.CreateKey(ctx, &kms.CreateKeyInput{KeyUsage: types.KeyUsageTypeSignVerify, KeySpec: types.KeySpecEccNistP256})
			return err
		}, "UnsupportedOperationException", 400, &unsupport},
		{"DisableKey/Unknown", func() error {
			_, err := client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(unknownARN)})
			return err
		}, "NotFoundException", 400, &notFound},
		{"EnableKey/Alias", func() error {
			_, err := client.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String("alias/x")})
			return err
		}, "NotFoundException", 400, &notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !isAPIError(err, tt.code) || httpStatus(err) != tt.status {
				t.Fatalf("%s = %v (HTTP %d), want %s (HTTP %d)", tt.name, err, httpStatus(err), tt.code, tt.status)
			}
			if tt.typed != nil && !errors.As(err, tt.typed) {
				t.Errorf("errors.As(%v, %T) = false, want true", err, tt.typed)
			}
		})
	}
	// The decrypt of the correct key id form still works after all this.
	dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec, KeyId: aws.String(aID)})
	if err != nil || string(dec.Plaintext) != "secret" {
		t.Errorf("Decrypt(KeyId %q) = %v, want the plaintext", aID, err)
	}
}

func encrypt(t *testing.T, client *kms.Client, keyID, plaintext string, ec map[string]string) []byte {
	t.Helper()
	out, err := client.Encrypt(t.Context(), &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte(plaintext), EncryptionContext: ec})
	if err != nil {
		t.Fatalf("Encrypt(%s) = %v", keyID, err)
	}
	return out.CiphertextBlob
}

// TestEnvironment configures the SDK only through the variables of
// Server.Env and config.LoadDefaultConfig, as a user's unchanged code would.
func TestEnvironment(t *testing.T) {
	srv := kmstest.Start(t, kmstest.WithRegion("ap-southeast-2"))
	key := srv.CreateKey()
	// Keep this machine's AWS configuration out of the test.
	dir := t.TempDir()
	for name, value := range map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_PROFILE":                 "",
		"AWS_SESSION_TOKEN":           "",
		"AWS_ENDPOINT_URL":            "",
	} {
		t.Setenv(name, value)
	}
	for name, value := range srv.Env() {
		t.Setenv(name, value)
	}
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatalf("LoadDefaultConfig() = %v", err)
	}
	client := kms.NewFromConfig(cfg)
	out, err := client.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String(key), KeySpec: types.DataKeySpecAes256})
	if err != nil {
		t.Fatalf("GenerateDataKey() through AWS_ENDPOINT_URL_KMS = %v", err)
	}
	if aws.ToString(out.KeyId) != key || srv.Calls(kmstest.OpGenerateDataKey) != 1 {
		t.Errorf("GenerateDataKey() = key %q, %d calls, want %q, 1 call", aws.ToString(out.KeyId), srv.Calls(kmstest.OpGenerateDataKey), key)
	}
}

// TestWrongRegion shows a client configured for another Region fails, as
// against AWS, instead of silently working.
func TestWrongRegion(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	key := srv.CreateKey()
	client := newClient(srv, func(o *kms.Options) { o.Region = "eu-central-1" })
	_, err := client.Encrypt(t.Context(), &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x")})
	if !isAPIError(err, "InvalidSignatureException") {
		t.Errorf("Encrypt(wrong Region) = %v, want InvalidSignatureException", err)
	}
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	key := srv.CreateKey()
	client := newClient(srv)
	ctx := t.Context()
	gdk := func() error {
		_, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(key), KeySpec: types.DataKeySpecAes256})
		return err
	}

	t.Run("RetriedBySDK", func(t *testing.T) {
		srv.ResetCalls()
		srv.Throttle(kmstest.OpGenerateDataKey, 2)
		if err := gdk(); err != nil {
			t.Fatalf("GenerateDataKey() after 2 throttles = %v, want success on the third attempt", err)
		}
		if got := srv.Calls(kmstest.OpGenerateDataKey); got != 3 {
			t.Errorf("Calls(GenerateDataKey) = %d, want 3", got)
		}
		want := []string{"ThrottlingException", "ThrottlingException", ""}
		var got []string
		for _, r := range srv.Requests() {
			got = append(got, r.Error)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Requests() errors = %q, want %q", got, want)
		}
	})

	t.Run("RetriesExhausted", func(t *testing.T) {
		srv.ResetCalls()
		srv.Throttle(kmstest.OpGenerateDataKey, 3)
		err := gdk()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
			t.Fatalf("GenerateDataKey() after 3 throttles = %v, want ThrottlingException as smithy.APIError", err)
		}
		var maxAttempts *retry.MaxAttemptsError
		if !errors.As(err, &maxAttempts) || maxAttempts.Attempt != 3 {
			t.Errorf("GenerateDataKey() = %v, want retry.MaxAttemptsError after 3 attempts", err)
		}
		if got := srv.Calls(kmstest.OpGenerateDataKey); got != 3 {
			t.Errorf("Calls(GenerateDataKey) = %d, want 3", got)
		}
		if err := gdk(); err != nil {
			t.Errorf("GenerateDataKey() once the faults are used up = %v, want success", err)
		}
	})

	t.Run("OnlyThatOperation", func(t *testing.T) {
		srv.ResetCalls()
		srv.Throttle(kmstest.OpDecrypt, 1)
		if err := gdk(); err != nil {
			t.Fatalf("GenerateDataKey() with Decrypt throttled = %v", err)
		}
		if got := srv.Calls(kmstest.OpGenerateDataKey); got != 1 {
			t.Errorf("Calls(GenerateDataKey) = %d, want 1", got)
		}
		srv.ResetFaults()
	})

	t.Run("ServerFaultsRetried", func(t *testing.T) {
		srv.ResetCalls()
		srv.FailNext(kmstest.OpGenerateDataKey, 1, kmstest.Fault{Type: "KMSInternalException", Status: 500, Message: "injected"})
		srv.FailNext(kmstest.OpGenerateDataKey, 1, kmstest.Fault{Type: "DependencyTimeoutException", Status: 503, Message: "injected"})
		if err := gdk(); err != nil {
			t.Fatalf("GenerateDataKey() after a 500 and a 503 = %v, want success", err)
		}
		if got := srv.Calls(kmstest.OpGenerateDataKey); got != 3 {
			t.Errorf("Calls(GenerateDataKey) = %d, want 3", got)
		}
	})

	t.Run("ClientFaultNotRetried", func(t *testing.T) {
		srv.ResetCalls()
		srv.FailNext(kmstest.OpGenerateDataKey, 1, kmstest.Fault{Type: "AccessDeniedException", Status: 400, Message: "injected"})
		err := gdk()
		if !isAPIError(err, "AccessDeniedException") {
			t.Fatalf("GenerateDataKey() = %v, want the injected AccessDeniedException", err)
		}
		if got := srv.Calls(kmstest.OpGenerateDataKey); got != 1 {
			t.Errorf("Calls(GenerateDataKey) = %d, want 1 (not retried)", got)
		}
	})
}

// TestThrottlingDefaultRetryer uses the retryer config.LoadDefaultConfig
// gives, backoff and all.
func TestThrottlingDefaultRetryer(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	key := srv.CreateKey()
	cfg, err := config.LoadDefaultConfig(t.Context(),
		config.WithRegion(srv.Region()),
		config.WithBaseEndpoint(srv.URL()),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("a", "b", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		t.Fatal(err)
	}
	client := kms.NewFromConfig(cfg)
	srv.Throttle(kmstest.OpEncrypt, 1)
	if _, err := client.Encrypt(t.Context(), &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x")}); err != nil {
		t.Fatalf("Encrypt() after 1 throttle with the default retryer = %v, want success", err)
	}
	if got := srv.Calls(kmstest.OpEncrypt); got != 2 {
		t.Errorf("Calls(Encrypt) = %d, want 2", got)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t, kmstest.WithLatency(80*time.Millisecond))
	key := srv.CreateKey()
	client := newClient(srv)
	start := time.Now()
	if _, err := client.Encrypt(t.Context(), &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("Encrypt() with 80ms latency took %v, want at least 80ms", d)
	}
	srv.SetLatency(0)
	start = time.Now()
	if _, err := client.Encrypt(t.Context(), &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Encrypt() with no latency took %v", d)
	}
}

// TestCancellation shows a client that gives up sees its context's error at
// once, and the server drops the request instead of serving it.
func TestCancellation(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t, kmstest.WithLatency(time.Minute))
	client := newClient(srv)
	keysBefore := len(srv.Keys())

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := client.CreateKey(ctx, &kms.CreateKeyInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CreateKey(ctx with 100ms deadline, 1m latency) = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("CreateKey() returned after %v, want about 100ms", d)
	}
	// The server notices the client went away and records the request as
	// dropped; no key was created.
	deadline := time.Now().Add(5 * time.Second)
	for {
		reqs := srv.Requests()
		if len(reqs) == 1 && reqs[0].Error != "" {
			if reqs[0].Op != kmstest.OpCreateKey || reqs[0].Error != "client went away" {
				t.Errorf("Requests() = %+v, want one CreateKey dropped because the client went away", reqs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Requests() = %+v, want the cancelled CreateKey recorded as dropped within 5s", reqs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := len(srv.Keys()); got != keysBefore {
		t.Errorf("len(Keys()) = %d after a cancelled CreateKey, want %d", got, keysBefore)
	}

	// Close does not wait out the latency of requests in flight.
	go client.Encrypt(t.Context(), &kms.EncryptInput{KeyId: aws.String("x"), Plaintext: []byte("x")})
	for srv.Calls(kmstest.OpEncrypt) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start = time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close() with a request waiting took %v", d)
	}
}

// TestConcurrency runs many clients at once against one server while the
// test reads and resets counters, for the race detector.
func TestConcurrency(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	keys := []string{srv.CreateKey(), srv.CreateKey()}
	client := newClient(srv)
	const goroutines, perGoroutine = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			key := keys[g%len(keys)]
			for i := range perGoroutine {
				ec := map[string]string{"g": fmt.Sprint(g), "i": fmt.Sprint(i)}
				out, err := client.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String(key), NumberOfBytes: aws.Int32(32), EncryptionContext: ec})
				if err != nil {
					errs <- err
					return
				}
				dec, err := client.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
				if err != nil || !bytes.Equal(dec.Plaintext, out.Plaintext) {
					errs <- fmt.Errorf("Decrypt(goroutine %d, call %d) = %v, want the data key", g, i, err)
					return
				}
			}
		})
	}
	// Readers and writers of the server's state at the same time.
	var side sync.WaitGroup
	stop := make(chan struct{})
	side.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = srv.CallCounts()
			_ = srv.Requests()
			extra := srv.CreateKey()
			_ = srv.DisableKey(extra)
			_ = srv.Keys()
		}
	})
	wg.Wait()
	close(stop)
	side.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := goroutines * perGoroutine
	if got := srv.CallCounts(); got[kmstest.OpGenerateDataKey] != want || got[kmstest.OpDecrypt] != want {
		t.Errorf("CallCounts() = %v, want %d GenerateDataKey and %d Decrypt", got, want, want)
	}
}

func TestCallsAndRequests(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	key := srv.CreateKey()
	client := newClient(srv)
	ctx := t.Context()
	tokens := []string{"grant-token-1", "grant-token-2"}
	ec := map[string]string{"tenant": "acme"}
	out, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(key), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec, GrantTokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: map[string]string{"tenant": "other"}}); err == nil {
		t.Fatal("Decrypt(wrong context) succeeded")
	}
	if _, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	want := map[kmstest.Op]int{kmstest.OpGenerateDataKey: 1, kmstest.OpDecrypt: 1, kmstest.OpDescribeKey: 1}
	if got := srv.CallCounts(); !maps.Equal(got, want) {
		t.Errorf("CallCounts() = %v, want %v", got, want)
	}
	for _, op := range kmstest.Ops() {
		if got := srv.Calls(op); got != want[op] {
			t.Errorf("Calls(%s) = %d, want %d", op, got, want[op])
		}
	}
	if ops := kmstest.Ops(); len(ops) != 9 {
		t.Errorf("Ops() = %v, want the 9 operations served", ops)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("Requests() = %d entries, want 3", len(reqs))
	}
	if r := reqs[0]; r.Op != kmstest.OpGenerateDataKey || r.KeyID != key || !slices.Equal(r.GrantTokens, tokens) || r.EncryptionContext["tenant"] != "acme" || r.Error != "" {
		t.Errorf("Requests()[0] = %+v, want the GenerateDataKey with its key, context and grant tokens", r)
	}
	if r := reqs[1]; r.Op != kmstest.OpDecrypt || r.KeyID != "" || r.Error != "InvalidCiphertextException" {
		t.Errorf("Requests()[1] = %+v, want the failed Decrypt without KeyId", r)
	}
	// Requests returns copies.
	reqs[0].GrantTokens[0] = "changed"
	if srv.Requests()[0].GrantTokens[0] != "grant-token-1" {
		t.Error("changing Requests()' result changed the server's record")
	}
	srv.ResetCalls()
	if got := srv.CallCounts(); len(got) != 0 || len(srv.Requests()) != 0 {
		t.Errorf("after ResetCalls: CallCounts() = %v, %d requests, want none", got, len(srv.Requests()))
	}
}

func TestRequestsBounded(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	client := newClient(srv)
	for range 1005 {
		client.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String("alias/none")})
	}
	if got := len(srv.Requests()); got != 1000 {
		t.Errorf("len(Requests()) after 1005 requests = %d, want 1000", got)
	}
	if got := srv.Calls(kmstest.OpDescribeKey); got != 1005 {
		t.Errorf("Calls(DescribeKey) = %d, want 1005", got)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	bad := []struct {
		name string
		opts []kmstest.Option
	}{
		{"EmptyRegion", []kmstest.Option{kmstest.WithRegion("")}},
		{"UpperRegion", []kmstest.Option{kmstest.WithRegion("US-EAST-1")}},
		{"RegionWithSlash", []kmstest.Option{kmstest.WithRegion("us/east-1")}},
		{"ShortAccount", []kmstest.Option{kmstest.WithAccount("12345")}},
		{"LetterAccount", []kmstest.Option{kmstest.WithAccount("12345678901a")}},
		{"PublicAddr", []kmstest.Option{kmstest.WithAddr("0.0.0.0:0")}},
		{"HostnameAddr", []kmstest.Option{kmstest.WithAddr("example.com:0")}},
		{"NoPort", []kmstest.Option{kmstest.WithAddr("127.0.0.1")}},
		{"NegativeLatency", []kmstest.Option{kmstest.WithLatency(-time.Second)}},
		{"RegionTwice", []kmstest.Option{kmstest.WithRegion("us-east-1"), kmstest.WithRegion("us-east-2")}},
		{"Nil", []kmstest.Option{nil}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := kmstest.NewServer(tt.opts...)
			if err == nil {
				srv.Close()
				t.Fatalf("NewServer(%s) = nil error, want an error", tt.name)
			}
			if !strings.HasPrefix(err.Error(), "kmstest: ") {
				t.Errorf("NewServer(%s) = %q, want a kmstest: prefix", tt.name, err)
			}
		})
	}
	good := []struct {
		region, partition string
		addr              string
	}{
		{"cn-north-1", "aws-cn", "localhost:0"},
		{"us-gov-west-1", "aws-us-gov", "[::1]:0"},
		{"eu-central-1", "aws", "127.0.0.1:0"},
	}
	for _, tt := range good {
		t.Run(tt.region, func(t *testing.T) {
			srv, err := kmstest.NewServer(kmstest.WithRegion(tt.region), kmstest.WithAddr(tt.addr))
			if err != nil {
				if strings.Contains(tt.addr, "::1") {
					t.Skipf("no IPv6 loopback here: %v", err)
				}
				t.Fatal(err)
			}
			defer srv.Close()
			arn := srv.CreateKey()
			if srv.Partition() != tt.partition || !strings.HasPrefix(arn, "arn:"+tt.partition+":kms:"+tt.region+":111122223333:key/") {
				t.Errorf("CreateKey() = %q, Partition() = %q, want partition %q", arn, srv.Partition(), tt.partition)
			}
			out, err := newClient(srv).DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(arn)})
			if err != nil || aws.ToString(out.KeyMetadata.Arn) != arn {
				t.Errorf("DescribeKey(%q) = %v, want the key", arn, err)
			}
		})
	}
}

func TestGoAPIErrors(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	for _, id := range []string{"", "alias/x", "nope", "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000"} {
		if err := srv.DisableKey(id); err == nil || !strings.HasPrefix(err.Error(), "kmstest: DisableKey: ") {
			t.Errorf("DisableKey(%q) = %v, want a kmstest: DisableKey: error", id, err)
		}
		if err := srv.EnableKey(id); err == nil {
			t.Errorf("EnableKey(%q) = nil, want an error", id)
		}
	}
	panics := []struct {
		name string
		f    func()
	}{
		{"Calls", func() { srv.Calls("Nope") }},
		{"CallsZero", func() { srv.Calls("") }},
		{"Throttle", func() { srv.Throttle("ScheduleKeyDeletion", 1) }},
		{"ThrottleNegative", func() { srv.Throttle(kmstest.OpEncrypt, -1) }},
		{"FailNextNoType", func() { srv.FailNext(kmstest.OpEncrypt, 1, kmstest.Fault{Status: 500}) }},
		{"FailNextStatus200", func() { srv.FailNext(kmstest.OpEncrypt, 1, kmstest.Fault{Type: "X", Status: 200}) }},
		{"SetLatencyNegative", func() { srv.SetLatency(-1) }},
	}
	for _, tt := range panics {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tt.name)
				}
			}()
			tt.f()
		})
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	srv, err := kmstest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	key := srv.CreateKey()
	client := newClient(srv, func(o *kms.Options) { o.Retryer = aws.NopRetryer{} })
	if err := srv.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close() = %v, want nil", err)
	}
	_, err = client.Encrypt(t.Context(), &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x")})
	var opErr *smithy.OperationError
	var apiErr smithy.APIError
	if err == nil || !errors.As(err, &opErr) || errors.As(err, &apiErr) {
		t.Errorf("Encrypt() after Close = %v, want a connection error", err)
	}
	if resp, err := http.Get(srv.URL()); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s after Close succeeded, want a connection error", srv.URL())
	}
}

// TestBranchKeyOperations drives GenerateDataKeyWithoutPlaintext and
// ReEncrypt through the AWS SDK for Go v2 as the branch key store calls
// them: a key generated without plaintext under one context, re-encrypted
// to another context of the same key (checking the source context), both
// decrypting to the same key; and the requests recorded with their source
// and destination keys and contexts.
func TestBranchKeyOperations(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	client := newClient(srv)
	ctx := t.Context()
	key, other := srv.CreateKey(), srv.CreateKey()
	decryptOnly := map[string]string{"branch-key-id": "b1", "type": "branch:version:v1"}
	active := map[string]string{"branch-key-id": "b1", "type": "branch:ACTIVE", "version": "branch:version:v1"}

	gen, err := client.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId: aws.String(key), NumberOfBytes: aws.Int32(32), EncryptionContext: decryptOnly, GrantTokens: []string{"g"},
	})
	if err != nil {
		t.Fatalf("GenerateDataKeyWithoutPlaintext() = %v", err)
	}
	if aws.ToString(gen.KeyId) != key || len(gen.CiphertextBlob) == 0 {
		t.Fatalf("GenerateDataKeyWithoutPlaintext() = KeyId %q, %d-byte blob; want %q and a blob", aws.ToString(gen.KeyId), len(gen.CiphertextBlob), key)
	}
	re, err := client.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: gen.CiphertextBlob, SourceKeyId: aws.String(key), SourceEncryptionContext: decryptOnly,
		DestinationKeyId: aws.String(key), DestinationEncryptionContext: active,
	})
	if err != nil {
		t.Fatalf("ReEncrypt() = %v", err)
	}
	if aws.ToString(re.KeyId) != key || aws.ToString(re.SourceKeyId) != key ||
		re.SourceEncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault ||
		re.DestinationEncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
		t.Errorf("ReEncrypt() = KeyId %q, SourceKeyId %q, algorithms %q %q; want %q twice, SYMMETRIC_DEFAULT twice",
			aws.ToString(re.KeyId), aws.ToString(re.SourceKeyId), re.SourceEncryptionAlgorithm, re.DestinationEncryptionAlgorithm, key)
	}
	a, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: decryptOnly, KeyId: aws.String(key)})
	if err != nil {
		t.Fatalf("Decrypt(generated) = %v", err)
	}
	b, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: active, KeyId: aws.String(key)})
	if err != nil {
		t.Fatalf("Decrypt(re-encrypted) = %v", err)
	}
	if len(a.Plaintext) != 32 || !bytes.Equal(a.Plaintext, b.Plaintext) {
		t.Errorf("Decrypt() of the generated and re-encrypted blobs = %d and %d bytes, want the same 32", len(a.Plaintext), len(b.Plaintext))
	}

	// Failures, with the SDK's error types.
	_, err = client.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gen.CiphertextBlob, SourceEncryptionContext: active, DestinationKeyId: aws.String(key)})
	var badCiphertext *types.InvalidCiphertextException
	if !errors.As(err, &badCiphertext) {
		t.Errorf("ReEncrypt(wrong source context) = %v, want InvalidCiphertextException", err)
	}
	_, err = client.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gen.CiphertextBlob, SourceEncryptionContext: decryptOnly,
		SourceKeyId: aws.String(other), DestinationKeyId: aws.String(key)})
	var incorrect *types.IncorrectKeyException
	if !errors.As(err, &incorrect) {
		t.Errorf("ReEncrypt(another SourceKeyId) = %v, want IncorrectKeyException", err)
	}
	if err := srv.DisableKey(other); err != nil {
		t.Fatal(err)
	}
	_, err = client.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gen.CiphertextBlob, SourceEncryptionContext: decryptOnly, DestinationKeyId: aws.String(other)})
	var disabled *types.DisabledException
	if !errors.As(err, &disabled) {
		t.Errorf("ReEncrypt(to a disabled key) = %v, want DisabledException", err)
	}
	_, err = client.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: aws.String(other), KeySpec: types.DataKeySpecAes256})
	if !errors.As(err, &disabled) {
		t.Errorf("GenerateDataKeyWithoutPlaintext(disabled key) = %v, want DisabledException", err)
	}

	if g, r := srv.Calls(kmstest.OpGenerateDataKeyWithoutPlaintext), srv.Calls(kmstest.OpReEncrypt); g != 2 || r != 4 {
		t.Errorf("Calls() = %d GenerateDataKeyWithoutPlaintext, %d ReEncrypt; want 2 and 4", g, r)
	}
	var rec kmstest.Request
	for _, r := range srv.Requests() {
		if r.Op == kmstest.OpReEncrypt {
			rec = r
			break
		}
	}
	if rec.KeyID != key || rec.SourceKeyID != key || !maps.Equal(rec.EncryptionContext, active) || !maps.Equal(rec.SourceEncryptionContext, decryptOnly) {
		t.Errorf("Requests() ReEncrypt = %+v, want destination %q with the ACTIVE context, source %q with the DECRYPT_ONLY one", rec, key, key)
	}
}
