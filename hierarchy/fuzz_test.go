package hierarchy

import (
	"bytes"
	"testing"
)

// FuzzParseCiphertext parses keyring ciphertexts of every key length: what
// parses marshals back to the same bytes, and unwrapping it under a branch
// key neither panics nor succeeds by chance.
func FuzzParseCiphertext(f *testing.F) {
	bk := bytes.Repeat([]byte{1}, BranchKeyLen)
	var version [versionLen]byte
	for _, n := range []int{16, 24, 32} {
		f.Add(wrapKey(bk, "bk", version, nil, make([]byte, n)), uint8(n))
	}
	f.Add([]byte{}, uint8(32))
	f.Add(make([]byte, ciphertextOverhead), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, n uint8) {
		keyLen := int(n)
		w, err := parseCiphertext(b, keyLen)
		if err != nil {
			if len(b) == ciphertextOverhead+keyLen && keyLen > 0 {
				t.Fatalf("parseCiphertext(%d bytes, %d) = %v, want success", len(b), keyLen, err)
			}
			return
		}
		if got := w.marshal(); !bytes.Equal(got, b) {
			t.Fatalf("marshal(parseCiphertext(%x)) = %x", b, got)
		}
		if key, err := unwrapKey(bk, "fuzz", w, nil); err == nil {
			t.Fatalf("unwrapKey(fuzzed ciphertext) = %x, want an error", key)
		}
	})
}
