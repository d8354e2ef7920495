package datamask_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

// kmsClient returns an AWS SDK KMS client pointed at the fake KMS s.
func kmsClient(s *kmstest.Server) *kms.Client {
	return kms.New(kms.Options{
		Region:       s.Region(),
		BaseEndpoint: aws.String(s.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(kmstest.AccessKeyID, kmstest.SecretAccessKey, ""),
	})
}

// kmsMasker returns a DataMasker over KMS keys of s.
func kmsMasker(t *testing.T, s *kmstest.Server, keys []string, opts ...datamask.ProviderOption) *datamask.DataMasker {
	t.Helper()
	kr, err := awskms.NewKeyring(kmsClient(s), keys)
	if err != nil {
		t.Fatal(err)
	}
	return newMasker(t, kr, opts...)
}

// TestKMSProvider runs the provider over AWS KMS keys of the fake KMS:
// the Powertools e2e cases (one key, two keys, another key, context
// mismatch), with KMS call counts.
func TestKMSProvider(t *testing.T) {
	ctx := context.Background()
	doc, _ := manyFields(50)
	fields := datamask.Fields("$.customers[*].ssn")
	ec := datamask.EncryptionContext(map[string]string{"this": "is_secure"})
	for _, suite := range suites {
		t.Run(suiteName(suite), func(t *testing.T) {
			s := kmstest.Start(t)
			key1, key2 := s.CreateKey(), s.CreateKey()
			both := kmsMasker(t, s, []string{key1, key2}, datamask.WithSuite(suite))
			only1 := kmsMasker(t, s, []string{key1})
			only2 := kmsMasker(t, s, []string{key2})

			enc, err := both.Encrypt(ctx, doc, fields, ec)
			if err != nil {
				t.Fatal(err)
			}
			// 50 fields, one cached data key: one GenerateDataKey under the
			// first key, one Encrypt under the second.
			if g, e := s.Calls(kmstest.OpGenerateDataKey), s.Calls(kmstest.OpEncrypt); g != 1 || e != 1 {
				t.Errorf("KMS calls to encrypt 50 fields under 2 keys = %d GenerateDataKey, %d Encrypt; want 1, 1", g, e)
			}
			for name, m := range map[string]*datamask.DataMasker{"key 1": only1, "key 2": only2} {
				s.ResetCalls()
				back, err := m.Decrypt(ctx, enc, fields, ec)
				if err != nil || string(back) != string(doc) {
					t.Fatalf("Decrypt with %s alone = %.80s, %v; want the document", name, back, err)
				}
				if n := s.Calls(kmstest.OpDecrypt); n != 1 {
					t.Errorf("KMS Decrypt calls for 50 fields with %s = %d, want 1 (cached)", name, n)
				}
			}

			// Wrong, missing or extra context: no KMS call at all.
			for _, bad := range []map[string]string{nil, {"this": "different_context"}, {"this": "is_secure", "and": "more"}} {
				s.ResetCalls()
				m := kmsMasker(t, s, []string{key1}) // a fresh cache
				_, err := m.Decrypt(ctx, enc, fields, datamask.EncryptionContext(bad))
				var cme *datamask.ContextMismatchError
				if !errors.As(err, &cme) {
					t.Errorf("Decrypt with context %v = %v, want *ContextMismatchError", bad, err)
				}
				if calls := s.CallCounts(); len(calls) != 0 {
					t.Errorf("KMS calls on a context mismatch = %v, want none", calls)
				}
				checkNoSecrets(t, err, "is_secure", "different_context")
			}

			// A message under key 1 only, read with key 2.
			enc1, err := only1.Encrypt(ctx, doc, fields, ec)
			if err != nil {
				t.Fatal(err)
			}
			_, err = only2.Decrypt(ctx, enc1, fields, ec)
			var dke *datamask.DecryptKeyError
			if !errors.As(err, &dke) || !errors.Is(err, esdk.ErrNoDecryptKey) {
				t.Errorf("Decrypt with another KMS key = %v, want *DecryptKeyError", err)
			}
			checkNoSecrets(t, err, "-45-")
		})
	}
}

// TestKMSProviderKeyErrors checks that KMS refusals keep the AWS error
// reachable: a disabled key on encrypt is *EncryptKeyError, on decrypt
// *DecryptKeyError, both with *types.DisabledException and
// smithy.APIError inside.
func TestKMSProviderKeyErrors(t *testing.T) {
	ctx := context.Background()
	s := kmstest.Start(t)
	key := s.CreateKey()
	doc := []byte(`{"ssn": "123-45-6789"}`)
	enc, err := kmsMasker(t, s, []string{key}).Encrypt(ctx, doc, datamask.Fields("ssn"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DisableKey(key); err != nil {
		t.Fatal(err)
	}
	m := kmsMasker(t, s, []string{key})
	_, err = m.Encrypt(ctx, doc, datamask.Fields("ssn"))
	var (
		eke      *datamask.EncryptKeyError
		dke      *datamask.DecryptKeyError
		disabled *types.DisabledException
		api      smithy.APIError
	)
	if !errors.As(err, &eke) || !errors.As(err, &disabled) || !errors.As(err, &api) || api.ErrorCode() != "DisabledException" {
		t.Errorf("Encrypt with a disabled key = %v, want *EncryptKeyError with *types.DisabledException", err)
	}
	checkNoSecrets(t, err, "123-45-6789")
	_, err = m.Decrypt(ctx, enc, datamask.Fields("ssn"))
	if !errors.As(err, &dke) || !errors.As(err, &disabled) {
		t.Errorf("Decrypt with a disabled key = %v, want *DecryptKeyError with *types.DisabledException", err)
	}
	if !strings.Contains(err.Error(), `field "ssn" (match 1)`) {
		t.Errorf("Decrypt error %q does not name the field", err)
	}
}
