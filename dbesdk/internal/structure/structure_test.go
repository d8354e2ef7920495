package structure

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// vectorFields returns the aws_dbe_head and aws_dbe_foot values of every
// dbesdk item of the shared vectors and of dbesdk/testdata/vectors.
func vectorFields(tb testing.TB) (heads, foots [][]byte) {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0) // <repo>/dbesdk/internal/structure/structure_test.go
	repo := filepath.Join(filepath.Dir(file), "..", "..", "..")
	manifests, _ := filepath.Glob(filepath.Join(repo, "dbesdk", "testdata", "vectors", "*", "manifest.json"))
	manifests = append(manifests, filepath.Join(repo, "..", "shared", "ddb_vectors", "manifest.json"))
	for _, path := range manifests {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		var m struct {
			Tests map[string]struct {
				Format     string `json:"format"`
				Ciphertext map[string]struct {
					B string `json:"B"`
				} `json:"ciphertext"`
			} `json:"tests"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		for _, v := range m.Tests {
			if v.Format != "dbesdk" {
				continue
			}
			for name, dst := range map[string]*[][]byte{"aws_dbe_head": &heads, "aws_dbe_foot": &foots} {
				if a, ok := v.Ciphertext[name]; ok {
					b, err := base64.StdEncoding.DecodeString(a.B)
					if err != nil {
						tb.Fatal(err)
					}
					*dst = append(*dst, b)
				}
			}
		}
	}
	if len(heads) < 100 {
		tb.Fatalf("only %d vector headers found", len(heads))
	}
	return heads, foots
}

func TestHeaderVectorsRoundTrip(t *testing.T) {
	heads, _ := vectorFields(t)
	parsed := 0
	for _, head := range heads {
		h, n, commitment, err := ParseHeader(head)
		if err != nil {
			// Tamper vectors change headers on purpose.
			continue
		}
		parsed++
		got, err := h.AppendPartial(nil)
		if err != nil || n != len(got) || !bytes.Equal(append(got, commitment...), head) {
			t.Errorf("AppendPartial(ParseHeader(%x)) = %x, %v", head, got, err)
		}
	}
	if parsed < len(heads)-5 {
		t.Errorf("only %d of %d vector headers parse", parsed, len(heads))
	}
}

func mustHex(t *testing.T, h string) []byte {
	t.Helper()
	out, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHeaderBytes(t *testing.T) {
	h := Header{
		Version: 2, Flavor: 1, MessageID: bytes.Repeat([]byte{0xaa}, 32), Legend: []byte("ecs"),
		Context: []Pair{{"a", "b"}},
		EDKs:    []EDK{{ProviderID: "p", ProviderInfo: []byte{1}, Ciphertext: []byte{2, 3}}},
	}
	got, err := h.AppendPartial(nil)
	want := mustHex(t, "02 01"+strings.Repeat("aa", 32)+"0003 656373 0001 0001 61 0001 62 01 0001 70 0001 01 0002 0203")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("AppendPartial() = %x, %v, want %x", got, err, want)
	}
	// An empty context still has its count, unlike the ESDK's.
	h.Context = nil
	got, _ = h.AppendPartial(nil)
	if !bytes.Contains(got, mustHex(t, "656373 0000 01")) {
		t.Errorf("AppendPartial(empty context) = %x, want a zero pair count", got)
	}
	bad := []Header{
		{Version: 3, Flavor: 0, MessageID: make([]byte, 32), EDKs: h.EDKs},
		{Version: 1, Flavor: 2, MessageID: make([]byte, 32), EDKs: h.EDKs},
		{Version: 1, MessageID: make([]byte, 31), EDKs: h.EDKs},
		{Version: 1, MessageID: make([]byte, 32)},
		{Version: 1, MessageID: make([]byte, 32), EDKs: make([]EDK, 256)},
		{Version: 1, MessageID: make([]byte, 32), EDKs: h.EDKs, Legend: []byte("x")},
		{Version: 1, MessageID: make([]byte, 32), EDKs: h.EDKs, Context: []Pair{{"b", ""}, {"a", ""}}},
		{Version: 1, MessageID: make([]byte, 32), EDKs: []EDK{{ProviderID: "\xff"}}},
	}
	for i, b := range bad {
		if _, err := b.AppendPartial(nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("bad header %d: AppendPartial() = %v, want ErrMalformed", i, err)
		}
	}
}

func TestParseHeaderRejects(t *testing.T) {
	good := Header{Version: 1, Flavor: 0, MessageID: make([]byte, 32), Legend: []byte("s"),
		Context: []Pair{{"a", "1"}, {"b", "2"}}, EDKs: []EDK{{ProviderID: "p", Ciphertext: []byte{1}}}}
	partial, err := good.AppendPartial(nil)
	if err != nil {
		t.Fatal(err)
	}
	full := append(partial, make([]byte, 32)...)
	if _, _, _, err := ParseHeader(full); err != nil {
		t.Fatalf("ParseHeader(good) = %v", err)
	}
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(full)) }
	tests := map[string][]byte{
		"version 0":         mutate(func(b []byte) []byte { b[0] = 0; return b }),
		"version 3":         mutate(func(b []byte) []byte { b[0] = 3; return b }),
		"flavor 2":          mutate(func(b []byte) []byte { b[1] = 2; return b }),
		"legend byte":       mutate(func(b []byte) []byte { b[36] = 'x'; return b }),
		"keys out of order": mutate(func(b []byte) []byte { b[41], b[47] = 'b', 'a'; return b }),
		"no EDK":            append(mutate(func(b []byte) []byte { return b[:51] }), append([]byte{0}, make([]byte, 32)...)...),
		"short commitment":  full[:len(full)-1],
		"trailing byte":     append(bytes.Clone(full), 0),
		"empty":             nil,
		"huge counts":       append(append([]byte{1, 0}, make([]byte, 32)...), 0xff, 0xff),
	}
	for name, in := range tests {
		if _, _, _, err := ParseHeader(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseHeader() = %v, want ErrMalformed", name, err)
		}
	}
}

func TestParseFooter(t *testing.T) {
	tests := []struct {
		n, edks int
		signed  bool
		ok      bool
	}{
		{48, 1, false, true}, {96, 2, false, true}, {48 + 103, 1, true, true}, {2*48 + 103, 2, true, true},
		{47, 1, false, false}, {49, 1, false, false}, {48, 1, true, false}, {48 + 102, 1, true, false},
		{48 + 104, 1, true, false}, {0, 0, false, false}, {96, 1, false, false},
	}
	for _, tt := range tests {
		tags, sig, err := ParseFooter(make([]byte, tt.n), tt.edks, tt.signed)
		if (err == nil) != tt.ok || tt.ok && (len(tags) != tt.edks || (sig != nil) != tt.signed) {
			t.Errorf("ParseFooter(%d bytes, %d keys, signed %v) = %d tags, %d-byte signature, %v", tt.n, tt.edks, tt.signed, len(tags), len(sig), err)
		}
	}
}

func TestCanonicalPath(t *testing.T) {
	got := AppendCanonicalPath(nil, "T", "é𐀂", 3)
	want := mustHex(t, "54 0000000000000001 24 0000000000000003 c3a9f0908082")
	if !bytes.Equal(got, want) {
		t.Errorf("AppendCanonicalPath() = %x, want %x", got, want)
	}
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// FuzzHeader: no input panics or allocates more than a constant multiple
// of its size, and every header that parses serializes back to the same
// bytes (no two serializations mean the same header).
func FuzzHeader(f *testing.F) {
	heads, _ := vectorFields(f)
	for _, h := range heads {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		before := heapAlloc()
		h, n, commitment, err := ParseHeader(in)
		if used := heapAlloc() - before; used > 8*uint64(len(in))+16<<10 {
			t.Fatalf("ParseHeader(%d bytes) allocated %d bytes", len(in), used)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) || h != nil {
				t.Fatalf("ParseHeader() = %v, %v", h, err)
			}
			return
		}
		out, err := h.AppendPartial(nil)
		if err != nil || n != len(out) || !bytes.Equal(append(out, commitment...), in) {
			t.Fatalf("AppendPartial(ParseHeader(%x)) = %x, %v", in, out, err)
		}
	})
}

// FuzzFooter: ParseFooter accepts exactly the lengths of the format.
func FuzzFooter(f *testing.F) {
	_, foots := vectorFields(f)
	for _, foot := range foots {
		f.Add(foot, uint8(1), len(foot)%48 != 0)
	}
	f.Fuzz(func(t *testing.T, in []byte, edks uint8, signed bool) {
		tags, sig, err := ParseFooter(in, int(edks), signed)
		want := int(edks) * RecipientTagLen
		if signed {
			want += SignatureLen
		}
		if (err == nil) != (edks > 0 && len(in) == want) {
			t.Fatalf("ParseFooter(%d bytes, %d, %v) = %v", len(in), edks, signed, err)
		}
		if err == nil && (len(tags) != int(edks) || !bytes.Equal(append(bytes.Join(tags, nil), sig...), in)) {
			t.Fatalf("ParseFooter() does not split its input")
		}
	})
}
