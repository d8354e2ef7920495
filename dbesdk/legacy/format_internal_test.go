package legacy

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestNormalizeNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"0", "0"}, {"-0", "0"}, {"00.000", "0"}, {"0E+5", "0"}, {"-0.0E-3", "0"},
		{"7", "7"}, {"+7", "7"}, {"-7", "-7"}, {"007", "7"},
		{"1E+3", "1000"}, {"1e3", "1000"}, {"1E3", "1000"}, {"10E-1", "1"},
		{"2.50", "2.5"}, {"55.00", "55"}, {"120.50", "120.5"}, {"100", "100"}, {"100.0", "100"},
		{"-0.00012300", "-0.000123"}, {".5", "0.5"}, {"5.", "5"}, {"0.001", "0.001"},
		{"6E+9", "6000000000"}, {"-4.5E-2", "-0.045"}, {"1.23E+1", "12.3"}, {"12.3E-1", "1.23"},
		{"7922769748929676301510341635", "7922769748929676301510341635"},
		{"1.5E-100", "0." + strings.Repeat("0", 99) + "15"},
		{"1E-130", "0." + strings.Repeat("0", 129) + "1"},
		{"9.9999999999999999999999999999999999999E+125", strings.Repeat("9", 38) + strings.Repeat("0", 88)},
		{strings.Repeat("1", 38), strings.Repeat("1", 38)},
		{"0." + strings.Repeat("0", 200) + "1E+200", "0.1"},
	} {
		got, err := normalizeNumber(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("normalizeNumber(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "-", "+", ".", "e5", "1e", "1e+", "abc", "1.2.3", " 1", "1 ", "Infinity", "NaN", "0x10", "1_000",
		"1E+126", "1E-131", strings.Repeat("1", 39), "1E+9999999999999", "1E-9999999999999", strings.Repeat("1", 401),
	} {
		if got, err := normalizeNumber(in); err == nil {
			t.Errorf("normalizeNumber(%q) = %q, want an error", in, got)
		}
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// Serializations worked out by hand from the format (see attribute.go).
func TestAppendAttribute(t *testing.T) {
	t.Parallel()
	S := func(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
	for _, tc := range []struct {
		name string
		av   types.AttributeValue
		want string // hex
	}{
		{"NULL", &types.AttributeValueMemberNULL{Value: true}, "0000"},
		{"true", &types.AttributeValueMemberBOOL{Value: true}, "003f01"},
		{"false", &types.AttributeValueMemberBOOL{Value: false}, "003f00"},
		{"N normalized", &types.AttributeValueMemberN{Value: "55.00"}, "006e 00000002 3535"},
		{"S", S("hé"), "0073 00000003 68c3a9"},
		{"empty S", S(""), "0073 00000000"},
		{"B", &types.AttributeValueMemberB{Value: []byte{0, 0xff}}, "0062 00000002 00ff"},
		{"SS sorted by UTF-8", &types.AttributeValueMemberSS{Value: []string{"b", "😀", "\uff61", "a"}},
			"0053 00000004 00000001 61 00000001 62 00000003 efbda1 00000004 f09f9880"},
		{"NS sorted by normalized text", &types.AttributeValueMemberNS{Value: []string{"10", "9.0", "-1"}},
			"004e 00000003 00000002 2d31 00000002 3130 00000001 39"},
		{"BS sorted by bytes", &types.AttributeValueMemberBS{Value: [][]byte{{2}, {1, 0}, {}}},
			"0042 00000003 00000000 00000002 0100 00000001 02"},
		{"L keeps order", &types.AttributeValueMemberL{Value: []types.AttributeValue{S("b"), &types.AttributeValueMemberNULL{Value: true}}},
			"004c 00000002 0073 00000001 62 0000"},
		{"M sorted by name", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"b": S("1"), "a": &types.AttributeValueMemberBOOL{Value: true}}},
			"004d 00000002 0073 00000001 61 003f01 0073 00000001 62 0073 00000001 31"},
		{"empty M", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}, "004d 00000000"},
	} {
		got, err := appendAttribute(nil, tc.av)
		if want := mustHex(tc.want); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: appendAttribute() = %x, %v; want %x", tc.name, got, err, want)
			continue
		}
		back, err := parseAttribute(got)
		if err != nil {
			t.Errorf("%s: parseAttribute(%x) = %v", tc.name, got, err)
			continue
		}
		again, err := appendAttribute(nil, back)
		if err != nil || !bytes.Equal(again, got) {
			t.Errorf("%s: appendAttribute(parseAttribute(x)) = %x, %v; want %x", tc.name, again, err, got)
		}
	}
}

// Malformed serializations are refused, and lengths or counts larger than
// the input allocate nothing large. Not parallel: it measures the heap.
func TestParseAttributeRefuses(t *testing.T) {
	deep := bytes.Repeat(mustHex("004c00000001"), maxDepth+1)
	deep = append(deep, mustHex("0000")...)
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"reserved byte", "0100"},
		{"unknown tag", "0078"},
		{"short length", "0073 0000"},
		{"length past the end", "0073 00000005 6162"},
		{"huge length", "0062 ffffffff 00"},
		{"huge list count", "004c ffffffff 0000"},
		{"huge map count", "004d 7fffffff"},
		{"huge set count", "0053 10000000 00000000"},
		{"trailing bytes", "0000 00"},
		{"bad UTF-8", "0073 00000001 ff"},
		{"bad bool", "003f 02"},
		{"bad number", "006e 00000001 78"},
		{"map key not a string", "004d 00000001 0062 00000000 0000"},
		{"duplicate map key", "004d 00000002 0073 00000001 61 0000 0073 00000001 61 0000"},
		{"set member past the end", "0053 00000001 00000009 61"},
	} {
		in := mustHex(tc.in)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		av, err := parseAttribute(in)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: parseAttribute(%x) = %#v, want an error", tc.name, in, av)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<16 {
			t.Errorf("%s: parseAttribute allocated %d bytes for %d bytes of input", tc.name, n, len(in))
		}
	}
	if _, err := parseAttribute(deep); err == nil {
		t.Errorf("parseAttribute(%d nested lists) succeeded", maxDepth+1)
	}
	if _, err := parseAttribute(deep[6:]); err != nil {
		t.Errorf("parseAttribute(%d nested lists) = %v", maxDepth, err)
	}
}

func TestMaterialDescription(t *testing.T) {
	t.Parallel()
	md := map[string]string{"b": "2", "a": "1", "ü": "", "": "x"}
	enc := appendMaterialDescription(nil, md)
	want := mustHex("00000000 00000000 00000001 78 00000001 61 00000001 31 00000001 62 00000001 32 00000002 c3bc 00000000")
	if !bytes.Equal(enc, want) {
		t.Fatalf("appendMaterialDescription() = %x, want %x", enc, want)
	}
	got, err := parseMaterialDescription(enc)
	if err != nil || len(got) != len(md) {
		t.Fatalf("parseMaterialDescription() = %v, %v", got, err)
	}
	for k, v := range md {
		if got[k] != v {
			t.Errorf("entry %q = %q, want %q", k, got[k], v)
		}
	}
	// The Java client writes entries in any order.
	if got, err := parseMaterialDescription(mustHex("00000000 00000001 62 00000000 00000001 61 00000000")); err != nil || len(got) != 2 {
		t.Errorf("unsorted material description: %v, %v", got, err)
	}
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"short version", "000000"},
		{"version 1", "00000001"},
		{"name without value", "00000000 00000001 61"},
		{"truncated value", "00000000 00000001 61 00000002 31"},
		{"huge length", "00000000 ffffffff"},
		{"bad UTF-8", "00000000 00000001 ff 00000000"},
		{"duplicate", "00000000 00000001 61 00000000 00000001 61 00000001 32"},
	} {
		if got, err := parseMaterialDescription(mustHex(tc.in)); err == nil {
			t.Errorf("%s: parseMaterialDescription() = %v, want an error", tc.name, got)
		}
	}
}

// RFC 3394, section 4.
func TestKeyWrap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ kek, key, wrapped string }{
		{"000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF", "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
		{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF", "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
		{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
			"28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	} {
		block, err := aes.NewCipher(mustHex(tc.kek))
		if err != nil {
			t.Fatal(err)
		}
		got, err := wrapKey(block, mustHex(tc.key))
		if err != nil || !bytes.Equal(got, mustHex(tc.wrapped)) {
			t.Errorf("wrapKey(%s) = %X, %v; want %s", tc.key, got, err, tc.wrapped)
		}
		key, err := unwrapKey(block, mustHex(tc.wrapped))
		if err != nil || !bytes.Equal(key, mustHex(tc.key)) {
			t.Errorf("unwrapKey(%s) = %X, %v; want %s", tc.wrapped, key, err, tc.key)
		}
		for i := range len(tc.wrapped) / 2 {
			bad := mustHex(tc.wrapped)
			bad[i] ^= 0x40
			if _, err := unwrapKey(block, bad); err == nil {
				t.Errorf("unwrapKey with byte %d flipped succeeded", i)
			}
		}
	}
	block, _ := aes.NewCipher(make([]byte, 16))
	for _, n := range []int{0, 8, 15, 17} {
		if _, err := wrapKey(block, make([]byte, n)); err == nil {
			t.Errorf("wrapKey(%d bytes) succeeded", n)
		}
	}
	for _, n := range []int{0, 16, 23, 25} {
		if _, err := unwrapKey(block, make([]byte, n)); err == nil {
			t.Errorf("unwrapKey(%d bytes) succeeded", n)
		}
	}
}

// CBC with PKCS #5 padding around block boundaries.
func TestCBC(t *testing.T) {
	t.Parallel()
	block, _ := aes.NewCipher(bytes.Repeat([]byte{9}, 32))
	for n := range 50 {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		ct := encryptCBC(block, pt)
		if want := 16 + (n/16+1)*16; len(ct) != want {
			t.Errorf("encryptCBC(%d bytes) is %d bytes, want %d", n, len(ct), want)
		}
		got, err := decryptCBC(block, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("decryptCBC(encryptCBC(%d bytes)) = %x, %v", n, got, err)
		}
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := decryptCBC(block, make([]byte, n)); err == nil {
			t.Errorf("decryptCBC(%d bytes) succeeded", n)
		}
	}
}
