package datamask

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"unicode/utf8"

	"github.com/datamask/datamask/internal/jsontext"
	"github.com/datamask/datamask/internal/parallel"
)

// TokenVault is the seam to a token vault: it issues tokens for values and
// gives values back for tokens, within a tenant and a policy (a named token
// format). [DataMasker.Tokenize] and [DataMasker.Detokenize] call it with
// the values that JSONPath selects, in batches of at most [MaxTokenBatch].
// Package tokenvault's *Vault implements it; so can a client of a remote
// tokenization service.
//
// TokenizeBatch returns the token of each value; DetokenizeBatch the value
// of each token. Results come per value: tokens[i] (values[i]) is valid
// when errs[i] is nil, and errs[i] says why not (an unknown token, a value
// the policy's format cannot serve). Both slices must have the length of
// the input. A non-nil err fails the whole call: an unknown policy or
// tenant, ctx done, the store failing. No error may hold a value or a
// token: DataMasker passes them on.
//
// Implementations must be safe for concurrent use (DataMasker sends
// several batches at once), must not keep or modify the slices given, and
// should return ctx's error soon after ctx is done.
type TokenVault interface {
	TokenizeBatch(ctx context.Context, tenant, policy string, values []string) (tokens []string, errs []error, err error)
	DetokenizeBatch(ctx context.Context, tenant, policy string, tokens []string) (values []string, errs []error, err error)
}

// MaxTokenBatch is the most values or tokens DataMasker sends to a
// [TokenVault] in one call.
const MaxTokenBatch = 1000

// WithTokenVault sets the token vault that Tokenize and Detokenize use.
func WithTokenVault(v TokenVault) Option {
	return maskerOption(func(m *DataMasker) error {
		if v == nil {
			return errors.New("datamask: WithTokenVault: vault is nil")
		}
		if m.vault != nil {
			return errors.New("datamask: WithTokenVault given twice")
		}
		m.vault = v
		return nil
	})
}

// Tenant names the tenant of a Tokenize or Detokenize call: tokens are
// scoped by tenant, and a token of one tenant does not detokenize in
// another. It is required, and must not be empty.
func Tenant(name string) CallOption {
	return callOption(func(c *callConfig) error {
		c.tokens = true
		switch {
		case name == "":
			return errors.New("datamask: Tenant: the tenant is empty: give the tenant the tokens belong to, such as \"default\"")
		case c.tenantSet:
			return errors.New("datamask: Tenant given twice")
		}
		c.tenant, c.tenantSet = name, true
		return nil
	})
}

// TokenFields selects the values that Tokenize and Detokenize replace, with
// JSONPath expressions (as [Fields]), and names the policy of the token
// vault their tokens belong to. Give it once per policy:
//
//	m.Tokenize(ctx, doc, datamask.Tenant("acme"),
//		datamask.TokenFields("ssn", "customers[*].ssn"),
//		datamask.TokenFields("card", "customers[*].card_number"))
//
// Detokenize needs the same policies for the same values. An expression
// given twice with different policies, or two expressions of different
// policies that select the same value, make the call fail.
func TokenFields(policy string, expressions ...string) CallOption {
	return callOption(func(c *callConfig) error {
		c.tokens = true
		switch {
		case policy == "":
			return errors.New("datamask: TokenFields: the policy is empty: name the token vault policy of the expressions, such as \"ssn\"")
		case len(expressions) == 0:
			return fmt.Errorf("datamask: TokenFields: no expression given for policy %q", policy)
		}
		for _, e := range expressions {
			if i := slices.Index(c.fields, e); i >= 0 && c.policies[i] != policy {
				return fmt.Errorf("datamask: TokenFields: expression %q given with policies %q and %q: choose one", e, c.policies[i], policy)
			}
			c.fields = append(c.fields, e)
			c.policies = append(c.policies, policy)
		}
		return nil
	})
}

// checkTokenConfig rejects the options that do not apply to Tokenize and
// Detokenize (op), and requires TokenFields and Tenant.
func checkTokenConfig(op string, c *callConfig) error {
	switch {
	case c.mask != nil:
		return errors.New("datamask: " + op + ": " + c.maskFrom + " applies only to Erase")
	case c.rules != nil:
		return errors.New("datamask: " + op + ": MaskingRules applies only to Erase")
	case c.contextSet || c.bind || len(c.contextFrom) > 0:
		return errors.New("datamask: " + op + ": EncryptionContext, BindFields and ContextFrom apply only to Encrypt and Decrypt (the token vault binds its records to their tenant and policy)")
	case c.fieldsSet:
		return errors.New("datamask: " + op + ": Fields names no token policy: select the values with TokenFields(policy, expressions...)")
	case len(c.policies) == 0:
		return errors.New("datamask: " + op + ": no TokenFields given: select the values with TokenFields(policy, expressions...)")
	case !c.tenantSet:
		return errors.New("datamask: " + op + ": no Tenant given: tokens are scoped by tenant (give Tenant(name))")
	}
	return nil
}

// Tokenize replaces the values of the JSON document doc that [TokenFields]
// selects with tokens of the [TokenVault] of [WithTokenVault], in the
// tenant of [Tenant], and returns the new document. The input is not
// modified, and everything that is not replaced keeps its exact bytes.
// [DataMasker.Detokenize] with the same options gives the values back.
//
// What is tokenized, and how a value's type survives:
//
//   - A string is tokenized on its text (escapes decoded); its token is a
//     JSON string.
//   - A number is tokenized on its JSON text as written ("1.50" stays
//     "1.50" through the round trip), and its token must be a JSON number
//     too, so that the document keeps its types: a token that is not one
//     (a random or UUID token, a format-preserving token that starts with
//     0) fails the call with an error matching [ErrUnsupportedType] that
//     names the expression. Tokenize numbers with a policy whose tokens of
//     numbers are numbers, such as a format-preserving or FF1 policy of
//     digits that keeps the first digit; or tokenize them as strings.
//   - null is kept as it is: it holds no value (Detokenize keeps it too).
//   - A boolean is refused ([ErrUnsupportedType]): a token of one of two
//     values hides nothing. Erase or encrypt it instead.
//   - An object or array is tokenized leaf by leaf: each string and
//     number inside it, keys and structure kept; a boolean inside it is
//     refused as above.
//
// A value inside another selected value is covered by it, with the outer
// expression's policy. A string holding an unpaired UTF-16 surrogate
// escape ("\ud800"), which is not text and could not come back as it
// was, is refused.
//
// Values go to the vault in batches of at most [MaxTokenBatch], one policy
// per batch, several batches at once; the first error stops the work
// still to do. Once ctx is done no further batch is sent (the work stops
// within about one batch per worker) and ctx's error is returned. A panic
// of the vault is raised again in the caller's goroutine.
//
// Errors: [ErrNoTokenVault]; [*SyntaxError], [*InvalidPathError],
// [*FieldNotFoundError] (unless [AllowMissingFields]) as for
// [DataMasker.Erase]; a [*FieldError] naming the expression and the rank
// of the value among its matches, never the value or a token, for a type
// refused or an error the vault returns for one value (such as a value
// the policy's format cannot serve), which stays reachable with
// [errors.Is] and [errors.As]; and an error of the whole call of the
// vault (an unknown policy, the store failing), wrapped. Types are
// checked before any value is sent, so that such an error leaves no
// token issued; an error of the vault may come after some batches were
// tokenized.
func (m *DataMasker) Tokenize(ctx context.Context, doc []byte, opts ...CallOption) ([]byte, error) {
	return m.tokenOp(ctx, "tokenize", doc, opts)
}

// Detokenize reverses [DataMasker.Tokenize]: each value that
// [TokenFields] selects must be a token of its policy in the tenant of
// [Tenant], and is replaced by the value it stands for: a string token by
// the JSON string of its value, a number token by its value, which must
// be a JSON number. nulls are kept; booleans are refused; objects and
// arrays are detokenized leaf by leaf. Give the TokenFields of Tokenize.
// A filter ("$.a[?(@.x == 'y')]") whose condition tests values that
// Tokenize replaced sees their tokens: select tokenized values with
// expressions whose filters test values left in clear.
//
// Errors are those of Tokenize; a token the vault does not know, or that
// expired, is a [*FieldError] whose Err is the vault's (such as
// tokenvault.ErrNotFound). ctx and panics are handled as by Tokenize.
func (m *DataMasker) Detokenize(ctx context.Context, doc []byte, opts ...CallOption) ([]byte, error) {
	return m.tokenOp(ctx, "detokenize", doc, opts)
}

// TokenizeTo tokenizes doc as [DataMasker.Tokenize] does and writes the
// result to w instead of returning it, a chunk of values at a time, so
// that neither the result nor all its tokens are ever whole in memory.
// Errors of the options, the document, the expressions and the types come
// before anything is written. A later error (the vault's, ctx done, a
// write error of w, returned as it is) leaves an incomplete document
// written: discard it.
func (m *DataMasker) TokenizeTo(ctx context.Context, w io.Writer, doc []byte, opts ...CallOption) error {
	cfg, err := newCallConfig("tokenize", opts)
	if err != nil {
		return err
	}
	return writeThrough(w, func(out sink) error { return m.tokenizeTo(ctx, out, "tokenize", doc, cfg) })
}

// DetokenizeTo detokenizes doc as [DataMasker.Detokenize] does and writes
// the result to w, a chunk of values at a time, as
// [DataMasker.TokenizeTo] does.
func (m *DataMasker) DetokenizeTo(ctx context.Context, w io.Writer, doc []byte, opts ...CallOption) error {
	cfg, err := newCallConfig("detokenize", opts)
	if err != nil {
		return err
	}
	return writeThrough(w, func(out sink) error { return m.tokenizeTo(ctx, out, "detokenize", doc, cfg) })
}

func (m *DataMasker) tokenOp(ctx context.Context, op string, doc []byte, opts []CallOption) ([]byte, error) {
	cfg, err := newCallConfig(op, opts)
	if err != nil {
		return nil, err
	}
	// Tokens are about as long as their values; append grows the buffer
	// if needed.
	w := &appendWriter{b: make([]byte, 0, len(doc)+len(doc)/8+64)}
	if err := m.tokenizeTo(ctx, w, op, doc, cfg); err != nil {
		return nil, err
	}
	return w.b, nil
}

// tokenizeTo runs op ("tokenize" or "detokenize") on doc as cfg says and
// writes the result to out.
func (m *DataMasker) tokenizeTo(ctx context.Context, out sink, op string, doc []byte, cfg *callConfig) error {
	if m.vault == nil {
		return ErrNoTokenVault
	}
	d, err := parseDoc(doc)
	if err != nil {
		return err
	}
	defer d.Release()
	sel, err := m.selectValues(d, cfg.fields, cfg, selection{same: func(a, b int) error {
		if cfg.policies[a] == cfg.policies[b] {
			return nil
		}
		return fmt.Errorf("datamask: %s: fields %q (policy %q) and %q (policy %q) select the same value: give each value one policy",
			op, cfg.fields[a], cfg.policies[a], cfg.fields[b], cfg.policies[b])
	}})
	if err != nil {
		return err
	}
	if err := checkTokenTypes(op, d, sel, cfg.fields); err != nil {
		return err
	}
	t := &tokenTransform{vault: m.vault, d: d, op: op, tenant: cfg.tenant, exprs: cfg.fields, policies: cfg.policies}
	return splice(ctx, out, d, sel, t, nil)
}

// isTokenLeaf reports whether node v is what Tokenize replaces: a string
// or number that is not an object key.
func isTokenLeaf(d *jsontext.Doc, v int) bool {
	if d.IsKey(v) {
		return false
	}
	k := d.Kind(v)
	return k == jsontext.String || k == jsontext.Number
}

// checkTokenTypes refuses, before any value is sent to the vault, the
// selected values that cannot be tokenized: booleans, and strings that are
// not text.
func checkTokenTypes(op string, d *jsontext.Doc, sel []selected, exprs []string) error {
	for _, s := range sel {
		for v, end := s.node, d.Next(s.node); v < end; v = d.Step(v) {
			var reason string
			switch k := d.Kind(v); {
			case d.IsKey(v):
				continue
			case k == jsontext.True || k == jsontext.False:
				where := "the value is a boolean"
				if v != s.node {
					where = "it holds a boolean"
				}
				reason = where + ", which cannot be " + op + "d (a token of one of two values hides nothing): erase or encrypt it, or select the strings and numbers beside it"
			case k == jsontext.String && !d.StrIsText(v):
				reason = "a string holds an unpaired UTF-16 surrogate escape, which is not text and could not come back as it was"
			default:
				continue
			}
			return &FieldError{Op: op, Expression: exprs[s.expr], Match: int(s.match), Err: fmt.Errorf("%w: %s", ErrUnsupportedType, reason)}
		}
	}
	return nil
}

// tokenChunkBatches is how many batches of MaxTokenBatch values, at least,
// a chunk of Tokenize holds, and how many are sent at once: a vault's
// batch is mostly waiting (a commit, a round trip), so more batches than
// cores are in flight.
const tokenChunkBatches = 4

// tokenTransform is the transform of Tokenize and Detokenize: the string
// and number leaves of a chunk of selected values, grouped by policy into
// batches of at most MaxTokenBatch, sent to the vault several at once.
type tokenTransform struct {
	vault           TokenVault
	d               *jsontext.Doc
	op              string // "tokenize" or "detokenize"
	tenant          string
	exprs, policies []string // per expression

	// The chunk being written.
	part    []selected
	leaves  []int      // the leaves of part, in document order
	owner   []int      // per leaf: the index in part of its selected value
	first   []int      // per value of part: the index of its first leaf; then len(leaves)
	texts   []arenaLoc // per leaf: its replacement, in arenas[texts[i].worker] (the batch)
	arenas  [][]byte   // per batch
	batches []tokenBatch
}

// tokenBatch is one call of the vault: the indices of its leaves.
type tokenBatch struct {
	policy string
	leaves []int
}

// tokenWorkers returns how many batches are sent at once.
func tokenWorkers() int { return max(runtime.GOMAXPROCS(0), tokenChunkBatches) }

func (t *tokenTransform) chunk(sel []selected) int {
	d := t.d
	maxLeaves := tokenWorkers() * MaxTokenBatch
	n, leaves, size := 0, 0, 0
	for n < len(sel) {
		s := sel[n]
		for v, end := s.node, d.Next(s.node); v < end; v = d.Step(v) {
			if isTokenLeaf(d, v) {
				leaves++
			}
		}
		start, end := d.Span(s.node)
		size += end - start
		if n > 0 && (leaves > maxLeaves || size > chunkBytes) {
			break
		}
		n++
	}
	return n
}

func (t *tokenTransform) prepare(ctx context.Context, _ int, part []selected) error {
	d := t.d
	t.part = part
	t.leaves, t.owner, t.first = t.leaves[:0], t.owner[:0], t.first[:0]
	for i, s := range part {
		t.first = append(t.first, len(t.leaves))
		for v, end := s.node, d.Next(s.node); v < end; v = d.Step(v) {
			if isTokenLeaf(d, v) {
				t.leaves = append(t.leaves, v)
				t.owner = append(t.owner, i)
			}
		}
	}
	t.first = append(t.first, len(t.leaves))
	t.texts = slices.Grow(t.texts[:0], len(t.leaves))[:len(t.leaves)]

	// Batches: each policy's leaves, in document order, split evenly in
	// runs of at most MaxTokenBatch.
	var byPolicy [][]int
	var names []string
	for i := range t.leaves {
		p := t.policies[part[t.owner[i]].expr]
		k := slices.Index(names, p)
		if k < 0 {
			k = len(names)
			names = append(names, p)
			byPolicy = append(byPolicy, nil)
		}
		byPolicy[k] = append(byPolicy[k], i)
	}
	t.batches = t.batches[:0]
	for k, idx := range byPolicy {
		n := (len(idx) + MaxTokenBatch - 1) / MaxTokenBatch
		size := (len(idx) + n - 1) / n
		for lo := 0; lo < len(idx); lo += size {
			t.batches = append(t.batches, tokenBatch{policy: names[k], leaves: idx[lo:min(lo+size, len(idx))]})
		}
	}
	for len(t.arenas) < len(t.batches) {
		t.arenas = append(t.arenas, nil)
	}
	err := parallel.Do(ctx, len(t.batches), min(len(t.batches), tokenWorkers()), func(ctx context.Context, _, b int) error {
		return t.send(ctx, b)
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errorIsContext(err) {
			return cerr
		}
		return err
	}
	return nil
}

// send sends batch b to the vault and keeps the replacement of each of
// its leaves in arenas[b].
func (t *tokenTransform) send(ctx context.Context, b int) error {
	d := t.d
	batch := t.batches[b]
	in := make([]string, len(batch.leaves))
	for k, i := range batch.leaves {
		if v := t.leaves[i]; d.Kind(v) == jsontext.String {
			in[k] = d.Str(v)
		} else {
			in[k] = string(d.Raw(v))
		}
	}
	var (
		out  []string
		errs []error
		err  error
	)
	if t.op == "tokenize" {
		out, errs, err = t.vault.TokenizeBatch(ctx, t.tenant, batch.policy, in)
	} else {
		out, errs, err = t.vault.DetokenizeBatch(ctx, t.tenant, batch.policy, in)
	}
	if err != nil {
		return &vaultError{op: t.op, policy: batch.policy, err: err}
	}
	if len(out) != len(in) || len(errs) != len(in) {
		return &vaultError{op: t.op, policy: batch.policy,
			err: fmt.Errorf("the token vault returned %d results and %d errors for %d values", len(out), len(errs), len(in))}
	}
	a := t.arenas[b][:0]
	for k, i := range batch.leaves {
		v := t.leaves[i]
		err := errs[k]
		switch {
		case err != nil:
		case !utf8.ValidString(out[k]):
			err = fmt.Errorf("%w: the token vault returned text that is not valid UTF-8", ErrUnsupportedType)
		case d.Kind(v) == jsontext.Number && !jsontext.IsNumber(out[k]):
			if t.op == "tokenize" {
				err = fmt.Errorf("%w: the token of a number is not a JSON number, and the value's type must not change: tokenize numbers with a policy whose tokens of numbers are numbers (digits, first digit kept), or as strings", ErrUnsupportedType)
			} else {
				err = fmt.Errorf("%w: the value of a number token is not a JSON number (was it tokenized from a string?)", ErrUnsupportedType)
			}
		}
		if err != nil {
			s := t.part[t.owner[i]]
			return &FieldError{Op: t.op, Expression: t.exprs[s.expr], Match: int(s.match), Err: err}
		}
		start := len(a)
		if d.Kind(v) == jsontext.String {
			a = jsontext.AppendQuote(a, out[k])
		} else {
			a = append(a, out[k]...)
		}
		t.texts[i] = arenaLoc{b, start, len(a)}
	}
	t.arenas[b] = a
	return nil
}

func (t *tokenTransform) put(w sink, i int) error {
	d := t.d
	n := t.part[i].node
	lo, hi := t.first[i], t.first[i+1]
	text := func(leaf int) []byte {
		l := t.texts[leaf]
		return t.arenas[l.worker][l.start:l.end]
	}
	switch {
	case lo == hi: // null, or a container without strings and numbers
		_, err := w.Write(d.Raw(n))
		return err
	case t.leaves[lo] == n:
		_, err := w.Write(text(lo))
		return err
	}
	src := d.Source()
	pos, end := d.Span(n)
	for leaf := lo; leaf < hi; leaf++ {
		s, e := d.Span(t.leaves[leaf])
		_, _ = w.Write(src[pos:s])
		_, _ = w.Write(text(leaf))
		pos = e
	}
	_, err := w.Write(src[pos:end])
	return err
}

// vaultError is an error of a whole call of the token vault, with the
// policy it was about.
type vaultError struct {
	op, policy string
	err        error
}

func (e *vaultError) Error() string {
	return fmt.Sprintf("datamask: %s: token vault, policy %q: %v", e.op, e.policy, e.err)
}

func (e *vaultError) Unwrap() error { return e.err }
