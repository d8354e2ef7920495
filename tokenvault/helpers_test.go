package tokenvault_test

import (
	"testing"

	"github.com/datamask/datamask/tokenvault"
)

func get(t testing.TB, s tokenvault.Store, k tokenvault.Key) *tokenvault.Record {
	t.Helper()
	recs, err := s.Get(bg, []tokenvault.Key{k})
	if err != nil || recs[0] == nil {
		t.Fatalf("Get(%v) = nil, %v", k, err)
	}
	return recs[0]
}

func swap(t testing.TB, s tokenvault.Store, k tokenvault.Key, prev []byte, next *tokenvault.Record) {
	t.Helper()
	if ok, err := s.Swap(bg, k, prev, next); err != nil || !ok {
		t.Fatalf("Swap = %v, %v", ok, err)
	}
}

func create(t testing.TB, s tokenvault.Store, recs ...tokenvault.Record) {
	t.Helper()
	res, err := s.Create(bg, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Outcome != tokenvault.Created {
			t.Fatalf("Create: %v", r.Outcome)
		}
	}
}
