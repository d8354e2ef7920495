package kmstest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestKeyUUID(t *testing.T) {
	seen := map[keyUUID]bool{}
	for range 100 {
		u := newKeyUUID()
		if seen[u] {
			t.Fatalf("newKeyUUID() repeated %v", u)
		}
		seen[u] = true
		s := u.String()
		if len(s) != 36 || s[14] != '4' || !strings.ContainsRune("89ab", rune(s[19])) {
			t.Errorf("newKeyUUID().String() = %q, want a version 4 variant 1 UUID", s)
		}
		back, ok := parseKeyUUID(s)
		if !ok || back != u {
			t.Errorf("parseKeyUUID(%q) = %v, %v, want %v, true", s, back, ok, u)
		}
		if back, ok := parseKeyUUID(strings.ToUpper(s)); !ok || back != u {
			t.Errorf("parseKeyUUID(upper %q) = %v, %v, want %v, true", s, back, ok, u)
		}
	}
	for _, s := range []string{"", "00000000000000000000000000000000", "0000000-00000-0000-0000-000000000000",
		"g0000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-0000000000000", "00000000_0000_0000_0000_000000000000"} {
		if _, ok := parseKeyUUID(s); ok {
			t.Errorf("parseKeyUUID(%q) = ok, want not ok", s)
		}
	}
}

func TestCanonicalContext(t *testing.T) {
	enc := func(ec map[string]string) string { return string(appendCanonicalContext(nil, ec)) }
	if enc(nil) != enc(map[string]string{}) {
		t.Error("nil and empty contexts encode differently, want the same (KMS treats them alike)")
	}
	// Distinct contexts must encode distinctly, including those a plain
	// concatenation would confuse.
	distinct := []map[string]string{
		nil,
		{"": ""},
		{"a": ""},
		{"": "a"},
		{"ab": "c"},
		{"a": "bc"},
		{"abc": ""},
		{"a": "b", "c": "d"},
		{"a": "bc", "": "d"},
		{"a": "b\x00\x00\x00\x01c"},
		{"a": "b", "\x00\x00\x00\x01c": "d"},
	}
	seen := map[string]int{}
	for i, ec := range distinct {
		e := enc(ec)
		if j, ok := seen[e]; ok {
			t.Errorf("contexts %v and %v encode the same", distinct[j], ec)
		}
		seen[e] = i
	}
	// Map order never matters.
	a := map[string]string{"x": "1", "y": "2", "z": "3", "w": "0"}
	for range 20 {
		b := map[string]string{}
		for k, v := range a {
			b[k] = v
		}
		if enc(a) != enc(b) {
			t.Fatal("equal contexts encode differently")
		}
	}
}

func TestBlob(t *testing.T) {
	aead := newKeyAEAD()
	id := newKeyUUID()
	ec := map[string]string{"tenant": "acme"}
	for _, size := range []int{0, 1, 32, 4096} {
		plaintext := bytes.Repeat([]byte{0xa5}, size)
		blob := sealBlob(aead, id, plaintext, ec)
		if len(blob) != blobOverhead+size {
			t.Errorf("len(sealBlob(%d bytes)) = %d, want %d", size, len(blob), blobOverhead+size)
		}
		if got, ok := blobKeyID(blob); !ok || got != id {
			t.Errorf("blobKeyID(blob) = %v, %v, want %v, true", got, ok, id)
		}
		got, err := openBlob(aead, blob, ec)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("openBlob(sealBlob(%d bytes)) = %d bytes, %v, want the plaintext", size, len(got), err)
		}
		if bytes.Equal(blob, sealBlob(aead, id, plaintext, ec)) {
			t.Errorf("sealBlob(%d bytes) twice gave the same blob, want a fresh nonce", size)
		}
	}

	blob := sealBlob(aead, id, []byte("sixteen byte msg"), ec)
	for i := range blob {
		for _, bit := range []byte{0x01, 0x80} {
			altered := bytes.Clone(blob)
			altered[i] ^= bit
			if _, err := openBlob(aead, altered, ec); !errors.Is(err, errOpen) {
				t.Errorf("openBlob(blob with bit %#x of byte %d flipped) = %v, want errOpen", bit, i, err)
			}
		}
	}
	for n := range blobOverhead {
		if _, err := openBlob(aead, blob[:n], ec); !errors.Is(err, errOpen) {
			t.Errorf("openBlob(%d-byte prefix) = %v, want errOpen", n, err)
		}
	}
	for _, other := range []map[string]string{nil, {"tenant": "other"}, {"tenant": "acme", "x": ""}} {
		if _, err := openBlob(aead, blob, other); !errors.Is(err, errOpen) {
			t.Errorf("openBlob(blob, %v) = %v, want errOpen", other, err)
		}
	}
	if _, err := openBlob(newKeyAEAD(), blob, ec); !errors.Is(err, errOpen) {
		t.Errorf("openBlob(another key's secret) = %v, want errOpen", err)
	}
}

// FuzzOpenBlob feeds arbitrary blobs to openBlob: it must never panic, and
// nothing but the sealed blob itself may open.
func FuzzOpenBlob(f *testing.F) {
	aead := newKeyAEAD()
	id := newKeyUUID()
	ec := map[string]string{"tenant": "acme"}
	sealed := [][]byte{
		sealBlob(aead, id, []byte("fuzz me"), ec),
		sealBlob(aead, id, nil, ec),
	}
	for _, b := range sealed {
		f.Add(b)
	}
	f.Add(sealBlob(aead, id, []byte("other context"), nil))
	f.Add([]byte{})
	f.Add([]byte{blobVersion})
	f.Add(bytes.Repeat([]byte{blobVersion}, blobOverhead))
	f.Fuzz(func(t *testing.T, blob []byte) {
		got, err := openBlob(aead, blob, ec)
		if err != nil {
			if !errors.Is(err, errOpen) {
				t.Fatalf("openBlob(%x) = %v, want errOpen", blob, err)
			}
			return
		}
		for _, b := range sealed {
			if bytes.Equal(blob, b) {
				return
			}
		}
		t.Fatalf("openBlob(%x) = %q, want errOpen: only the blobs sealed under the context open", blob, got)
	})
}

// FuzzParseKeyUUID checks parseKeyUUID accepts exactly the canonical text
// form, whatever the case, and round-trips.
func FuzzParseKeyUUID(f *testing.F) {
	f.Add(newKeyUUID().String())
	f.Add("1234abcd-12ab-34cd-56ef-1234567890ab")
	f.Add("1234ABCD-12AB-34CD-56EF-1234567890AB")
	f.Add("mrk-1234abcd12ab34cd56ef1234567890ab")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := parseKeyUUID(s)
		if !ok {
			return
		}
		if got := u.String(); got != strings.ToLower(s) {
			t.Fatalf("parseKeyUUID(%q).String() = %q, want %q", s, got, strings.ToLower(s))
		}
	})
}

// TestInsecureKeySeed: two servers with one seed create the same keys, so
// one decrypts the other's blobs; another seed gives other keys.
func TestInsecureKeySeed(t *testing.T) {
	a, err := NewServer(WithInsecureKeySeed([]byte("seed")))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewServer(WithInsecureKeySeed([]byte("seed")))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := NewServer(WithInsecureKeySeed([]byte("other")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ka, kb, kc := a.CreateKey(), b.CreateKey(), c.CreateKey()
	if ka != kb || ka == kc || a.CreateKey() != b.CreateKey() || ka == a.Keys()[1] {
		t.Fatalf("keys %s, %s, %s: want the first two equal, the third different, and key 1 different from key 0", ka, kb, kc)
	}
	ec := map[string]string{"k": "v"}
	blob := sealBlob(a.keys[a.order[0].id].aead, a.order[0].id, []byte("secret"), ec)
	if pt, err := openBlob(b.keys[b.order[0].id].aead, blob, ec); err != nil || string(pt) != "secret" {
		t.Errorf("openBlob(other server, same seed) = %q, %v", pt, err)
	}
	if _, err := openBlob(c.keys[c.order[0].id].aead, blob, ec); err == nil {
		t.Errorf("openBlob(other seed) = nil error")
	}
	if _, err := NewServer(WithInsecureKeySeed(nil)); err == nil {
		t.Errorf("NewServer(WithInsecureKeySeed(nil)) = nil error")
	}
}
