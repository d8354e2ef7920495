package esdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/datamask/datamask/esdk"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

func newAESCMM(t testing.TB, name string, key []byte) *esdk.DefaultCMM {
	t.Helper()
	kr, err := esdk.NewRawAESKeyring("datamask-test", name, key)
	if err != nil {
		t.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(kr)
	if err != nil {
		t.Fatal(err)
	}
	return cmm
}

func newClient(t testing.TB, opts ...esdk.Option) *esdk.Client {
	t.Helper()
	c, err := esdk.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var writtenSuites = []esdk.Suite{esdk.AES256GCMHKDFSHA512CommitKey, esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384}

func TestRoundTripFrameBoundaries(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	cmm := newAESCMM(t, "key", testKey)
	for _, suite := range writtenSuites {
		for _, frame := range []int{1, 2, 17, 512, 4096} {
			sizes := []int{0, 1, frame - 1, frame, frame + 1, 2*frame - 1, 2 * frame, 2*frame + 1, 3 * frame}
			if frame <= 17 {
				sizes = append(sizes, 100)
			}
			for _, n := range sizes {
				if n < 0 {
					continue
				}
				t.Run(fmt.Sprintf("suite=%04x/frame=%d/size=%d", uint16(suite), frame, n), func(t *testing.T) {
					pt := make([]byte, n)
					for i := range pt {
						pt[i] = byte(i*7 + 3)
					}
					ec := map[string]string{"purpose": "test", "size": fmt.Sprint(n)}
					msg, err := client.Encrypt(ctx, pt, cmm, esdk.WithSuite(suite), esdk.WithFrameLength(frame), esdk.WithEncryptionContext(ec))
					if err != nil {
						t.Fatalf("Encrypt() error = %v", err)
					}
					got, h, err := client.Decrypt(ctx, msg, cmm, esdk.WithExpectedContext(ec))
					if err != nil {
						t.Fatalf("Decrypt() error = %v", err)
					}
					if !bytes.Equal(got, pt) {
						t.Fatalf("Decrypt() = %d bytes, want the %d bytes encrypted", len(got), len(pt))
					}
					if h.Suite != suite || h.FrameLength != frame || h.Version != 2 || h.ContentType != esdk.Framed {
						t.Errorf("Decrypt() header = %+v, want suite %v, frame %d, v2, framed", h, suite, frame)
					}
					if len(h.MessageID) != 32 || len(h.EncryptedDataKeys) != 1 {
						t.Errorf("Decrypt() header has %d-byte message ID and %d EDKs, want 32 and 1", len(h.MessageID), len(h.EncryptedDataKeys))
					}
					_, hasPub := h.EncryptionContext[esdk.PublicKeyContextKey]
					if hasPub != suite.Signing() || h.EncryptionContext["purpose"] != "test" {
						t.Errorf("Decrypt() header context keys = %v, want purpose and public key %v", len(h.EncryptionContext), suite.Signing())
					}
				})
			}
		}
	}
}

func TestDecryptWrongKey(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	msg, err := client.Encrypt(ctx, []byte("secret"), newAESCMM(t, "key", testKey))
	if err != nil {
		t.Fatal(err)
	}
	for name, cmm := range map[string]*esdk.DefaultCMM{
		"other key":  newAESCMM(t, "key", bytes.Repeat([]byte{1}, 32)),
		"other name": newAESCMM(t, "other", testKey),
	} {
		t.Run(name, func(t *testing.T) {
			got, _, err := client.Decrypt(ctx, msg, cmm)
			var nk *esdk.NoDecryptKeyError
			if !errors.As(err, &nk) || !errors.Is(err, esdk.ErrNoDecryptKey) || got != nil {
				t.Fatalf("Decrypt() = %q, %v, want a *NoDecryptKeyError", got, err)
			}
			if len(nk.Errors) != 1 {
				t.Errorf("NoDecryptKeyError.Errors = %v, want one cause", nk.Errors)
			}
		})
	}
}

// TestLargeMessages covers 1 MiB messages at several frame lengths (up to
// one frame for the whole plaintext), and a change in their body or
// signature.
func TestLargeMessages(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	cmm := newAESCMM(t, "key", testKey)
	pt := make([]byte, 1<<20+3)
	for i := range pt {
		pt[i] = byte(i % 251)
	}
	for _, suite := range writtenSuites {
		for _, frame := range []int{1000, 4096, 65536, 1 << 20, 2 << 20} {
			t.Run(fmt.Sprintf("suite=%04x/frame=%d", uint16(suite), frame), func(t *testing.T) {
				msg, err := client.Encrypt(ctx, pt, cmm, esdk.WithSuite(suite), esdk.WithFrameLength(frame))
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := client.Decrypt(ctx, msg, cmm)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("Decrypt() = %d bytes, %v, want the %d bytes", len(got), err, len(pt))
				}
				for _, pos := range []int{len(msg) / 2, len(msg) - 20} {
					bad := bytes.Clone(msg)
					bad[pos] ^= 1
					if got, _, err := client.Decrypt(ctx, bad, cmm); !errors.Is(err, esdk.ErrInvalidMessage) || got != nil {
						t.Fatalf("Decrypt(byte %d changed) = %d bytes, %v, want ErrInvalidMessage", pos, len(got), err)
					}
				}
			})
		}
	}
}

// TestMessageSize checks the layout Encrypt writes: a plaintext that is an
// exact multiple of the frame length ends with an empty final frame (as the
// Python and JavaScript SDKs write), and the message has exactly the size
// the format gives.
func TestMessageSize(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	cmm := newAESCMM(t, "key", testKey)
	const frame = 100
	for _, n := range []int{0, 1, 99, 100, 101, 200, 250} {
		msg, err := client.Encrypt(ctx, make([]byte, n), cmm, esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey), esdk.WithFrameLength(frame))
		if err != nil {
			t.Fatal(err)
		}
		// v2 header with no context and one raw AES EDK (provider
		// "datamask-test", info "key" + 20 bytes, 48-byte ciphertext).
		header := 1 + 2 + 32 + 2 + 2 + (2 + 13 + 2 + 3 + 20 + 2 + 48) + 1 + 4 + 32 + 16
		full := n / frame
		want := header + full*(4+12+frame+16) + (4 + 4 + 12 + 4 + n%frame + 16)
		if len(msg) != want {
			t.Errorf("Encrypt(%d bytes) = %d bytes, want %d (%d full frames and a final frame of %d)", n, len(msg), want, full, n%frame)
		}
	}
}

// TestConcurrentUse shares one client and materials manager between
// goroutines (run it with -race).
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	aesKr, _ := esdk.NewRawAESKeyring("ns", "a", testKey)
	otherKr, _ := esdk.NewRawAESKeyring("ns", "b", bytes.Repeat([]byte{5}, 16))
	multi, _ := esdk.NewMultiKeyring(aesKr, otherKr)
	cmm, _ := esdk.NewDefaultCMM(multi)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				pt := []byte(fmt.Sprintf("goroutine %d message %d", g, i))
				suite := writtenSuites[(g+i)%2]
				ec := map[string]string{"g": fmt.Sprint(g)}
				msg, err := client.Encrypt(ctx, pt, cmm, esdk.WithSuite(suite), esdk.WithFrameLength(7), esdk.WithEncryptionContext(ec))
				if err != nil {
					errs <- err
					return
				}
				got, _, err := client.Decrypt(ctx, msg, cmm, esdk.WithExpectedContext(ec))
				if err != nil || !bytes.Equal(got, pt) {
					errs <- fmt.Errorf("Decrypt() = %q, %v, want %q", got, err, pt)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCancelledContext(t *testing.T) {
	client := newClient(t)
	cmm := newAESCMM(t, "key", testKey)
	msg, err := client.Encrypt(context.Background(), []byte("pt"), cmm)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := client.Encrypt(ctx, []byte("pt"), cmm); !errors.Is(err, context.Canceled) {
		t.Errorf("Encrypt(cancelled) error = %v, want context.Canceled", err)
	}
	if _, _, err := client.Decrypt(ctx, msg, cmm); !errors.Is(err, context.Canceled) {
		t.Errorf("Decrypt(cancelled) error = %v, want context.Canceled", err)
	}
}
