package datamask

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/datamask/datamask/internal/jsontext"
)

// FieldContextKey is the encryption context key under which [BindFields]
// binds each value to the expression that selected it. Its value is that
// expression's canonical text ([CanonicalExpression]). Another reader of
// bound values, such as Powertools for AWS Lambda or an AWS Encryption SDK,
// decrypts one when it is given this pair too, with the other pairs of the
// message: Powertools requires exactly the pairs a message holds.
const FieldContextKey = "datamask-field"

// BindFields binds each value that Encrypt encrypts to the expression of
// [Fields] that selected it: the message's encryption context gets the pair
// [FieldContextKey] = the expression's canonical text
// ([CanonicalExpression]), so that "$.ssn", "ssn" and "$['ssn']" bind
// alike. Decrypt given BindFields and the same expressions expects that
// pair for every value it selects, and a value moved to a place another
// expression selects (an ssn swapped with a role) fails with
// [*ContextMismatchError] before any key is used or KMS called. A call with
// BindFields must have Fields; Decrypt of bound values must have BindFields
// (and Decrypt of unbound values must not), or every value fails the same
// way.
//
// A value selected by several expressions is bound to the one whose
// canonical text sorts first, so the order of Fields does not matter. The
// binding is to the expression, not to the value's path: the values one
// expression selects ("customers[*].ssn") can still be swapped among
// themselves, and a value can still be copied into another record under the
// same expression; [ContextFrom] binds the record.
//
// Cost: one data key per expression instead of one per call, so with the
// data key cache one KMS GenerateDataKey per expression per cache period.
// A filter that tests the values it selects ("$.a[?(@.x > 1)]") does not
// select them once they are encrypted; decrypting them takes another
// expression, whose binding differs: bind such values through an
// expression without that filter, or leave them unbound.
func BindFields() CallOption {
	return callOption(func(c *callConfig) error {
		c.bind = true
		return nil
	})
}

// WithBindFields makes every Encrypt and Decrypt call of the DataMasker
// that has [Fields] bind its values as [BindFields] does. Calls without
// Fields, where the whole document is one message, are unchanged.
func WithBindFields() Option {
	return maskerOption(func(m *DataMasker) error {
		if m.binding.fields {
			return errors.New("datamask: WithBindFields given twice")
		}
		m.binding.fields = true
		return nil
	})
}

// ContextFrom adds to the encryption context of every value of the call the
// pair name = the value that expression selects in the document itself,
// such as a record's id ("$.id"). Decrypt given the same ContextFrom reads
// it from the document it decrypts, so a value copied into another record
// fails with [*ContextMismatchError] before any key is used or KMS called.
// The expression must select exactly one string, number or boolean that
// [Fields] does not select, nor contain; otherwise the call fails with
// [*ContextFromError]. A string gives its text, a number or boolean its
// JSON text as written ("1.50" stays "1.50"; the string "7" and the number
// 7 bind alike).
//
// name must not be empty, start with "aws-crypto-", be [FieldContextKey]
// or be a key of [EncryptionContext] too. A call with ContextFrom must have
// Fields: without them the whole document is one message and its values
// cannot be read back on decrypt.
//
// Cost: one data key per distinct context, that is per record: with AWS KMS
// one GenerateDataKey per record (plus one Encrypt per additional key), and
// on decrypt one KMS Decrypt per record, since the data key cache cannot
// share data keys across records. With a local key, each record's data key
// is one wrap of the key's budget (see [NewLocalKeyring]).
func ContextFrom(name, expression string) CallOption {
	err := checkContextFromName("ContextFrom", name)
	return callOption(func(c *callConfig) error {
		if err != nil {
			return err
		}
		c.contextFrom = append(c.contextFrom, contextFrom{name: name, expr: expression})
		return nil
	})
}

// WithContextFrom makes every Encrypt and Decrypt call of the DataMasker
// that has [Fields] bind its values to the record as [ContextFrom] does.
// The expression is compiled here: an invalid one is [*InvalidPathError].
// Calls without Fields are unchanged.
func WithContextFrom(name, expression string) Option {
	return maskerOption(func(m *DataMasker) error {
		if err := checkContextFromName("WithContextFrom", name); err != nil {
			return err
		}
		if slices.ContainsFunc(m.binding.contextFrom, func(cf contextFrom) bool { return cf.name == name }) {
			return fmt.Errorf("datamask: WithContextFrom: context key %q given twice", name)
		}
		if _, err := m.path(expression); err != nil {
			return err
		}
		m.binding.contextFrom = append(m.binding.contextFrom, contextFrom{name: name, expr: expression})
		return nil
	})
}

// CanonicalExpression returns the canonical text of a field expression:
// the value that [BindFields] binds under [FieldContextKey]. It is the
// RFC 9535 query (the translation, for the Powertools dialect) in one
// spelling: "$.ssn", "ssn" and "$['ssn']" are all `$["ssn"]`, and
// "$.a[?(@.x > 1)]" is `$["a"][?@["x"] > 1]`. Expressions that differ only
// in spelling share it; expressions that differ in meaning never do. It is
// stored in messages, so it does not change between versions of datamask.
// An invalid expression is [*InvalidPathError].
func CanonicalExpression(expression string) (string, error) {
	p, err := sharedMasker().path(expression)
	if err != nil {
		return "", err
	}
	return p.Canonical(), nil
}

// contextFrom is one ContextFrom pair: the context key and the expression
// whose value it takes.
type contextFrom struct {
	name, expr string
}

// bindDefaults are a DataMasker's binding options, applied to its calls
// with Fields.
type bindDefaults struct {
	fields      bool
	contextFrom []contextFrom
}

func checkContextFromName(fn, name string) error {
	switch {
	case name == "":
		return errors.New("datamask: " + fn + ": the context key is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %s: the context key is not valid UTF-8", ErrUnsupportedType, fn)
	case strings.HasPrefix(name, reservedContextPrefix):
		return fmt.Errorf("datamask: %s: context key %q is reserved: keys starting with %q belong to the AWS Encryption SDK", fn, name, reservedContextPrefix)
	case name == FieldContextKey:
		return fmt.Errorf("datamask: %s: context key %q is the one BindFields sets: choose another name", fn, name)
	}
	return nil
}

// bindConfig adds the DataMasker's binding defaults to cfg, checks the
// binding options against the others, compiles the ContextFrom expressions
// and the canonical texts of the fields. op is "encrypt" or "decrypt".
func (m *DataMasker) bindConfig(op string, cfg *callConfig) error {
	if !cfg.fieldsSet {
		switch {
		case cfg.bind:
			return errors.New("datamask: " + op + ": BindFields needs Fields: without them the whole document is one message, with no place to bind")
		case len(cfg.contextFrom) > 0:
			return errors.New("datamask: " + op + ": ContextFrom needs Fields: without them the whole document is one message, whose values cannot be read back to decrypt it")
		}
		return nil
	}
	cfg.bind = cfg.bind || m.binding.fields
	if len(m.binding.contextFrom) > 0 {
		cfg.contextFrom = append(slices.Clip(m.binding.contextFrom), cfg.contextFrom...)
	}
	if cfg.bind {
		if _, ok := cfg.context[FieldContextKey]; ok {
			return fmt.Errorf("datamask: %s: EncryptionContext key %q conflicts with BindFields, which sets it", op, FieldContextKey)
		}
		cfg.canon = make([]string, len(cfg.fields))
		for i, e := range cfg.fields {
			p, err := m.path(e)
			if err != nil {
				return err
			}
			cfg.canon[i] = p.Canonical()
			if !utf8.ValidString(cfg.canon[i]) {
				return fmt.Errorf("%w: %s: field %q is not valid UTF-8, which an encryption context cannot hold", ErrUnsupportedType, op, e)
			}
		}
	}
	for i, cf := range cfg.contextFrom {
		if _, ok := cfg.context[cf.name]; ok {
			return fmt.Errorf("datamask: %s: ContextFrom key %q is also a key of EncryptionContext: choose one", op, cf.name)
		}
		if slices.ContainsFunc(cfg.contextFrom[:i], func(o contextFrom) bool { return o.name == cf.name }) {
			return fmt.Errorf("datamask: %s: ContextFrom key %q given twice", op, cf.name)
		}
		if _, err := m.path(cf.expr); err != nil {
			return err
		}
	}
	return nil
}

// valueContexts returns the encryption context of each value of sel (which
// is in document order): the caller's pairs, the ContextFrom pairs read
// from d and, with BindFields, the pair of the value's expression. Values
// of one expression share one map, which providers only read.
func (m *DataMasker) valueContexts(op string, d *jsontext.Doc, cfg *callConfig, sel []selected) ([]map[string]string, error) {
	base := cfg.context
	if len(cfg.contextFrom) > 0 {
		base = maps.Clone(cfg.context)
		if base == nil {
			base = make(map[string]string, len(cfg.contextFrom))
		}
		for _, cf := range cfg.contextFrom {
			v, err := m.contextValue(op, d, cf, sel)
			if err != nil {
				return nil, err
			}
			base[cf.name] = v
		}
	}
	ecs := make([]map[string]string, len(sel))
	if !cfg.bind {
		for i := range ecs {
			ecs[i] = base
		}
		return ecs, nil
	}
	byExpr := make([]map[string]string, len(cfg.fields))
	for i, s := range sel {
		ec := byExpr[s.expr]
		if ec == nil {
			ec = make(map[string]string, len(base)+1)
			maps.Copy(ec, base)
			ec[FieldContextKey] = cfg.canon[s.expr]
			byExpr[s.expr] = ec
		}
		ecs[i] = ec
	}
	return ecs, nil
}

// contextValue returns the value of a ContextFrom pair: the text of the one
// scalar cf.expr selects in d, which no value of sel may be or contain.
func (m *DataMasker) contextValue(op string, d *jsontext.Doc, cf contextFrom, sel []selected) (string, error) {
	p, err := m.path(cf.expr)
	if err != nil {
		return "", err
	}
	fail := func(reason string) (string, error) {
		return "", &ContextFromError{Name: cf.name, Expression: cf.expr, Reason: reason}
	}
	nodes := p.AppendNodes(nil, d)
	switch len(nodes) {
	case 0:
		return fail("selects nothing")
	case 1:
	default:
		return fail("selects " + strconv.Itoa(len(nodes)) + " values")
	}
	n := nodes[0]
	// The last selected value at or before n is the only one that can be
	// n or contain it.
	if i, found := slices.BinarySearchFunc(sel, n, func(s selected, n int) int { return s.node - n }); found ||
		(i > 0 && d.Contains(sel[i-1].node, n)) {
		return fail("selects a value that Fields selects to " + op)
	}
	switch k := d.Kind(n); k {
	case jsontext.String:
		v := d.AppendStr(nil, n)
		if !utf8.Valid(v) {
			return fail("selects a string that is not valid UTF-8")
		}
		return string(v), nil
	case jsontext.Number, jsontext.True, jsontext.False:
		return string(d.Raw(n)), nil
	default:
		return fail("selects " + kindPhrase[k])
	}
}
