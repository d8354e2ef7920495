package interop

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestJSPeer checks the harness: the pinned version answers, failures come
// back as *JSError for the request that caused them without disturbing the
// others, and a cancelled context returns at once.
func TestJSPeer(t *testing.T) {
	js := StartJS(t, JSOptions{})
	if js.ClientNode != JSClientNodeVersion || !strings.HasPrefix(js.Node, "v") {
		t.Fatalf("StartJS() reports node %q, client-node %q; want a node version and %s", js.Node, js.ClientNode, JSClientNodeVersion)
	}
	ctx := context.Background()
	good := JSRawAES(keyNamespace, aesKeyName, aesKey)
	otherKey := make([]byte, 32)

	msg, _, err := js.Encrypt(ctx, good, []byte("hello"), JSEncryptOptions{Suite: suite0478})
	if err != nil {
		t.Fatalf("JS Encrypt() = %v", err)
	}

	tests := []struct {
		name string
		call func() error
	}{
		{"unknown-keyring-type", func() error {
			_, _, err := js.Encrypt(ctx, JSKeyring{Type: "nope"}, []byte("x"), JSEncryptOptions{})
			return err
		}},
		{"bad-aes-key-length", func() error {
			_, _, err := js.Encrypt(ctx, JSRawAES(keyNamespace, aesKeyName, []byte("short")), []byte("x"), JSEncryptOptions{})
			return err
		}},
		{"wrong-wrapping-key", func() error {
			_, _, err := js.Decrypt(ctx, JSRawAES(keyNamespace, aesKeyName, otherKey), msg, JSDecryptOptions{})
			return err
		}},
		{"garbage-message", func() error {
			_, _, err := js.Decrypt(ctx, good, []byte("not an ESDK message"), JSDecryptOptions{})
			return err
		}},
		{"flipped-body-byte", func() error {
			bad := append([]byte(nil), msg...)
			bad[len(bad)-20] ^= 1
			_, _, err := js.Decrypt(ctx, good, bad, JSDecryptOptions{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call()
			if je := (*JSError)(nil); !errors.As(err, &je) || je.Message == "" {
				t.Errorf("JS call = %v, want a *JSError with a message", err)
			}
		})
	}
	t.Run("still-serving", func(t *testing.T) {
		t.Parallel()
		pt, _, err := js.Decrypt(ctx, good, msg, JSDecryptOptions{})
		if err != nil || string(pt) != "hello" {
			t.Errorf("JS Decrypt() after failed requests = %q, %v; want \"hello\", nil", pt, err)
		}
	})
	t.Run("cancelled-context", func(t *testing.T) {
		t.Parallel()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		_, _, err := js.Encrypt(cctx, good, make([]byte, 1<<20), JSEncryptOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("JS Encrypt(cancelled context) = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("JS Encrypt(cancelled context) took %v, want an immediate return", d)
		}
	})
}

// TestJSKeyringRedacts: printing a keyring description with any verb never
// shows its wrapping key or private key.
func TestJSKeyringRedacts(t *testing.T) {
	key := testRSAKey(t)
	keyrings := []JSKeyring{
		JSRawAES(keyNamespace, aesKeyName, aesKey),
		JSRawRSA(keyNamespace, rsaKeyName, JSPaddingOAEPSHA256, key.publicPEM, key.privatePEM),
		JSMulti(&JSKeyring{Type: "aes", Key: aesKey}),
	}
	secrets := []string{
		string(aesKey), hex.EncodeToString(aesKey), base64.StdEncoding.EncodeToString(aesKey),
		fmt.Sprint(aesKey), fmt.Sprintf("%x", aesKey), "PRIVATE KEY",
	}
	for _, k := range keyrings {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out := fmt.Sprintf(verb, k)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("Sprintf(%q, %s) reveals key material", verb, k)
				}
			}
		}
	}
}
