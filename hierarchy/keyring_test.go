package hierarchy_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/hierarchy"
	"github.com/datamask/datamask/kmstest"
)

// allSuites are the suites a keyring must serve: the two the AWS
// Encryption SDK encrypts with, a legacy one of each key length (decrypt
// only in esdk, but a keyring wraps what it is given), and the two of the
// DB-ESDK, with intermediate key wrapping.
var allSuites = []esdk.Suite{0x0014, 0x0146, 0x0178, 0x0478, 0x0578, 0x6700, 0x6701}

func mustKeyring(t testing.TB, store hierarchy.BranchKeyStore, id string, opts ...hierarchy.KeyringOption) *hierarchy.Keyring {
	t.Helper()
	kr, err := hierarchy.NewKeyring(store, id, 5*time.Minute, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// encryptMaterials runs kr.OnEncrypt on fresh materials of suite and ec.
func encryptMaterials(t testing.TB, kr esdk.Keyring, suite esdk.Suite, ec map[string]string) *esdk.EncryptionMaterials {
	t.Helper()
	m := &esdk.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
	if err := kr.OnEncrypt(context.Background(), m); err != nil {
		t.Fatalf("OnEncrypt(%v) = %v", suite, err)
	}
	return m
}

func decryptMaterials(kr esdk.Keyring, suite esdk.Suite, ec map[string]string, edks []esdk.EncryptedDataKey) (*esdk.DecryptionMaterials, error) {
	m := &esdk.DecryptionMaterials{Suite: suite, EncryptionContext: ec}
	err := kr.OnDecrypt(context.Background(), m, edks)
	return m, err
}

// TestKeyringMaterials wraps and unwraps a data key of every suite and
// checks the encrypted data key's layout: provider "aws-kms-hierarchy", the
// branch key id, and a ciphertext of salt, IV, the active version's 16
// bytes, the wrapped key and the tag (after the sealed data key for the
// DB-ESDK suites).
func TestKeyringMaterials(t *testing.T) {
	store := newMemStore()
	version := store.create("bk-1", nil)
	versionBytes, _ := hex.DecodeString(strings.ReplaceAll(version, "-", ""))
	kr := mustKeyring(t, store, "bk-1")
	ec := map[string]string{"tenant": "acme", "aws-crypto-public-key": "AxyZ"}
	for _, suite := range allSuites {
		t.Run(suite.String(), func(t *testing.T) {
			n := suite.DataKeyLen()
			em := encryptMaterials(t, kr, suite, ec)
			if len(em.EncryptedDataKeys) != 1 || len(em.DataKey()) != n {
				t.Fatalf("OnEncrypt() made %d encrypted data keys and a %d-byte data key, want 1 and %d", len(em.EncryptedDataKeys), len(em.DataKey()), n)
			}
			edk := em.EncryptedDataKeys[0]
			offset := 0
			if suite.IntermediateKeyWrapping() {
				offset = n + 16 // the data key sealed under the intermediate key
			}
			if edk.ProviderID != "aws-kms-hierarchy" || string(edk.ProviderInfo) != "bk-1" || len(edk.Ciphertext) != offset+16+12+16+n+16 {
				t.Fatalf("encrypted data key = %q %q with a %d-byte ciphertext, want aws-kms-hierarchy bk-1 and %d bytes",
					edk.ProviderID, edk.ProviderInfo, len(edk.Ciphertext), offset+16+12+16+n+16)
			}
			if got := edk.Ciphertext[offset+28 : offset+44]; !bytes.Equal(got, versionBytes) {
				t.Errorf("ciphertext version bytes = %x, want the active version %s", got, version)
			}
			if suite.IntermediateKeyWrapping() != (len(em.SymmetricSigningKeys()) == 1) {
				t.Errorf("OnEncrypt() gave %d symmetric signing keys for %v", len(em.SymmetricSigningKeys()), suite)
			}
			dm, err := decryptMaterials(kr, suite, ec, em.EncryptedDataKeys)
			if err != nil {
				t.Fatalf("OnDecrypt() = %v", err)
			}
			if !bytes.Equal(dm.DataKey(), em.DataKey()) {
				t.Errorf("OnDecrypt() data key differs from OnEncrypt()'s")
			}
			if suite.IntermediateKeyWrapping() && !bytes.Equal(dm.SymmetricSigningKey(), em.SymmetricSigningKeys()[0]) {
				t.Errorf("OnDecrypt() symmetric signing key differs from OnEncrypt()'s")
			}
			// A data key already set (by an earlier keyring) is wrapped, not
			// replaced.
			pre := &esdk.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
			dk := bytes.Repeat([]byte{7}, n)
			if err := pre.SetDataKey(dk); err != nil {
				t.Fatal(err)
			}
			if err := kr.OnEncrypt(context.Background(), pre); err != nil || !bytes.Equal(pre.DataKey(), dk) {
				t.Fatalf("OnEncrypt(materials with a data key) = %v, or replaced the data key", err)
			}
			if dm, err := decryptMaterials(kr, suite, ec, pre.EncryptedDataKeys); err != nil || !bytes.Equal(dm.DataKey(), dk) {
				t.Errorf("OnDecrypt(wrap of a given data key) = %v, want that data key", err)
			}
		})
	}
	if a, v := store.calls(); a != 1 || v != 1 {
		t.Errorf("the keyring asked the store %d times for the active key and %d times for a version, want once each", a, v)
	}
}

// TestKeyringTampered: every change to the encrypted data key or to the
// encryption context makes decryption fail with a NoDecryptKeyError.
func TestKeyringTampered(t *testing.T) {
	store := newMemStore()
	store.create("bk-1", nil)
	store.create("bk-2", nil)
	kr := mustKeyring(t, store, "bk-1")
	ec := map[string]string{"tenant": "acme"}
	for _, suite := range []esdk.Suite{esdk.AES256GCMHKDFSHA512CommitKey, esdk.DBEAES256GCMCommitKeyHMACSHA384} {
		t.Run(suite.String(), func(t *testing.T) {
			em := encryptMaterials(t, kr, suite, ec)
			edk := em.EncryptedDataKeys[0]
			fail := func(t *testing.T, what string, ec map[string]string, edks ...esdk.EncryptedDataKey) error {
				t.Helper()
				dm, err := decryptMaterials(kr, suite, ec, edks)
				var nd *esdk.NoDecryptKeyError
				if !errors.As(err, &nd) || dm.DataKey() != nil {
					t.Fatalf("OnDecrypt(%s) = %v, want a NoDecryptKeyError and no data key", what, err)
				}
				return err
			}
			for i := range edk.Ciphertext {
				for _, bit := range []byte{0x01, 0x80} {
					c := bytes.Clone(edk.Ciphertext)
					c[i] ^= bit
					fail(t, fmt.Sprintf("byte %d ^ %#x", i, bit), ec, esdk.EncryptedDataKey{ProviderID: edk.ProviderID, ProviderInfo: edk.ProviderInfo, Ciphertext: c})
				}
			}
			for _, c := range [][]byte{edk.Ciphertext[:len(edk.Ciphertext)-1], append(bytes.Clone(edk.Ciphertext), 0), nil, edk.Ciphertext[:10]} {
				err := fail(t, fmt.Sprintf("%d-byte ciphertext", len(c)), ec, esdk.EncryptedDataKey{ProviderID: edk.ProviderID, ProviderInfo: edk.ProviderInfo, Ciphertext: c})
				if !strings.Contains(err.Error(), "not a hierarchical keyring ciphertext") {
					t.Errorf("OnDecrypt(%d-byte ciphertext) = %v, want the ciphertext refused", len(c), err)
				}
			}
			for _, other := range []map[string]string{{"tenant": "other"}, {}, {"tenant": "acme", "x": "y"}} {
				fail(t, fmt.Sprint("context ", other), other, edk)
			}
			// Another branch key's id: not this keyring's key.
			err := fail(t, "provider info bk-2", ec, esdk.EncryptedDataKey{ProviderID: edk.ProviderID, ProviderInfo: []byte("bk-2"), Ciphertext: edk.Ciphertext})
			if !strings.Contains(err.Error(), `no encrypted data key of branch key "bk-1"`) || !strings.Contains(err.Error(), `"bk-2"`) {
				t.Errorf("OnDecrypt(edk of bk-2) = %v, want it to say the message holds bk-2's key only", err)
			}
			fail(t, "provider id aws-kms", ec, esdk.EncryptedDataKey{ProviderID: "aws-kms", ProviderInfo: edk.ProviderInfo, Ciphertext: edk.Ciphertext})
			fail(t, "provider info not UTF-8", ec, esdk.EncryptedDataKey{ProviderID: edk.ProviderID, ProviderInfo: []byte{0xff}, Ciphertext: edk.Ciphertext})
			fail(t, "no encrypted data keys", ec)
			// A wrong one first, then the right one: the keyring goes on.
			bad := bytes.Clone(edk.Ciphertext)
			bad[len(bad)-1] ^= 1
			dm, err := decryptMaterials(kr, suite, ec, []esdk.EncryptedDataKey{{ProviderID: edk.ProviderID, ProviderInfo: edk.ProviderInfo, Ciphertext: bad}, edk})
			if err != nil || !bytes.Equal(dm.DataKey(), em.DataKey()) {
				t.Errorf("OnDecrypt(tampered, then good) = %v, want the data key", err)
			}
		})
	}
	// An altered version names a version the store does not have: the
	// store's error is kept.
	em := encryptMaterials(t, kr, esdk.AES256GCMHKDFSHA512CommitKey, ec)
	edk := em.EncryptedDataKeys[0]
	c := bytes.Clone(edk.Ciphertext)
	c[30] ^= 1
	_, err := decryptMaterials(kr, esdk.AES256GCMHKDFSHA512CommitKey, ec, []esdk.EncryptedDataKey{{ProviderID: edk.ProviderID, ProviderInfo: edk.ProviderInfo, Ciphertext: c}})
	if !errors.Is(err, hierarchy.ErrBranchKeyNotFound) || !errors.Is(err, esdk.ErrNoDecryptKey) {
		t.Errorf("OnDecrypt(altered version) = %v, want ErrBranchKeyNotFound inside ErrNoDecryptKey", err)
	}
}

// TestKeyringMessages encrypts and decrypts AWS Encryption SDK messages of
// distinct encryption contexts: one store call each way for all of them.
func TestKeyringMessages(t *testing.T) {
	store := newMemStore()
	store.create("bk", nil)
	client, err := esdk.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	for _, suite := range []esdk.Suite{esdk.AES256GCMHKDFSHA512CommitKey, esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		t.Run(suite.String(), func(t *testing.T) {
			writer, err := esdk.NewDefaultCMM(mustKeyring(t, store, "bk"))
			if err != nil {
				t.Fatal(err)
			}
			reader, err := esdk.NewDefaultCMM(mustKeyring(t, store, "bk"))
			if err != nil {
				t.Fatal(err)
			}
			store.calls()
			var msgs [][]byte
			for i := range 100 {
				ec := map[string]string{"record": fmt.Sprint(i)}
				msg, err := client.Encrypt(context.Background(), []byte(fmt.Sprint("value ", i)), writer, esdk.WithEncryptionContext(ec), esdk.WithSuite(suite))
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, msg)
			}
			for i, msg := range msgs {
				pt, h, err := client.Decrypt(context.Background(), msg, reader, esdk.WithExpectedContext(map[string]string{"record": fmt.Sprint(i)}))
				if err != nil || string(pt) != fmt.Sprint("value ", i) {
					t.Fatalf("Decrypt(message %d) = %q, %v", i, pt, err)
				}
				if len(h.EncryptedDataKeys) != 1 || h.EncryptedDataKeys[0].ProviderID != "aws-kms-hierarchy" {
					t.Fatalf("message %d has encrypted data keys %v, want one of aws-kms-hierarchy", i, h.EncryptedDataKeys)
				}
			}
			if a, v := store.calls(); a != 1 || v != 1 {
				t.Errorf("100 messages of distinct contexts: %d active and %d version fetches, want 1 each", a, v)
			}
		})
	}
}

// TestKeyringKMSCalls counts AWS KMS calls through a real key store on
// DynamoDB Local and the fake KMS: encrypting and decrypting many messages
// of distinct contexts costs one KMS Decrypt each way.
func TestKeyringKMSCalls(t *testing.T) {
	b := localBackend(t)
	ks := newStore(t, b)
	id, err := ks.CreateKey(t.Context(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := esdk.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	writer, _ := esdk.NewDefaultCMM(mustKeyring(t, ks, id))
	reader, _ := esdk.NewDefaultCMM(mustKeyring(t, ks, id))
	b.fake.ResetCalls()
	var msgs [][]byte
	for i := range 200 {
		msg, err := client.Encrypt(t.Context(), []byte("x"), writer, esdk.WithEncryptionContext(map[string]string{"i": fmt.Sprint(i)}),
			esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, msg)
	}
	if got := b.fake.CallCounts(); got[kmstest.OpDecrypt] != 1 || len(got) != 1 {
		t.Errorf("200 encrypts made KMS calls %v, want one Decrypt", got)
	}
	b.fake.ResetCalls()
	for _, msg := range msgs {
		if _, _, err := client.Decrypt(t.Context(), msg, reader); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.fake.CallCounts(); got[kmstest.OpDecrypt] != 1 || len(got) != 1 {
		t.Errorf("200 decrypts made KMS calls %v, want one Decrypt", got)
	}
}

// TestKeyringRotation: after VersionKey a keyring keeps encrypting under
// the version it cached until its time to live ends, then under the new
// one; messages of both versions keep decrypting.
func TestKeyringRotation(t *testing.T) {
	store := newMemStore()
	v1 := store.create("bk", nil)
	const ttl = 100 * time.Millisecond
	kr, err := hierarchy.NewKeyring(store, "bk", ttl)
	if err != nil {
		t.Fatal(err)
	}
	version := func(m *esdk.EncryptionMaterials) string {
		c := m.EncryptedDataKeys[0].Ciphertext
		return fmt.Sprintf("%x-%x-%x-%x-%x", c[28:32], c[32:34], c[34:36], c[36:38], c[38:44])
	}
	suite := esdk.AES256GCMHKDFSHA512CommitKey
	old := encryptMaterials(t, kr, suite, nil)
	v2 := store.rotate("bk")
	if got := version(encryptMaterials(t, kr, suite, nil)); got != v1 {
		t.Errorf("right after the rotation the keyring encrypts under %s, want the cached %s", got, v1)
	}
	time.Sleep(3 * ttl)
	current := encryptMaterials(t, kr, suite, nil)
	if got := version(current); got != v2 {
		t.Errorf("after the time to live the keyring encrypts under %s, want the new %s", got, v2)
	}
	for _, m := range []*esdk.EncryptionMaterials{old, current} {
		if dm, err := decryptMaterials(kr, suite, nil, m.EncryptedDataKeys); err != nil || !bytes.Equal(dm.DataKey(), m.DataKey()) {
			t.Errorf("OnDecrypt(version %s) = %v", version(m), err)
		}
	}
}

// TestKeyringSupplier chooses each tenant's branch key from the encryption
// context.
func TestKeyringSupplier(t *testing.T) {
	store := newMemStore()
	store.create("tenant-a", nil)
	store.create("tenant-b", nil)
	errNoTenant := errors.New("no tenant in the encryption context")
	supplier := hierarchy.BranchKeyIDSupplierFunc(func(ctx context.Context, ec map[string]string) (string, error) {
		if ec["tenant"] == "" {
			return "", errNoTenant
		}
		return "tenant-" + ec["tenant"], nil
	})
	kr, err := hierarchy.NewKeyringWithSupplier(store, supplier, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	suite := esdk.AES256GCMHKDFSHA512CommitKey
	a := encryptMaterials(t, kr, suite, map[string]string{"tenant": "a"})
	b := encryptMaterials(t, kr, suite, map[string]string{"tenant": "b"})
	if string(a.EncryptedDataKeys[0].ProviderInfo) != "tenant-a" || string(b.EncryptedDataKeys[0].ProviderInfo) != "tenant-b" {
		t.Fatalf("encrypted data keys of branch keys %q and %q, want tenant-a and tenant-b", a.EncryptedDataKeys[0].ProviderInfo, b.EncryptedDataKeys[0].ProviderInfo)
	}
	if _, err := decryptMaterials(kr, suite, map[string]string{"tenant": "a"}, a.EncryptedDataKeys); err != nil {
		t.Errorf("OnDecrypt(tenant a) = %v", err)
	}
	// Tenant a's key under tenant b's context: b's key is looked for.
	if _, err := decryptMaterials(kr, suite, map[string]string{"tenant": "b"}, a.EncryptedDataKeys); !errors.Is(err, esdk.ErrNoDecryptKey) {
		t.Errorf("OnDecrypt(tenant a's key, tenant b's context) = %v, want ErrNoDecryptKey", err)
	}
	if err := kr.OnEncrypt(context.Background(), &esdk.EncryptionMaterials{Suite: suite}); !errors.Is(err, errNoTenant) || !errors.Is(err, esdk.ErrEncryptKey) {
		t.Errorf("OnEncrypt(no tenant) = %v, want the supplier's error inside an EncryptKeyError", err)
	}
	if _, err := decryptMaterials(kr, suite, nil, a.EncryptedDataKeys); !errors.Is(err, errNoTenant) {
		t.Errorf("OnDecrypt(no tenant) = %v, want the supplier's error", err)
	}
	empty := hierarchy.BranchKeyIDSupplierFunc(func(context.Context, map[string]string) (string, error) { return "", nil })
	kr2, _ := hierarchy.NewKeyringWithSupplier(store, empty, time.Minute)
	if err := kr2.OnEncrypt(context.Background(), &esdk.EncryptionMaterials{Suite: suite}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("OnEncrypt(supplier returns \"\") = %v, want an error", err)
	}
}

// TestKeyringConcurrent: concurrent encrypts and decrypts on a cold cache
// share one fetch from the store; a caller whose context ends stops waiting
// without failing the others.
func TestKeyringConcurrent(t *testing.T) {
	store := newMemStore()
	store.create("bk", nil)
	store.latency = 50 * time.Millisecond
	kr := mustKeyring(t, store, "bk")
	suite := esdk.AES256GCMHKDFSHA512CommitKey
	em := encryptMaterials(t, kr, suite, nil)
	store.calls()
	kr = mustKeyring(t, store, "bk")

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		wg.Go(func() {
			ctx := context.Background()
			if i == 0 { // the first caller gives up early
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 5*time.Millisecond)
				defer cancel()
			}
			err := kr.OnEncrypt(ctx, &esdk.EncryptionMaterials{Suite: suite})
			if i == 0 {
				return
			}
			errs <- err
			m := &esdk.DecryptionMaterials{Suite: suite}
			errs <- kr.OnDecrypt(ctx, m, em.EncryptedDataKeys)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent OnEncrypt or OnDecrypt = %v", err)
		}
	}
	if a, v := store.calls(); a > 2 || v > 2 {
		t.Errorf("50 concurrent callers made %d active and %d version fetches, want 1 each (2 if the one that gave up started it)", a, v)
	}
}

// TestKeyringStoreErrors: the store's errors reach the caller inside the
// keyring's errors; a done context is returned as it is.
func TestKeyringStoreErrors(t *testing.T) {
	store := newMemStore()
	store.create("bk", nil)
	kr := mustKeyring(t, store, "bk")
	suite := esdk.AES256GCMHKDFSHA512CommitKey
	em := encryptMaterials(t, kr, suite, nil)

	store.fail = errors.New("store unavailable")
	kr = mustKeyring(t, store, "bk")
	err := kr.OnEncrypt(context.Background(), &esdk.EncryptionMaterials{Suite: suite})
	if !errors.Is(err, store.fail) || !errors.Is(err, esdk.ErrEncryptKey) {
		t.Errorf("OnEncrypt(failing store) = %v, want the store's error inside an EncryptKeyError", err)
	}
	if _, err := decryptMaterials(kr, suite, nil, em.EncryptedDataKeys); !errors.Is(err, store.fail) || !errors.Is(err, esdk.ErrNoDecryptKey) {
		t.Errorf("OnDecrypt(failing store) = %v, want the store's error inside a NoDecryptKeyError", err)
	}
	store.fail = nil
	kr = mustKeyring(t, mustKeyringMissing{store}, "bk")
	if err := kr.OnEncrypt(context.Background(), &esdk.EncryptionMaterials{Suite: suite}); err == nil || !strings.Contains(err.Error(), "another") {
		t.Errorf("OnEncrypt(store answering for another key) = %v, want an error", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	store.latency = time.Second
	kr = mustKeyring(t, store, "bk")
	if err := kr.OnEncrypt(ctx, &esdk.EncryptionMaterials{Suite: suite}); !errors.Is(err, context.Canceled) || errors.Is(err, esdk.ErrEncryptKey) {
		t.Errorf("OnEncrypt(cancelled) = %v, want context.Canceled and no key error", err)
	}
	m := &esdk.DecryptionMaterials{Suite: suite}
	if err := kr.OnDecrypt(ctx, m, em.EncryptedDataKeys); !errors.Is(err, context.Canceled) || errors.Is(err, esdk.ErrNoDecryptKey) {
		t.Errorf("OnDecrypt(cancelled) = %v, want context.Canceled and no key error", err)
	}
}

// mustKeyringMissing is a store that answers for another branch key.
type mustKeyringMissing struct{ *memStore }

func (s mustKeyringMissing) GetActiveBranchKey(ctx context.Context, id string) (*hierarchy.BranchKeyMaterials, error) {
	m, err := s.memStore.GetActiveBranchKey(ctx, id)
	if err != nil {
		return nil, err
	}
	return hierarchy.NewBranchKeyMaterials("another", m.Version, m.Key(), nil)
}

// TestNewKeyring checks the constructors' rules.
func TestNewKeyring(t *testing.T) {
	store := newMemStore()
	tests := []struct {
		name string
		make func() (*hierarchy.Keyring, error)
		want string
	}{
		{"NoStore", func() (*hierarchy.Keyring, error) { return hierarchy.NewKeyring(nil, "bk", time.Minute) }, "store is nil"},
		{"NoID", func() (*hierarchy.Keyring, error) { return hierarchy.NewKeyring(store, "", time.Minute) }, "branch key id is empty"},
		{"BadID", func() (*hierarchy.Keyring, error) { return hierarchy.NewKeyring(store, "\xff", time.Minute) }, "not UTF-8"},
		{"ZeroTTL", func() (*hierarchy.Keyring, error) { return hierarchy.NewKeyring(store, "bk", 0) }, "time to live"},
		{"NegativeTTL", func() (*hierarchy.Keyring, error) { return hierarchy.NewKeyring(store, "bk", -time.Second) }, "time to live"},
		{"NoSupplier", func() (*hierarchy.Keyring, error) { return hierarchy.NewKeyringWithSupplier(store, nil, time.Minute) }, "supplier is nil"},
		{"ZeroCapacity", func() (*hierarchy.Keyring, error) {
			return hierarchy.NewKeyring(store, "bk", time.Minute, hierarchy.WithCacheCapacity(0))
		}, "at least 1"},
		{"CapacityTwice", func() (*hierarchy.Keyring, error) {
			return hierarchy.NewKeyring(store, "bk", time.Minute, hierarchy.WithCacheCapacity(1), hierarchy.WithCacheCapacity(2))
		}, "twice"},
		{"NilOption", func() (*hierarchy.Keyring, error) { return hierarchy.NewKeyring(store, "bk", time.Minute, nil) }, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := tt.make()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "hierarchy: NewKeyring") {
				t.Errorf("got %v, %v; want an error mentioning %q", kr, err, tt.want)
			}
		})
	}
	kr, err := hierarchy.NewKeyring(store, "bk", time.Minute, hierarchy.WithCacheCapacity(5))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(kr), `hierarchy.Keyring{BranchKeyID: "bk", TTL: 1m0s, CacheCapacity: 5}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

// TestMaterialsRedacted: no verb prints a branch key.
func TestMaterialsRedacted(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	m, err := hierarchy.NewBranchKeyMaterials("bk", "0a1b2c3d-0000-4000-8000-00000000000A", key, map[string]string{"tenant": "secret-tenant"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "0a1b2c3d-0000-4000-8000-00000000000a" {
		t.Errorf("Version = %q, want it in lower case", m.Version)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
		for _, v := range []any{m, *m} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, "abab") || strings.Contains(s, "171") || strings.Contains(s, "secret-tenant") {
				t.Errorf("Sprintf(%s, materials) = %s: shows the key or a context value", verb, s)
			}
		}
	}
	key[0] = 0
	if m.Key()[0] != 0xab {
		t.Error("NewBranchKeyMaterials kept the caller's slice")
	}
	for _, bad := range []struct {
		id, version string
		key         []byte
	}{{"", "0a1b2c3d-0000-4000-8000-00000000000a", key}, {"bk", "v1", key}, {"bk", "0a1b2c3d-0000-4000-8000-00000000000a", key[:16]}} {
		if _, err := hierarchy.NewBranchKeyMaterials(bad.id, bad.version, bad.key, nil); err == nil {
			t.Errorf("NewBranchKeyMaterials(%q, %q, %d bytes) succeeded", bad.id, bad.version, len(bad.key))
		}
	}
}
