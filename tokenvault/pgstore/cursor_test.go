package pgstore

import (
	"testing"

	"github.com/datamask/datamask/tokenvault"
)

// FuzzCursor: every cursor List writes parses back to its key, and
// parseCursor refuses anything else without panicking; what it accepts it
// writes back byte for byte.
func FuzzCursor(f *testing.F) {
	f.Add("acme", "card", "tok_1")
	f.Add("", "", "vault-key-v1")
	f.Add("acme\x00card", "", "T")
	f.Add("ü", "p", "")
	f.Fuzz(func(t *testing.T, tenant, policy, token string) {
		k := tokenvault.Key{Tenant: tenant, Policy: policy, Token: token}
		c := cursor(k)
		got, err := parseCursor(c)
		if err != nil || got != k {
			t.Fatalf("parseCursor(cursor(%q)) = %q, %v", k, got, err)
		}
		// Any string: no panic; accepted ones round-trip.
		for _, s := range []string{token, tenant + policy, c[:len(c)/2]} {
			if k2, err := parseCursor(s); err == nil && cursor(k2) != s {
				t.Fatalf("parseCursor(%q) = %q, which writes back as %q", s, k2, cursor(k2))
			}
		}
	})
}
