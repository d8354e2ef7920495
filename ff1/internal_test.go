package ff1

import (
	"math/rand/v2"
	"testing"
)

// TestFastPathMatchesBig checks the uint64 path against the math/big one,
// which follows the specification's steps literally, for every length the
// fast path serves.
func TestFastPathMatchesBig(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, radix := range []int{2, 7, 10, 16, 36, 62} {
		key := make([]byte, 16)
		for i := range key {
			key[i] = byte(r.Uint32())
		}
		fast, err := New(key, radix)
		if err != nil {
			t.Fatal(err)
		}
		slow, _ := New(key, radix)
		slow.forceBig = true
		for n := fast.MinLength(); n <= 2*fast.fastV; n++ {
			for range 10 {
				x := make([]byte, n)
				for i := range x {
					x[i] = fast.alphabet[r.IntN(radix)]
				}
				tweak := make([]byte, r.IntN(40))
				for i := range tweak {
					tweak[i] = byte(r.Uint32())
				}
				a, err1 := fast.Encrypt(string(x), tweak)
				b, err2 := slow.Encrypt(string(x), tweak)
				if err1 != nil || err2 != nil || a != b {
					t.Fatalf("radix %d, n %d: fast %q (%v), big %q (%v)", radix, n, a, err1, b, err2)
				}
				da, _ := fast.Decrypt(a, tweak)
				db, _ := slow.Decrypt(a, tweak)
				if da != string(x) || db != string(x) {
					t.Fatalf("radix %d, n %d: Decrypt fast %q, big %q, want %q", radix, n, da, db, x)
				}
			}
		}
	}
}
