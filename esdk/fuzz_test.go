package esdk_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/benchdata"
)

// vectorAESKey is the raw AES key of the shared vectors (bytes 00 01 ... 09
// 10 11 ... 31 of their README).
var vectorAESKey = []byte{
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
	0x30, 0x31,
}

func vectorCiphertexts(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(benchdata.SharedDir(), "esdk_vectors", "*", "ciphertexts", "*"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no shared vector ciphertexts (%v)", err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// heapAllocBytes returns the bytes allocated on the heap so far. It stops
// the world to flush every cache, so the count is exact (runtime/metrics
// counts whole spans and is too coarse for this).
func heapAllocBytes() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// maxAlloc bounds what decrypting n bytes may allocate: a few times the
// input (plaintext, copied key fields) plus a constant for the keys,
// ciphers and maps. A length field that drove an allocation would exceed it.
func maxAlloc(n int) uint64 { return 4*uint64(n) + 256<<10 }

// FuzzDecrypt decrypts mutations of the shared vectors and of our messages
// with the vectors' AES key: no input may panic, allocate more than
// maxAlloc, or decrypt to more bytes than it has; anything that fails must
// fail with one of the documented errors.
func FuzzDecrypt(f *testing.F) {
	for _, ct := range vectorCiphertexts(f) {
		f.Add(ct)
	}
	kr, err := esdk.NewRawAESKeyring("aws-raw-vectors-persistant", "aes-256", vectorAESKey)
	if err != nil {
		f.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(kr)
	if err != nil {
		f.Fatal(err)
	}
	client, err := esdk.NewClient(esdk.WithCommitmentPolicy(esdk.RequireEncryptAllowLegacyDecrypt))
	if err != nil {
		f.Fatal(err)
	}
	for _, suite := range []esdk.Suite{esdk.AES256GCMHKDFSHA512CommitKey, esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		for _, n := range []int{0, 1, 40} {
			msg, err := client.Encrypt(context.Background(), bytes.Repeat([]byte{'z'}, n), cmm,
				esdk.WithSuite(suite), esdk.WithFrameLength(16), esdk.WithEncryptionContext(map[string]string{"a": "b"}))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(msg)
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		before := heapAllocBytes()
		pt, h, err := client.Decrypt(context.Background(), msg, cmm)
		if used := heapAllocBytes() - before; used > maxAlloc(len(msg)) {
			t.Fatalf("Decrypt(%d bytes) allocated %d bytes, more than %d", len(msg), used, maxAlloc(len(msg)))
		}
		if err != nil {
			var nk *esdk.NoDecryptKeyError
			if !errors.Is(err, esdk.ErrInvalidMessage) && !errors.As(err, &nk) &&
				!errors.Is(err, esdk.ErrTooManyEncryptedDataKeys) {
				t.Fatalf("Decrypt() error = %v, want a documented error", err)
			}
			if pt != nil || h != nil {
				t.Fatalf("Decrypt() returned output with error %v", err)
			}
			return
		}
		if len(pt) > len(msg) || h == nil {
			t.Fatalf("Decrypt(%d bytes) = %d bytes, header %v", len(msg), len(pt), h)
		}
	})
}

// TestHostileLengthsAllocateLittle decrypts headers whose length fields
// claim far more than the input holds: the EDK count, an EDK length, the
// frame length and a non-framed content length. None may allocate more than
// maxAlloc of the input.
func TestHostileLengthsAllocateLittle(t *testing.T) {
	client, err := esdk.NewClient(esdk.WithMaxEncryptedDataKeys(esdk.NoMaxEncryptedDataKeys))
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := esdk.NewRawAESKeyring("ns", "name", vectorAESKey)
	cmm, _ := esdk.NewDefaultCMM(kr)
	msgID := make([]byte, 32)
	header := func(edkCount []byte, edk []byte, content byte, frameLen []byte) []byte {
		b := append([]byte{2, 0x04, 0x78}, msgID...)
		b = append(b, 0, 0)
		b = append(b, edkCount...)
		b = append(b, edk...)
		b = append(b, content)
		b = append(b, frameLen...)
		b = append(b, make([]byte, 32+16)...)
		return b
	}
	edk := []byte{0, 2, 'n', 's', 0, 1, 'x', 0, 1, 'y'}
	tests := map[string][]byte{
		"EDK count 65535":          header([]byte{0xff, 0xff}, edk, 2, []byte{0, 0, 0x10, 0}),
		"EDK length 65535":         header([]byte{0, 1}, []byte{0, 2, 'n', 's', 0, 1, 'x', 0xff, 0xff}, 2, []byte{0, 0, 0x10, 0}),
		"frame length 2^32-1":      append(header([]byte{0, 1}, edk, 2, []byte{0xff, 0xff, 0xff, 0xff}), 0, 0, 0, 1),
		"final frame 2^32-1 bytes": append(header([]byte{0, 1}, edk, 2, []byte{0xff, 0xff, 0xff, 0xff}), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff),
		"non-framed 2^36-32 bytes": append(header([]byte{0, 1}, edk, 1, []byte{0, 0, 0, 0}), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x0f, 0xff, 0xff, 0xff, 0xe0),
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			runtime.GC()
			before := heapAllocBytes()
			_, _, err := client.Decrypt(context.Background(), msg, cmm)
			used := heapAllocBytes() - before
			if !errors.Is(err, esdk.ErrInvalidMessage) {
				t.Fatalf("Decrypt() error = %v, want ErrInvalidMessage", err)
			}
			if used > maxAlloc(len(msg)) {
				t.Fatalf("Decrypt(%d bytes) allocated %d bytes, more than %d", len(msg), used, maxAlloc(len(msg)))
			}
		})
	}
}
