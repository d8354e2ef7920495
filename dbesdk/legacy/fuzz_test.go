package legacy_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/legacy"
)

// The parsers read bytes an attacker may control (a stored item's material
// description) or that only a key holder could have written (a decrypted
// attribute). `go test` runs the seeds; `go test -fuzz FuzzX` explores.

// seedItems returns the plaintext items of the shared vectors.
func seedItems(f *testing.F) []map[string]types.AttributeValue {
	f.Helper()
	var items []map[string]types.AttributeValue
	items = append(items, richItem(&types.AttributeValueMemberS{Value: "p"}, &types.AttributeValueMemberN{Value: "1"}, "pk", "sk"))
	data, err := os.ReadFile(filepath.Join(repoRoot(), "..", "shared", "ddb_vectors", "manifest.json"))
	if err != nil {
		f.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		f.Fatal(err)
	}
	for _, id := range slices.Sorted(maps.Keys(m.Tests)) {
		v := m.Tests[id]
		if v.Format != vectorFormat || v.DerivedFrom != "" {
			continue
		}
		item, err := parseItemJSON(v.Plaintext)
		if err != nil {
			f.Fatal(err)
		}
		items = append(items, item)
		if ct, err := parseItemJSON(v.Ciphertext); err == nil {
			items = append(items, ct)
		}
	}
	return items
}

func FuzzParseAttribute(f *testing.F) {
	for _, item := range seedItems(f) {
		for _, name := range slices.Sorted(maps.Keys(item)) {
			if b, err := legacy.AppendAttribute(nil, item[name]); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		av, err := legacy.ParseAttribute(data)
		if err != nil {
			return
		}
		// What was read is bounded by the input: no more values than pairs
		// of input bytes, and strings no longer than the input except for
		// numbers written out in full (at most 170 bytes from 11, "1E125").
		if nodes, payload := footprint(av); nodes > len(data)/2 || payload > 16*len(data) {
			t.Fatalf("ParseAttribute(%d bytes) made %d values holding %d bytes", len(data), nodes, payload)
		}
		enc, err := legacy.AppendAttribute(nil, av)
		if err != nil {
			t.Fatalf("AppendAttribute(ParseAttribute(%x)) = %v", data, err)
		}
		again, err := legacy.ParseAttribute(enc)
		if err != nil {
			t.Fatalf("ParseAttribute(%x) = %v, of a serialization it produced", enc, err)
		}
		enc2, _ := legacy.AppendAttribute(nil, again)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("serialization is not a fixed point: %x then %x", enc, enc2)
		}
	})
}

// footprint counts the values in av and the bytes of their strings.
func footprint(av types.AttributeValue) (nodes, payload int) {
	nodes = 1
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		payload = len(v.Value)
	case *types.AttributeValueMemberN:
		payload = len(v.Value)
	case *types.AttributeValueMemberB:
		payload = len(v.Value)
	case *types.AttributeValueMemberSS:
		nodes += len(v.Value)
		for _, s := range v.Value {
			payload += len(s)
		}
	case *types.AttributeValueMemberNS:
		nodes += len(v.Value)
		for _, s := range v.Value {
			payload += len(s)
		}
	case *types.AttributeValueMemberBS:
		nodes += len(v.Value)
		for _, b := range v.Value {
			payload += len(b)
		}
	case *types.AttributeValueMemberL:
		for _, e := range v.Value {
			n, p := footprint(e)
			nodes, payload = nodes+n, payload+p
		}
	case *types.AttributeValueMemberM:
		for k, e := range v.Value {
			n, p := footprint(e)
			nodes, payload = nodes+n, payload+p+len(k)
		}
	}
	return nodes, payload
}

func FuzzMaterialDescription(f *testing.F) {
	for _, item := range seedItems(f) {
		if b, ok := item[legacy.MaterialDescriptionAttribute].(*types.AttributeValueMemberB); ok {
			f.Add(b.Value)
		}
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := legacy.ParseMaterialDescription(data)
		if err != nil {
			return
		}
		if len(md) > len(data)/8 {
			t.Fatalf("ParseMaterialDescription(%d bytes) has %d entries", len(data), len(md))
		}
		enc := legacy.AppendMaterialDescription(nil, md)
		if len(enc) != len(data) {
			t.Fatalf("re-serialized material description is %d bytes, want %d", len(enc), len(data))
		}
		back, err := legacy.ParseMaterialDescription(enc)
		if err != nil || !maps.Equal(back, md) {
			t.Fatalf("ParseMaterialDescription(AppendMaterialDescription(md)) = %v, %v; want %v", back, err, md)
		}
		// Entries written sorted by name, as the Python client writes them,
		// are reproduced byte for byte.
		if isSortedMD(data) && !bytes.Equal(enc, data) {
			t.Fatalf("sorted material description %x re-serialized as %x", data, enc)
		}
	})
}

// isSortedMD reports whether a valid serialized material description lists
// its names in increasing order.
func isSortedMD(data []byte) bool {
	var prev []byte
	first := true
	for i := 4; i < len(data); {
		n := int(data[i])<<24 | int(data[i+1])<<16 | int(data[i+2])<<8 | int(data[i+3])
		name := data[i+4 : i+4+n]
		i += 4 + n
		vn := int(data[i])<<24 | int(data[i+1])<<16 | int(data[i+2])<<8 | int(data[i+3])
		i += 4 + vn
		if !first && bytes.Compare(prev, name) >= 0 {
			return false
		}
		prev, first = name, false
	}
	return true
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "1E+3", "2.50", "-0.00012300", ".5", "5.", "1e-130", "9.9999999999999999999999999999999999999E+125", "+7", "1.2.3", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := legacy.NormalizeNumber(s)
		if err != nil {
			return
		}
		if again, err := legacy.NormalizeNumber(n); err != nil || again != n {
			t.Fatalf("NormalizeNumber(%q) = %q, but NormalizeNumber(%q) = %q, %v", s, n, n, again, err)
		}
		want, ok := new(big.Rat).SetString(s)
		got, ok2 := new(big.Rat).SetString(n)
		if !ok || !ok2 || want.Cmp(got) != 0 {
			t.Fatalf("NormalizeNumber(%q) = %q, a different number", s, n)
		}
	})
}
