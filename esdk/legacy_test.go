package esdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/datamask/datamask/esdk/internal/format"
)

// TestDecryptBuiltMessages decrypts messages of all eleven suites, framed
// and non-framed (which no shared vector is), written by buildMessage, and
// checks the commitment policy on each.
func TestDecryptBuiltMessages(t *testing.T) {
	kr := mustAESKeyring(t, bytes.Repeat([]byte{3}, 32))
	cmm := mustCMM(t, kr)
	allow := mustClient(t, WithCommitmentPolicy(RequireEncryptAllowLegacyDecrypt))
	strict := mustClient(t)
	for _, s := range format.Suites() {
		for _, nonFramed := range []bool{false, true} {
			for _, n := range []int{0, 1, 15, 16, 17, 100} {
				t.Run(fmt.Sprintf("suite=%04x/nonframed=%v/size=%d", s.ID, nonFramed, n), func(t *testing.T) {
					t.Parallel()
					pt := bytes.Repeat([]byte{'q'}, n)
					ec := map[string]string{"purpose": "legacy", "\U0001F600": "\uFFFD"}
					msg := buildMessage(t, kr, msgSpec{suite: s.ID, nonFramed: nonFramed, frameLen: 16, ec: ec, plaintext: pt})
					got, h, err := allow.Decrypt(context.Background(), msg, cmm, WithExpectedContext(ec))
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("Decrypt() = %d bytes, %v, want the %d bytes", len(got), err, n)
					}
					wantType, wantFrame := Framed, 16
					if nonFramed {
						wantType, wantFrame = NonFramed, 0
					}
					if h.Suite != Suite(s.ID) || h.Version != int(s.Version) || h.ContentType != wantType || h.FrameLength != wantFrame {
						t.Fatalf("Decrypt() header = %+v", h)
					}
					_, _, err = strict.Decrypt(context.Background(), msg, cmm)
					if s.Committing() {
						if err != nil {
							t.Fatalf("Decrypt() with the default policy: %v", err)
						}
					} else if !errors.Is(err, ErrLegacySuite) {
						t.Fatalf("Decrypt() with the default policy error = %v, want ErrLegacySuite", err)
					}
				})
			}
		}
	}
}

// TestLegacyPolicyBeforeCMM checks that a forbidden suite is refused before
// the materials manager is asked for anything.
func TestLegacyPolicyBeforeCMM(t *testing.T) {
	kr := mustAESKeyring(t, bytes.Repeat([]byte{3}, 32))
	msg := buildMessage(t, kr, msgSpec{suite: 0x0378, frameLen: 64, plaintext: []byte("old")})
	spy := &countingCMM{next: mustCMM(t, kr)}
	_, _, err := mustClient(t).Decrypt(context.Background(), msg, spy)
	if !errors.Is(err, ErrLegacySuite) || spy.decrypts != 0 {
		t.Fatalf("Decrypt() = %v after %d CMM calls, want ErrLegacySuite after none", err, spy.decrypts)
	}
}

// countingCMM counts the calls to a materials manager.
type countingCMM struct {
	next               MaterialsManager
	encrypts, decrypts int
}

func (c *countingCMM) EncryptionMaterials(ctx context.Context, req EncryptionMaterialsRequest) (*EncryptionMaterials, error) {
	c.encrypts++
	return c.next.EncryptionMaterials(ctx, req)
}

func (c *countingCMM) DecryptionMaterials(ctx context.Context, req DecryptionMaterialsRequest) (*DecryptionMaterials, error) {
	c.decrypts++
	return c.next.DecryptionMaterials(ctx, req)
}

// TestDecryptFullFinalFrame decrypts messages whose plaintext is an exact
// multiple of the frame length and whose last full frame is the final frame
// (Encrypt writes an empty final frame instead; readers must take both).
func TestDecryptFullFinalFrame(t *testing.T) {
	kr := mustAESKeyring(t, bytes.Repeat([]byte{3}, 32))
	cmm := mustCMM(t, kr)
	c := mustClient(t, WithCommitmentPolicy(RequireEncryptAllowLegacyDecrypt))
	for _, suite := range []uint16{0x0478, 0x0578, 0x0178, 0x0378} {
		for _, n := range []int{16, 32, 160} {
			pt := bytes.Repeat([]byte{'f'}, n)
			msg := buildMessage(t, kr, msgSpec{suite: suite, frameLen: 16, plaintext: pt, fullFinal: true})
			full := buildMessage(t, kr, msgSpec{suite: suite, frameLen: 16, plaintext: pt})
			if len(msg) >= len(full) {
				t.Fatalf("suite %04x: the full-final-frame message is not shorter (%d >= %d bytes)", suite, len(msg), len(full))
			}
			got, _, err := c.Decrypt(context.Background(), msg, cmm)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Decrypt(suite %04x, %d bytes, full final frame) = %d bytes, %v", suite, n, len(got), err)
			}
		}
	}
}
