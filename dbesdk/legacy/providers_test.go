package legacy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/legacy"
)

func TestKeyConstructorsRefuse(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	hmacKey, _ := legacy.NewHMACSigningKey(make([]byte, 32))
	aesKey, _ := legacy.NewAESWrappingKey(make([]byte, 32))
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"short HMAC key", func() error { _, err := legacy.NewHMACSigningKey(make([]byte, 15)); return err }, "InsecureShortHMACSigningKey"},
		{"empty short HMAC key", func() error { _, err := legacy.InsecureShortHMACSigningKey(nil); return err }, "empty"},
		{"AES wrapping key of 20 bytes", func() error { _, err := legacy.NewAESWrappingKey(make([]byte, 20)); return err }, "16, 24 or 32"},
		{"RSA wrapping key of 1024 bits", func() error { _, err := legacy.NewRSAWrappingKey(&small.PublicKey, small); return err }, "at least 2048"},
		{"RSA wrapping keys that differ", func() error { _, err := legacy.NewRSAWrappingKey(&k1.PublicKey, k2); return err }, "not the private key's"},
		{"no RSA wrapping key", func() error { _, err := legacy.NewRSAWrappingKey(nil, nil); return err }, "give a public key"},
		{"PKCS #1 option twice", func() error {
			_, err := legacy.NewRSAWrappingKey(nil, k1, legacy.WithLegacyPKCS1v15Unwrap(), legacy.WithLegacyPKCS1v15Unwrap())
			return err
		}, "twice"},
		{"RSA signing key of 1024 bits", func() error { _, err := legacy.NewRSASigningKey(small, nil); return err }, "at least 2048"},
		{"RSA signing keys that differ", func() error { _, err := legacy.NewRSASigningKey(k1, &k2.PublicKey); return err }, "not the private key's"},
		{"no RSA signing key", func() error { _, err := legacy.NewRSASigningKey(nil, nil); return err }, "give a private key"},
		{"static key of 8 bytes", func() error { _, err := legacy.NewStaticProvider(make([]byte, 8), hmacKey); return err }, "16, 24 or 32"},
		{"static without signing key", func() error { _, err := legacy.NewStaticProvider(make([]byte, 32), nil); return err }, "nil signing key"},
		{"wrapped without wrapping key", func() error { _, err := legacy.NewWrappedProvider(nil, hmacKey); return err }, "nil wrapping key"},
		{"wrapped without signing key", func() error { _, err := legacy.NewWrappedProvider(aesKey, nil); return err }, "nil signing key"},
		{"reserved material description entry", func() error {
			_, err := legacy.NewWrappedProvider(aesKey, hmacKey, legacy.WithMaterialDescription(map[string]string{"amzn-ddb-env-alg": "AES/128"}))
			return err
		}, "writes itself"},
		{"material description twice", func() error {
			_, err := legacy.NewStaticProvider(make([]byte, 32), hmacKey, legacy.WithMaterialDescription(nil), legacy.WithMaterialDescription(nil))
			return err
		}, "twice"},
	} {
		if err := tc.err(); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "legacy: ") {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := legacy.InsecureShortHMACSigningKey(make([]byte, 8)); err != nil {
		t.Errorf("InsecureShortHMACSigningKey(8 bytes) = %v", err)
	}
}

// Keys that can only read make a provider that decrypts but does not
// encrypt, and the extra material description entries are written.
func TestReadOnlyProviders(t *testing.T) {
	t.Parallel()
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	ctx := context.Background()
	cfg := legacy.Config{Table: "T", PartitionKey: "pk", DefaultAction: legacy.EncryptAndSign}
	item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}, "x": &types.AttributeValueMemberS{Value: "secret"}}

	fullWrap, _ := legacy.NewRSAWrappingKey(&k1.PublicKey, k1)
	fullSign, _ := legacy.NewRSASigningKey(k2, nil)
	full, _ := legacy.NewWrappedProvider(fullWrap, fullSign, legacy.WithMaterialDescription(map[string]string{"team": "billing"}))
	writer, err := legacy.New(cfg, full)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := writer.EncryptItem(ctx, item)
	if err != nil {
		t.Fatal(err)
	}
	md, err := legacy.ParseMaterialDescription(ct[legacy.MaterialDescriptionAttribute].(*types.AttributeValueMemberB).Value)
	if err != nil || md["team"] != "billing" || md["amzn-ddb-wrap-alg"] != "RSA/ECB/OAEPWithSHA-256AndMGF1Padding" || md["amzn-ddb-map-signingAlg"] != "SHA256withRSA" {
		t.Errorf("material description = %v, %v", md, err)
	}

	unwrapOnly, _ := legacy.NewRSAWrappingKey(nil, k1)
	verifyOnly, _ := legacy.NewRSASigningKey(nil, &k2.PublicKey)
	for _, tc := range []struct {
		name string
		wk   *legacy.WrappingKey
		sk   *legacy.SigningKey
	}{
		{"unwrap only", unwrapOnly, fullSign},
		{"verify only", fullWrap, verifyOnly},
	} {
		p, err := legacy.NewWrappedProvider(tc.wk, tc.sk)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := legacy.New(cfg, p)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := enc.DecryptItem(ctx, ct); err != nil || itemJSON(got) != itemJSON(item) {
			t.Errorf("%s: DecryptItem() = %s, %v", tc.name, itemJSON(got), err)
		}
		if _, err := enc.EncryptItem(ctx, item); !errors.Is(err, legacy.ErrInvalidItem) || !strings.Contains(err.Error(), "only") {
			t.Errorf("%s: EncryptItem() = %v, want ErrInvalidItem saying the key can only read", tc.name, err)
		}
	}
}

// Items of older Java clients, whose RSA-wrapped content key has no
// amzn-ddb-wrap-alg (PKCS #1 v1.5), are read only with
// WithLegacyPKCS1v15Unwrap.
func TestLegacyPKCS1v15Unwrap(t *testing.T) {
	t.Parallel()
	m := loadManifest(t, filepath.Join("testdata", "ddbec-repo"))
	var v *vectorTest
	for _, id := range slices.Sorted(maps.Keys(m.Tests)) {
		test := m.Tests[id]
		// One with an encrypted attribute, so that the content key matters.
		if !test.Keyring.LegacyPKCS1v15 || test.Result != "success" {
			continue
		}
		if ct, err := parseItemJSON(test.Ciphertext); err == nil {
			if _, encrypted := ct["stringValue"].(*types.AttributeValueMemberB); encrypted {
				v = test
				break
			}
		}
	}
	if v == nil {
		t.Fatal("no vector with legacy_pkcs1v15_unwrap")
	}
	cfg, err := v.config()
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := parseItemJSON(v.Ciphertext)
	for _, legacyOn := range []bool{true, false} {
		k := v.Keyring
		k.LegacyPKCS1v15 = legacyOn
		p, err := newKMSFakes(t).provider(k)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := legacy.New(cfg, p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = enc.DecryptItem(context.Background(), ct)
		if legacyOn && err != nil {
			t.Errorf("with WithLegacyPKCS1v15Unwrap: DecryptItem() = %v", err)
		}
		if !legacyOn && !errors.Is(err, legacy.ErrDecrypt) {
			t.Errorf("without WithLegacyPKCS1v15Unwrap: DecryptItem() = %v, want ErrDecrypt", err)
		}
		if legacyOn {
			// A flipped byte of the PKCS #1 v1.5 wrapped key fails like
			// any wrong key.
			md, _ := legacy.ParseMaterialDescription(ct[legacy.MaterialDescriptionAttribute].(*types.AttributeValueMemberB).Value)
			wrapped := []byte(md["amzn-ddb-env-key"])
			for _, i := range []int{0, 10, len(wrapped) / 2} {
				bad := bytes.Clone(wrapped)
				bad[i] ^= 0x01
				md2 := map[string]string{}
				for k, v := range md {
					md2[k] = v
				}
				md2["amzn-ddb-env-key"] = string(bad)
				it := with(ct, legacy.MaterialDescriptionAttribute, &types.AttributeValueMemberB{Value: legacy.AppendMaterialDescription(nil, md2)})
				if _, err := enc.DecryptItem(context.Background(), it); !errors.Is(err, legacy.ErrDecrypt) {
					t.Errorf("wrapped key base64 byte %d flipped: DecryptItem() = %v, want ErrDecrypt", i, err)
				}
			}
		}
	}
}
