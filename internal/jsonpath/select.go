package jsonpath

import (
	"slices"
	"strings"

	"github.com/datamask/datamask/internal/jsontext"
	"github.com/theory/jsonpath/spec"
)

// Select returns the nodes p selects in d, as node indices in RFC 9535
// order (duplicates kept: "$[0,0]" selects node 1 twice). Use [Outermost]
// to get the distinct nodes to replace, or [Path.AppendNodes].
func (p *Path) Select(d *jsontext.Doc) []int {
	return p.AppendSelect(nil, d)
}

// AppendSelect appends the nodes p selects in d to dst, in RFC 9535 order
// with duplicates, and returns it. That list can be quadratic in the size
// of d (each descendant segment after another one lists a node once per
// enclosing match): callers that need the selected values, not the RFC
// list, use [Path.AppendNodes].
func (p *Path) AppendSelect(dst []int, d *jsontext.Doc) []int {
	return p.eval(dst, d, false, nil)
}

// AppendNodes appends to dst the distinct nodes p selects in d, in
// document order, and returns it: the same nodes as [Path.AppendSelect],
// each once. Its time and memory are linear in the size of d (for filters
// whose own queries have no descendant segment), whatever the nesting of d
// and the number of descendant segments, so it is what selection on
// untrusted documents uses.
func (p *Path) AppendNodes(dst []int, d *jsontext.Doc) []int {
	return p.eval(dst, d, true, nil)
}

// AppendNodesAlso is [Path.AppendNodes] where every filter selector also
// selects the candidates (children of the nodes it applies to) for which
// also returns true, whatever its condition says. Decrypt uses it to find
// the values a filter selected on encrypt, which are now encrypted
// strings that the condition can no longer see into.
func (p *Path) AppendNodesAlso(dst []int, d *jsontext.Doc, also func(node int) bool) []int {
	return p.eval(dst, d, true, also)
}

// eval evaluates p over d. With distinct it keeps each node once between
// segments and starts a descendant segment only from the outermost of its
// input nodes: the descendants of a node inside another are among the
// other's, so the selected set is the same and each node is visited once.
func (p *Path) eval(dst []int, d *jsontext.Doc, distinct bool, also func(int) bool) []int {
	ev := evaluator{d: d, also: also}
	cur := []int{0}
	var next []int
	for si, seg := range p.query.Segments() {
		if seg.IsDescendant() {
			// From here on filter candidates may be nested in each other.
			ev.memo = true
			if distinct {
				cur = Outermost(d, cur)
			}
		}
		if p.needRoot[si] && !ev.rootDone {
			ev.root, ev.rootDone = ev.value(0), true
		}
		// Most segments select about one node per input node: on large
		// inputs, growing once saves the copies (and garbage) of growing
		// by appends.
		next = next[:0]
		if len(cur) > 256 {
			next = slices.Grow(next, len(cur))
		}
		sels := seg.Selectors()
		if seg.IsDescendant() {
			for _, n := range cur {
				end := d.Next(n)
				// The tape is a pre-order walk: nodes n..end-1 are n and its
				// descendants in the order RFC 9535 visits them.
				for v := n; v < end; v = d.Step(v) {
					if d.IsKey(v) || !d.Kind(v).IsContainer() {
						continue
					}
					for _, sel := range sels {
						next = ev.apply(next, sel, v)
					}
				}
			}
		} else {
			for _, n := range cur {
				for _, sel := range sels {
					next = ev.apply(next, sel, n)
				}
			}
		}
		if distinct {
			if !slices.IsSorted(next) {
				slices.Sort(next)
			}
			next = slices.Compact(next)
		}
		cur, next = next, cur
		if len(cur) == 0 {
			break
		}
	}
	if len(dst) == 0 && cap(dst) < len(cur) {
		return cur // no copy of a large result
	}
	return append(dst, cur...)
}

type evaluator struct {
	d        *jsontext.Doc
	also     func(node int) bool // filters also select these candidates
	root     any
	rootDone bool
	elems    []int // scratch for slices
	// memo, once set, keeps decoded containers (node → value): candidates
	// nested in each other would otherwise each decode their whole subtree,
	// which costs O(depth × size).
	memo    bool
	decoded map[int]any
}

// value decodes node n as [jsontext.Doc.Value] does, through the memo once
// it is on.
func (ev *evaluator) value(n int) any {
	d := ev.d
	if !ev.memo || !d.Kind(n).IsContainer() {
		return d.Value(n)
	}
	if v, ok := ev.decoded[n]; ok {
		return v
	}
	var v any
	switch d.Kind(n) {
	case jsontext.Array:
		a := []any{}
		d.Elements(n, func(e int) bool { a = append(a, ev.value(e)); return true })
		v = a
	default:
		m := map[string]any{}
		d.Members(n, func(k, val int) bool { m[d.Str(k)] = ev.value(val); return true })
		v = m
	}
	if ev.decoded == nil {
		ev.decoded = map[int]any{}
	}
	ev.decoded[n] = v
	return v
}

// apply appends to dst the children of node n that sel selects.
func (ev *evaluator) apply(dst []int, sel spec.Selector, n int) []int {
	d := ev.d
	switch sel := sel.(type) {
	case spec.Name:
		name := string(sel)
		d.Members(n, func(k, v int) bool {
			if d.KeyEquals(k, name) {
				dst = append(dst, v)
			}
			return true
		})
	case spec.Index:
		if d.Kind(n) != jsontext.Array {
			return dst
		}
		idx := int(sel)
		if idx < 0 {
			idx += d.ArrayLen(n)
			if idx < 0 {
				return dst
			}
		}
		i := 0
		d.Elements(n, func(e int) bool {
			if i == idx {
				dst = append(dst, e)
				return false
			}
			i++
			return true
		})
	case spec.SliceSelector:
		if d.Kind(n) != jsontext.Array {
			return dst
		}
		ev.elems = ev.elems[:0]
		d.Elements(n, func(e int) bool { ev.elems = append(ev.elems, e); return true })
		lower, upper := sel.Bounds(len(ev.elems))
		switch step := sel.Step(); {
		case step > 0:
			for i := lower; i < upper; i += step {
				dst = append(dst, ev.elems[i])
			}
		case step < 0:
			for i := upper; lower < i; i += step {
				dst = append(dst, ev.elems[i])
			}
		}
	case spec.WildcardSelector:
		if d.Kind(n) == jsontext.Array && d.Next(n)-n > 1024 {
			// A large array: count first, grow once.
			dst = slices.Grow(dst, d.ArrayLen(n))
		}
		d.Children(n, func(c int) bool { dst = append(dst, c); return true })
	case *spec.FilterSelector:
		d.Children(n, func(c int) bool {
			if ev.also != nil && ev.also(c) || evalFilter(sel, ev.value(c), ev.root) {
				dst = append(dst, c)
			}
			return true
		})
	default:
		panic(errUnsupportedSelector)
	}
	return dst
}

// evalFilter runs a filter on one candidate node. theory/jsonpath v0.10.2
// panics (nil dereference) in search() and match() when their first
// argument selects nothing; RFC 9535 makes that call false, so a panic here
// counts as "not selected".
func evalFilter(f *spec.FilterSelector, node, root any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return f.Eval(node, root)
}

// Outermost sorts nodes, removes duplicates and removes every node that lies
// inside another node of the list, in place, and returns the shortened
// slice: the distinct, non-nested nodes to replace, in document order.
func Outermost(d *jsontext.Doc, nodes []int) []int {
	slices.Sort(nodes)
	out := nodes[:0]
	for _, n := range nodes {
		if len(out) > 0 && d.Contains(out[len(out)-1], n) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// quoteName quotes s as an RFC 9535 single-quoted name, escaping as
// normalized paths do.
func quoteName(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				const hex = "0123456789abcdef"
				b.WriteString(`\u00`)
				b.WriteByte(hex[r>>4])
				b.WriteByte(hex[r&0xf])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('\'')
	return b.String()
}
