package esdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/datamask/datamask/esdk/internal/format"
)

func mustAESKeyring(t testing.TB, key []byte) *RawAESKeyring {
	t.Helper()
	kr, err := NewRawAESKeyring("datamask-test", "tamper", key)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func mustCMM(t testing.TB, kr Keyring) *DefaultCMM {
	t.Helper()
	c, err := NewDefaultCMM(kr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustClient(t testing.TB, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keyRegion returns the byte range of msg's header whose change may make
// the data key undecryptable instead of the message invalid: from the
// encryption context length field to the end of the encrypted data keys
// (the raw AES keyring binds the context).
func keyRegion(t testing.TB, msg []byte) (start, end int) {
	t.Helper()
	h, err := format.ParseHeader(msg, NoMaxEncryptedDataKeys)
	if err != nil {
		t.Fatalf("ParseHeader: %v", err)
	}
	start = 1 + 2 + len(h.MessageID)
	if h.Version == format.V1 {
		start++
	}
	// The EDK entries end where the content type starts: BodyLen minus the
	// fields that follow them.
	tail := 1 + 4 + len(h.SuiteData)
	if h.Version == format.V1 {
		tail = 1 + 4 + 1 + 4
	}
	return start, h.BodyLen - tail
}

// checkTampered asserts that decrypting msg fails, with ErrInvalidMessage,
// or also with a *NoDecryptKeyError if keyErrOK.
func checkTampered(t *testing.T, c *Client, cmm MaterialsManager, msg []byte, keyErrOK bool, what string) {
	t.Helper()
	got, h, err := c.Decrypt(context.Background(), msg, cmm)
	if err == nil {
		t.Fatalf("Decrypt(%s) = %d bytes, header %v, want an error", what, len(got), h)
	}
	if got != nil || h != nil {
		t.Fatalf("Decrypt(%s) returned output with error %v", what, err)
	}
	// The only variant of the opaque error is the base64 hint, for a
	// message starting with 'A'.
	if errors.Is(err, ErrInvalidMessage) && (err == ErrInvalidMessage || msg[0] == 'A') {
		return
	}
	var nk *NoDecryptKeyError
	if keyErrOK && errors.As(err, &nk) {
		return
	}
	t.Fatalf("Decrypt(%s) error = %v, want ErrInvalidMessage (or a no-key error: %v)", what, err, keyErrOK)
}

// TestTamper changes every byte of messages of both suites we write, at
// frame lengths 1, 16 and 4096 and plaintexts around the frame length, and
// truncates and extends them: every variant must fail, with ErrInvalidMessage
// outside the encryption context and data key fields and with
// ErrInvalidMessage or a *NoDecryptKeyError inside them. One small message
// gets all 255 changes of every byte; the others get three (^0x01, ^0x80,
// ^0xFF).
func TestTamper(t *testing.T) {
	ctx := context.Background()
	kr := mustAESKeyring(t, bytes.Repeat([]byte{7}, 32))
	cmm := mustCMM(t, kr)
	// No limit on data keys, so that a changed count is a malformed message
	// rather than one over the limit.
	c := mustClient(t, WithMaxEncryptedDataKeys(NoMaxEncryptedDataKeys))
	type tcase struct {
		suite       Suite
		frame, size int
	}
	var cases []tcase
	for _, s := range []Suite{AES256GCMHKDFSHA512CommitKey, AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		for _, f := range []int{1, 16, 4096} {
			sizes := []int{0, f - 1, f, f + 1, 3*f + 1}
			if f == 4096 && s.Signing() {
				// The frame boundaries are the unsigned suite's; a signed
				// message costs a signature check for every changed byte
				// of its footer.
				sizes = []int{0, f + 1}
			}
			slices.Sort(sizes)
			for _, n := range slices.Compact(sizes) {
				cases = append(cases, tcase{s, f, n})
			}
		}
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("suite=%04x/frame=%d/size=%d", uint16(tc.suite), tc.frame, tc.size), func(t *testing.T) {
			t.Parallel()
			pt := bytes.Repeat([]byte{'p'}, tc.size)
			msg, err := c.Encrypt(ctx, pt, cmm, WithSuite(tc.suite), WithFrameLength(tc.frame),
				WithEncryptionContext(map[string]string{"k": "v"}))
			if err != nil {
				t.Fatal(err)
			}
			if got, _, err := c.Decrypt(ctx, msg, cmm); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Decrypt(untouched) = %d bytes, %v", len(got), err)
			}
			start, end := keyRegion(t, msg)
			masks := []byte{0x01, 0x80, 0xFF}
			if i == 0 { // 0478, frame 1, empty plaintext
				masks = masks[:0]
				for m := 1; m < 256; m++ {
					masks = append(masks, byte(m))
				}
			}
			bad := bytes.Clone(msg)
			for pos := range msg {
				for _, m := range masks {
					bad[pos] = msg[pos] ^ m
					checkTampered(t, c, cmm, bad, pos >= start && pos < end, fmt.Sprintf("byte %d ^ %#x", pos, m))
				}
				bad[pos] = msg[pos]
			}
			for n := range len(msg) {
				checkTampered(t, c, cmm, msg[:n], false, fmt.Sprintf("first %d of %d bytes", n, len(msg)))
			}
			for _, extra := range [][]byte{{0}, {0xFF}, bytes.Repeat([]byte{0}, 16), msg} {
				checkTampered(t, c, cmm, append(bytes.Clone(msg), extra...), false, fmt.Sprintf("%d bytes appended", len(extra)))
			}
		})
	}
}

// TestTamperLegacyAndNonFramed runs the same sweep (three changes per byte,
// every truncation) on messages of the legacy suites and on non-framed
// messages, written by buildMessage.
func TestTamperLegacyAndNonFramed(t *testing.T) {
	kr := mustAESKeyring(t, bytes.Repeat([]byte{9}, 32))
	cmm := mustCMM(t, kr)
	c := mustClient(t, WithMaxEncryptedDataKeys(NoMaxEncryptedDataKeys), WithCommitmentPolicy(RequireEncryptAllowLegacyDecrypt))
	for _, s := range format.Suites() {
		for _, nonFramed := range []bool{false, true} {
			t.Run(fmt.Sprintf("suite=%04x/nonframed=%v", s.ID, nonFramed), func(t *testing.T) {
				t.Parallel()
				pt := []byte("a plaintext of forty-one bytes, give or take")
				msg := buildMessage(t, kr, msgSpec{suite: s.ID, nonFramed: nonFramed, frameLen: 16, ec: map[string]string{"a": "b"}, plaintext: pt})
				if got, _, err := c.Decrypt(context.Background(), msg, cmm); err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("Decrypt(untouched) = %q, %v", got, err)
				}
				start, end := keyRegion(t, msg)
				bad := bytes.Clone(msg)
				for pos := range msg {
					for _, m := range []byte{0x01, 0x80, 0xFF} {
						bad[pos] = msg[pos] ^ m
						checkTampered(t, c, cmm, bad, pos >= start && pos < end, fmt.Sprintf("byte %d ^ %#x", pos, m))
					}
					bad[pos] = msg[pos]
				}
				for n := range len(msg) {
					checkTampered(t, c, cmm, msg[:n], false, fmt.Sprintf("first %d of %d bytes", n, len(msg)))
				}
				checkTampered(t, c, cmm, append(bytes.Clone(msg), 0), false, "1 byte appended")
			})
		}
	}
}
