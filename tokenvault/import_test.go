package tokenvault_test

import (
	"errors"
	"testing"
	"time"

	"github.com/datamask/datamask/tokenvault"
)

func TestImport(t *testing.T) {
	f := newFixture(t)
	v := f.vault
	const (
		uuid1 = "bde73bc7-ac34-420c-a3fc-a8a9707e5020"
		uuid2 = "93290e41-fd08-49d4-b17c-18b5bd33a83b"
		uuid3 = "2d13b927-77f7-4a85-a997-78e582575f2a"
	)
	errs, err := v.Import(bg, "acme", "uuid", []tokenvault.Imported{
		{uuid1, "4111111111111111"},
		{uuid2, "5500000000000004"},
		{"not-a-uuid", "4000000000000002"},
		{uuid1, "4111111111111111"}, // twice in one call: the same pair
		{uuid3, "4111111111111111"}, // a random policy: one value may have several tokens
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []error{nil, nil, tokenvault.ErrInvalidToken, nil, nil}
	for i := range want {
		if !errors.Is(errs[i], want[i]) || (want[i] == nil && errs[i] != nil) {
			t.Errorf("Import pair %d = %v, want %v", i, errs[i], want[i])
		}
	}
	for tok, val := range map[string]string{uuid1: "4111111111111111", uuid2: "5500000000000004", uuid3: "4111111111111111"} {
		if got, err := v.Detokenize(bg, "acme", "uuid", tok); err != nil || got != val {
			t.Errorf("Detokenize(imported) = %v", err)
		}
	}
	// Again: nothing changes; a token for another value is refused.
	errs, err = v.Import(bg, "acme", "uuid", []tokenvault.Imported{{uuid1, "4111111111111111"}, {uuid2, "another value"}})
	if err != nil || errs[0] != nil || !errors.Is(errs[1], tokenvault.ErrTokenTaken) {
		t.Fatalf("Import again = %v, %v; want nil, ErrTokenTaken", errs, err)
	}
	if got, _ := v.Detokenize(bg, "acme", "uuid", uuid2); got != "5500000000000004" {
		t.Fatal("a refused import changed the token's value")
	}
	// Another tenant is another scope.
	if errs, err := v.Import(bg, "globex", "uuid", []tokenvault.Imported{{uuid2, "another value"}}); err != nil || errs[0] != nil {
		t.Fatalf("Import in another tenant = %v, %v", errs, err)
	}

	// Convergent: the imported token is the value's token from then on.
	tok := "cvg_" + "AAAAAAAAAAAAAAAAAAAAAA"
	if errs, err := v.Import(bg, "acme", "convergent", []tokenvault.Imported{{tok, "ana@example.com"}}); err != nil || errs[0] != nil {
		t.Fatalf("Import convergent = %v, %v", errs, err)
	}
	if got, err := v.Tokenize(bg, "acme", "convergent", "ana@example.com"); err != nil || got != tok {
		t.Fatalf("Tokenize after Import = %v; want the imported token", err)
	}
	errs, err = v.Import(bg, "acme", "convergent", []tokenvault.Imported{{"cvg_BBBBBBBBBBBBBBBBBBBBBB", "ana@example.com"}})
	if err != nil || !errors.Is(errs[0], tokenvault.ErrTokenTaken) {
		t.Fatalf("Import of a second token for a convergent value = %v, %v; want ErrTokenTaken", errs, err)
	}

	// TTL and metadata apply to every pair.
	if errs, err := v.Import(bg, "acme", "uuid", []tokenvault.Imported{{"0c5b2d34-5a3c-4e1e-9f0a-3d2b1c0a9e8f", "x"}},
		tokenvault.WithTTL(time.Hour), tokenvault.WithMetadata(map[string]string{"source": "aws-sample"})); err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	info, err := v.Metadata(bg, "acme", "uuid", "0c5b2d34-5a3c-4e1e-9f0a-3d2b1c0a9e8f")
	if err != nil || info.Metadata["source"] != "aws-sample" || info.Expires.IsZero() {
		t.Fatalf("Metadata = %+v, %v", info, err)
	}
	f.clock.Add(2 * time.Hour)
	if _, err := v.Detokenize(bg, "acme", "uuid", "0c5b2d34-5a3c-4e1e-9f0a-3d2b1c0a9e8f"); !errors.Is(err, tokenvault.ErrExpired) {
		t.Fatalf("Detokenize of an expired import = %v", err)
	}
	// An expired token in the way is replaced.
	if errs, err := v.Import(bg, "acme", "uuid", []tokenvault.Imported{{"0c5b2d34-5a3c-4e1e-9f0a-3d2b1c0a9e8f", "y"}}); err != nil || errs[0] != nil {
		t.Fatalf("Import over an expired token = %v, %v", errs, err)
	}

	// Whole-call errors.
	for _, tc := range []struct {
		policy string
		n      int
		want   error
	}{
		{"ff1", 1, tokenvault.ErrUnsupported},
		{"uuid", tokenvault.MaxBatch + 1, tokenvault.ErrTooMany},
	} {
		if _, err := v.Import(bg, "acme", tc.policy, make([]tokenvault.Imported, tc.n)); !errors.Is(err, tc.want) {
			t.Errorf("Import(%s, %d pairs) = %v, want %v", tc.policy, tc.n, err, tc.want)
		}
	}
	var upe *tokenvault.UnknownPolicyError
	if _, err := v.Import(bg, "acme", "nope", nil); !errors.As(err, &upe) {
		t.Errorf("Import(unknown policy) = %v", err)
	}
}
