package esdk_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/datamask/datamask/esdk"
)

// countingCMM counts the calls to a materials manager.
type countingCMM struct {
	next               esdk.MaterialsManager
	encrypts, decrypts int
}

func (c *countingCMM) EncryptionMaterials(ctx context.Context, req esdk.EncryptionMaterialsRequest) (*esdk.EncryptionMaterials, error) {
	c.encrypts++
	return c.next.EncryptionMaterials(ctx, req)
}

func (c *countingCMM) DecryptionMaterials(ctx context.Context, req esdk.DecryptionMaterialsRequest) (*esdk.DecryptionMaterials, error) {
	c.decrypts++
	return c.next.DecryptionMaterials(ctx, req)
}

func TestEncryptionContextRoundTrip(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	cmm := newAESCMM(t, "key", testKey)
	tests := map[string]map[string]string{
		"nil":   nil,
		"empty": {},
		"ascii": {"tenant": "acme", "purpose": "test"},
		// U+FFFD sorts before U+1F600 in UTF-8 (and after it in UTF-16).
		"non-ASCII keys": {"\U0001F600": "grin", "\uFFFD": "replacement", "é": "e-acute", "a": "\u00e9\U0001F600", "日本": "語"},
		"empty strings":  {"": "", "k": ""},
	}
	for name, ec := range tests {
		for _, suite := range writtenSuites {
			t.Run(name+"/"+suite.String(), func(t *testing.T) {
				msg, err := client.Encrypt(ctx, []byte("pt"), cmm, esdk.WithSuite(suite), esdk.WithEncryptionContext(ec))
				if err != nil {
					t.Fatal(err)
				}
				if len(ec) == 0 && !suite.Signing() && (msg[35] != 0 || msg[36] != 0) {
					t.Fatalf("header AAD length = %x, want 0 for an empty context", msg[35:37])
				}
				got, h, err := client.Decrypt(ctx, msg, cmm, esdk.WithExpectedContext(ec))
				if err != nil || string(got) != "pt" {
					t.Fatalf("Decrypt() = %q, %v", got, err)
				}
				for k, v := range ec {
					if h.EncryptionContext[k] != v {
						t.Errorf("header context[%q] = %q, want %q", k, h.EncryptionContext[k], v)
					}
				}
				want := len(ec)
				if suite.Signing() {
					want++
				}
				if len(h.EncryptionContext) != want {
					t.Errorf("header context has %d pairs, want %d", len(h.EncryptionContext), want)
				}
			})
		}
	}
}

func TestEncryptionContextRefused(t *testing.T) {
	client := newClient(t)
	cmm := newAESCMM(t, "key", testKey)
	tests := map[string]map[string]string{
		"public key":     {esdk.PublicKeyContextKey: "x"},
		"reserved":       {"aws-crypto-anything": "x"},
		"invalid key":    {"\xff": "x"},
		"invalid value":  {"k": "\xc3\x28"},
		"too large":      {"k": strings.Repeat("v", 70000)},
		"too large, sum": {"a": strings.Repeat("v", 40000), "b": strings.Repeat("v", 40000)},
	}
	for name, ec := range tests {
		t.Run(name, func(t *testing.T) {
			msg, err := client.Encrypt(context.Background(), []byte("pt"), cmm, esdk.WithEncryptionContext(ec))
			if err == nil || msg != nil {
				t.Fatalf("Encrypt() = %d bytes, %v, want an error", len(msg), err)
			}
			if !strings.HasPrefix(err.Error(), "esdk: ") || errors.Is(err, esdk.ErrInvalidMessage) {
				t.Fatalf("Encrypt() error = %q, want a descriptive esdk error", err)
			}
			for _, v := range ec {
				if len(v) > 1 && strings.Contains(err.Error(), v) {
					t.Fatalf("Encrypt() error %q holds a context value", err)
				}
			}
		})
	}
}

func TestExpectedContext(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	ec := map[string]string{"tenant": "acme", "purpose": "secret-purpose"}
	for _, suite := range writtenSuites {
		inner := newAESCMM(t, "key", testKey)
		msg, err := client.Encrypt(ctx, []byte("pt"), inner, esdk.WithSuite(suite), esdk.WithEncryptionContext(ec))
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			expected map[string]string
			keys     []string // nil: must decrypt
		}{
			{"equal", map[string]string{"purpose": "secret-purpose", "tenant": "acme"}, nil},
			{"missing key", map[string]string{"tenant": "acme"}, []string{"purpose"}},
			{"extra key", map[string]string{"tenant": "acme", "purpose": "secret-purpose", "x": "y"}, []string{"x"}},
			{"other value", map[string]string{"tenant": "evil", "purpose": "secret-purpose"}, []string{"tenant"}},
			{"empty", nil, []string{"purpose", "tenant"}},
			{"public key given", map[string]string{"tenant": "acme", "purpose": "secret-purpose", esdk.PublicKeyContextKey: "x"}, []string{esdk.PublicKeyContextKey}},
		}
		for _, tt := range tests {
			t.Run(suite.String()+"/"+tt.name, func(t *testing.T) {
				spy := &countingCMM{next: inner}
				got, _, err := client.Decrypt(ctx, msg, spy, esdk.WithExpectedContext(tt.expected))
				if tt.keys == nil {
					if err != nil || string(got) != "pt" {
						t.Fatalf("Decrypt() = %q, %v, want pt", got, err)
					}
					return
				}
				var cm *esdk.ContextMismatchError
				if !errors.As(err, &cm) || !slices.Equal(cm.Keys, tt.keys) {
					t.Fatalf("Decrypt() error = %v, want a ContextMismatchError on %q", err, tt.keys)
				}
				if spy.decrypts != 0 {
					t.Fatalf("the materials manager was called %d times, want 0", spy.decrypts)
				}
				for _, v := range []string{"acme", "evil", "secret-purpose"} {
					if strings.Contains(err.Error(), v) {
						t.Fatalf("error %q holds a context value", err)
					}
				}
			})
		}
	}
}

func TestReproducedContext(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	inner := newAESCMM(t, "key", testKey)
	msg, err := client.Encrypt(ctx, []byte("pt"), inner, esdk.WithEncryptionContext(map[string]string{"a": "1", "b": "2"}))
	if err != nil {
		t.Fatal(err)
	}
	// A subset with equal values passes; pairs the message stores but the
	// caller omits are fine.
	if got, _, err := client.Decrypt(ctx, msg, inner, esdk.WithReproducedContext(map[string]string{"a": "1"})); err != nil || string(got) != "pt" {
		t.Fatalf("Decrypt(subset) = %q, %v", got, err)
	}
	// A different value fails before the materials manager.
	spy := &countingCMM{next: inner}
	_, _, err = client.Decrypt(ctx, msg, spy, esdk.WithReproducedContext(map[string]string{"a": "1", "b": "3"}))
	var cm *esdk.ContextMismatchError
	if !errors.As(err, &cm) || !slices.Equal(cm.Keys, []string{"b"}) || spy.decrypts != 0 {
		t.Fatalf("Decrypt(other value) = %v after %d CMM calls, want a ContextMismatchError on [b] after none", err, spy.decrypts)
	}
	// A pair the message does not store must have been authenticated by
	// it: here it was not, so the message does not verify.
	_, _, err = client.Decrypt(ctx, msg, inner, esdk.WithReproducedContext(map[string]string{"c": "3"}))
	var nk *esdk.NoDecryptKeyError
	if !errors.Is(err, esdk.ErrInvalidMessage) && !errors.As(err, &nk) {
		t.Fatalf("Decrypt(unstored pair) error = %v, want a failure", err)
	}
}

func TestRequiredContextCMM(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	for _, suite := range writtenSuites {
		t.Run(suite.String(), func(t *testing.T) {
			inner := newAESCMM(t, "key", testKey)
			req, err := esdk.NewRequiredContextCMM(inner, "tenant")
			if err != nil {
				t.Fatal(err)
			}
			ec := map[string]string{"tenant": "acme", "stored": "yes"}
			if _, err := client.Encrypt(ctx, []byte("pt"), req, esdk.WithSuite(suite), esdk.WithEncryptionContext(map[string]string{"stored": "yes"})); err == nil {
				t.Fatal("Encrypt() without the required key succeeded")
			}
			msg, err := client.Encrypt(ctx, []byte("pt"), req, esdk.WithSuite(suite), esdk.WithEncryptionContext(ec))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(msg, []byte("tenant")) || !bytes.Contains(msg, []byte("stored")) {
				t.Fatal("the message stores the required key, or not the other one")
			}
			got, h, err := client.Decrypt(ctx, msg, req, esdk.WithReproducedContext(map[string]string{"tenant": "acme"}))
			if err != nil || string(got) != "pt" {
				t.Fatalf("Decrypt(reproduced) = %q, %v", got, err)
			}
			if _, ok := h.EncryptionContext["tenant"]; ok {
				t.Fatal("the header reports the unstored key")
			}
			// The plain default CMM decrypts it too when given the pair.
			if got, _, err := client.Decrypt(ctx, msg, inner, esdk.WithReproducedContext(map[string]string{"tenant": "acme"})); err != nil || string(got) != "pt" {
				t.Fatalf("Decrypt(default CMM, reproduced) = %q, %v", got, err)
			}
			// Without the pair, the required-context CMM refuses before its
			// keyring; a default CMM cannot verify the message.
			var cm *esdk.ContextMismatchError
			if _, _, err := client.Decrypt(ctx, msg, req); !errors.As(err, &cm) || !slices.Equal(cm.Keys, []string{"tenant"}) {
				t.Fatalf("Decrypt(no reproduced context) error = %v, want a ContextMismatchError on [tenant]", err)
			}
			var nk *esdk.NoDecryptKeyError
			if _, _, err := client.Decrypt(ctx, msg, inner); !errors.Is(err, esdk.ErrInvalidMessage) && !errors.As(err, &nk) {
				t.Fatalf("Decrypt(default CMM, no pair) error = %v, want a failure", err)
			}
			// A wrong value fails too.
			if _, _, err := client.Decrypt(ctx, msg, req, esdk.WithReproducedContext(map[string]string{"tenant": "evil"})); err == nil {
				t.Fatal("Decrypt(wrong reproduced value) succeeded")
			}
		})
	}
}
