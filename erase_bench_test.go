package datamask_test

import (
	"encoding/json"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/internal/benchdata"
)

// BenchmarkErase erases the fields of fields.json in the shared payloads
// (../shared/bench/gen_payloads.py). Compare with BenchmarkEraseBaseline,
// what a decode-everything implementation pays before masking anything.
func BenchmarkErase(b *testing.B) {
	for _, p := range benchdata.Load(b) {
		b.Run(p.Name, func(b *testing.B) {
			m, err := datamask.New()
			if err != nil {
				b.Fatal(err)
			}
			opts := []datamask.CallOption{datamask.Fields(p.Fields...)}
			if _, err := m.Erase(p.Doc, opts...); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Doc)))
			for b.Loop() {
				if _, err := m.Erase(p.Doc, opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEraseDynamic is BenchmarkErase with DynamicMask (leaf by leaf).
func BenchmarkEraseDynamic(b *testing.B) {
	for _, p := range benchdata.Load(b) {
		b.Run(p.Name, func(b *testing.B) {
			m, err := datamask.New()
			if err != nil {
				b.Fatal(err)
			}
			opts := []datamask.CallOption{datamask.Fields(p.Fields...), datamask.DynamicMask()}
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Doc)))
			for b.Loop() {
				if _, err := m.Erase(p.Doc, opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEraseBaseline is the encoding/json baseline: json.Unmarshal of
// the document into any, then json.Marshal of it, without masking.
func BenchmarkEraseBaseline(b *testing.B) {
	for _, p := range benchdata.Load(b) {
		b.Run(p.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Doc)))
			for b.Loop() {
				var v any
				if err := json.Unmarshal(p.Doc, &v); err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEraseBenchPayloads checks that the benchmark payloads erase as
// expected: every selected value is masked and nothing else changes.
func TestEraseBenchPayloads(t *testing.T) {
	for _, p := range benchdata.Load(t) {
		out, err := datamask.Erase(p.Doc, datamask.Fields(p.Fields...))
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		var in, got any
		if err := json.Unmarshal(p.Doc, &in); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: output is not JSON: %v", p.Name, err)
		}
		customers := []any{in}
		gotCustomers := []any{got}
		if c, ok := in.(map[string]any)["customers"]; ok {
			customers, gotCustomers = c.([]any), got.(map[string]any)["customers"].([]any)
		}
		for i, c := range customers {
			c, g := c.(map[string]any), gotCustomers[i].(map[string]any)
			for _, k := range []string{"card_number", "ssn", "email"} {
				if g[k] != "*****" {
					t.Fatalf("%s: customer %d %s = %v, want *****", p.Name, i, k, g[k])
				}
				c[k] = "*****"
			}
			for _, a := range c["address"].([]any) {
				a.(map[string]any)["street"] = "*****"
			}
		}
		if b1, b2 := mustMarshal(t, in), mustMarshal(t, got); b1 != b2 {
			t.Errorf("%s: erase changed more than the fields", p.Name)
		}
	}
}

func mustMarshal(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
