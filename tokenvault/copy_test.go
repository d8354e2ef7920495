package tokenvault_test

import (
	"errors"
	"testing"

	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/storetest"
)

func TestCopy(t *testing.T) {
	f := newFixture(t)
	values := make([]string, 2500)
	for i := range values {
		values[i] = "value " + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	type tok struct{ policy, value, token string }
	var issued []tok
	for _, policy := range []string{tokenvault.PolicyOpaque, "convergent"} {
		for lo := 0; lo < len(values); lo += tokenvault.MaxBatch {
			chunk := values[lo:min(lo+tokenvault.MaxBatch, len(values))]
			tokens, _, err := f.vault.TokenizeBatch(bg, "acme", policy, chunk)
			if err != nil {
				t.Fatal(err)
			}
			for i := range chunk {
				issued = append(issued, tok{policy, chunk[i], tokens[i]})
			}
		}
	}
	dst := newStore(t)
	for round := range 2 {
		st, err := tokenvault.Copy(bg, dst, f.store)
		if err != nil {
			t.Fatal(err)
		}
		want := tokenvault.CopyStats{Copied: 5000, Present: 1}
		if round == 1 {
			want = tokenvault.CopyStats{Present: 5001}
		}
		if st != want {
			t.Fatalf("round %d: Copy = %+v, want %+v", round, st, want)
		}
	}
	// The copy is the same vault: same keys, same tokens, convergence kept.
	v, err := tokenvault.Open(bg, dst, f.provider, storetest.Policies(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range issued[:50] {
		if got, err := v.Detokenize(bg, "acme", it.policy, it.token); err != nil || got != it.value {
			t.Fatalf("Detokenize in the copy = %v", err)
		}
	}
	last := issued[len(issued)-1]
	if got, err := v.Tokenize(bg, "acme", "convergent", last.value); err != nil || got != last.token {
		t.Fatalf("a convergent value got another token in the copy: %v", err)
	}
	// Into another vault: refused before anything is written.
	other := newFixture(t)
	if _, err := tokenvault.Copy(bg, other.store, f.store); !errors.Is(err, tokenvault.ErrOtherVault) {
		t.Fatalf("Copy into another vault = %v, want ErrOtherVault", err)
	}
	if _, err := tokenvault.Copy(bg, dst, newStore(t)); err == nil {
		t.Fatal("Copy from an empty store succeeded")
	}
	// A token the destination holds with another record is a failure,
	// counted; the rest is copied.
	src2 := newStore(t)
	if _, err := tokenvault.Copy(bg, src2, f.store); err != nil {
		t.Fatal(err)
	}
	v2, err := tokenvault.Open(bg, src2, f.provider, storetest.Policies(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Tokenize(bg, "acme", "convergent", "only in src2"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Tokenize(bg, "acme", "convergent", "only in src2"); err != nil {
		t.Fatal(err)
	}
	st, err := tokenvault.Copy(bg, dst, src2)
	if err != nil || st.Failed != 1 || !errors.Is(st.FirstErr, tokenvault.ErrTokenTaken) || st.Present != 5001 {
		t.Fatalf("Copy with a conflict = %+v, %v", st, err)
	}
}
