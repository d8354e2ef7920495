package datamask

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/datamask/datamask/internal/jsonpath"
	"github.com/datamask/datamask/internal/jsontext"
)

// Erase irreversibly replaces values of the JSON document doc and returns
// the new document. The input is not modified.
//
// Without [Fields] or [MaskingRules] the whole document is the value: it
// becomes "*****", or, if it is an array, an array of "*****" of the same
// length. With a mask option ([CustomMask], [DynamicMask], [RegexMask]) and
// no fields, every leaf is masked and the structure is kept ({} stays {}).
//
// With Fields, each value an expression selects is replaced: an object or
// a scalar becomes "*****", an array keeps its length with each element
// "*****". With a mask option or MaskingRules, selected objects and arrays
// are masked leaf by leaf instead. Strings are masked on their decoded
// text, numbers, booleans and null on their JSON text ("30" becomes "**"
// with DynamicMask); the result is always a JSON string.
//
// Every expression is resolved against the input before anything is
// replaced, so a value inside another selected value is covered by it (not
// an error). A name selects every member with that name when an object has
// duplicate keys. Everything that is not replaced keeps its exact bytes:
// key order, number spelling, escapes and whitespace.
//
// Errors: [*SyntaxError] if doc is not valid JSON (UTF-8, RFC 8259),
// [*InvalidPathError] for an expression that is neither RFC 9535 nor the
// Powertools dialect, [*FieldNotFoundError] for an expression that selects
// nothing (unless [AllowMissingFields]), [ErrUnsupportedType] when fields
// other than "$" (the document itself) are given for a scalar document,
// and an error naming the option or
// expression for an invalid mask (a regex RE2 cannot compile, a rule that
// sets two ways of masking, two rules selecting the same value differently).
func (m *DataMasker) Erase(doc []byte, opts ...CallOption) ([]byte, error) {
	cfg, err := newCallConfig("erase", opts)
	if err != nil {
		return nil, err
	}
	return m.erase(doc, cfg)
}

// EraseValue erases a Go value: it is marshalled to JSON (with the codec of
// [WithJSONCodec], encoding/json by default, so structs use their json
// tags), then erased as [DataMasker.Erase] does. A json.RawMessage or a
// []byte is JSON text, used as it is, bytes intact (encoding/json would
// turn a []byte into a base64 string). A string given with [Fields] or
// [MaskingRules] is read as JSON text (as Powertools does with a JSON
// string), so the result is the erased document, not a string; without
// fields a string is a value like any other and becomes "*****". Named
// string and byte-slice types count as string and []byte unless they
// implement json.Marshaler or encoding.TextMarshaler.
//
// A value the codec cannot marshal gives an error matching
// [ErrUnsupportedType] whose cause stays reachable by [errors.As].
func (m *DataMasker) EraseValue(v any, opts ...CallOption) (json.RawMessage, error) {
	cfg, err := newCallConfig("erase", opts)
	if err != nil {
		return nil, err
	}
	doc, err := m.valueDoc(v, cfg.fieldsSet || cfg.rules != nil)
	if err != nil {
		return nil, err
	}
	return m.erase(doc, cfg)
}

// Erase erases doc as [DataMasker.Erase] does, with a shared DataMasker
// that has no provider.
func Erase(doc []byte, opts ...CallOption) ([]byte, error) {
	return sharedMasker().Erase(doc, opts...)
}

var sharedMasker = sync.OnceValue(func() *DataMasker {
	m, err := New()
	if err != nil {
		panic(err) // New without options cannot fail
	}
	return m
})

// marshalError keeps the codec's error reachable while its text, which may
// come from a user's MarshalJSON, stays out of the message.
type marshalError struct {
	typ   string
	cause error
}

func (e *marshalError) Error() string {
	return ErrUnsupportedType.Error() + ": cannot marshal a " + e.typ + " value to JSON"
}

func (e *marshalError) Unwrap() []error { return []error{ErrUnsupportedType, e.cause} }

func (m *DataMasker) marshalValue(v any) ([]byte, error) {
	marshal := m.marshal
	if marshal == nil {
		marshal = jsonMarshal
	}
	b, err := marshal(v)
	if err != nil {
		return nil, &marshalError{typ: fmt.Sprintf("%T", v), cause: err}
	}
	return b, nil
}

// parseDoc validates and indexes doc, turning the scanner's error into the
// package's *SyntaxError.
func parseDoc(doc []byte) (*jsontext.Doc, error) {
	d, err := jsontext.Parse(doc)
	if err != nil {
		var se *jsontext.SyntaxError
		if errors.As(err, &se) {
			return nil, &SyntaxError{Offset: se.Offset, Msg: se.Msg}
		}
		return nil, err
	}
	return d, nil
}

func (m *DataMasker) erase(doc []byte, cfg *callConfig) ([]byte, error) {
	p, err := m.planErase(doc, cfg)
	if err != nil {
		return nil, err
	}
	defer p.release()
	if len(p.sel) == 0 {
		return slices.Clone(doc), nil
	}
	// Masks are at most a few bytes longer than the values they replace,
	// but for a long custom mask or a regular expression; append grows the
	// buffer if needed.
	w := &appendWriter{b: make([]byte, 0, len(doc)+len(doc)/8+64)}
	p.write(w)
	return w.b, nil
}

// EraseTo erases doc as [DataMasker.Erase] does and writes the result to
// w instead of returning it, so that the erased document is never whole
// in memory: erasing a document then costs about its size plus its index
// (about 0.5 bytes per byte of typical JSON). Every error but w's is found
// before anything is written; an error of w is returned as it is and
// leaves part of the document written.
func (m *DataMasker) EraseTo(w io.Writer, doc []byte, opts ...CallOption) error {
	cfg, err := newCallConfig("erase", opts)
	if err != nil {
		return err
	}
	p, err := m.planErase(doc, cfg)
	if err != nil {
		return err
	}
	defer p.release()
	bw := bufio.NewWriterSize(w, 64<<10)
	p.write(bw)
	return bw.Flush()
}

// erasePlan is an erase ready to write: the document, its index, the
// outermost values to mask and their maskers. It is the pipeline's
// transform for Erase: masks need no preparation, and are written
// straight to the output.
type erasePlan struct {
	d        *jsontext.Doc
	maskers  []*masker  // one, or one per rule (expression) with rules
	sel      []selected // in document order, none inside another
	leafwise bool       // mask leaf by leaf (a mask option or rules)
	scratch  []byte
}

func (p *erasePlan) release() { p.d.Release() }

// planErase parses doc, resolves the expressions of cfg and checks the
// masks: every error of an erase comes from here.
func (m *DataMasker) planErase(doc []byte, cfg *callConfig) (*erasePlan, error) {
	d, err := parseDoc(doc)
	if err != nil {
		return nil, err
	}
	p, err := m.plan(d, cfg)
	if err != nil {
		d.Release()
		return nil, err
	}
	return p, nil
}

func (m *DataMasker) plan(d *jsontext.Doc, cfg *callConfig) (*erasePlan, error) {
	p := &erasePlan{d: d}
	switch {
	case cfg.rules != nil:
		exprs := make([]string, 0, len(cfg.rules))
		for e := range cfg.rules {
			exprs = append(exprs, e)
		}
		slices.Sort(exprs) // deterministic errors whatever the map order
		for _, e := range exprs {
			mk, err := m.masker(cfg.rules[e], "masking rule "+strconv.Quote(e))
			if err != nil {
				return nil, err
			}
			p.maskers = append(p.maskers, mk)
		}
		p.leafwise = true
		// The same value selected by two rules that differ is an error.
		sel, err := m.selectValues(d, exprs, cfg, selection{same: func(a, b int) error {
			if cfg.rules[exprs[a]] == cfg.rules[exprs[b]] {
				return nil
			}
			return fmt.Errorf("datamask: erase: masking rules %q and %q select the same value with different rules: make them select different values or give them the same rule",
				exprs[a], exprs[b])
		}})
		if err != nil {
			return nil, err
		}
		p.sel = sel
	default:
		mk := defaultMasker
		if cfg.mask != nil {
			var err error
			if mk, err = m.masker(*cfg.mask, cfg.maskFrom); err != nil {
				return nil, err
			}
			p.leafwise = true
		}
		p.maskers = []*masker{mk}
		if !cfg.fieldsSet {
			p.sel = []selected{{node: 0, match: 1}}
			break
		}
		sel, err := m.selectValues(d, cfg.fields, cfg, selection{})
		if err != nil {
			return nil, err
		}
		p.sel = sel
	}
	return p, nil
}

// write writes the document with the planned values masked to w.
func (p *erasePlan) write(w sink) {
	// Masks are written as they are made: the pipeline has nothing to
	// cancel, and no error but w's, which w keeps.
	_ = splice(context.Background(), w, p.d, p.sel, p, nil)
}

func (p *erasePlan) chunk(sel []selected) int                       { return len(sel) }
func (p *erasePlan) prepare(context.Context, int, []selected) error { return nil }

func (p *erasePlan) put(w sink, i int) error {
	d := p.d
	n := p.sel[i].node
	mk := defaultMasker
	switch {
	case len(p.maskers) > 1:
		mk = p.maskers[p.sel[i].expr]
	case p.leafwise:
		mk = p.maskers[0]
	}
	k := d.Kind(n)
	if !k.IsContainer() || (!p.leafwise && k == jsontext.Object) {
		p.mask(w, mk, n)
		return nil
	}
	// An array's elements (default mask) or a container's leaves (a mask
	// option or rules), with the bytes between them.
	src := d.Source()
	pos, end := d.Span(n)
	next := d.Step // leaf by leaf
	if !p.leafwise {
		next = d.Next // element by element
	}
	for v, stop := d.Step(n), d.Next(n); v < stop; v = next(v) {
		if p.leafwise && (d.IsKey(v) || d.Kind(v).IsContainer()) {
			continue
		}
		s, e := d.Span(v)
		_, _ = w.Write(src[pos:s])
		p.mask(w, mk, v)
		pos = e
	}
	_, _ = w.Write(src[pos:end])
	return nil
}

// mask writes the mask of node v.
func (p *erasePlan) mask(w sink, mk *masker, v int) {
	s, e := p.d.Span(v)
	mk.write(w, p.d.Source()[s:e], &p.scratch)
}

// resolve compiles each expression (through the cache), selects it in d and
// calls found with the expression's index and its matches (distinct, in
// document order: see jsonpath.Path.AppendNodes). An expression that
// selects nothing is a [*FieldNotFoundError] unless cfg allows missing
// fields, in which case it is appended to cfg.missing. In a scalar
// document only the document itself ("$") can be selected: an expression
// that selects nothing there is [ErrUnsupportedType]. Encrypt and Decrypt
// with fields reuse it. If also is not nil, filter selectors also select
// the candidates it accepts (see jsonpath.Path.AppendNodesAlso).
func (m *DataMasker) resolve(d *jsontext.Doc, exprs []string, cfg *callConfig, also func(int) bool, found func(i int, nodes []int)) error {
	var buf []int
	for i, e := range exprs {
		p, err := m.path(e)
		if err != nil {
			return err
		}
		if also != nil {
			buf = p.AppendNodesAlso(buf[:0], d, also)
		} else {
			buf = p.AppendNodes(buf[:0], d)
		}
		if len(buf) == 0 {
			if k := d.Kind(0); !k.IsContainer() {
				return fmt.Errorf("%w: fields need an object or array document, not a %s", ErrUnsupportedType, k)
			}
			if !cfg.allowMissing {
				return &FieldNotFoundError{Expression: e}
			}
			if cfg.missing != nil {
				*cfg.missing = append(*cfg.missing, e)
			}
			continue
		}
		found(i, buf)
	}
	return nil
}

// maxCacheEntries bounds each compile cache: past it, new expressions and
// rules are compiled on every call instead of being kept.
const maxCacheEntries = 1024

// compileCache keeps compiled expressions and masks of a DataMasker.
type compileCache struct {
	mu      sync.RWMutex
	paths   map[string]*jsonpath.Path
	maskers map[MaskRule]*masker
}

func newCompileCache() *compileCache {
	return &compileCache{paths: map[string]*jsonpath.Path{}, maskers: map[MaskRule]*masker{}}
}

// path compiles expr, or returns it from the cache.
func (m *DataMasker) path(expr string) (*jsonpath.Path, error) {
	c := m.cache
	if c != nil {
		c.mu.RLock()
		p := c.paths[expr]
		c.mu.RUnlock()
		if p != nil {
			return p, nil
		}
	}
	if !utf8.ValidString(expr) {
		off := 0
		for off < len(expr) {
			r, size := utf8.DecodeRuneInString(expr[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return nil, &InvalidPathError{Expression: expr, Offset: off, Err: errors.New("not valid UTF-8")}
	}
	p, err := jsonpath.Compile(expr)
	if err != nil {
		var pe *jsonpath.Error
		if errors.As(err, &pe) {
			return nil, &InvalidPathError{Expression: expr, Offset: pe.Offset, Err: errors.New(pe.Msg)}
		}
		return nil, &InvalidPathError{Expression: expr, Offset: -1, Err: err}
	}
	if c != nil {
		c.mu.Lock()
		if len(c.paths) < maxCacheEntries {
			c.paths[expr] = p
		}
		c.mu.Unlock()
	}
	return p, nil
}

// masker compiles r, or returns it from the cache. where names the rule in
// error messages.
func (m *DataMasker) masker(r MaskRule, where string) (*masker, error) {
	c := m.cache
	if c != nil {
		c.mu.RLock()
		mk := c.maskers[r]
		c.mu.RUnlock()
		if mk != nil {
			return mk, nil
		}
	}
	mk, err := compileMasker(r, where)
	if err != nil {
		return nil, err
	}
	if c != nil {
		c.mu.Lock()
		if len(c.maskers) < maxCacheEntries {
			c.maskers[r] = mk
		}
		c.mu.Unlock()
	}
	return mk, nil
}
