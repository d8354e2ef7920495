package esdk

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"
)

// leaks reports whether out shows key in any of the usual encodings.
func leaks(out string, key []byte) bool {
	forms := []string{
		string(key),
		hex.EncodeToString(key),
		strings.ToUpper(hex.EncodeToString(key)),
		base64.StdEncoding.EncodeToString(key),
		fmt.Sprint(key),         // [1 2 3]
		fmt.Sprintf("%#v", key), // []byte{0x1, ...}
		strings.Trim(fmt.Sprint(key), "[]"),
	}
	for _, f := range forms {
		if strings.Contains(out, f) {
			return true
		}
	}
	return false
}

// TestSecretsNeverPrinted prints materials and keyrings with every verb, in
// structs (exported and unexported fields), and through slog, and checks
// that no data key, wrapping key or private key shows.
func TestSecretsNeverPrinted(t *testing.T) {
	wrapKey := []byte("wrapping-key-0123456789abcdefXYZ")
	dataKey := []byte("data-key-0123456789abcdefghijklm")
	kr, err := NewRawAESKeyring("ns", "name", wrapKey)
	if err != nil {
		t.Fatal(err)
	}
	em := &EncryptionMaterials{Suite: AES256GCMHKDFSHA512CommitKey, EncryptionContext: map[string]string{"k": "context-value"}}
	if err := em.SetDataKey(dataKey); err != nil {
		t.Fatal(err)
	}
	dm := &DecryptionMaterials{Suite: AES256GCMHKDFSHA512CommitKey}
	if err := dm.SetDataKey(dataKey); err != nil {
		t.Fatal(err)
	}
	// A signed suite's materials hold a signing key too.
	cmm := mustCMM(t, kr)
	signed, err := cmm.EncryptionMaterials(context.Background(), EncryptionMaterialsRequest{CommitmentPolicy: RequireEncryptRequireDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	signedKey, _ := signed.SigningKey().Bytes()
	// A toy RSA key: only its private exponent matters here.
	rsaPriv := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2047), E: 65537}, D: new(big.Int).SetBytes(bytes.Repeat([]byte{0xA5}, 64))}
	rkr := &RawRSAKeyring{namespace: "ns", name: "rsa", padding: RSAOAEPSHA256, pub: &rsaPriv.PublicKey, priv: func() *rsa.PrivateKey { return rsaPriv }}
	multi, _ := NewMultiKeyring(kr, rkr)

	type wrapper struct {
		Public  *EncryptionMaterials
		private *DecryptionMaterials
		value   EncryptionMaterials
		kr      Keyring
	}
	values := map[string]any{
		"EncryptionMaterials":  em,
		"DecryptionMaterials":  dm,
		"signed materials":     signed,
		"materials value":      *em,
		"RawAESKeyring":        kr,
		"RawAESKeyring value":  *kr,
		"RawRSAKeyring":        rkr,
		"MultiKeyring":         multi,
		"wrapper":              wrapper{em, dm, *em, kr},
		"wrapper pointer":      &wrapper{em, dm, *signed, multi},
		"slice of materials":   []*EncryptionMaterials{em, signed},
		"map of keyrings":      map[string]Keyring{"a": kr, "b": rkr},
		"DecryptionMaterials*": *dm,
	}
	secrets := map[string][]byte{
		"wrapping key": wrapKey,
		"data key":     dataKey,
		"signing key":  signedKey,
		"signed key":   signed.DataKey(),
		"rsa private":  rsaPriv.D.Bytes(),
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			for sname, s := range secrets {
				if leaks(out, s) {
					t.Errorf("Sprintf(%s, %s) shows the %s: %s", verb, name, sname, out)
				}
			}
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("test", "value", v)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("test", "value", v)
		for sname, s := range secrets {
			if leaks(buf.String(), s) {
				t.Errorf("slog of %s shows the %s: %s", name, sname, buf.String())
			}
		}
	}
	// Context values are not secret (the message stores them in the clear),
	// but the materials' own String does not print them either.
	for _, v := range []any{em, *em} {
		if s := fmt.Sprint(v); strings.Contains(s, "context-value") {
			t.Errorf("Sprint(materials) shows a context value: %s", s)
		}
	}
	// The redacted forms still say what they are.
	if s := fmt.Sprint(em); !strings.Contains(s, "DataKey: [REDACTED]") || !strings.Contains(s, `"k"`) {
		t.Errorf("Sprint(materials) = %s", s)
	}
	if s := fmt.Sprint(kr); !strings.Contains(s, `"ns"`) || !strings.Contains(s, "AES-256") {
		t.Errorf("Sprint(keyring) = %s", s)
	}
}

func TestSetDataKey(t *testing.T) {
	m := &EncryptionMaterials{Suite: AES256GCMHKDFSHA512CommitKey}
	if err := m.SetDataKey(make([]byte, 16)); err == nil {
		t.Fatal("SetDataKey(16 bytes) for a 32-byte suite succeeded")
	}
	key := bytes.Repeat([]byte{1}, 32)
	if err := m.SetDataKey(key); err != nil {
		t.Fatal(err)
	}
	key[0] = 2
	if m.DataKey()[0] != 1 {
		t.Fatal("SetDataKey kept the caller's slice")
	}
	if err := m.SetDataKey(key); err == nil {
		t.Fatal("SetDataKey twice succeeded")
	}
	c := m.Clone()
	c.DataKey()[1] = 9
	if m.DataKey()[1] != 1 {
		t.Fatal("Clone shares the data key")
	}
	u := &DecryptionMaterials{Suite: 0x9999}
	if err := u.SetDataKey(key); err == nil {
		t.Fatal("SetDataKey for an unknown suite succeeded")
	}
}
