package boltstore

import (
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/datamask/datamask/tokenvault"
)

// TestPageSize: a new file gets 8 KiB pages; a file created with 4 KiB
// pages (by an earlier version) keeps them and works as before.
func TestPageSize(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "new.db"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.db.Info().PageSize; got != 8192 {
		t.Errorf("new file: page size %d, want 8192", got)
	}
	s.Close()

	old := filepath.Join(dir, "old.db")
	db, err := bolt.Open(old, 0o600, &bolt.Options{PageSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(metaFormat, formatV1)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err = Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.db.Info().PageSize; got != 4096 {
		t.Errorf("file of 4 KiB pages: page size %d after Open, want 4096", got)
	}
	k := tokenvault.Key{Tenant: "t", Policy: "p", Token: "tok"}
	res, err := s.Create(context.Background(), []tokenvault.Record{{Key: k, Ciphertext: []byte("c")}})
	if err != nil || res[0].Outcome != tokenvault.Created {
		t.Fatalf("Create in a file of 4 KiB pages = %v, %v", res, err)
	}
	if recs, err := s.Get(context.Background(), []tokenvault.Key{k}); err != nil || recs[0] == nil {
		t.Fatalf("Get = %v, %v", recs, err)
	}
}
