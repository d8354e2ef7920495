package datamask_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
)

// bigArray returns a single-line JSON array of n customer objects of
// about 230 bytes each, the shape of the documents of issue 8 (1,000,000
// of them made 228 MB).
func bigArray(n int) []byte {
	var b strings.Builder
	b.Grow(n * 232)
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"Ana Silva","email":"ana.silva%d@example.com","ssn":"%03d-45-%04d","card_number":"4111-1111-1111-%04d",`+
			`"address":{"street":"%d Main St","city":"Anytown","postcode":%d},"active":true,"tier":"gold"}`, i, i, i%1000, i%10000, i%10000, i%9999+1, 10000+i%89999)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestWriterFormsMemory bounds what erasing and encrypting a large
// document allocate when the result goes to a writer: the document's
// index (4 bytes per value, 12 per object or array) and the values being
// worked on, not a copy of the document nor all its messages. (Issue 8:
// erasing a 228 MB document peaked at 5.1 times its size, encrypting it at
// 9.7 times.)
func TestWriterFormsMemory(t *testing.T) {
	doc := bigArray(40000) // about 9 MB
	m := newMasker(t, localKeyring(t), datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	fields := datamask.Fields("$[*].ssn")
	for _, tt := range []struct {
		name string
		run  func() error
		max  float64 // allocations at most max times the document
	}{
		// About 0.5 for the index and 0.2 for the selected values (0.68
		// measured; the race detector's runtime allocates a little more).
		// A copy of the document would make it more than 1.
		{"EraseTo", func() error { return m.EraseTo(io.Discard, doc, fields) }, 0.9},
		{"EraseTo dynamic", func() error { return m.EraseTo(io.Discard, doc, fields, datamask.DynamicMask()) }, 0.9},
	} {
		var err error
		got := allocated(func() { err = tt.run() })
		if err != nil {
			t.Fatal(err)
		}
		ratio := float64(got) / float64(len(doc))
		t.Logf("%s: %.2f bytes allocated per byte of document", tt.name, ratio)
		if ratio > tt.max {
			t.Errorf("%s of a %d-byte document allocated %d bytes, %.2f times its size; want at most %.2f", tt.name, len(doc), got, ratio, tt.max)
		}
	}

	// Encrypting allocates per message, so its total says little about
	// its peak: that is measured on the command line (docs/performance.md,
	// "One large document").
	// Here the writer forms round-trip the document across many chunks.
	var enc strings.Builder
	if err := m.EncryptTo(context.Background(), &enc, doc, fields); err != nil {
		t.Fatal(err)
	}
	var dec strings.Builder
	if err := m.DecryptTo(context.Background(), &dec, []byte(enc.String()), fields); err != nil || dec.String() != string(doc) {
		t.Fatalf("DecryptTo(EncryptTo(...)) = %d bytes, %v; want the document", dec.Len(), err)
	}
}

// BenchmarkWriterForms compares Erase, Encrypt and Decrypt with their
// writer forms on a 2.3 MB array of 10,000 objects: B/op shows what the
// writer forms save (no result buffer, one chunk of messages at a time).
func BenchmarkWriterForms(b *testing.B) {
	ctx := context.Background()
	doc := bigArray(10000)
	m := newMasker(b, localKeyring(b), datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	fields := datamask.Fields("$[*].ssn")
	enc, err := m.Encrypt(ctx, doc, fields)
	if err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct {
		name string
		in   []byte
		run  func(in []byte) error
	}{
		{"Erase", doc, func(in []byte) error { _, err := m.Erase(in, fields); return err }},
		{"EraseTo", doc, func(in []byte) error { return m.EraseTo(io.Discard, in, fields) }},
		{"Encrypt", doc, func(in []byte) error { _, err := m.Encrypt(ctx, in, fields); return err }},
		{"EncryptTo", doc, func(in []byte) error { return m.EncryptTo(ctx, io.Discard, in, fields) }},
		{"Decrypt", enc, func(in []byte) error { _, err := m.Decrypt(ctx, in, fields); return err }},
		{"DecryptTo", enc, func(in []byte) error { return m.DecryptTo(ctx, io.Discard, in, fields) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.in)))
			for b.Loop() {
				if err := bm.run(bm.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
