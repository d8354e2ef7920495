package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/datamask/datamask/internal/benchdata"
)

// vectorMessages returns the ciphertexts of the shared ESDK vectors.
func vectorMessages(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(benchdata.SharedDir(), "esdk_vectors", "*", "ciphertexts", "*"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatal("no shared vector ciphertexts found")
	}
	var msgs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, b)
	}
	return msgs
}

func TestParseHeaderVectors(t *testing.T) {
	for i, msg := range vectorMessages(t) {
		h, err := ParseHeader(msg, 0xFFFF)
		if err != nil {
			t.Fatalf("vector %d: ParseHeader() error = %v", i, err)
		}
		got := h.AppendAuth(h.AppendBody(nil))
		if !bytes.Equal(got, msg[:h.Len]) {
			t.Fatalf("vector %d: AppendBody+AppendAuth(ParseHeader()) differs from the header", i)
		}
		n, err := h.MarshalLen()
		if err != nil || n != h.Len {
			t.Fatalf("vector %d: MarshalLen() = %d, %v, want %d", i, n, err, h.Len)
		}
	}
}

// FuzzHeader checks that any header ParseHeader accepts is written back byte
// for byte, and that parsing never reads past its input.
func FuzzHeader(f *testing.F) {
	for _, msg := range vectorMessages(f) {
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b, 0xFFFF)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseHeader() error = %v, want ErrMalformed", err)
			}
			return
		}
		if h.Len > len(b) || h.BodyLen > h.Len {
			t.Fatalf("ParseHeader() lengths %d/%d for %d bytes", h.BodyLen, h.Len, len(b))
		}
		n, err := h.MarshalLen()
		if err != nil || n != h.Len {
			t.Fatalf("MarshalLen() = %d, %v, want %d", n, err, h.Len)
		}
		if got := h.AppendAuth(h.AppendBody(nil)); !bytes.Equal(got, b[:h.Len]) {
			t.Fatalf("round trip = %x, want %x", got, b[:h.Len])
		}
	})
}

func TestSortedPairsUTF8Order(t *testing.T) {
	// U+FFFD (EF BF BD) sorts before U+1F600 (F0 9F 98 80) in UTF-8 byte
	// order, although UTF-16 order is the reverse (FFFD > D83D).
	ec := map[string]string{"\U0001F600": "1", "\uFFFD": "2", "a": "3", "Z": "4", "é": "5"}
	var got []string
	for _, p := range SortedPairs(ec, nil) {
		got = append(got, p.Key)
	}
	want := []string{"Z", "a", "é", "\uFFFD", "\U0001F600"}
	if !slices.Equal(got, want) {
		t.Fatalf("SortedPairs() keys = %q, want %q", got, want)
	}
	b, err := MarshalContext(ec)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := ParseContext(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pairs {
		if p.Key != want[i] || p.Value != ec[p.Key] {
			t.Fatalf("ParseContext(MarshalContext()) pair %d = %q, want key %q", i, p, want[i])
		}
	}
}

func TestMarshalContext(t *testing.T) {
	tests := []struct {
		name string
		ec   map[string]string
		want []byte
		ok   bool
	}{
		{"nil", nil, []byte{}, true},
		{"empty", map[string]string{}, []byte{}, true},
		{"one", map[string]string{"k": "vv"}, []byte{0, 1, 0, 1, 'k', 0, 2, 'v', 'v'}, true},
		{"sorted", map[string]string{"b": "", "a": ""}, []byte{0, 2, 0, 1, 'a', 0, 0, 0, 1, 'b', 0, 0}, true},
		{"invalid UTF-8 key", map[string]string{"\xff": "v"}, nil, false},
		{"invalid UTF-8 value", map[string]string{"k": "\xc3"}, nil, false},
		{"too large", map[string]string{"k": string(make([]byte, MaxContextLen))}, nil, false},
		{"largest", map[string]string{"k": string(make([]byte, MaxContextLen-2-4-1))}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalContext(tt.ec)
			if (err == nil) != tt.ok {
				t.Fatalf("MarshalContext() error = %v, want ok %v", err, tt.ok)
			}
			if tt.want != nil && !bytes.Equal(got, tt.want) {
				t.Fatalf("MarshalContext() = %x, want %x", got, tt.want)
			}
			if tt.ok && len(got) > MaxContextLen {
				t.Fatalf("MarshalContext() = %d bytes", len(got))
			}
		})
	}
}

func TestParseContextRejects(t *testing.T) {
	tests := map[string][]byte{
		"zero count":      {0, 0},
		"short count":     {0},
		"count too large": {0, 2, 0, 1, 'a', 0, 0},
		"truncated key":   {0, 1, 0, 5, 'a'},
		"trailing byte":   {0, 1, 0, 1, 'a', 0, 0, 9},
		"duplicate key":   {0, 2, 0, 1, 'a', 0, 0, 0, 1, 'a', 0, 1, 'x'},
		"invalid UTF-8":   {0, 1, 0, 1, 0xff, 0, 0},
		"huge count":      {0xff, 0xff, 0, 0},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if p, err := ParseContext(b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseContext(%x) = %q, %v, want ErrMalformed", b, p, err)
			}
		})
	}
	// Unsorted input is kept in wire order (only writers must sort).
	p, err := ParseContext([]byte{0, 2, 0, 1, 'b', 0, 0, 0, 1, 'a', 0, 0})
	if err != nil || len(p) != 2 || p[0].Key != "b" {
		t.Fatalf("ParseContext(unsorted) = %q, %v, want [b a]", p, err)
	}
}

// v2Header returns a minimal valid v2 header (suite 0478, one EDK, framed).
func v2Header() []byte {
	b := []byte{2, 0x04, 0x78}
	b = append(b, make([]byte, 32)...) // message ID
	b = append(b, 0, 0)                // empty context
	b = append(b, 0, 1)                // one EDK
	b = append(b, 0, 1, 'p', 0, 1, 'i', 0, 2, 'c', 'c')
	b = append(b, 2, 0, 0, 0x10, 0)       // framed, frame length 4096
	b = append(b, make([]byte, 32)...)    // commit key
	return append(b, make([]byte, 16)...) // tag
}

// v1Header returns a minimal valid v1 header (suite 0178, one EDK, framed).
func v1Header() []byte {
	b := []byte{1, 0x80, 0x01, 0x78}
	b = append(b, make([]byte, 16)...)
	b = append(b, 0, 0, 0, 1)
	b = append(b, 0, 1, 'p', 0, 1, 'i', 0, 2, 'c', 'c')
	b = append(b, 2, 0, 0, 0, 0, 12, 0, 0, 0x10, 0)
	return append(b, make([]byte, 12+16)...)
}

func TestParseHeaderRejects(t *testing.T) {
	if _, err := ParseHeader(v2Header(), 1); err != nil {
		t.Fatalf("ParseHeader(v2) error = %v", err)
	}
	if _, err := ParseHeader(v1Header(), 1); err != nil {
		t.Fatalf("ParseHeader(v1) error = %v", err)
	}
	edit := func(b []byte, off int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[off:], v)
		return b
	}
	v2, v1 := v2Header(), v1Header()
	v2EDKCount := 3 + 32 + 2
	v2Content := v2EDKCount + 2 + 10
	v1Content := 4 + 16 + 2 + 2 + 10
	tests := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrMalformed},
		{"unknown version", edit(v2, 0, 3), ErrMalformed},
		{"base64 version", edit(v2, 0, 'A'), ErrMalformed},
		{"unknown suite", edit(v2, 1, 0x06, 0x78), ErrMalformed},
		{"v1 suite in v2", edit(v2, 1, 0x03, 0x78), ErrMalformed},
		{"v2 suite in v1", edit(v1, 2, 0x04, 0x78), ErrMalformed},
		{"v1 type", edit(v1, 1, 0x81), ErrMalformed},
		{"zero EDKs", edit(v2, v2EDKCount, 0, 0), ErrMalformed},
		{"EDK count over the limit", edit(v2, v2EDKCount, 0, 2), ErrTooManyEDKs},
		{"EDK count over the input", edit(v2, v2EDKCount, 0xff, 0xff), ErrTooManyEDKs},
		{"content type 0", edit(v2, v2Content, 0), ErrMalformed},
		{"content type 3", edit(v2, v2Content, 3), ErrMalformed},
		{"framed with frame length 0", edit(v2, v2Content+1, 0, 0, 0, 0), ErrMalformed},
		{"non-framed with a frame length", edit(v2, v2Content, 1), ErrMalformed},
		{"v1 reserved", edit(v1, v1Content+1, 0, 0, 0, 1), ErrMalformed},
		{"v1 IV length", edit(v1, v1Content+5, 16), ErrMalformed},
		{"invalid UTF-8 provider ID", edit(v2, v2EDKCount+4, 0xff), ErrMalformed},
		{"truncated", v2[:len(v2)-1], ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseHeader(tt.b, 1); !errors.Is(err, tt.err) {
				t.Fatalf("ParseHeader() error = %v, want %v", err, tt.err)
			}
		})
	}
	// With a limit high enough, a count larger than the input can hold is
	// malformed, and nothing is allocated for it.
	if _, err := ParseHeader(edit(v2, v2EDKCount, 0xff, 0xff), 0xFFFF); !errors.Is(err, ErrMalformed) {
		t.Fatalf("ParseHeader(count 65535) error = %v, want ErrMalformed", err)
	}
}

func TestParseFrame(t *testing.T) {
	regular := binary.BigEndian.AppendUint32(nil, 1)
	regular = append(regular, make([]byte, 12+4+16)...)
	final := binary.BigEndian.AppendUint32(nil, FinalFrameMarker)
	final = binary.BigEndian.AppendUint32(final, 2)
	final = append(final, make([]byte, 12)...)
	final = binary.BigEndian.AppendUint32(final, 3)
	final = append(final, make([]byte, 3+16)...)

	f, n, err := ParseFrame(regular, 4)
	if err != nil || f.Final || f.Seq != 1 || len(f.Ciphertext) != 4 || n != len(regular) {
		t.Fatalf("ParseFrame(regular) = %+v, %d, %v", f, n, err)
	}
	f, n, err = ParseFrame(final, 4)
	if err != nil || !f.Final || f.Seq != 2 || len(f.Ciphertext) != 3 || n != len(final) {
		t.Fatalf("ParseFrame(final) = %+v, %d, %v", f, n, err)
	}
	if _, _, err := ParseFrame(final, 2); !errors.Is(err, ErrMalformed) {
		t.Fatalf("ParseFrame(final longer than the frame length) error = %v, want ErrMalformed", err)
	}
	if _, _, err := ParseFrame(regular, 0xFFFFFFFF); !errors.Is(err, ErrMalformed) {
		t.Fatalf("ParseFrame(frame length beyond the input) error = %v, want ErrMalformed", err)
	}
	for i := range len(final) {
		if _, _, err := ParseFrame(final[:i], 4); !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseFrame(final[:%d]) error = %v, want ErrMalformed", i, err)
		}
	}
	huge := append(make([]byte, 12), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if _, _, _, _, err := ParseSingleBlock(huge); !errors.Is(err, ErrMalformed) {
		t.Fatalf("ParseSingleBlock(length 2^64-1) error = %v, want ErrMalformed", err)
	}
}

func TestSuites(t *testing.T) {
	if len(Suites()) != 11 {
		t.Fatalf("Suites() has %d suites, want 11", len(Suites()))
	}
	for _, s := range Suites() {
		got, ok := LookupSuite(s.ID)
		if !ok || got != s {
			t.Fatalf("LookupSuite(%04x) = %+v, %v", s.ID, got, ok)
		}
		if (s.Version == V2) != s.Committing() {
			t.Errorf("suite %04x: version %d, committing %v", s.ID, s.Version, s.Committing())
		}
	}
}
