package interop

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/datamask/datamask/kmstest"
)

// TestJSKMSKeyringThroughFakeKMS checks the JS peer's KMS mode against the
// fake KMS, so that KMS interop tests (JS ESDK KMS keyring <-> datamask) can
// rely on it: a message under two keys carries one aws-kms EDK per key
// (the generator's GenerateDataKey, then Encrypt for the other), decrypts
// with either key alone and with a discovery keyring, and a disabled key is
// refused.
func TestJSKMSKeyringThroughFakeKMS(t *testing.T) {
	js := StartJS(t, JSOptions{})
	kms := kmstest.Start(t)
	k1, k2 := kms.CreateKey(), kms.CreateKey()
	ctx := context.Background()

	for _, suite := range []uint16{suite0478, suite0578} {
		c := interopCase{suite: suite, frame: 512, plaintext: utf8Text, ec: contexts[2].ec}
		t.Run("suite="+hex16(suite), func(t *testing.T) {
			kms.ResetCalls()
			msg, hdr, err := js.Encrypt(ctx, JSKMS(kms.URL(), k1, k2), c.plaintext,
				JSEncryptOptions{Suite: c.suite, FrameLength: c.frame, EncryptionContext: c.ec})
			if err != nil {
				t.Fatalf("JS Encrypt(KMS %s + %s) = %v", k1, k2, err)
			}
			checkJSHeader(t, "JS Encrypt", hdr, c)
			if len(hdr.EncryptedDataKeys) != 2 {
				t.Fatalf("JS Encrypt wrote %d EDKs, want 2", len(hdr.EncryptedDataKeys))
			}
			for i, want := range []string{k1, k2} {
				if e := hdr.EncryptedDataKeys[i]; e.ProviderID != "aws-kms" || e.ProviderInfo != want {
					t.Errorf("EDK %d = %q/%q, want aws-kms/%q", i, e.ProviderID, e.ProviderInfo, want)
				}
			}
			if g, e := kms.Calls(kmstest.OpGenerateDataKey), kms.Calls(kmstest.OpEncrypt); g != 1 || e != 1 {
				t.Errorf("KMS calls for one encrypt: GenerateDataKey %d, Encrypt %d; want 1, 1", g, e)
			}

			for _, kr := range []struct {
				name string
				k    JSKeyring
			}{
				{"generator-only", JSKMS(kms.URL(), k1)},
				{"second-key-only", JSKMS(kms.URL(), k2)},
				{"discovery", JSKMSDiscovery(kms.URL(), &JSDiscoveryFilter{Partition: kms.Partition(), AccountIDs: []string{kms.Account()}})},
			} {
				kms.ResetCalls()
				pt, hdr, err := js.Decrypt(ctx, kr.k, msg, JSDecryptOptions{})
				if err != nil {
					t.Errorf("JS Decrypt(%s) = %v", kr.name, err)
					continue
				}
				checkPlaintext(t, "JS "+kr.name, pt, c.plaintext)
				checkJSHeader(t, "JS Decrypt "+kr.name, hdr, c)
				if n := kms.Calls(kmstest.OpDecrypt); n != 1 {
					t.Errorf("JS Decrypt(%s) made %d KMS Decrypt calls, want 1", kr.name, n)
				}
			}
		})
	}

	// A request the JS peer is still working on (here: waiting for a slow
	// KMS) returns as soon as the caller's context ends, and the peer goes
	// on serving.
	t.Run("cancel-in-flight", func(t *testing.T) {
		kms.SetLatency(time.Second)
		defer kms.SetLatency(0)
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := js.Encrypt(cctx, JSKMS(kms.URL(), k1), []byte("x"), JSEncryptOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("JS Encrypt(slow KMS, 100 ms deadline) = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 900*time.Millisecond {
			t.Errorf("JS Encrypt(slow KMS, 100 ms deadline) returned after %v, want about 100 ms", d)
		}
		kms.SetLatency(0)
		if _, _, err := js.Encrypt(ctx, JSRawAES(keyNamespace, aesKeyName, aesKey), []byte("x"), JSEncryptOptions{}); err != nil {
			t.Errorf("JS Encrypt() after a cancelled request = %v", err)
		}
	})

	t.Run("disabled-key", func(t *testing.T) {
		k3 := kms.CreateKey()
		msg, _, err := js.Encrypt(ctx, JSKMS(kms.URL(), k3), []byte("secret"), JSEncryptOptions{})
		if err != nil {
			t.Fatalf("JS Encrypt(KMS %s) = %v", k3, err)
		}
		if err := kms.DisableKey(k3); err != nil {
			t.Fatal(err)
		}
		if _, _, err := js.Decrypt(ctx, JSKMS(kms.URL(), k3), msg, JSDecryptOptions{}); err == nil {
			t.Errorf("JS Decrypt(message under a disabled key) succeeded, want an error")
		}
	})
}
