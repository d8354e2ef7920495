package datamask

import (
	"context"
	"slices"

	"github.com/datamask/datamask/internal/jsontext"
	"github.com/datamask/datamask/internal/parallel"
)

// The JSON pipeline that Erase, Encrypt, Decrypt, Tokenize and Detokenize
// share, in four steps:
//
//  1. parse: [parseDoc] validates the document and indexes it (package
//     jsontext), in one pass;
//  2. select: [DataMasker.selectValues] resolves the expressions and keeps
//     the outermost selected values, in document order, each with its
//     expression and its rank among that expression's values;
//  3. transform: a [valueTransform] makes the text that replaces each
//     selected value, a chunk of values at a time: a mask, an encrypted
//     message, a token, a decrypted or detokenized value;
//  4. splice: [splice] writes the document with every selected value
//     replaced, copying every other byte as it is.
//
// An operation is its transform, and the checks it makes before the first
// byte is written.

// selected is one value to transform: its node, the index of the
// expression that selected it, and its rank among that expression's values
// (1-based, in document order).
type selected struct {
	node  int
	expr  int32 // 16 bytes in all: an index holds many
	match int32
}

// selection says how selectValues treats what several expressions
// select.
type selection struct {
	// also, if not nil, makes filter selectors also select the candidates
	// it accepts (see jsonpath.Path.AppendNodesAlso).
	also func(node int) bool
	// tie, if not nil, orders two expressions that select the same value:
	// the value is attributed to the first. By default, the first given.
	tie func(a, b int) int
	// same, if not nil, is called when expression b selects the value
	// already attributed to expression a, and may refuse it.
	same func(a, b int) error
}

// selectValues resolves exprs in d and returns the outermost selected
// values in document order: a value inside another selected value is
// covered by it. Expressions that select nothing are handled as
// [DataMasker.resolve] says.
func (m *DataMasker) selectValues(d *jsontext.Doc, exprs []string, cfg *callConfig, how selection) ([]selected, error) {
	var sel []selected
	err := m.resolve(d, exprs, cfg, how.also, func(i int, nodes []int) {
		if len(nodes) > 256 {
			sel = slices.Grow(sel, len(nodes)) // once, not by appends
		}
		for _, n := range nodes {
			sel = append(sel, selected{node: n, expr: int32(i)})
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(sel, func(a, b selected) int {
		if a.node != b.node || how.tie == nil {
			return a.node - b.node
		}
		return how.tie(int(a.expr), int(b.expr))
	})
	kept := sel[:0]
	for _, s := range sel {
		if len(kept) > 0 {
			last := kept[len(kept)-1]
			if last.node == s.node {
				if how.same != nil && last.expr != s.expr {
					if err := how.same(int(last.expr), int(s.expr)); err != nil {
						return nil, err
					}
				}
				continue
			}
			if d.Contains(last.node, s.node) {
				continue
			}
		}
		kept = append(kept, s)
	}
	ranks := make([]int32, len(exprs))
	for i := range kept {
		ranks[kept[i].expr]++
		kept[i].match = ranks[kept[i].expr]
	}
	return kept, nil
}

// valueTransform makes the texts that replace the selected values of a
// document, one chunk of values at a time, so that memory stays that of
// one chunk whatever the number of values.
type valueTransform interface {
	// chunk returns how many values of sel, at least one, make the next
	// chunk.
	chunk(sel []selected) int
	// prepare makes the replacements of part ready; off is the index of
	// part[0] in the whole selection. Its error stops the pipeline.
	prepare(ctx context.Context, off int, part []selected) error
	// put writes the text that replaces part[i], its whole span, to w,
	// and returns w's error.
	put(w sink, i int) error
}

// splice writes d to out with each value of sel (outermost values, in
// document order) replaced by what t makes, a chunk at a time, and every
// other byte copied. If regions is not nil, it gets the span in the output
// of each replacement.
func splice(ctx context.Context, out sink, d *jsontext.Doc, sel []selected, t valueTransform, regions *[][2]int) error {
	var counter *countingSink
	if regions != nil {
		counter = &countingSink{sink: out}
		out = counter
	}
	src := d.Source()
	pos, off := 0, 0
	for len(sel) > 0 {
		part := sel[:t.chunk(sel)]
		sel = sel[len(part):]
		if err := t.prepare(ctx, off, part); err != nil {
			return err
		}
		for i, s := range part {
			start, end := d.Span(s.node)
			_, _ = out.Write(src[pos:start])
			var mark int
			if counter != nil {
				mark = counter.n
			}
			if err := t.put(out, i); err != nil {
				return err // the writer failed: stop the work
			}
			if counter != nil {
				*regions = append(*regions, [2]int{mark, counter.n})
			}
			pos = end
		}
		off += len(part)
	}
	_, err := out.Write(src[pos:])
	return err
}

// countingSink counts the bytes written through it.
type countingSink struct {
	sink
	n int
}

func (c *countingSink) Write(p []byte) (int, error) {
	n, err := c.sink.Write(p)
	c.n += n
	return n, err
}

func (c *countingSink) WriteByte(b byte) error {
	err := c.sink.WriteByte(b)
	if err == nil {
		c.n++
	}
	return err
}

func (c *countingSink) WriteString(s string) (int, error) {
	n, err := c.sink.WriteString(s)
	c.n += n
	return n, err
}

// Bounds of a chunk of values processed together by Encrypt and Decrypt.
const (
	chunkValues = 1024
	chunkBytes  = 4 << 20
)

// chunkLen returns how many values of sel, at least one, make the next
// chunk: at most chunkValues values, and no more than chunkBytes of JSON
// text past the first value.
func chunkLen(d *jsontext.Doc, sel []selected) int {
	n, size := 0, 0
	for n < len(sel) && n < chunkValues {
		start, end := d.Span(sel[n].node)
		size += end - start
		if n > 0 && size > chunkBytes {
			break
		}
		n++
	}
	return n
}

// eachValue is the transform of Encrypt and Decrypt: every value on its
// own, in parallel on every core. fn makes the text that replaces value k
// of the whole selection in one of two ways: appended to arena, the
// arena of the worker running it, returned with text nil (Encrypt: texts
// are located by offsets until the chunk is written, so that a chunk
// costs a few arenas, not an allocation per value); or as text, a slice
// of its own, arena returned as it was (Decrypt: the provider's
// plaintext, kept without a copy).
type eachValue struct {
	d      *jsontext.Doc
	op     string   // for errors: "encrypt" or "decrypt"
	exprs  []string // for errors
	fn     func(ctx context.Context, worker, k int, s selected, arena []byte) (newArena, text []byte, err error)
	arenas [][]byte
	locs   []arenaLoc
	texts  [][]byte
}

// arenaLoc locates a text in the arena of a worker.
type arenaLoc struct{ worker, start, end int }

// newEachValue returns the transform of n values, made by fn.
func newEachValue(d *jsontext.Doc, op string, exprs []string, n int, fn func(ctx context.Context, worker, k int, s selected, arena []byte) (newArena, text []byte, err error)) *eachValue {
	return &eachValue{d: d, op: op, exprs: exprs, fn: fn, arenas: make([][]byte, parallel.Workers(n))}
}

func (t *eachValue) chunk(sel []selected) int { return chunkLen(t.d, sel) }

func (t *eachValue) prepare(ctx context.Context, off int, part []selected) error {
	for i := range t.arenas {
		t.arenas[i] = t.arenas[i][:0]
	}
	t.locs = slices.Grow(t.locs[:0], len(part))[:len(part)]
	clear(t.texts)
	t.texts = slices.Grow(t.texts[:0], len(part))[:len(part)]
	return parallel.Do(ctx, len(part), len(t.arenas), func(ctx context.Context, w, i int) error {
		s := part[i]
		start := len(t.arenas[w])
		a, text, err := t.fn(ctx, w, off+i, s, t.arenas[w])
		if err != nil {
			return &FieldError{Op: t.op, Expression: t.exprs[s.expr], Match: int(s.match), Err: err}
		}
		t.arenas[w] = a
		t.locs[i] = arenaLoc{w, start, len(a)}
		t.texts[i] = text
		return nil
	})
}

func (t *eachValue) put(w sink, i int) error {
	text := t.texts[i]
	if text == nil {
		l := t.locs[i]
		text = t.arenas[l.worker][l.start:l.end]
	}
	_, err := w.Write(text)
	t.texts[i] = nil // not kept past the chunk
	return err
}
