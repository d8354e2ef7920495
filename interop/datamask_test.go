package interop

import (
	"context"
	"errors"
	"maps"
	"testing"

	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"

	"github.com/datamask/datamask/esdk"
)

// ours is datamask's side of a test: one client and the default materials
// manager over one keyring.
type ours struct {
	client *esdk.Client
	cmm    *esdk.DefaultCMM
}

func newOurs(t testing.TB, kr esdk.Keyring) *ours {
	t.Helper()
	c, err := esdk.NewClient()
	if err != nil {
		t.Fatalf("esdk.NewClient() = %v", err)
	}
	cmm, err := esdk.NewDefaultCMM(kr)
	if err != nil {
		t.Fatalf("esdk.NewDefaultCMM() = %v", err)
	}
	return &ours{client: c, cmm: cmm}
}

func oursAES(t testing.TB) *ours {
	t.Helper()
	kr, err := esdk.NewRawAESKeyring(keyNamespace, aesKeyName, aesKey)
	if err != nil {
		t.Fatalf("esdk.NewRawAESKeyring() = %v", err)
	}
	return newOurs(t, kr)
}

func (o *ours) encrypt(ctx context.Context, c interopCase) ([]byte, error) {
	return o.client.Encrypt(ctx, c.plaintext, o.cmm,
		esdk.WithSuite(esdk.Suite(c.suite)), esdk.WithFrameLength(c.frame), esdk.WithEncryptionContext(c.ec))
}

// decrypt decrypts a peer's message requiring exactly the case's context
// (Powertools' semantics) and checks the plaintext and the header facts.
func (o *ours) decryptAndCheck(t *testing.T, ctx context.Context, msg []byte, c interopCase) {
	t.Helper()
	pt, h, err := o.client.Decrypt(ctx, msg, o.cmm, esdk.WithExpectedContext(c.ec))
	if err != nil {
		t.Fatalf("datamask Decrypt(peer message) = %v", err)
	}
	checkPlaintext(t, "datamask", pt, c.plaintext)
	if h.Version != 2 || uint16(h.Suite) != c.suite || h.ContentType != esdk.Framed || h.FrameLength != c.frame {
		t.Errorf("datamask Decrypt header = version %d, suite %04x, %v, frame length %d; want 2, %04x, framed, %d",
			h.Version, uint16(h.Suite), h.ContentType, h.FrameLength, c.suite, c.frame)
	}
	if len(h.MessageID) != 32 {
		t.Errorf("datamask Decrypt header message ID is %d bytes, want 32", len(h.MessageID))
	}
	checkContext(t, "datamask Decrypt", h.EncryptionContext, c.ec, c.suite)

	// The context of a peer's message must also be read exactly: one
	// changed value is a mismatch found before any key is used.
	if len(c.ec) > 0 {
		wrong := maps.Clone(c.ec)
		for k := range wrong {
			wrong[k] += "!"
			break
		}
		_, _, err := o.client.Decrypt(ctx, msg, o.cmm, esdk.WithExpectedContext(wrong))
		if mm := (*esdk.ContextMismatchError)(nil); !errors.As(err, &mm) || len(mm.Keys) != 1 {
			t.Errorf("datamask Decrypt(peer message, one context value changed) = %v, want a *ContextMismatchError naming 1 key", err)
		}
	}
}

// TestInteropJS: datamask's messages decrypt in the JS ESDK and the JS
// ESDK's decrypt in datamask, raw AES-256, over the whole matrix.
func TestInteropJS(t *testing.T) {
	js := StartJS(t, JSOptions{})
	ctx := context.Background()
	jsKR := JSRawAES(keyNamespace, aesKeyName, aesKey)
	dm := oursAES(t)

	for _, c := range interopCases() {
		t.Run("datamask-to-js/"+c.name, func(t *testing.T) {
			t.Parallel()
			msg, err := dm.encrypt(ctx, c)
			if err != nil {
				t.Fatalf("datamask Encrypt(%s) = %v", c.name, err)
			}
			pt, hdr, err := js.Decrypt(ctx, jsKR, msg, JSDecryptOptions{})
			if err != nil {
				t.Fatalf("JS Decrypt(datamask message) = %v", err)
			}
			checkPlaintext(t, "JS", pt, c.plaintext)
			checkJSHeader(t, "JS Decrypt", hdr, c)
		})
		t.Run("js-to-datamask/"+c.name, func(t *testing.T) {
			t.Parallel()
			msg, hdr, err := js.Encrypt(ctx, jsKR, c.plaintext, JSEncryptOptions{Suite: c.suite, FrameLength: c.frame, EncryptionContext: c.ec})
			if err != nil {
				t.Fatalf("JS Encrypt(%s) = %v", c.name, err)
			}
			checkJSHeader(t, "JS Encrypt", hdr, c)
			dm.decryptAndCheck(t, ctx, msg, c)
		})
	}
}

// TestInteropOfficial: datamask's messages decrypt in the official Go ESDK
// and the official Go ESDK's decrypt in datamask, raw AES-256, over the
// whole matrix.
func TestInteropOfficial(t *testing.T) {
	off := newOfficial(t)
	ctx := context.Background()
	offKR, err := off.RawAESKeyring(ctx, keyNamespace, aesKeyName, aesKey)
	if err != nil {
		t.Fatal(err)
	}
	dm := oursAES(t)

	for _, c := range interopCases() {
		t.Run("datamask-to-official/"+c.name, func(t *testing.T) {
			t.Parallel()
			msg, err := dm.encrypt(ctx, c)
			if err != nil {
				t.Fatalf("datamask Encrypt(%s) = %v", c.name, err)
			}
			// The official SDK checks the context it is given against
			// the message's, so pass it too.
			got, err := off.Decrypt(ctx, offKR, msg, c.ec)
			if err != nil {
				t.Fatalf("official Decrypt(datamask message) = %v", err)
			}
			checkOfficial(t, got, c)
		})
		t.Run("official-to-datamask/"+c.name, func(t *testing.T) {
			t.Parallel()
			msg, err := off.Encrypt(ctx, offKR, c.plaintext, OfficialEncryptOptions{Suite: c.suite, FrameLength: int64(c.frame), EncryptionContext: c.ec})
			if err != nil {
				t.Fatalf("official Encrypt(%s) = %v", c.name, err)
			}
			dm.decryptAndCheck(t, ctx, msg, c)
		})
	}
}

// rsaCases are the raw RSA messages: both suites, a multi-frame UTF-8
// plaintext, and the non-ASCII context keys (which RSA data keys do not
// bind, but the header does).
func rsaCases() []interopCase {
	var cases []interopCase
	for _, suite := range []uint16{suite0478, suite0578} {
		for _, ec := range []namedContext{contexts[0], contexts[2]} {
			cases = append(cases, interopCase{
				name:      "suite=" + hex16(suite) + "/frame=512/pt=utf8text/ec=" + ec.name,
				suite:     suite,
				frame:     512,
				plaintext: utf8Text,
				ec:        ec.ec,
			})
		}
	}
	return cases
}

func hex16(v uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}

// TestInteropRSA: raw RSA keyrings with OAEP-SHA256 and PKCS #1 v1.5, both
// directions with the JS ESDK and with the official Go ESDK. Node refuses
// PKCS #1 v1.5 decryption (CVE-2023-46809), so datamask-to-js for PKCS1 runs
// on a second node started with the security revert.
func TestInteropRSA(t *testing.T) {
	ctx := context.Background()
	key := testRSAKey(t)
	js := StartJS(t, JSOptions{})
	jsPKCS1 := StartJS(t, JSOptions{InsecurePKCS1Decrypt: true})
	off := newOfficial(t)

	paddings := []struct {
		name     string
		ours     esdk.RSAPadding
		js       string
		jsPeer   *JS
		official mpltypes.PaddingScheme
	}{
		{"oaep-sha256", esdk.RSAOAEPSHA256, JSPaddingOAEPSHA256, js, mpltypes.PaddingSchemeOaepSha256Mgf1},
		{"pkcs1", esdk.LegacyRSAPKCS1v15, JSPaddingPKCS1, jsPKCS1, mpltypes.PaddingSchemePkcs1},
	}
	for _, p := range paddings {
		kr, err := esdk.NewRawRSAKeyring(keyNamespace, rsaKeyName, p.ours, &key.priv.PublicKey, key.priv)
		if err != nil {
			t.Fatalf("esdk.NewRawRSAKeyring(%s) = %v", p.name, err)
		}
		dm := newOurs(t, kr)
		jsKR := JSRawRSA(keyNamespace, rsaKeyName, p.js, key.publicPEM, key.privatePEM)
		offKR, err := off.RawRSAKeyring(ctx, keyNamespace, rsaKeyName, p.official, key.publicPEM, key.privatePEM)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rsaCases() {
			t.Run(p.name+"/datamask-to-js/"+c.name, func(t *testing.T) {
				t.Parallel()
				msg, err := dm.encrypt(ctx, c)
				if err != nil {
					t.Fatalf("datamask Encrypt(%s) = %v", c.name, err)
				}
				pt, hdr, err := p.jsPeer.Decrypt(ctx, jsKR, msg, JSDecryptOptions{})
				if err != nil {
					t.Fatalf("JS Decrypt(datamask message) = %v", err)
				}
				checkPlaintext(t, "JS", pt, c.plaintext)
				checkJSHeader(t, "JS Decrypt", hdr, c)
				if len(hdr.EncryptedDataKeys) != 1 || hdr.EncryptedDataKeys[0].ProviderID != keyNamespace || hdr.EncryptedDataKeys[0].ProviderInfo != rsaKeyName {
					t.Errorf("JS Decrypt header EDKs = %+v, want one from %q/%q", hdr.EncryptedDataKeys, keyNamespace, rsaKeyName)
				}
			})
			t.Run(p.name+"/js-to-datamask/"+c.name, func(t *testing.T) {
				t.Parallel()
				msg, hdr, err := js.Encrypt(ctx, jsKR, c.plaintext, JSEncryptOptions{Suite: c.suite, FrameLength: c.frame, EncryptionContext: c.ec})
				if err != nil {
					t.Fatalf("JS Encrypt(%s) = %v", c.name, err)
				}
				checkJSHeader(t, "JS Encrypt", hdr, c)
				dm.decryptAndCheck(t, ctx, msg, c)
			})
			t.Run(p.name+"/datamask-to-official/"+c.name, func(t *testing.T) {
				t.Parallel()
				msg, err := dm.encrypt(ctx, c)
				if err != nil {
					t.Fatalf("datamask Encrypt(%s) = %v", c.name, err)
				}
				got, err := off.Decrypt(ctx, offKR, msg, c.ec)
				if err != nil {
					t.Fatalf("official Decrypt(datamask message) = %v", err)
				}
				checkOfficial(t, got, c)
			})
			t.Run(p.name+"/official-to-datamask/"+c.name, func(t *testing.T) {
				t.Parallel()
				msg, err := off.Encrypt(ctx, offKR, c.plaintext, OfficialEncryptOptions{Suite: c.suite, FrameLength: int64(c.frame), EncryptionContext: c.ec})
				if err != nil {
					t.Fatalf("official Encrypt(%s) = %v", c.name, err)
				}
				dm.decryptAndCheck(t, ctx, msg, c)
			})
		}
	}

}
