package esdk

import (
	"bytes"
	"context"
	"testing"
)

// TestCachingZeroesSymmetricKeys: an evicted entry of DB-ESDK materials has
// its symmetric signing keys zeroed with its data key, for encryption and
// decryption materials.
func TestCachingZeroesSymmetricKeys(t *testing.T) {
	kr, err := NewRawAESKeyring("ns", "name", bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	cmm, _ := NewDefaultCMM(kr)
	c, err := NewCachingCMM(cmm, WithCacheCapacity(1))
	if err != nil {
		t.Fatal(err)
	}
	req := func(v string) EncryptionMaterialsRequest {
		ec := map[string]string{"aws-crypto-attr.pk": v}
		return EncryptionMaterialsRequest{Suite: DBEAES256GCMCommitKeyHMACSHA384, EncryptionContext: ec,
			RequiredContextKeys: []string{"aws-crypto-attr.pk"}, CommitmentPolicy: RequireEncryptRequireDecrypt, PlaintextLength: 1}
	}
	m, err := c.EncryptionMaterials(context.Background(), req("a"))
	if err != nil {
		t.Fatal(err)
	}
	entry := func() *cacheEntry {
		c.cache.mu.Lock()
		defer c.cache.mu.Unlock()
		for _, e := range c.cache.entries {
			return e
		}
		return nil
	}
	e := entry()
	if e == nil || e.enc == nil || len(e.enc.symmetricKeys) != 1 || isZero(e.enc.symmetricKeys[0].bytes()) {
		t.Fatal("no cached entry with a symmetric signing key")
	}
	dreq := DecryptionMaterialsRequest{Suite: m.Suite, CommitmentPolicy: RequireEncryptRequireDecrypt,
		EncryptedDataKeys: m.EncryptedDataKeys, ReproducedContext: m.EncryptionContext}
	if _, err := c.DecryptionMaterials(context.Background(), dreq); err != nil { // evicts the encryption entry
		t.Fatal(err)
	}
	if !isZero(e.enc.symmetricKeys[0].bytes()) || !isZero(e.enc.DataKey()) {
		t.Error("the evicted encryption entry's keys were not zeroed")
	}
	d := entry()
	if d == nil || d.dec == nil || isZero(d.dec.SymmetricSigningKey()) {
		t.Fatal("no cached decryption entry with a symmetric signing key")
	}
	if _, err := c.EncryptionMaterials(context.Background(), req("b")); err != nil { // evicts it
		t.Fatal(err)
	}
	if !isZero(d.dec.SymmetricSigningKey()) || !isZero(d.dec.DataKey()) {
		t.Error("the evicted decryption entry's keys were not zeroed")
	}
}
