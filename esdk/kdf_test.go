package esdk

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha512"
	"testing"

	"github.com/datamask/datamask/esdk/internal/format"
)

// TestDeriveCommittingMatchesHKDF checks the direct HMAC computation of the
// committing suites' keys against crypto/hkdf.
func TestDeriveCommittingMatchesHKDF(t *testing.T) {
	for _, id := range []uint16{0x0478, 0x0578} {
		for i := 0; i < 50; i++ {
			dk := make([]byte, 32)
			mid := make([]byte, 32)
			rand.Read(dk)
			rand.Read(mid)
			prk, err := hkdf.Extract(sha512.New, dk, mid)
			if err != nil {
				t.Fatal(err)
			}
			wantEnc, _ := hkdf.Expand(sha512.New, prk, string([]byte{byte(id >> 8), byte(id)})+"DERIVEKEY", 32)
			wantCommit, _ := hkdf.Expand(sha512.New, prk, "COMMITKEY", 32)
			s, _ := format.LookupSuite(id)
			enc, commit, err := deriveKeys(s, dk, mid)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, wantEnc) || !bytes.Equal(commit, wantCommit) {
				t.Fatalf("deriveKeys(%04x) = %x, %x, want %x, %x", id, enc, commit, wantEnc, wantCommit)
			}
		}
	}
}
