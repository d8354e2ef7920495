package attribute

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestNormalizeNumber: DynamoDB's normal form, as the DB-ESDK computes it;
// the cases include those the shared vectors pin (README: "1E+3" is
// "1000", "2.50" is "2.5", "-0" is "0", "1E-130" written out in full).
func TestNormalizeNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"-0", "0"},
		{"+0", "0"},
		{"00.000", "0"},
		{"0e99999999999999999999", "0"},
		{"-0.0E-5", "0"},
		{"1E+3", "1000"},
		{"3e2", "300"},
		{"2.50", "2.5"},
		{"55.000", "55"},
		{"10", "10"},
		{"100.0100", "100.01"},
		{"007", "7"},
		{".5", "0.5"},
		{"12.", "12"},
		{"+5", "5"},
		{"-1.5E-9", "-0.0000000015"},
		{"0.000819", "0.000819"},
		{"-0012.3400E+2", "-1234"},
		{"1.0E0", "1"},
		{"123.456e1", "1234.56"},
		{"123.456e-5", "0.00123456"},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
		{"-53707789099584590653.405166886728803676", "-53707789099584590653.405166886728803676"},
		{"1E-130", "0." + strings.Repeat("0", 129) + "1"},
		{"9.9999999999999999999999999999999999999E+125", "99999999999999999999999999999999999999" + strings.Repeat("0", 88)},
		{"1000000000000000000000000000000000000000", "1000000000000000000000000000000000000000"},
		{"0.00100", "0.001"},
	}
	for _, tt := range tests {
		if got, err := NormalizeNumber(tt.in); err != nil || got != tt.want {
			t.Errorf("NormalizeNumber(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	bad := []struct {
		in   string
		want error
	}{
		{"", ErrNumberSyntax}, {"-", ErrNumberSyntax}, {"+", ErrNumberSyntax}, {".", ErrNumberSyntax},
		{"e5", ErrNumberSyntax}, {"1e", ErrNumberSyntax}, {"1e+", ErrNumberSyntax}, {"1.2.3", ErrNumberSyntax},
		{"abc", ErrNumberSyntax}, {"1_000", ErrNumberSyntax}, {" 1", ErrNumberSyntax}, {"1 ", ErrNumberSyntax},
		{"NaN", ErrNumberSyntax}, {"Infinity", ErrNumberSyntax}, {"0x10", ErrNumberSyntax}, {"--1", ErrNumberSyntax},
		{"1e5.5", ErrNumberSyntax}, {"１", ErrNumberSyntax},
		{"1234567890123456789012345678901234567891", ErrNumberPrecision},
		{"1.234567890123456789012345678901234567891", ErrNumberPrecision},
		{"1E+126", ErrNumberRange}, {"1E-131", ErrNumberRange}, {"-1E-131", ErrNumberRange},
		{"1e99999999999999999999", ErrNumberRange}, {"1e-99999999999999999999", ErrNumberRange},
	}
	for _, tt := range bad {
		if got, err := NormalizeNumber(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("NormalizeNumber(%q) = %q, %v, want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestCompareUTF16(t *testing.T) {
	// Ordered by UTF-16 code units: U+10002 (D800 DC02) sorts before
	// U+FF61, although its code point (and UTF-8) is greater.
	ordered := []string{"", "A", "Z", "a", "ab", "é", "世", "𐀂", "𐀂a", "🎉", "｡", "￿"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := CompareUTF16(ordered[i], ordered[j]); got != want {
				t.Errorf("CompareUTF16(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if LenUTF16("a𐀂é") != 4 || LenUTF16("") != 0 || LenUTF16("😀😀") != 4 {
		t.Errorf("LenUTF16 is wrong")
	}
}

func s(v string) types.AttributeValue  { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue  { return &types.AttributeValueMemberN{Value: v} }
func b(v ...byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }
func l(v ...types.AttributeValue) types.AttributeValue {
	return &types.AttributeValueMemberL{Value: v}
}

func mustHex(t *testing.T, h string) []byte {
	t.Helper()
	out, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAppendBytes checks serializations byte for byte against the
// DB-ESDK's ddb-attribute-serialization.md.
func TestAppendBytes(t *testing.T) {
	tests := []struct {
		name string
		av   types.AttributeValue
		typ  TypeID
		want string
	}{
		{"null", &types.AttributeValueMemberNULL{Value: true}, Null, ""},
		{"string", s("é"), String, "c3a9"},
		{"number", n("-012.50"), Number, "2d31322e35"},
		{"binary", b(0, 0xff), Binary, "00ff"},
		{"true", &types.AttributeValueMemberBOOL{Value: true}, Boolean, "01"},
		{"false", &types.AttributeValueMemberBOOL{Value: false}, Boolean, "00"},
		// Members in UTF-16 order: "𐀂" before "｡".
		{"string set", &types.AttributeValueMemberSS{Value: []string{"｡", "𐀂", "a"}}, StringSet,
			"00000003 00000001 61 00000004 f0908082 00000003 efbda1"},
		{"number set", &types.AttributeValueMemberNS{Value: []string{"10", "9.50", "-1"}}, NumberSet,
			"00000003 00000002 2d31 00000002 3130 00000003 392e35"},
		{"binary set", &types.AttributeValueMemberBS{Value: [][]byte{{2}, {1, 0}, {}}}, BinarySet,
			"00000003 00000000 00000002 0100 00000001 02"},
		{"list", l(s("a"), n("1.0")), List,
			"00000002 0001 00000001 61 0002 00000001 31"},
		{"map", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"b": &types.AttributeValueMemberNULL{Value: true}, "a": l()}}, Map,
			"00000002 0001 00000001 61 0300 00000004 00000000 0001 00000001 62 0000 00000000"},
		{"empty map", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}, Map, "00000000"},
	}
	for _, tt := range tests {
		got, typ, err := Append([]byte("x"), tt.av)
		if err != nil || typ != tt.typ || !bytes.Equal(got[1:], mustHex(t, tt.want)) || got[0] != 'x' {
			t.Errorf("%s: Append() = %x, %v, %v, want %s, %v", tt.name, got, typ, err, tt.want, tt.typ)
		}
	}
}

func TestAppendRejects(t *testing.T) {
	deep := s("x")
	for range MaxDepth {
		deep = l(deep)
	}
	tests := []struct {
		name string
		av   types.AttributeValue
		want error
	}{
		{"nil", nil, ErrNil},
		{"unknown", &types.UnknownUnionMember{Tag: "X"}, ErrUnknown},
		{"bad number", n("1,5"), ErrNumberSyntax},
		{"nested bad number", l(n("1"), n("x")), ErrNumberSyntax},
		{"duplicate string", &types.AttributeValueMemberSS{Value: []string{"a", "a"}}, ErrDuplicate},
		{"duplicate number after normalization", &types.AttributeValueMemberNS{Value: []string{"1", "1.0"}}, ErrDuplicate},
		{"duplicate binary", &types.AttributeValueMemberBS{Value: [][]byte{{1}, {1}}}, ErrDuplicate},
		{"invalid UTF-8", s("\xff"), ErrUTF8},
		{"invalid UTF-8 member", &types.AttributeValueMemberSS{Value: []string{"\xff"}}, ErrUTF8},
		{"invalid UTF-8 key", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"\xff": s("")}}, ErrUTF8},
		{"long key", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{strings.Repeat("k", 65536): s("")}}, ErrMapKey},
		{"too deep", deep, ErrDepth},
		{"NULL false", &types.AttributeValueMemberNULL{Value: false}, errNullFalse},
	}
	for _, tt := range tests {
		if _, _, err := Append(nil, tt.av); !errors.Is(err, tt.want) {
			t.Errorf("%s: Append() = %v, want %v", tt.name, err, tt.want)
		}
	}
	ok := s("x")
	for range MaxDepth - 1 {
		ok = l(ok)
	}
	if _, _, err := Append(nil, ok); err != nil {
		t.Errorf("Append(nested %d deep) = %v, want success", MaxDepth, err)
	}
}

// TestParseRoundTrip: Parse returns what Append serialized, normalized.
func TestParseRoundTrip(t *testing.T) {
	values := []types.AttributeValue{
		&types.AttributeValueMemberNULL{Value: true}, s(""), s("Grüße 🎉"), n("1E+3"), b(), b(1, 2),
		&types.AttributeValueMemberBOOL{Value: true},
		&types.AttributeValueMemberSS{Value: []string{"b", "a", "｡", "𐀂"}},
		&types.AttributeValueMemberNS{Value: []string{"2.50", "-1"}},
		&types.AttributeValueMemberBS{Value: [][]byte{{1}, {}}},
		l(l(), &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"": s("empty key"), "k": n("0.10")}}),
	}
	for _, av := range values {
		enc, typ, err := Append(nil, av)
		if err != nil {
			t.Fatalf("Append(%T) = %v", av, err)
		}
		got, err := Parse(typ, enc)
		if err != nil {
			t.Fatalf("Parse(Append(%T)) = %v", av, err)
		}
		again, typ2, err := Append(nil, got)
		if err != nil || typ2 != typ || !bytes.Equal(again, enc) {
			t.Errorf("Append(Parse(Append(%T))) = %x, %v, want %x", av, again, err, enc)
		}
	}
	got, _ := Parse(StringSet, mustHex(t, "00000002 00000001 62 00000001 61"))
	if ss := got.(*types.AttributeValueMemberSS).Value; !slices.Equal(ss, []string{"b", "a"}) {
		t.Errorf("Parse(string set) = %q, want the stored order [b a]", ss)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		typ  TypeID
		in   string
	}{
		{"null with bytes", Null, "00"},
		{"boolean 2", Boolean, "02"},
		{"boolean empty", Boolean, ""},
		{"boolean long", Boolean, "0100"},
		{"invalid UTF-8", String, "ff"},
		{"unknown type", 0x0003, ""},
		{"reserved type", 0xFF00, ""},
		{"set count too large", StringSet, "00000002 00000001 61"},
		{"set member overruns", StringSet, "00000001 00000005 61"},
		{"set duplicate", StringSet, "00000002 00000001 61 00000001 61"},
		{"binary set duplicate", BinarySet, "00000002 00000000 00000000"},
		{"set trailing bytes", StringSet, "00000001 00000001 61 00"},
		{"huge count", List, "ffffffff"},
		{"list entry overruns", List, "00000001 0001 00000009 61"},
		{"list entry length mismatch", List, "00000001 0004 00000002 0100"},
		{"map key not a string", Map, "00000001 0002 00000001 61 0000 00000000"},
		{"map duplicate key", Map, "00000002 0001 00000001 61 0000 00000000 0001 00000001 61 0000 00000000"},
		{"map truncated", Map, "00000001 0001 00000001 61 00"},
		{"short count", Map, "000000"},
	}
	for _, tt := range tests {
		if got, err := Parse(tt.typ, mustHex(t, tt.in)); err == nil {
			t.Errorf("%s: Parse() = %v, want an error", tt.name, got)
		}
	}
	// 33 nested lists.
	deep := mustHex(t, "00000000")
	for range MaxDepth {
		inner := deep
		deep = append(mustHex(t, "00000001 0300"), 0, 0, 0, byte(len(inner)))
		deep = append(deep, inner...)
	}
	if _, err := Parse(List, deep); err == nil {
		t.Errorf("Parse(%d nested lists) = nil error", MaxDepth+1)
	}
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// maxParseAlloc bounds what parsing n bytes may allocate: a Go attribute
// value is larger than its serialization (an entry of a list of NULLs is 6
// bytes, its interface value and struct some 40), but by a constant
// factor. A length field driving an allocation would exceed it.
func maxParseAlloc(n int) uint64 { return 64*uint64(n) + 64<<10 }

// FuzzParse: no input panics or allocates more than maxParseAlloc, and
// what parses serializes back to a value that parses to the same
// serialization (Append's output is canonical).
func FuzzParse(f *testing.F) {
	for _, av := range []types.AttributeValue{
		s("a"), n("1.5"), b(1), l(s(""), &types.AttributeValueMemberNULL{Value: true}),
		&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberSS{Value: []string{"x", "y"}}}},
		&types.AttributeValueMemberNS{Value: []string{"1", "2"}}, &types.AttributeValueMemberBS{Value: [][]byte{{1}}},
		&types.AttributeValueMemberBOOL{Value: true},
	} {
		enc, typ, err := Append(nil, av)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint16(typ), enc)
	}
	f.Add(uint16(List), []byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, typ uint16, in []byte) {
		before := heapAlloc()
		av, err := Parse(TypeID(typ), in)
		if used := heapAlloc() - before; used > maxParseAlloc(len(in)) {
			t.Fatalf("Parse(%d bytes) allocated %d bytes, more than %d", len(in), used, maxParseAlloc(len(in)))
		}
		if err != nil {
			if av != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse() = %v, %v, want nil and ErrMalformed", av, err)
			}
			return
		}
		enc, typ2, err := Append(nil, av)
		if err != nil {
			// Parse keeps numbers as stored; one that is no number does not
			// serialize again, and neither do duplicates that only
			// normalization reveals.
			return
		}
		if typ2 != TypeID(typ) {
			t.Fatalf("Append(Parse()) type %v, want %v", typ2, TypeID(typ))
		}
		av2, err := Parse(typ2, enc)
		if err != nil {
			t.Fatalf("Parse(Append(Parse())) = %v", err)
		}
		enc2, _, err := Append(nil, av2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("serialization not stable: %x then %x (%v)", enc, enc2, err)
		}
	})
}
