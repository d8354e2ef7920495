package datamask_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/benchdata"
)

// edCase is one case of ../shared/powertools_cases/encrypt_decrypt_cases.json.
type edCase struct {
	ID              string            `json:"id"`
	Kind            string            `json:"kind"`
	Operation       string            `json:"operation"`
	Input           json.RawMessage   `json:"input"`
	Expected        json.RawMessage   `json:"expected_decrypted"`
	FakeCiphertext  string            `json:"fake_provider_ciphertext"`
	EncryptContext  map[string]string `json:"encrypt_context"`
	DecryptContext  map[string]string `json:"decrypt_context"`
	EncryptKeys     []string          `json:"encrypt_keys"`
	DecryptKeys     []string          `json:"decrypt_keys"`
	ExpectedError   string            `json:"expected_error"`
	Provider        string            `json:"provider"`
	ProviderOptions struct {
		Algorithm string `json:"algorithm"`
	} `json:"provider_options"`

	// encryption_context_cases
	ActualHeaderContext map[string]string `json:"actual_header_context"`
	ExpectedContext     map[string]string `json:"expected_context"`
	Context             json.RawMessage   `json:"context"`
}

func loadEDCases(t *testing.T) (roundTrips, contexts []edCase) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(benchdata.SharedDir(), "powertools_cases", "encrypt_decrypt_cases.json"))
	if err != nil {
		t.Fatalf("reading the Powertools cases: %v", err)
	}
	var f struct {
		RoundTrips []edCase `json:"roundtrip_and_error_cases"`
		Contexts   []edCase `json:"encryption_context_cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.RoundTrips) == 0 || len(f.Contexts) == 0 {
		t.Fatal("no encrypt/decrypt cases in the file")
	}
	return f.RoundTrips, f.Contexts
}

// errorClass checks err against a Powertools exception class.
func errorClass(t *testing.T, err error, class string) {
	t.Helper()
	var (
		cme *datamask.ContextMismatchError
		dke *datamask.DecryptKeyError
	)
	switch class {
	case "DataMaskingContextMismatchError":
		if !errors.As(err, &cme) {
			t.Errorf("err = %v, want *ContextMismatchError", err)
		}
	case "DataMaskingDecryptKeyError":
		if !errors.As(err, &dke) {
			t.Errorf("err = %v, want *DecryptKeyError", err)
		}
	case "DataMaskingUnsupportedTypeError":
		if !errors.Is(err, datamask.ErrUnsupportedType) {
			t.Errorf("err = %v, want ErrUnsupportedType", err)
		}
	case "NotImplementedError": // Powertools' BaseProvider: no provider configured
		if !errors.Is(err, datamask.ErrNoProvider) {
			t.Errorf("err = %v, want ErrNoProvider", err)
		}
	default:
		t.Fatalf("unknown Python error class %q", class)
	}
}

// TestPowertoolsFakeProviderCases runs the upstream cases that used the
// fake provider (base64 of the JSON text) through a provider doing the
// same: the whole-document result must be exactly the upstream
// ciphertext, and decrypting must give back the JSON text and the value.
func TestPowertoolsFakeProviderCases(t *testing.T) {
	cases, _ := loadEDCases(t)
	m, err := datamask.New(datamask.WithProvider(base64Provider{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	for _, c := range cases {
		if c.FakeCiphertext == "" {
			continue
		}
		n++
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			doc := pythonJSON(t, c.Input)
			out, err := m.Encrypt(ctx, doc)
			if err != nil {
				t.Fatalf("Encrypt(%s) = %v", doc, err)
			}
			if want := `"` + c.FakeCiphertext + `"`; string(out) != want {
				t.Errorf("Encrypt(%s) = %s, want %s", doc, out, want)
			}
			back, err := m.Decrypt(ctx, out)
			if err != nil || !bytes.Equal(back, doc) {
				t.Errorf("Decrypt(%s) = %s, %v, want %s", out, back, err, doc)
			}
			if !jsonEqual(t, back, c.Expected) {
				t.Errorf("Decrypt(%s) = %s, want the value %s", out, back, c.Expected)
			}

			// The Value API: a Go value in, the same Go value out.
			var v any
			if err := json.Unmarshal(c.Input, &v); err != nil {
				t.Fatal(err)
			}
			enc, err := m.EncryptValue(ctx, v)
			if err != nil {
				t.Fatalf("EncryptValue(%v) = %v", v, err)
			}
			var got, want any
			if err := m.DecryptValue(ctx, enc, &got); err != nil {
				t.Fatalf("DecryptValue(%s) = %v", enc, err)
			}
			if err := json.Unmarshal(c.Expected, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("DecryptValue(EncryptValue(%v)) = %#v, want %#v", v, got, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no fake-provider case found")
	}
}

// TestPowertoolsRoundTrips runs every round-trip and error case through
// the real ESDK provider with local keys, in both suites, for the whole
// document and, as Powertools TypeScript does, for a field holding the
// input.
func TestPowertoolsRoundTrips(t *testing.T) {
	cases, _ := loadEDCases(t)
	ctx := context.Background()
	keys := map[string]esdk.Keyring{"KMSKey1Arn": localKeyring(t), "KMSKey2Arn": localKeyring(t)}
	for _, suite := range suites {
		maskers := map[string]*datamask.DataMasker{}
		for name, k := range keys {
			maskers[name] = newMasker(t, k, datamask.WithSuite(suite))
		}
		noProvider, err := datamask.New()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(suiteName(suite)+"/"+c.ID, func(t *testing.T) {
				t.Parallel()
				if c.Provider != "" {
					var err error
					switch c.Operation {
					case "encrypt":
						_, err = noProvider.Encrypt(ctx, pythonJSON(t, c.Input))
					case "decrypt":
						_, err = noProvider.Decrypt(ctx, pythonJSON(t, c.Input))
					default:
						t.Fatalf("operation %q without provider", c.Operation)
					}
					errorClass(t, err, c.ExpectedError)
					return
				}
				enc, dec := maskers["KMSKey1Arn"], maskers["KMSKey1Arn"]
				if len(c.EncryptKeys) > 0 {
					enc, dec = maskers[c.EncryptKeys[0]], maskers[c.DecryptKeys[0]]
				}
				var encOpts, decOpts []datamask.CallOption
				if c.EncryptContext != nil {
					encOpts = append(encOpts, datamask.EncryptionContext(c.EncryptContext))
				}
				if c.DecryptContext != nil {
					decOpts = append(decOpts, datamask.EncryptionContext(c.DecryptContext))
				}
				if c.ProviderOptions.Algorithm != "" {
					// The suite is the provider's; decrypt reads it from the message.
					if c.ProviderOptions.Algorithm != "AES_256_GCM_HKDF_SHA512_COMMIT_KEY" {
						t.Fatalf("unknown algorithm %q", c.ProviderOptions.Algorithm)
					}
					p, err := datamask.NewESDKProvider(keys["KMSKey1Arn"], datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
					if err != nil {
						t.Fatal(err)
					}
					if enc, err = datamask.New(datamask.WithProvider(p)); err != nil {
						t.Fatal(err)
					}
				}
				doc := pythonJSON(t, c.Input)
				fieldDoc := append(append([]byte(`{"keep": 12345678901234567890, "v": `), doc...), '}')
				for _, run := range []struct {
					name   string
					doc    []byte
					fields []datamask.CallOption
				}{
					{"document", doc, nil},
					{"field", fieldDoc, []datamask.CallOption{datamask.Fields("$.v")}},
				} {
					out, err := enc.Encrypt(ctx, run.doc, append(run.fields, encOpts...)...)
					if err != nil {
						t.Fatalf("%s: Encrypt(%s) = %v", run.name, run.doc, err)
					}
					back, err := dec.Decrypt(ctx, out, append(run.fields, decOpts...)...)
					if c.ExpectedError != "" {
						errorClass(t, err, c.ExpectedError)
						checkNoSecrets(t, err, secretsIn(c.Input)...)
						continue
					}
					if err != nil || !bytes.Equal(back, run.doc) {
						t.Errorf("%s: Decrypt(Encrypt(%s)) = %s, %v, want the input", run.name, run.doc, back, err)
					}
				}
			})
		}
	}
}

// TestPowertoolsContextCases runs the encryption context validation cases.
func TestPowertoolsContextCases(t *testing.T) {
	_, cases := loadEDCases(t)
	ctx := context.Background()
	doc := []byte(`{"ssn": "123-45-6789", "n": 1}`)
	for _, suite := range suites {
		kr := &countingKeyring{Keyring: localKeyring(t)}
		m := newMasker(t, kr, datamask.WithSuite(suite))
		for _, c := range cases {
			t.Run(suiteName(suite)+"/"+c.ID, func(t *testing.T) {
				switch {
				case c.ActualHeaderContext != nil:
					out, err := m.Encrypt(ctx, doc, datamask.Fields("ssn"), datamask.EncryptionContext(c.ActualHeaderContext))
					if err != nil {
						t.Fatal(err)
					}
					before := kr.decrypts.Load()
					back, err := m.Decrypt(ctx, out, datamask.Fields("ssn"), datamask.EncryptionContext(c.ExpectedContext))
					if c.ExpectedError != "" {
						errorClass(t, err, c.ExpectedError)
						if n := kr.decrypts.Load() - before; n != 0 {
							t.Errorf("keyring used %d times on a context mismatch, want 0", n)
						}
						checkNoSecrets(t, err, "123-45-6789", "confidential", "customer_data")
						return
					}
					if err != nil || !bytes.Equal(back, doc) {
						t.Errorf("Decrypt = %s, %v, want %s", back, err, doc)
					}
				case c.ExpectedError == "":
					var ec map[string]string
					if err := json.Unmarshal(c.Context, &ec); err != nil {
						t.Fatal(err)
					}
					out, err := m.Encrypt(ctx, doc, datamask.EncryptionContext(ec))
					if err != nil {
						t.Fatal(err)
					}
					back, err := m.Decrypt(ctx, out, datamask.EncryptionContext(ec))
					if err != nil || !bytes.Equal(back, doc) {
						t.Errorf("Decrypt = %s, %v, want %s", back, err, doc)
					}
				default:
					// Non-string context values cannot reach the Go API:
					// EncryptionContext takes a map[string]string, so a JSON
					// context with numbers, booleans, lists or objects fails
					// to decode before any call...
					var ec map[string]string
					if err := json.Unmarshal(c.Context, &ec); err == nil {
						t.Fatalf("json.Unmarshal(%s) into map[string]string = nil error", c.Context)
					}
					// ...and the one context a map[string]string can hold but
					// the message format cannot (text that is not UTF-8) is
					// ErrUnsupportedType, on encrypt and on decrypt.
					bad := map[string]string{"a": "\xff"}
					_, err := m.Encrypt(ctx, doc, datamask.EncryptionContext(bad))
					errorClass(t, err, c.ExpectedError)
					_, err = m.Decrypt(ctx, []byte(`"AQID"`), datamask.EncryptionContext(bad))
					errorClass(t, err, c.ExpectedError)
				}
			})
		}
	}
}

// TestPowertoolsSampleMessageFacts checks that a whole-document message has
// the shape of Powertools' documented sample: standard padded base64 of a
// version 2, suite 0x0578, framed message with a 4096-byte frame length
// and aws-crypto-public-key in its context.
func TestPowertoolsSampleMessageFacts(t *testing.T) {
	kr := localKeyring(t)
	m := newMasker(t, kr)
	out, err := m.Encrypt(context.Background(), []byte(`{"name": "Ana", "ssn": "123-45-6789"}`))
	if err != nil {
		t.Fatal(err)
	}
	var text string
	if err := json.Unmarshal(out, &text); err != nil {
		t.Fatalf("Encrypt = %s, want a JSON string: %v", out, err)
	}
	msg, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil {
		t.Fatalf("Encrypt = %s, want standard padded base64: %v", out, err)
	}
	client, err := esdk.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(kr)
	if err != nil {
		t.Fatal(err)
	}
	pt, h, err := client.Decrypt(context.Background(), msg, cmm)
	if err != nil {
		t.Fatal(err)
	}
	if string(pt) != `{"name": "Ana", "ssn": "123-45-6789"}` {
		t.Errorf("plaintext = %s, want the document's JSON text", pt)
	}
	if h.Version != 2 || h.Suite != esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384 || h.ContentType != esdk.Framed || h.FrameLength != 4096 {
		t.Errorf("header = version %d, %v, %v, frame length %d; want 2, 0x0578, framed, 4096", h.Version, h.Suite, h.ContentType, h.FrameLength)
	}
	if _, ok := h.EncryptionContext[esdk.PublicKeyContextKey]; !ok || len(h.EncryptionContext) != 1 {
		t.Errorf("context keys = %v, want only %s", h.EncryptionContext, esdk.PublicKeyContextKey)
	}
	if len(h.EncryptedDataKeys) != 1 || h.EncryptedDataKeys[0].ProviderID != datamask.DefaultKeyNamespace {
		t.Errorf("encrypted data keys = %v, want one of provider %q", h.EncryptedDataKeys, datamask.DefaultKeyNamespace)
	}
}
