package esdk_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/benchdata"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// vectorRSAKey returns the 4096-bit RSA key of the shared vectors'
// keys.json (generating one would slow the tests).
func vectorRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		var km keyManifest
		readJSON(t.(*testing.T), filepath.Join(benchdata.SharedDir(), "esdk_vectors", "net-4.0.x", "keys.json"), &km)
		block, _ := pem.Decode([]byte(km.Keys["rsa-4096-private"].Material))
		if block == nil {
			return
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err == nil {
			rsaKey, _ = k.(*rsa.PrivateKey)
		}
	})
	if rsaKey == nil {
		t.Fatal("cannot load rsa-4096-private from the shared keys.json")
	}
	return rsaKey
}

func TestNewRawAESKeyringRejects(t *testing.T) {
	tests := []struct {
		name, ns, key string
		wrap          []byte
	}{
		{"short key", "ns", "k", make([]byte, 15)},
		{"long key", "ns", "k", make([]byte, 33)},
		{"20-byte key", "ns", "k", make([]byte, 20)},
		{"no key", "ns", "k", nil},
		{"empty namespace", "", "k", make([]byte, 32)},
		{"empty name", "ns", "", make([]byte, 32)},
		{"aws-kms namespace", "aws-kms", "k", make([]byte, 32)},
		{"invalid UTF-8", "\xff", "k", make([]byte, 32)},
		{"name too long", "ns", strings.Repeat("n", 0xFFFF), make([]byte, 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if kr, err := esdk.NewRawAESKeyring(tt.ns, tt.key, tt.wrap); err == nil {
				t.Fatalf("NewRawAESKeyring() = %v, want an error", kr)
			}
		})
	}
	for _, n := range []int{16, 24, 32} {
		if _, err := esdk.NewRawAESKeyring("ns", "k", make([]byte, n)); err != nil {
			t.Errorf("NewRawAESKeyring(%d-byte key) error = %v", n, err)
		}
	}
}

func TestRawAESKeySizes(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	for _, n := range []int{16, 24, 32} {
		t.Run(fmt.Sprint(8*n), func(t *testing.T) {
			key := bytes.Repeat([]byte{byte(n)}, n)
			cmm := newAESCMM(t, "k", key)
			msg, err := client.Encrypt(ctx, []byte("pt"), cmm)
			if err != nil {
				t.Fatal(err)
			}
			if got, _, err := client.Decrypt(ctx, msg, cmm); err != nil || string(got) != "pt" {
				t.Fatalf("Decrypt() = %q, %v", got, err)
			}
			// The same key at another size does not decrypt.
			other := newAESCMM(t, "k", append(bytes.Clone(key), make([]byte, 8)...)[:max(16, (n+8)%40)])
			if _, _, err := client.Decrypt(ctx, msg, other); !errors.Is(err, esdk.ErrNoDecryptKey) {
				t.Fatalf("Decrypt(other key) error = %v, want ErrNoDecryptKey", err)
			}
		})
	}
}

func TestRawRSAKeyring(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	priv := vectorRSAKey(t)
	paddings := []esdk.RSAPadding{esdk.RSAOAEPSHA1, esdk.RSAOAEPSHA256, esdk.RSAOAEPSHA384, esdk.RSAOAEPSHA512, esdk.LegacyRSAPKCS1v15}
	for _, p := range paddings {
		t.Run(p.String(), func(t *testing.T) {
			enc, err := esdk.NewRawRSAKeyring("ns", "rsa", p, &priv.PublicKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := esdk.NewRawRSAKeyring("ns", "rsa", p, nil, priv)
			if err != nil {
				t.Fatal(err)
			}
			encCMM, _ := esdk.NewDefaultCMM(enc)
			decCMM, _ := esdk.NewDefaultCMM(dec)
			msg, err := client.Encrypt(ctx, []byte("pt"), encCMM, esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
			if err != nil {
				t.Fatal(err)
			}
			got, h, err := client.Decrypt(ctx, msg, decCMM)
			if err != nil || string(got) != "pt" {
				t.Fatalf("Decrypt() = %q, %v", got, err)
			}
			if e := h.EncryptedDataKeys[0]; e.ProviderID != "ns" || string(e.ProviderInfo) != "rsa" || len(e.Ciphertext) != 512 {
				t.Fatalf("EDK = %q %q %d bytes, want ns, rsa, 512 bytes", e.ProviderID, e.ProviderInfo, len(e.Ciphertext))
			}
			// An encrypt-only keyring cannot decrypt, a decrypt-only one
			// cannot encrypt.
			if _, _, err := client.Decrypt(ctx, msg, encCMM); !errors.Is(err, esdk.ErrNoDecryptKey) {
				t.Fatalf("Decrypt(public key only) error = %v, want ErrNoDecryptKey", err)
			}
			if _, err := client.Encrypt(ctx, []byte("pt"), decCMM); err == nil {
				t.Fatal("Encrypt(private key only) succeeded")
			}
			// Another padding on the reading side fails.
			other := esdk.RSAOAEPSHA256
			if p == esdk.RSAOAEPSHA256 {
				other = esdk.RSAOAEPSHA512
			}
			wrong, _ := esdk.NewRawRSAKeyring("ns", "rsa", other, nil, priv)
			wrongCMM, _ := esdk.NewDefaultCMM(wrong)
			if _, _, err := client.Decrypt(ctx, msg, wrongCMM); !errors.Is(err, esdk.ErrNoDecryptKey) && !errors.Is(err, esdk.ErrInvalidMessage) {
				t.Fatalf("Decrypt(padding %v) error = %v, want a failure", other, err)
			}
		})
	}
}

func TestNewRawRSAKeyringRejects(t *testing.T) {
	priv := vectorRSAKey(t)
	small := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537}
	otherPub := &rsa.PublicKey{N: new(big.Int).Add(priv.N, big.NewInt(2)), E: priv.E}
	tests := []struct {
		name string
		pad  esdk.RSAPadding
		pub  *rsa.PublicKey
		priv *rsa.PrivateKey
	}{
		{"no key", esdk.RSAOAEPSHA256, nil, nil},
		{"zero padding", 0, &priv.PublicKey, nil},
		{"unknown padding", 99, &priv.PublicKey, nil},
		{"1024-bit key", esdk.RSAOAEPSHA256, small, nil},
		{"mismatched pair", esdk.RSAOAEPSHA256, otherPub, priv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if kr, err := esdk.NewRawRSAKeyring("ns", "rsa", tt.pad, tt.pub, tt.priv); err == nil {
				t.Fatalf("NewRawRSAKeyring() = %v, want an error", kr)
			}
		})
	}
}

func TestMultiKeyringAndEDKLimit(t *testing.T) {
	ctx := context.Background()
	var krs []esdk.Keyring
	for i := range 3 {
		kr, err := esdk.NewRawAESKeyring("ns", fmt.Sprint("key", i), bytes.Repeat([]byte{byte(i + 1)}, 32))
		if err != nil {
			t.Fatal(err)
		}
		krs = append(krs, kr)
	}
	multi, err := esdk.NewMultiKeyring(krs[0], krs[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	cmm, _ := esdk.NewDefaultCMM(multi)

	// Encrypt: the limit counts the materials' encrypted data keys.
	if _, err := newClient(t, esdk.WithMaxEncryptedDataKeys(2)).Encrypt(ctx, []byte("pt"), cmm); err == nil || !strings.Contains(err.Error(), "3 encrypted data keys") {
		t.Fatalf("Encrypt(3 EDKs, limit 2) error = %v, want a limit error", err)
	}
	msg, err := newClient(t, esdk.WithMaxEncryptedDataKeys(3)).Encrypt(ctx, []byte("pt"), cmm)
	if err != nil {
		t.Fatal(err)
	}

	// Decrypt: over the limit fails before the materials manager; at the
	// limit each keyring alone decrypts.
	spy := &countingCMM{next: cmm}
	if _, _, err := newClient(t, esdk.WithMaxEncryptedDataKeys(2)).Decrypt(ctx, msg, spy); !errors.Is(err, esdk.ErrTooManyEncryptedDataKeys) || spy.decrypts != 0 {
		t.Fatalf("Decrypt(3 EDKs, limit 2) = %v after %d CMM calls, want ErrTooManyEncryptedDataKeys after none", err, spy.decrypts)
	}
	client := newClient(t, esdk.WithMaxEncryptedDataKeys(3))
	for i, kr := range krs {
		one, _ := esdk.NewDefaultCMM(kr)
		got, h, err := client.Decrypt(ctx, msg, one)
		if err != nil || string(got) != "pt" || len(h.EncryptedDataKeys) != 3 {
			t.Fatalf("Decrypt(keyring %d alone) = %q, %v", i, got, err)
		}
	}

	// A multi-keyring without generator decrypts, and encrypts only
	// materials that already hold a data key.
	children, err := esdk.NewMultiKeyring(nil, krs[2], krs[1])
	if err != nil {
		t.Fatal(err)
	}
	childCMM, _ := esdk.NewDefaultCMM(children)
	if got, _, err := client.Decrypt(ctx, msg, childCMM); err != nil || string(got) != "pt" {
		t.Fatalf("Decrypt(children only) = %q, %v", got, err)
	}
	if _, err := client.Encrypt(ctx, []byte("pt"), childCMM); err == nil {
		t.Fatal("Encrypt(multi-keyring without generator) succeeded")
	}

	// No keyring matches: one cause per keyring.
	stranger, _ := esdk.NewRawAESKeyring("other-ns", "key0", bytes.Repeat([]byte{1}, 32))
	wrongKey, _ := esdk.NewRawAESKeyring("ns", "key0", bytes.Repeat([]byte{9}, 32))
	none, _ := esdk.NewMultiKeyring(nil, stranger, wrongKey)
	noneCMM, _ := esdk.NewDefaultCMM(none)
	_, _, err = client.Decrypt(ctx, msg, noneCMM)
	var nk *esdk.NoDecryptKeyError
	if !errors.As(err, &nk) || len(nk.Errors) != 2 {
		t.Fatalf("Decrypt(no matching keyring) error = %v, want a NoDecryptKeyError with 2 causes", err)
	}

	if _, err := esdk.NewMultiKeyring(nil); err == nil {
		t.Fatal("NewMultiKeyring(nil) succeeded")
	}
	if _, err := esdk.NewMultiKeyring(krs[0], nil); err == nil {
		t.Fatal("NewMultiKeyring(generator, nil child) succeeded")
	}
}

func TestClientOptions(t *testing.T) {
	bad := map[string][]esdk.Option{
		"nil option":         {nil},
		"zero policy":        {esdk.WithCommitmentPolicy(0)},
		"policy twice":       {esdk.WithCommitmentPolicy(esdk.RequireEncryptRequireDecrypt), esdk.WithCommitmentPolicy(esdk.RequireEncryptAllowLegacyDecrypt)},
		"zero max EDKs":      {esdk.WithMaxEncryptedDataKeys(0)},
		"max EDKs too large": {esdk.WithMaxEncryptedDataKeys(65536)},
	}
	for name, opts := range bad {
		t.Run(name, func(t *testing.T) {
			if c, err := esdk.NewClient(opts...); err == nil {
				t.Fatalf("NewClient() = %v, want an error", c)
			}
		})
	}
	c := newClient(t)
	if c.CommitmentPolicy() != esdk.RequireEncryptRequireDecrypt || c.MaxEncryptedDataKeys() != esdk.DefaultMaxEncryptedDataKeys {
		t.Fatalf("NewClient() defaults = %v, %d", c.CommitmentPolicy(), c.MaxEncryptedDataKeys())
	}

	cmm := newAESCMM(t, "k", testKey)
	badEnc := map[string][]esdk.EncryptOption{
		"nil option":         {nil},
		"legacy suite":       {esdk.WithSuite(0x0378)},
		"zero suite":         {esdk.WithSuite(0)},
		"suite twice":        {esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey), esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey)},
		"zero frame length":  {esdk.WithFrameLength(0)},
		"frame length 2^31":  {esdk.WithFrameLength(1 << 31)},
		"context twice":      {esdk.WithEncryptionContext(nil), esdk.WithEncryptionContext(nil)},
		"negative frame len": {esdk.WithFrameLength(-1)},
	}
	for name, opts := range badEnc {
		t.Run("Encrypt/"+name, func(t *testing.T) {
			if _, err := c.Encrypt(context.Background(), []byte("pt"), cmm, opts...); err == nil {
				t.Fatal("Encrypt() succeeded, want an error")
			}
		})
	}
	if _, err := c.Encrypt(context.Background(), nil, nil); err == nil {
		t.Fatal("Encrypt(nil CMM) succeeded")
	}
	msg, _ := c.Encrypt(context.Background(), nil, cmm)
	badDec := map[string][]esdk.DecryptOption{
		"nil option":       {nil},
		"expected twice":   {esdk.WithExpectedContext(nil), esdk.WithExpectedContext(nil)},
		"reproduced twice": {esdk.WithReproducedContext(nil), esdk.WithReproducedContext(nil)},
	}
	for name, opts := range badDec {
		t.Run("Decrypt/"+name, func(t *testing.T) {
			if _, _, err := c.Decrypt(context.Background(), msg, cmm, opts...); err == nil {
				t.Fatal("Decrypt() succeeded, want an error")
			}
		})
	}
}

func TestSuiteAndPolicyNames(t *testing.T) {
	tests := map[fmt.Stringer]string{
		esdk.AES256GCMHKDFSHA512CommitKey:          "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
		esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384",
		esdk.Suite(0x0014):                         "AES_128_GCM_IV12_TAG16_NO_KDF",
		esdk.Suite(0x1234):                         "Suite(0x1234)",
		esdk.Suite(0):                              "Suite(0x0000)",
		esdk.RequireEncryptRequireDecrypt:          "REQUIRE_ENCRYPT_REQUIRE_DECRYPT",
		esdk.RequireEncryptAllowLegacyDecrypt:      "REQUIRE_ENCRYPT_ALLOW_DECRYPT",
		esdk.CommitmentPolicy(0):                   "CommitmentPolicy(0)",
		esdk.Framed:                                "framed",
		esdk.NonFramed:                             "non-framed",
		esdk.LegacyRSAPKCS1v15:                     "PKCS1",
	}
	for v, want := range tests {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	s := esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384
	if !s.Known() || !s.Committing() || !s.Signing() || !s.DerivesKey() || s.DataKeyLen() != 32 {
		t.Errorf("suite 0578 properties wrong")
	}
	if l := esdk.Suite(0x0046); !l.Known() || l.Committing() || l.Signing() || l.DerivesKey() || l.DataKeyLen() != 24 {
		t.Errorf("suite 0046 properties wrong")
	}
	if z := esdk.Suite(0); z.Known() || z.DataKeyLen() != 0 {
		t.Errorf("suite 0 is known")
	}
}
