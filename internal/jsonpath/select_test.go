package jsonpath

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/datamask/datamask/internal/jsontext"
)

// TestNodesCTS checks that AppendNodes selects the same set of nodes as the
// RFC 9535 evaluation (Select) for every valid selector of the compliance
// suite, each once, in document order.
func TestNodesCTS(t *testing.T) {
	for _, tc := range loadCTS(t) {
		if tc.Invalid {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tc.Selector)
			if err != nil {
				t.Fatal(err)
			}
			d, err := jsontext.Parse(tc.Document)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Compact(slices.Sorted(slices.Values(p.Select(d))))
			if got := p.AppendNodes(nil, d); !slices.Equal(got, want) {
				t.Errorf("AppendNodes(%q) = %v, want %v", tc.Selector, got, want)
			}
		})
	}
}

// deep returns open repeated n times, then inner, then close repeated n
// times.
func deep(open, inner, close string, n int) []byte {
	return []byte(strings.Repeat(open, n) + inner + strings.Repeat(close, n))
}

// TestNodesNested selects with several descendant segments and with filters
// after a descendant segment in documents nested thousands of levels deep:
// the RFC 9535 result then holds each node once per enclosing match (about
// depth²/2 entries), and decoding each filter candidate's subtree afresh
// costs as much. AppendNodes must stay linear in the document: its
// allocations are bounded by a small multiple of the document's size.
func TestNodesNested(t *testing.T) {
	const depth = 5000
	tests := []struct {
		name, expr string
		doc        []byte
		want       int // number of nodes selected
	}{
		{"two descendant segments", "$..a..b", deep(`{"b":1,"a":`, `0`, `}`, depth), depth - 1},
		{"dialect", "a..a..b", deep(`{"b":1,"a":`, `0`, `}`, depth), depth - 2},
		{"three wildcard descendants", "$..*..*..*", deep(`[`, ``, `]`, depth), depth - 3},
		{"filter after a descendant segment", "$..[?(@.x == 1)]", deep(`[{"x":1,"a":`, `0`, `}]`, depth), depth},
		{"filter on nested candidates", "$..*[?(@.x == 1)]", deep(`[{"x":1,"a":`, `0`, `}]`, depth), depth - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			d, err := jsontext.Parse(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got := p.AppendNodes(nil, d)
			runtime.ReadMemStats(&after)
			if len(got) != tt.want {
				t.Errorf("AppendNodes(%q) selected %d nodes, want %d", tt.expr, len(got), tt.want)
			}
			if !slices.IsSorted(got) {
				t.Errorf("AppendNodes(%q) is not in document order", tt.expr)
			}
			limit := uint64(200 * len(tt.doc))
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit {
				t.Errorf("AppendNodes(%q) on a %d-byte document allocated %d bytes, want at most %d", tt.expr, len(tt.doc), alloc, limit)
			}
		})
	}
}
