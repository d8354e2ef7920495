package esdk_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/datamask/datamask/esdk"
)

var dbeSuites = []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384}

// dbeContext is an encryption context shaped like the DB-ESDK's: every key
// is required (authenticated, not stored).
var dbeContext = map[string]string{
	"aws-crypto-table-name":     "TestTable",
	"aws-crypto-partition-name": "pk",
	"aws-crypto-attr.pk":        "AAF1c2VyIzE=",
}

// dbeRequest asks for DB-ESDK materials the way package dbesdk does. The
// DB-ESDK's context keys start with aws-crypto-, which the default CMM
// refuses from callers of Client.Encrypt but must accept here: they are all
// required keys added by the item encryptor.
func dbeRequest(suite esdk.Suite) esdk.EncryptionMaterialsRequest {
	req := esdk.EncryptionMaterialsRequest{
		Suite:             suite,
		EncryptionContext: dbeContext,
		CommitmentPolicy:  esdk.RequireEncryptRequireDecrypt,
		PlaintextLength:   100,
	}
	for k := range dbeContext {
		req.RequiredContextKeys = append(req.RequiredContextKeys, k)
	}
	return req
}

func TestDBESuites(t *testing.T) {
	tests := []struct {
		s       esdk.Suite
		name    string
		signing bool
	}{
		{esdk.DBEAES256GCMCommitKeyHMACSHA384, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384", false},
		{esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384", true},
	}
	for _, tt := range tests {
		s := tt.s
		if s.String() != tt.name || !s.Known() || !s.DBE() || !s.IntermediateKeyWrapping() || !s.Committing() ||
			s.Signing() != tt.signing || !s.DerivesKey() || s.DataKeyLen() != 32 {
			t.Errorf("suite %#04x: String %q Known %v DBE %v Intermediate %v Committing %v Signing %v DerivesKey %v DataKeyLen %d",
				uint16(s), s, s.Known(), s.DBE(), s.IntermediateKeyWrapping(), s.Committing(), s.Signing(), s.DerivesKey(), s.DataKeyLen())
		}
	}
	for _, s := range []esdk.Suite{esdk.AES256GCMHKDFSHA512CommitKey, esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384, 0x0178, 0x6702, 0} {
		if s.DBE() || s.IntermediateKeyWrapping() {
			t.Errorf("suite %v: DBE() or IntermediateKeyWrapping() is true", s)
		}
	}
}

// dbeCMM returns materials that a CMM would: it lets a test hand
// Client.Encrypt materials of a DB-ESDK suite.
type fixedCMM struct {
	next esdk.MaterialsManager
	req  esdk.EncryptionMaterialsRequest
}

func (c fixedCMM) EncryptionMaterials(ctx context.Context, req esdk.EncryptionMaterialsRequest) (*esdk.EncryptionMaterials, error) {
	return c.next.EncryptionMaterials(ctx, c.req)
}

func (c fixedCMM) DecryptionMaterials(ctx context.Context, req esdk.DecryptionMaterialsRequest) (*esdk.DecryptionMaterials, error) {
	return c.next.DecryptionMaterials(ctx, req)
}

// TestClientRefusesDBESuites: the DB-ESDK suites are for items; an AWS
// Encryption SDK message never uses them.
func TestClientRefusesDBESuites(t *testing.T) {
	c := mustNewClient(t)
	cmm := mustDefaultCMM(t, mustAES(t, "ns", "k"))
	for _, s := range dbeSuites {
		if _, err := c.Encrypt(context.Background(), []byte("x"), cmm, esdk.WithSuite(s)); err == nil || !strings.Contains(err.Error(), "cannot encrypt messages") {
			t.Errorf("Encrypt(WithSuite(%v)) = %v, want a refusal", s, err)
		}
		req := dbeRequest(s)
		req.EncryptionContext, req.RequiredContextKeys = nil, nil
		if _, err := c.Encrypt(context.Background(), []byte("x"), fixedCMM{cmm, req}); err == nil || !strings.Contains(err.Error(), "cannot encrypt") {
			t.Errorf("Encrypt(materials of %v) = %v, want a refusal", s, err)
		}
	}
}

func mustNewClient(t testing.TB) *esdk.Client {
	t.Helper()
	c, err := esdk.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustDefaultCMM(t testing.TB, k esdk.Keyring) *esdk.DefaultCMM {
	t.Helper()
	c, err := esdk.NewDefaultCMM(k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustAES(t testing.TB, ns, name string) *esdk.RawAESKeyring {
	t.Helper()
	key := bytes.Repeat([]byte{byte(len(ns) + len(name))}, 32)
	k, err := esdk.NewRawAESKeyring(ns, name, key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// openIntermediate recomputes, from the specification alone, the data key
// and symmetric signing key of an encrypted data key made by intermediate
// key wrapping, given the intermediate key.
func openIntermediate(t *testing.T, ciphertext, intermediateKey []byte, ec map[string]string) (dataKey, mac []byte) {
	t.Helper()
	prk, err := hkdf.Extract(sha512.New, intermediateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	mac, _ = hkdf.Expand(sha512.New, prk, "AWS_MPL_INTERMEDIATE_KEYWRAP_MAC", 32)
	kek, _ := hkdf.Expand(sha512.New, prk, "AWS_MPL_INTERMEDIATE_KEYWRAP_ENC", 32)
	block, _ := aes.NewCipher(kek)
	gcm, _ := cipher.NewGCM(block)
	aad, err := esdk.MarshalEncryptionContext(ec)
	if err != nil {
		t.Fatal(err)
	}
	dataKey, err = gcm.Open(nil, make([]byte, 12), ciphertext[:48], aad)
	if err != nil {
		t.Fatalf("the sealed data key does not open under the intermediate key: %v", err)
	}
	return dataKey, mac
}

// TestIntermediateKeyWrapping checks the raw AES keyring's encrypted data
// keys for the DB-ESDK suites against the specification: the raw AES part
// holds the intermediate key, which opens the sealed data key that starts
// the ciphertext and derives the symmetric signing key.
func TestIntermediateKeyWrapping(t *testing.T) {
	wrapping := bytes.Repeat([]byte{7}, 32)
	kr, err := esdk.NewRawAESKeyring("ns", "name", wrapping)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range dbeSuites {
		t.Run(s.String(), func(t *testing.T) {
			m, err := mustDefaultCMM(t, kr).EncryptionMaterials(context.Background(), dbeRequest(s))
			if err != nil {
				t.Fatalf("EncryptionMaterials() = %v", err)
			}
			if len(m.EncryptedDataKeys) != 1 || len(m.SymmetricSigningKeys()) != 1 {
				t.Fatalf("EncryptionMaterials() has %d encrypted data keys and %d symmetric keys, want 1 and 1", len(m.EncryptedDataKeys), len(m.SymmetricSigningKeys()))
			}
			if (m.SigningKey() != nil) != s.Signing() {
				t.Errorf("SigningKey() set = %v, want %v", m.SigningKey() != nil, s.Signing())
			}
			ct := m.EncryptedDataKeys[0].Ciphertext
			if len(ct) != 48+32+16 {
				t.Fatalf("ciphertext is %d bytes, want 48 (sealed data key) + 48 (raw AES of the intermediate key)", len(ct))
			}
			block, _ := aes.NewCipher(wrapping)
			gcm, _ := cipher.NewGCM(block)
			info := m.EncryptedDataKeys[0].ProviderInfo
			aad, _ := esdk.MarshalEncryptionContext(m.EncryptionContext)
			ik, err := gcm.Open(nil, info[len(info)-12:], ct[48:], aad)
			if err != nil {
				t.Fatalf("the raw AES part does not open: %v", err)
			}
			dk, mac := openIntermediate(t, ct, ik, m.EncryptionContext)
			if !bytes.Equal(dk, m.DataKey()) || !bytes.Equal(mac, m.SymmetricSigningKeys()[0]) {
				t.Errorf("data key or symmetric signing key differ from the specification's")
			}

			// Decrypt: the reproduced context supplies the required keys.
			dm, err := mustDefaultCMM(t, kr).DecryptionMaterials(context.Background(), decryptRequest(m))
			if err != nil {
				t.Fatalf("DecryptionMaterials() = %v", err)
			}
			if !bytes.Equal(dm.DataKey(), m.DataKey()) || !bytes.Equal(dm.SymmetricSigningKey(), mac) {
				t.Errorf("DecryptionMaterials() keys differ from the encryption materials'")
			}
			if (dm.VerificationKey() != nil) != s.Signing() {
				t.Errorf("VerificationKey() set = %v, want %v", dm.VerificationKey() != nil, s.Signing())
			}
		})
	}
}

// decryptRequest is what dbesdk asks on decrypt: only the public key is
// stored, every other pair is reproduced.
func decryptRequest(m *esdk.EncryptionMaterials) esdk.DecryptionMaterialsRequest {
	stored := map[string]string{}
	if pub, ok := m.EncryptionContext[esdk.PublicKeyContextKey]; ok {
		stored[esdk.PublicKeyContextKey] = pub
	}
	return esdk.DecryptionMaterialsRequest{
		Suite:             m.Suite,
		CommitmentPolicy:  esdk.RequireEncryptRequireDecrypt,
		EncryptedDataKeys: m.EncryptedDataKeys,
		EncryptionContext: stored,
		ReproducedContext: dbeContext,
	}
}

// TestIntermediateMultiKeyring: every keyring of a multi-keyring (raw AES,
// raw RSA) adds an encrypted data key with its own symmetric signing key,
// and each decrypts the same data key and the symmetric key of its own
// encrypted data key.
func TestIntermediateMultiKeyring(t *testing.T) {
	aesKR := mustAES(t, "ns", "aes")
	priv := vectorRSAKey(t)
	rsaKR, err := esdk.NewRawRSAKeyring("ns", "rsa", esdk.RSAOAEPSHA256, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	aes2 := mustAES(t, "other", "aes2")
	multi, err := esdk.NewMultiKeyring(aesKR, rsaKR, aes2)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range dbeSuites {
		m, err := mustDefaultCMM(t, multi).EncryptionMaterials(context.Background(), dbeRequest(s))
		if err != nil {
			t.Fatalf("EncryptionMaterials(%v) = %v", s, err)
		}
		macs := m.SymmetricSigningKeys()
		if len(m.EncryptedDataKeys) != 3 || len(macs) != 3 || bytes.Equal(macs[0], macs[1]) || bytes.Equal(macs[1], macs[2]) {
			t.Fatalf("EncryptionMaterials(%v): %d encrypted data keys, %d distinct symmetric keys, want 3 and 3", s, len(m.EncryptedDataKeys), len(macs))
		}
		for i, kr := range []esdk.Keyring{aesKR, rsaKR, aes2} {
			dm, err := mustDefaultCMM(t, kr).DecryptionMaterials(context.Background(), decryptRequest(m))
			if err != nil {
				t.Fatalf("keyring %d: DecryptionMaterials(%v) = %v", i, s, err)
			}
			if !bytes.Equal(dm.DataKey(), m.DataKey()) || !bytes.Equal(dm.SymmetricSigningKey(), macs[i]) {
				t.Errorf("keyring %d, %v: data key or symmetric key differ", i, s)
			}
		}
	}
}

// TestIntermediateTampered: a changed sealed data key, keyring part or
// reproduced context makes every keyring fail with a key error.
func TestIntermediateTampered(t *testing.T) {
	priv := vectorRSAKey(t)
	rsaKR, err := esdk.NewRawRSAKeyring("ns", "rsa", esdk.RSAOAEPSHA1, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, kr := range []esdk.Keyring{mustAES(t, "ns", "aes"), rsaKR} {
		s := esdk.DBEAES256GCMCommitKeyHMACSHA384
		m, err := mustDefaultCMM(t, kr).EncryptionMaterials(context.Background(), dbeRequest(s))
		if err != nil {
			t.Fatal(err)
		}
		ct := m.EncryptedDataKeys[0].Ciphertext
		for _, i := range []int{0, 31, 47, 48, len(ct) - 1} {
			req := decryptRequest(m)
			edk := req.EncryptedDataKeys[0]
			edk.Ciphertext = bytes.Clone(ct)
			edk.Ciphertext[i] ^= 1
			req.EncryptedDataKeys = []esdk.EncryptedDataKey{edk}
			if _, err := mustDefaultCMM(t, kr).DecryptionMaterials(context.Background(), req); !errors.Is(err, esdk.ErrNoDecryptKey) {
				t.Errorf("%v: byte %d flipped: DecryptionMaterials() = %v, want ErrNoDecryptKey", kr, i, err)
			}
		}
		req := decryptRequest(m)
		edk := req.EncryptedDataKeys[0]
		edk.Ciphertext = ct[:47]
		req.EncryptedDataKeys = []esdk.EncryptedDataKey{edk}
		if _, err := mustDefaultCMM(t, kr).DecryptionMaterials(context.Background(), req); !errors.Is(err, esdk.ErrNoDecryptKey) {
			t.Errorf("%v: truncated: DecryptionMaterials() = %v, want ErrNoDecryptKey", kr, err)
		}
		req = decryptRequest(m)
		req.ReproducedContext = map[string]string{"aws-crypto-table-name": "TestTable", "aws-crypto-partition-name": "pk", "aws-crypto-attr.pk": "AAF1c2VyIzI="}
		if _, err := mustDefaultCMM(t, kr).DecryptionMaterials(context.Background(), req); !errors.Is(err, esdk.ErrNoDecryptKey) {
			t.Errorf("%v: other context: DecryptionMaterials() = %v, want ErrNoDecryptKey", kr, err)
		}
	}
}

func TestAddEncryptedDataKeyRejects(t *testing.T) {
	edk := esdk.EncryptedDataKey{ProviderID: "p", ProviderInfo: []byte("i"), Ciphertext: []byte("c")}
	m := &esdk.EncryptionMaterials{Suite: esdk.DBEAES256GCMCommitKeyHMACSHA384, EncryptionContext: dbeContext}
	if err := m.AddEncryptedDataKey(edk, make([]byte, 32)); err == nil || !strings.Contains(err.Error(), "no data key") {
		t.Errorf("AddEncryptedDataKey(no data key) = %v", err)
	}
	if err := m.SetDataKey(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if err := m.AddEncryptedDataKey(edk, make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "16 bytes") {
		t.Errorf("AddEncryptedDataKey(16-byte intermediate key) = %v", err)
	}
	if err := m.AddEncryptedDataKey(edk, nil); err == nil {
		t.Errorf("AddEncryptedDataKey(nil intermediate key) = nil, want an error")
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, edk)
	if err := m.AddEncryptedDataKey(edk, make([]byte, 32)); err == nil || !strings.Contains(err.Error(), "not added through intermediate") {
		t.Errorf("AddEncryptedDataKey(after a direct append) = %v", err)
	}
	d := &esdk.EncryptionMaterials{Suite: esdk.AES256GCMHKDFSHA512CommitKey}
	if err := d.AddEncryptedDataKey(edk, make([]byte, 32)); err == nil {
		t.Errorf("AddEncryptedDataKey(0x0478, intermediate key) = nil, want an error")
	}
	if err := d.AddEncryptedDataKey(edk, nil); err != nil || len(d.EncryptedDataKeys) != 1 || d.SymmetricSigningKeys() != nil {
		t.Errorf("AddEncryptedDataKey(0x0478) = %v, %d keys", err, len(d.EncryptedDataKeys))
	}
	dm := &esdk.DecryptionMaterials{Suite: esdk.AES256GCMHKDFSHA512CommitKey}
	if err := dm.SetIntermediateKey(make([]byte, 80), make([]byte, 32)); err == nil {
		t.Errorf("SetIntermediateKey(0x0478) = nil, want an error")
	}
	if got, ok := dm.KeyringCiphertext([]byte("abc")); !ok || string(got) != "abc" {
		t.Errorf("KeyringCiphertext(0x0478) = %q, %v, want all of it", got, ok)
	}
	dm = &esdk.DecryptionMaterials{Suite: esdk.DBEAES256GCMCommitKeyHMACSHA384}
	if _, ok := dm.KeyringCiphertext(make([]byte, 47)); ok {
		t.Errorf("KeyringCiphertext(47 bytes) ok, want too short")
	}
	if got, ok := dm.KeyringCiphertext(make([]byte, 50)); !ok || len(got) != 2 {
		t.Errorf("KeyringCiphertext(50 bytes) = %d bytes, %v, want 2", len(got), ok)
	}
	if err := dm.SetIntermediateKey(make([]byte, 80), make([]byte, 32)); err == nil || dm.DataKey() != nil {
		t.Errorf("SetIntermediateKey(garbage) = %v, data key set %v", err, dm.DataKey() != nil)
	}
}

// directKeyring appends encrypted data keys without intermediate key
// wrapping, as a keyring written before the DB-ESDK suites would.
type directKeyring struct{}

func (directKeyring) OnEncrypt(ctx context.Context, m *esdk.EncryptionMaterials) error {
	if err := m.SetDataKey(make([]byte, 32)); err != nil {
		return err
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, esdk.EncryptedDataKey{ProviderID: "direct", Ciphertext: []byte("x")})
	return nil
}

func (directKeyring) OnDecrypt(ctx context.Context, m *esdk.DecryptionMaterials, edks []esdk.EncryptedDataKey) error {
	return m.SetDataKey(make([]byte, 32))
}

// TestDefaultCMMRequiresIntermediateWrapping: a keyring unaware of
// intermediate key wrapping cannot produce DB-ESDK materials.
func TestDefaultCMMRequiresIntermediateWrapping(t *testing.T) {
	cmm := mustDefaultCMM(t, directKeyring{})
	if _, err := cmm.EncryptionMaterials(context.Background(), dbeRequest(esdk.DBEAES256GCMCommitKeyHMACSHA384)); err == nil || !strings.Contains(err.Error(), "AddEncryptedDataKey") {
		t.Errorf("EncryptionMaterials(direct keyring) = %v, want an error naming AddEncryptedDataKey", err)
	}
	_, err := cmm.DecryptionMaterials(context.Background(), esdk.DecryptionMaterialsRequest{
		Suite: esdk.DBEAES256GCMCommitKeyHMACSHA384, CommitmentPolicy: esdk.RequireEncryptRequireDecrypt,
		EncryptedDataKeys: []esdk.EncryptedDataKey{{ProviderID: "direct"}}, ReproducedContext: dbeContext,
	})
	if !errors.Is(err, esdk.ErrNoDecryptKey) || !strings.Contains(err.Error(), "SetIntermediateKey") {
		t.Errorf("DecryptionMaterials(direct keyring) = %v, want ErrNoDecryptKey naming SetIntermediateKey", err)
	}
}

// callCountKeyring counts OnEncrypt and OnDecrypt calls of the keyring it
// wraps.
type callCountKeyring struct {
	esdk.Keyring
	enc, dec int
}

func (k *callCountKeyring) OnEncrypt(ctx context.Context, m *esdk.EncryptionMaterials) error {
	k.enc++
	return k.Keyring.OnEncrypt(ctx, m)
}

func (k *callCountKeyring) OnDecrypt(ctx context.Context, m *esdk.DecryptionMaterials, edks []esdk.EncryptedDataKey) error {
	k.dec++
	return k.Keyring.OnDecrypt(ctx, m, edks)
}

// TestCachingDBEMaterials: the caching CMM serves DB-ESDK materials from
// its cache, symmetric signing keys included, and hands out copies.
func TestCachingDBEMaterials(t *testing.T) {
	kr := &callCountKeyring{Keyring: mustAES(t, "ns", "cache")}
	cmm, err := esdk.NewCachingCMM(mustDefaultCMM(t, kr))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range dbeSuites {
		kr.enc, kr.dec = 0, 0
		m1, err := cmm.EncryptionMaterials(context.Background(), dbeRequest(s))
		if err != nil {
			t.Fatal(err)
		}
		clear(m1.SymmetricSigningKeys()[0])
		m2, err := cmm.EncryptionMaterials(context.Background(), dbeRequest(s))
		if err != nil {
			t.Fatal(err)
		}
		if kr.enc != 1 || !bytes.Equal(m1.DataKey(), m2.DataKey()) || len(m2.SymmetricSigningKeys()) != 1 ||
			bytes.Equal(m2.SymmetricSigningKeys()[0], make([]byte, 32)) {
			t.Errorf("%v: %d keyring calls for two requests, or the cached symmetric key was shared", s, kr.enc)
		}
		for range 2 {
			dm, err := cmm.DecryptionMaterials(context.Background(), decryptRequest(m2))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dm.SymmetricSigningKey(), m2.SymmetricSigningKeys()[0]) {
				t.Errorf("%v: cached decryption materials lost the symmetric key", s)
			}
			clear(dm.SymmetricSigningKey())
		}
		if kr.dec != 1 {
			t.Errorf("%v: %d keyring decrypt calls for two requests, want 1", s, kr.dec)
		}
	}
}

// TestSymmetricKeysNeverPrinted: neither the symmetric signing keys nor
// the data key show through any formatting of DB-ESDK materials.
func TestSymmetricKeysNeverPrinted(t *testing.T) {
	kr := mustAES(t, "ns", "print")
	m, err := mustDefaultCMM(t, kr).EncryptionMaterials(context.Background(), dbeRequest(esdk.DBEAES256GCMCommitKeyHMACSHA384))
	if err != nil {
		t.Fatal(err)
	}
	dm, err := mustDefaultCMM(t, kr).DecryptionMaterials(context.Background(), decryptRequest(m))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("m", "enc", m, "dec", dm)
	outs := []string{logs.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, m), fmt.Sprintf(verb, *m), fmt.Sprintf(verb, dm), fmt.Sprintf(verb, *dm))
	}
	for _, out := range outs {
		for _, key := range [][]byte{m.DataKey(), m.SymmetricSigningKeys()[0], dm.SymmetricSigningKey()} {
			if dbeLeaks(out, key) {
				t.Errorf("output %q shows a key", out)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(m), "SymmetricSigningKeys: 1 [REDACTED]") || !strings.Contains(fmt.Sprint(dm), "SymmetricSigningKey: [REDACTED]") {
		t.Errorf("String() = %q / %q, want the symmetric keys named and redacted", m, dm)
	}
}

// dbeLeaks reports whether out shows key in hex, base64, raw or as Go
// prints a byte slice.
func dbeLeaks(out string, key []byte) bool {
	for _, f := range []string{string(key), fmt.Sprintf("%x", key), fmt.Sprintf("%X", key),
		base64.StdEncoding.EncodeToString(key), fmt.Sprint(key), fmt.Sprintf("%#v", key)} {
		if strings.Contains(out, f) {
			return true
		}
	}
	return false
}
