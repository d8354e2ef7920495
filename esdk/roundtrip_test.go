package esdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
