package jsontext

import (
	"cmp"
	"slices"
)

// Edit replaces the bytes [Start, End) of a document with Text. Text must be
// a complete JSON value when the span is a value's span (as [Doc.Span]
// gives), so that the result stays valid JSON.
type Edit struct {
	Start, End int
	Text       []byte
}

// Splice appends to dst the document src with edits applied, and returns the
// extended buffer. Every byte outside the edited spans is copied unchanged.
//
// Edits may come in any order; Splice sorts them (in place). An edit whose
// span lies inside another edit's span is dropped: the outer edit covers it.
// Edits whose spans partly overlap cannot come from the spans of a tree's
// nodes, and make Splice panic, as does a span outside src.
func Splice(dst, src []byte, edits []Edit) []byte {
	slices.SortFunc(edits, func(a, b Edit) int {
		if c := cmp.Compare(a.Start, b.Start); c != 0 {
			return c
		}
		return cmp.Compare(b.End, a.End) // outer first
	})
	n := len(src)
	for _, e := range edits {
		n += len(e.Text) - (e.End - e.Start)
	}
	dst = slices.Grow(dst, max(n, 0))
	pos := 0   // next byte of src to copy
	last := -1 // end of the last applied edit
	for _, e := range edits {
		if e.Start < 0 || e.End > len(src) || e.Start > e.End {
			panic("jsontext: Splice: edit span outside the document")
		}
		if e.Start < last && e.End <= last {
			continue // covered by the previous edit
		}
		if e.Start < last {
			panic("jsontext: Splice: edits partly overlap")
		}
		dst = append(dst, src[pos:e.Start]...)
		dst = append(dst, e.Text...)
		pos, last = e.End, e.End
	}
	return append(dst, src[pos:]...)
}
