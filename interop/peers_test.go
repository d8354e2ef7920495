package interop

import (
	"context"
	"testing"
)

// TestPeersAgree checks the harness itself: what the JS ESDK encrypts the
// official Go ESDK decrypts, and the reverse, across the whole matrix. If
// this fails, a failure of datamask against one peer says nothing about
// datamask.
func TestPeersAgree(t *testing.T) {
	js := StartJS(t, JSOptions{})
	off := newOfficial(t)
	ctx := context.Background()
	jsKR := JSRawAES(keyNamespace, aesKeyName, aesKey)
	offKR, err := off.RawAESKeyring(ctx, keyNamespace, aesKeyName, aesKey)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range interopCases() {
		t.Run("js-to-official/"+c.name, func(t *testing.T) {
			t.Parallel()
			msg, hdr, err := js.Encrypt(ctx, jsKR, c.plaintext, JSEncryptOptions{Suite: c.suite, FrameLength: c.frame, EncryptionContext: c.ec})
			if err != nil {
				t.Fatalf("JS Encrypt(%s) = %v", c.name, err)
			}
			checkJSHeader(t, "JS encrypt", hdr, c)
			got, err := off.Decrypt(ctx, offKR, msg, nil)
			if err != nil {
				t.Fatalf("official Decrypt(JS message) = %v", err)
			}
			checkOfficial(t, got, c)
		})
		t.Run("official-to-js/"+c.name, func(t *testing.T) {
			t.Parallel()
			msg, err := off.Encrypt(ctx, offKR, c.plaintext, OfficialEncryptOptions{Suite: c.suite, FrameLength: int64(c.frame), EncryptionContext: c.ec})
			if err != nil {
				t.Fatalf("official Encrypt(%s) = %v", c.name, err)
			}
			pt, hdr, err := js.Decrypt(ctx, jsKR, msg, JSDecryptOptions{})
			if err != nil {
				t.Fatalf("JS Decrypt(official message) = %v", err)
			}
			checkPlaintext(t, "JS", pt, c.plaintext)
			checkJSHeader(t, "JS decrypt", hdr, c)
		})
	}
}

func newOfficial(t testing.TB) *Official {
	t.Helper()
	o, err := NewOfficial(OfficialRequireEncryptRequireDecrypt)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// checkJSHeader checks the header facts the JS ESDK exposes.
func checkJSHeader(t *testing.T, who string, h *JSHeader, c interopCase) {
	t.Helper()
	if h.Version != 2 || h.SuiteID != c.suite || h.ContentType != 2 || h.FrameLength != c.frame {
		t.Errorf("%s header = version %d, suite %04x, content type %d, frame length %d; want 2, %04x, 2 (framed), %d",
			who, h.Version, h.SuiteID, h.ContentType, h.FrameLength, c.suite, c.frame)
	}
	if len(h.MessageID) != 32 {
		t.Errorf("%s header message ID is %d bytes, want 32", who, len(h.MessageID))
	}
	checkContext(t, who, h.EncryptionContext, c.ec, c.suite)
}

// checkOfficial checks what the official Go ESDK's decrypt returned.
func checkOfficial(t *testing.T, got *OfficialDecrypted, c interopCase) {
	t.Helper()
	checkPlaintext(t, "official", got.Plaintext, c.plaintext)
	if got.Suite != c.suite {
		t.Errorf("official decrypt suite = %04x, want %04x", got.Suite, c.suite)
	}
	checkContext(t, "official decrypt", got.EncryptionContext, c.ec, c.suite)
}
