package ddbjson

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// sharedItems returns every item (plaintext, ciphertext, decrypted) of the
// shared DynamoDB vectors, as JSON text.
func sharedItems(tb testing.TB) [][]byte {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0) // <repo>/internal/ddbjson/ddbjson_test.go
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "ddb_vectors", "manifest.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var m struct {
		Tests map[string]map[string]json.RawMessage `json:"tests"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, v := range m.Tests {
		for _, k := range []string{"plaintext", "ciphertext", "decrypted"} {
			if raw, ok := v[k]; ok {
				out = append(out, raw)
			}
		}
	}
	return out
}

// canonical re-encodes JSON text with encoding/json (sorted keys, compact)
// for comparison.
func canonical(t testing.TB, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestVectorItemsRoundTrip: every item of the shared vectors reads and
// writes back to the same JSON value.
func TestVectorItemsRoundTrip(t *testing.T) {
	items := sharedItems(t)
	if len(items) < 300 {
		t.Fatalf("only %d items", len(items))
	}
	for _, raw := range items {
		item, err := Unmarshal(raw)
		if err != nil {
			t.Fatalf("Unmarshal(%.80s) = %v", raw, err)
		}
		out, err := Marshal(item)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := canonical(t, out), canonical(t, raw); got != want {
			t.Fatalf("Marshal(Unmarshal(x)) =\n%s\nwant\n%s", got, want)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	item, err := Unmarshal([]byte(` {"pk": {"S": "a\u00e9"}, "n": {"N": "2.50"}, "b": {"B": "AAE="}, "t": {"BOOL": false},
		"z": {"NULL": true}, "ss": {"SS": []}, "ns": {"NS": ["1"]}, "bs": {"BS": ["AA=="]},
		"l": {"L": [{"S": ""}, {"M": {"k": {"N": "1"}}}]}} `))
	if err != nil {
		t.Fatal(err)
	}
	if s := item["pk"].(*types.AttributeValueMemberS).Value; s != "aé" {
		t.Errorf("pk = %q", s)
	}
	if n := item["n"].(*types.AttributeValueMemberN).Value; n != "2.50" {
		t.Errorf("n = %q, want the number as written", n)
	}
	if b := item["b"].(*types.AttributeValueMemberB).Value; string(b) != "\x00\x01" {
		t.Errorf("b = %x", b)
	}
	if ss := item["ss"].(*types.AttributeValueMemberSS).Value; ss == nil || len(ss) != 0 {
		t.Errorf("ss = %#v, want an empty set", ss)
	}
	m := item["l"].(*types.AttributeValueMemberL).Value[1].(*types.AttributeValueMemberM).Value
	if m["k"].(*types.AttributeValueMemberN).Value != "1" {
		t.Errorf("nested map not read")
	}
	out, err := Marshal(item)
	want := `{"b":{"B":"AAE="},"bs":{"BS":["AA=="]},"l":{"L":[{"S":""},{"M":{"k":{"N":"1"}}}]},"n":{"N":"2.50"},"ns":{"NS":["1"]},"pk":{"S":"aé"},"ss":{"SS":[]},"t":{"BOOL":false},"z":{"NULL":true}}`
	if err != nil || string(out) != want {
		t.Errorf("Marshal() = %s, %v, want %s", out, err, want)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	deep := strings.Repeat(`{"L": [`, MaxDepth+1) + `{"S": "x"}` + strings.Repeat(`]}`, MaxDepth+1)
	tests := []struct{ in, path, msg string }{
		{`[]`, "", "want a JSON object"},
		{`{"a": {"S": "x"}} {}`, "", "unexpected data"},
		{`{"a": {"S": "x"}, "a": {"S": "y"}}`, "a", "appears twice"},
		{`{"a": "x"}`, "a", "want an attribute value"},
		{`{"a": {}}`, "a", "has none"},
		{`{"a": {"S": "x", "N": "1"}}`, "a", "has several"},
		{`{"a": {"X": "x"}}`, "a", "unknown attribute type"},
		{`{"a": {"N": 1}}`, "a", "numbers too are written as strings"},
		{`{"a": {"B": "not base64!"}}`, "a", "base64"},
		{`{"a": {"B": "AAE"}}`, "a", "base64"},
		{`{"a": {"BOOL": "true"}}`, "a", "true or false"},
		{`{"a": {"NULL": false}}`, "a", "NULL takes true"},
		{`{"a": {"SS": "x"}}`, "a", "takes an array"},
		{`{"a": {"L": {}}}`, "a", "array of attribute values"},
		{`{"a": {"M": []}}`, "a", "object of attribute values"},
		{`{"a": {"M": {"k": {"S": 1}}}}`, "a.k", "JSON string"},
		{`{"a": {"M": {"k": {"S": "1"}, "k": {"S": "2"}}}}`, "a.k", "appears twice"},
		{`{"a": {"L": [{"S": "x"}, {"Q": 1}]}}`, "a.L[1]", "unknown attribute type"},
		{`{"a": ` + deep + `}`, "a" + strings.Repeat(".L[0]", MaxDepth), "nested more than"},
		{`{"a": {"S": "x"`, "a", "end of the JSON text"},
		{`{"a": {"S": x}}`, "a", "invalid JSON at byte offset"},
	}
	for _, tt := range tests {
		_, err := Unmarshal([]byte(tt.in))
		var e *Error
		if !errors.As(err, &e) || e.Path != tt.path || !strings.Contains(e.Msg, tt.msg) {
			t.Errorf("Unmarshal(%.60s) = %v, want path %q and %q", tt.in, err, tt.path, tt.msg)
		}
	}
	// Error texts name the path, never a value.
	_, err := Unmarshal([]byte(`{"secret": {"B": "c2VjcmV0LXZhbHVl!"}}`))
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("Unmarshal() = %v, want an error without the value", err)
	}
}

func TestMarshalRejects(t *testing.T) {
	for _, item := range []map[string]types.AttributeValue{
		{"a": nil},
		{"a": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.UnknownUnionMember{Tag: "X"}}}},
	} {
		if _, err := Marshal(item); err == nil {
			t.Errorf("Marshal(%v) = nil error", item)
		}
	}
	out, err := Marshal(map[string]types.AttributeValue{"\"\n\x01\u2028": &types.AttributeValueMemberS{Value: "\xff<>&"}})
	if err != nil || !json.Valid(out) || string(out) != `{"\"\n\u0001\u2028":{"S":"�<>&"}}` {
		t.Errorf("Marshal(escapes) = %s, %v", out, err)
	}
}

// FuzzUnmarshal: no input panics; what reads writes as JSON that reads to
// an item that writes the same.
func FuzzUnmarshal(f *testing.F) {
	for i, raw := range sharedItems(f) {
		if i%10 == 0 {
			f.Add([]byte(raw))
		}
	}
	f.Add([]byte(`{"a": {"M": {"": {"L": []}}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		item, err := Unmarshal(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || item != nil {
				t.Fatalf("Unmarshal() = %v, %v", item, err)
			}
			return
		}
		out, err := Marshal(item)
		if err != nil || !json.Valid(out) {
			t.Fatalf("Marshal(Unmarshal()) = %s, %v", out, err)
		}
		item2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(Unmarshal())) = %v", err)
		}
		out2, err := Marshal(item2)
		if err != nil || string(out) != string(out2) {
			t.Fatalf("not stable: %s then %s", out, out2)
		}
	})
}
