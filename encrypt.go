package datamask

import (
	"bufio"
	"bytes"
	"context"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/jsontext"
	"github.com/datamask/datamask/internal/parallel"
)

// Encrypt encrypts the JSON document doc, or the values of it that [Fields]
// selects, with the provider of [WithProvider], and returns the new
// document. The input is not modified.
//
// Without Fields the document's JSON text (surrounding whitespace aside) is
// one message and the result is a JSON string holding its standard, padded
// base64, which is what Powertools for AWS Lambda (Python) returns. With
// Fields each selected value's exact JSON text, whatever its type (a
// string, number, boolean, null, object or array), becomes its own message
// and is replaced in place by a JSON string holding its base64; everything
// else keeps its bytes. A value inside another selected value is covered by
// it. Decrypt with the same fields gives back the original document.
//
// The pairs of [EncryptionContext] are bound to every message; keys
// starting with "aws-crypto-" are refused. Many fields are encrypted in
// parallel on every core, and the result keeps the document order.
//
// Errors: [ErrNoProvider]; [*SyntaxError], [*InvalidPathError],
// [*FieldNotFoundError] and [ErrUnsupportedType] as for [DataMasker.Erase];
// an error matching ErrUnsupportedType for an encryption context that is
// not valid UTF-8; and the provider's errors, such as [*EncryptKeyError],
// wrapped with the expression of the field being encrypted (never its
// value). The first error stops the work still to do. Once ctx is done no
// further value is encrypted (the work stops within about one value, even
// when cached data keys need no call that would notice) and ctx's error is
// returned; a panic of the provider is raised in the caller's goroutine,
// however many values are encrypted in parallel.
func (m *DataMasker) Encrypt(ctx context.Context, doc []byte, opts ...CallOption) ([]byte, error) {
	cfg, err := newCallConfig("encrypt", opts)
	if err != nil {
		return nil, err
	}
	return m.encrypt(ctx, doc, cfg)
}

// Decrypt reverses [DataMasker.Encrypt]: without [Fields] the document must
// be one JSON string holding an encrypted message, and the result is the
// JSON text it holds; with Fields each selected value must be such a
// string, and is replaced in place by the JSON text it holds, so values and
// types come back exactly as they were. Give the fields and the
// [EncryptionContext] used to encrypt: the context must equal each
// message's exactly (the AWS Encryption SDK's own "aws-crypto-public-key"
// aside). Many fields are decrypted in parallel on every core.
//
// Expressions are resolved against the input, as for Encrypt. An
// expression that selects nothing there but selects inside a decrypted
// value (it was covered by another expression on encrypt, as "a.b" is by
// "a") counts as matched. A filter ("$.address[?(@.city == 'X')]")
// selects, besides the candidates its condition holds for, those that are
// strings holding an AWS Encryption SDK message (recognised by the first
// bytes of its header): the values it selected whole on encrypt are such
// strings now, and its condition can no longer see into them. So Decrypt
// with the fields of Encrypt works for filters too. A filter condition
// that tests a value another expression encrypted sees its base64 text:
// decrypt that expression in an earlier call.
//
// Messages written by Powertools for AWS Lambda, the AWS Encryption SDKs
// and the AWS Encryption SDK CLI decrypt here when their plaintext is JSON
// text, as Powertools always writes.
//
// Errors: [ErrNoProvider]; [*SyntaxError], [*InvalidPathError],
// [*FieldNotFoundError] and [ErrUnsupportedType] as for [DataMasker.Erase];
// [ErrDecryptValue] for a selected value that is not a JSON string, not
// standard base64, not a message, altered, or whose plaintext is not JSON
// text; and the provider's errors: [*ContextMismatchError] (found before
// any key is used) and [*DecryptKeyError]. Errors of a field are wrapped
// with its expression, never its value. The first error stops the work
// still to do. ctx and panics are handled as by Encrypt.
func (m *DataMasker) Decrypt(ctx context.Context, doc []byte, opts ...CallOption) ([]byte, error) {
	cfg, err := newCallConfig("decrypt", opts)
	if err != nil {
		return nil, err
	}
	return m.decrypt(ctx, doc, cfg)
}

// EncryptTo encrypts doc as [DataMasker.Encrypt] does and writes the
// result to w instead of returning it. Values are encrypted and written a
// chunk at a time, so neither the result nor all its messages are ever
// whole in memory: a large document costs about its size, its index
// (about 0.5 bytes per byte of typical JSON) and a few MB.
//
// Errors of the options, the document, the expressions and the context
// come before anything is written. A later error (a key error, ctx done,
// a write error of w, returned as it is) leaves an incomplete document
// written: discard it.
func (m *DataMasker) EncryptTo(ctx context.Context, w io.Writer, doc []byte, opts ...CallOption) error {
	cfg, err := newCallConfig("encrypt", opts)
	if err != nil {
		return err
	}
	return writeThrough(w, func(out sink) error { return m.encryptTo(ctx, out, doc, cfg) })
}

// DecryptTo decrypts doc as [DataMasker.Decrypt] does and writes the
// result to w instead of returning it, a chunk of values at a time, as
// [DataMasker.EncryptTo] does. When an expression selects nothing but may
// select inside decrypted values, the result is made whole in memory to
// check it before it is written. Errors come as for EncryptTo: after one
// that follows the first write, discard what was written.
func (m *DataMasker) DecryptTo(ctx context.Context, w io.Writer, doc []byte, opts ...CallOption) error {
	cfg, err := newCallConfig("decrypt", opts)
	if err != nil {
		return err
	}
	return writeThrough(w, func(out sink) error { return m.decryptTo(ctx, out, doc, cfg) })
}

// writeThrough runs write with a buffered sink over w and returns its
// error, or else w's.
func writeThrough(w io.Writer, write func(out sink) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// EncryptValue encrypts a Go value: it is marshalled to JSON with the codec
// of [WithJSONCodec] (encoding/json by default, so structs use their json
// tags) and encrypted as [DataMasker.Encrypt] does. A json.RawMessage or
// a []byte is JSON text, used as it is. A string given with [Fields] is
// read as JSON text, as [DataMasker.EraseValue] does; without Fields a
// string is a value like any other, and is the JSON string that becomes
// one message. Named string and byte-slice types count as string and
// []byte unless they implement json.Marshaler or encoding.TextMarshaler.
//
// A value the codec cannot marshal gives an error matching
// [ErrUnsupportedType] whose cause stays reachable by [errors.As].
func (m *DataMasker) EncryptValue(ctx context.Context, v any, opts ...CallOption) (json.RawMessage, error) {
	cfg, err := newCallConfig("encrypt", opts)
	if err != nil {
		return nil, err
	}
	doc, err := m.valueDoc(v, cfg.fieldsSet)
	if err != nil {
		return nil, err
	}
	return m.encrypt(ctx, doc, cfg)
}

// DecryptValue decrypts a Go value as [DataMasker.Decrypt] does and
// unmarshals the decrypted document into out with the codec of
// [WithJSONCodec] (encoding/json by default). v is what EncryptValue or
// Encrypt returned: a json.RawMessage or a []byte is JSON text, used as it
// is; a string is, without [Fields], the encrypted value itself (the
// base64 text) and, with Fields, JSON text; any other value is marshalled
// with the codec. Named string and byte-slice types count as string and
// []byte unless they implement json.Marshaler or encoding.TextMarshaler.
//
// out must be a non-nil pointer. A *[]byte (or a pointer to another
// byte-slice type without its own unmarshalling) receives the decrypted
// JSON text, as a json.RawMessage would. Any other out is replaced by a
// value unmarshalled afresh, not merged into: on any error out is left as
// it was.
//
// An out that is not a non-nil pointer, a value the codec cannot marshal,
// or a decrypted document it cannot unmarshal into out, gives an error
// matching [ErrUnsupportedType] whose cause stays reachable by
// [errors.As].
func (m *DataMasker) DecryptValue(ctx context.Context, v any, out any, opts ...CallOption) error {
	cfg, err := newCallConfig("decrypt", opts)
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: DecryptValue: out must be a non-nil pointer, not a %T", ErrUnsupportedType, out)
	}
	doc, err := m.valueDoc(v, cfg.fieldsSet)
	if err != nil {
		return err
	}
	plain, err := m.decrypt(ctx, doc, cfg)
	if err != nil {
		return err
	}
	dst := rv.Elem()
	if isByteSlice(dst.Type()) && !unmarshalsItself(rv.Type()) {
		dst.Set(reflect.ValueOf(bytes.Clone(plain)).Convert(dst.Type()))
		return nil
	}
	unmarshal := m.unmarshal
	if unmarshal == nil {
		unmarshal = jsonUnmarshal
	}
	fresh := reflect.New(dst.Type())
	if err := unmarshal(plain, fresh.Interface()); err != nil {
		return &unmarshalError{typ: fmt.Sprintf("%T", out), cause: err}
	}
	dst.Set(fresh.Elem())
	return nil
}

// valueDoc turns the v of a Value method into JSON text: a json.RawMessage
// or a []byte (what Encrypt returns) as it is, a string as JSON text when
// fields are given and as a JSON string otherwise, anything else through
// the codec. Named string and byte-slice types count as string and []byte
// unless they marshal themselves.
func (m *DataMasker) valueDoc(v any, fields bool) ([]byte, error) {
	switch v := v.(type) {
	case json.RawMessage:
		return v, nil
	case []byte:
		return v, nil
	case string:
		return stringDoc(v, fields), nil
	case nil:
		return m.marshalValue(v)
	}
	if t := reflect.TypeOf(v); !marshalsItself(t) {
		rv := reflect.ValueOf(v)
		switch {
		case t.Kind() == reflect.String:
			return stringDoc(rv.String(), fields), nil
		case isByteSlice(t):
			return rv.Convert(byteSliceType).Bytes(), nil
		}
	}
	return m.marshalValue(v)
}

// stringDoc is the JSON text of a string value: the string itself with
// fields, else the JSON string holding it.
func stringDoc(s string, fields bool) []byte {
	if fields {
		return []byte(s)
	}
	return jsontext.AppendQuote(nil, s)
}

var (
	byteSliceType       = reflect.TypeFor[[]byte]()
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// isByteSlice reports whether t is []byte or a named type convertible to
// and from it.
func isByteSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && byteSliceType.ConvertibleTo(t)
}

func marshalsItself(t reflect.Type) bool {
	return t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType)
}

// unmarshalsItself reports whether the pointer type pt unmarshals itself.
func unmarshalsItself(pt reflect.Type) bool {
	return pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalerType)
}

// unmarshalError keeps the codec's error reachable while its text, which
// may quote the decrypted document, stays out of the message.
type unmarshalError struct {
	typ   string
	cause error
}

func (e *unmarshalError) Error() string {
	return ErrUnsupportedType.Error() + ": cannot unmarshal the decrypted document into a " + e.typ
}

func (e *unmarshalError) Unwrap() []error { return []error{ErrUnsupportedType, e.cause} }

// decryptValueError is an ErrDecryptValue with a reason that never holds
// any part of the value, and the cause (such as esdk.ErrInvalidMessage)
// reachable by errors.Is and errors.As.
type decryptValueError struct {
	reason string
	cause  error
}

func (e *decryptValueError) Error() string {
	if e.reason == "" {
		return ErrDecryptValue.Error()
	}
	return ErrDecryptValue.Error() + ": " + e.reason
}

func (e *decryptValueError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrDecryptValue}
	}
	return []error{ErrDecryptValue, e.cause}
}

// checkContext refuses an encryption context the AWS Encryption SDK cannot
// bind: empty keys, keys reserved by the SDK, and text that is not UTF-8
// (the Go counterpart of Powertools' non-string context values). Keys are
// public (stored in the clear in every message) and may be quoted; values
// are not.
func checkContext(op string, ec map[string]string) error {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same error whatever the map order
	for _, k := range keys {
		if k == "" {
			return fmt.Errorf("datamask: %s: an encryption context key is empty: give each pair a key, such as \"tenant\"", op)
		}
		if !utf8.ValidString(k) {
			return fmt.Errorf("%w: %s: an encryption context key is not valid UTF-8", ErrUnsupportedType, op)
		}
		if !utf8.ValidString(ec[k]) {
			return fmt.Errorf("%w: %s: the encryption context value of key %q is not valid UTF-8", ErrUnsupportedType, op, k)
		}
		if op == "encrypt" && strings.HasPrefix(k, reservedContextPrefix) {
			return fmt.Errorf("datamask: encrypt: encryption context key %q is reserved: keys starting with %q belong to the AWS Encryption SDK", k, reservedContextPrefix)
		}
	}
	return nil
}

// maxContextLen is the largest serialized encryption context an AWS
// Encryption SDK message holds: a 2-byte count, then each key and value
// with a 2-byte length, in at most 65,535 bytes.
const maxContextLen = 0xFFFF

// checkContextSize refuses, before any key is used, an encryption context
// too large for a message header, counting the aws-crypto-public-key pair
// that p adds when it signs (extra bytes).
func checkContextSize(ec map[string]string, extra int) error {
	if len(ec) == 0 {
		return nil
	}
	n := 2 + extra
	for k, v := range ec {
		n += 4 + len(k) + len(v)
	}
	if n <= maxContextLen {
		return nil
	}
	msg := fmt.Sprintf("datamask: encrypt: the encryption context is %d bytes serialized, more than the %d an AWS Encryption SDK message holds", n, maxContextLen)
	if extra > 0 {
		msg += fmt.Sprintf(" (counting the %d bytes of the aws-crypto-public-key pair that a signed suite adds)", extra)
	}
	return errors.New(msg + ": bind fewer or shorter pairs")
}

// reservedContextPrefix starts the encryption context keys that the AWS
// Encryption SDK reserves for itself.
const reservedContextPrefix = "aws-crypto-"

// fieldValues selects the values of cfg.fields to encrypt or decrypt in
// d: the outermost values, in document order. A value selected by several
// expressions is attributed to the first of them or, when cfg.canon is set
// (BindFields), to the one whose canonical text sorts first, whatever
// their order. With messages (decrypt), a filter selector also selects
// its candidates that hold an encrypted message, which is what it
// selected on encrypt.
func (m *DataMasker) fieldValues(d *jsontext.Doc, cfg *callConfig, messages bool) ([]selected, error) {
	var how selection
	if messages {
		how.also = func(n int) bool { return holdsMessage(d, n) }
	}
	if cfg.canon != nil {
		// Bound to the expression whose canonical text sorts first.
		how.tie = func(a, b int) int { return strings.Compare(cfg.canon[a], cfg.canon[b]) }
	}
	return m.selectValues(d, cfg.fields, cfg, how)
}

func (m *DataMasker) encrypt(ctx context.Context, doc []byte, cfg *callConfig) ([]byte, error) {
	// Each message is a little larger than its plaintext (header, tag,
	// base64); append grows the buffer if needed.
	w := &appendWriter{b: make([]byte, 0, len(doc)+len(doc)/2+1024)}
	if err := m.encryptTo(ctx, w, doc, cfg); err != nil {
		return nil, err
	}
	return w.b, nil
}

// encryptTo encrypts doc as cfg says and writes the result to out. Errors
// of the document, the expressions and the context come before anything
// is written.
func (m *DataMasker) encryptTo(ctx context.Context, out sink, doc []byte, cfg *callConfig) error {
	if m.provider == nil {
		return ErrNoProvider
	}
	if err := checkContext("encrypt", cfg.context); err != nil {
		return err
	}
	if err := checkContextSize(cfg.context, contextOverhead(m.provider)); err != nil {
		return err
	}
	if err := m.bindConfig("encrypt", cfg); err != nil {
		return err
	}
	d, err := parseDoc(doc)
	if err != nil {
		return err
	}
	defer d.Release()
	if !cfg.fieldsSet {
		if err := ctx.Err(); err != nil {
			return err
		}
		msg, err := m.provider.Encrypt(ctx, d.Raw(0), cfg.context)
		if err != nil {
			return err
		}
		_, _ = out.Write(appendQuotedBase64(nil, msg))
		return nil
	}
	sel, err := m.fieldValues(d, cfg, false)
	if err != nil {
		return err
	}
	ecs, err := m.valueContexts("encrypt", d, cfg, sel)
	if err != nil {
		return err
	}
	// Each value's quoted base64 message, in parallel, a chunk at a time.
	t := newEachValue(d, "encrypt", cfg.fields, len(sel), func(ctx context.Context, _, k int, s selected, arena []byte) ([]byte, []byte, error) {
		msg, err := m.provider.Encrypt(ctx, d.Raw(s.node), ecs[k])
		if err != nil {
			return arena, nil, err
		}
		return appendQuotedBase64(arena, msg), nil, nil
	})
	return splice(ctx, out, d, sel, t, nil)
}

func (m *DataMasker) decrypt(ctx context.Context, doc []byte, cfg *callConfig) ([]byte, error) {
	w := &appendWriter{b: make([]byte, 0, len(doc)+1024)}
	if err := m.decryptTo(ctx, w, doc, cfg); err != nil {
		return nil, err
	}
	return w.b, nil
}

// decryptTo decrypts doc as cfg says and writes the result to out. Errors
// of the document, the expressions and the context come before anything
// is written.
func (m *DataMasker) decryptTo(ctx context.Context, out sink, doc []byte, cfg *callConfig) error {
	if m.provider == nil {
		return ErrNoProvider
	}
	if err := checkContext("decrypt", cfg.context); err != nil {
		return err
	}
	if err := m.bindConfig("decrypt", cfg); err != nil {
		return err
	}
	d, err := parseDoc(doc)
	if err != nil {
		return err
	}
	defer d.Release()
	if !cfg.fieldsSet {
		if k := d.Kind(0); k.IsContainer() {
			return &decryptValueError{reason: "the selected value is " + kindPhrase[k] + ", not a base64 string (give Fields to decrypt values inside it)"}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		pt, err := m.decryptValue(ctx, d, 0, nil, cfg.context)
		if err != nil {
			return err
		}
		_, _ = out.Write(pt)
		return nil
	}

	// Expressions that select nothing may select inside values that other
	// expressions covered on encrypt: they are checked against the result,
	// which is then made whole before it is written.
	var unmatched []string
	sel, err := m.fieldValues(d, &callConfig{fields: cfg.fields, canon: cfg.canon, allowMissing: true, missing: &unmatched}, true)
	if err != nil {
		return err
	}
	if len(sel) == 0 {
		if err := missingFields(unmatched, cfg); err != nil {
			return err
		}
		_, _ = out.Write(doc)
		return nil
	}
	ecs, err := m.valueContexts("decrypt", d, cfg, sel)
	if err != nil {
		return err
	}
	if len(unmatched) == 0 {
		return m.writeDecrypted(ctx, out, d, sel, ecs, cfg, nil)
	}
	whole := &appendWriter{b: make([]byte, 0, len(doc)+1024)}
	regions := make([][2]int, 0, len(sel))
	if err := m.writeDecrypted(ctx, whole, d, sel, ecs, cfg, &regions); err != nil {
		return err
	}
	if unmatched, err = m.uncovered(whole.b, regions, unmatched); err != nil {
		return err
	}
	if err := missingFields(unmatched, cfg); err != nil {
		return err
	}
	_, _ = out.Write(whole.b)
	return nil
}

// writeDecrypted writes d with the values of sel, under the encryption
// contexts ecs, decrypted to out, a chunk of values at a time. If regions
// is not nil, it gets the span in the output of each decrypted value.
func (m *DataMasker) writeDecrypted(ctx context.Context, out sink, d *jsontext.Doc, sel []selected, ecs []map[string]string, cfg *callConfig, regions *[][2]int) error {
	scratch := make([][]byte, parallel.Workers(len(sel))) // decoded messages, per worker
	t := newEachValue(d, "decrypt", cfg.fields, len(sel), func(ctx context.Context, w, k int, s selected, arena []byte) ([]byte, []byte, error) {
		pt, err := m.decryptValue(ctx, d, s.node, &scratch[w], ecs[k])
		return arena, pt, err
	})
	return splice(ctx, out, d, sel, t, regions)
}

// uncovered returns the expressions of exprs that select nothing inside the
// values decrypted into out (regions, in document order, are their spans
// in out).
func (m *DataMasker) uncovered(out []byte, regions [][2]int, exprs []string) ([]string, error) {
	d, err := parseDoc(out)
	if err != nil {
		return nil, err // cannot happen: every decrypted text was checked
	}
	defer d.Release()
	var left []string
	var buf []int
	for _, e := range exprs {
		p, err := m.path(e)
		if err != nil {
			return nil, err
		}
		covered := false
		buf = p.AppendNodes(buf[:0], d)
		for _, n := range buf {
			start, _ := d.Span(n)
			i, _ := slices.BinarySearchFunc(regions, start, func(r [2]int, x int) int {
				switch {
				case r[1] <= x:
					return -1
				case r[0] > x:
					return 1
				}
				return 0
			})
			if i < len(regions) && regions[i][0] <= start && start < regions[i][1] {
				covered = true
				break
			}
		}
		if !covered {
			left = append(left, e)
		}
	}
	return left, nil
}

// missingFields applies the missing-field policy of cfg to exprs, the
// expressions that selected nothing.
func missingFields(exprs []string, cfg *callConfig) error {
	if len(exprs) == 0 {
		return nil
	}
	if !cfg.allowMissing {
		return &FieldNotFoundError{Expression: exprs[0]}
	}
	if cfg.missing != nil {
		*cfg.missing = append(*cfg.missing, exprs...)
	}
	return nil
}

// decryptValue decrypts string node n of d and returns the JSON text it
// held. scratch, if not nil, is reused to hold the decoded message.
func (m *DataMasker) decryptValue(ctx context.Context, d *jsontext.Doc, n int, scratch *[]byte, ec map[string]string) ([]byte, error) {
	if k := d.Kind(n); k != jsontext.String {
		return nil, &decryptValueError{reason: "the selected value is " + kindPhrase[k] + ", not a base64 string"}
	}
	var buf []byte
	if scratch != nil {
		buf = *scratch
	}
	msg, err := decodeBase64(buf[:0], d, n)
	if scratch != nil {
		*scratch = msg
	}
	if err != nil {
		return nil, err
	}
	pt, err := m.provider.Decrypt(ctx, msg, ec)
	if err != nil {
		return nil, err
	}
	if err := checkJSON(pt); err != nil {
		return nil, err
	}
	return pt, nil
}

// holdsMessage reports whether node n of d is a string holding the
// standard base64 of what starts an AWS Encryption SDK message: a format
// version (2, or 1 with its message type 0x80) and a known algorithm
// suite. Ordinary text almost never starts so ("AgR4", "AgV4" for the
// suites datamask writes), so a filter on decrypt selects the values it
// encrypted and nothing else.
func holdsMessage(d *jsontext.Doc, n int) bool {
	if d.Kind(n) != jsontext.String {
		return false
	}
	raw := d.Raw(n)
	text := raw[1 : len(raw)-1]
	if bytes.IndexByte(text, '\\') >= 0 {
		text = d.AppendStr(nil, n)
	}
	if len(text) < 8 {
		return false
	}
	var b [6]byte
	if _, err := base64.StdEncoding.Decode(b[:], text[:8]); err != nil {
		return false
	}
	switch b[0] {
	case 2:
		return esdk.Suite(binary.BigEndian.Uint16(b[1:3])).Known()
	case 1:
		return b[1] == 0x80 && esdk.Suite(binary.BigEndian.Uint16(b[2:4])).Known()
	}
	return false
}

// kindPhrase names a kind of JSON value in error messages.
var kindPhrase = map[jsontext.Kind]string{
	jsontext.Null: "null", jsontext.False: "a boolean", jsontext.True: "a boolean",
	jsontext.Number: "a number", jsontext.Object: "an object", jsontext.Array: "an array",
}

var strictBase64 = base64.StdEncoding.Strict()

// decodeBase64 appends to dst the bytes of string node n of d, read as
// standard, padded base64.
func decodeBase64(dst []byte, d *jsontext.Doc, n int) ([]byte, error) {
	raw := d.Raw(n)
	text := raw[1 : len(raw)-1]
	if bytes.IndexByte(text, '\\') >= 0 {
		text = d.AppendStr(nil, n)
	}
	need := base64.StdEncoding.DecodedLen(len(text))
	dst = slices.Grow(dst[:0], need)[:need]
	k, err := strictBase64.Decode(dst, text)
	if err != nil || k == 0 {
		return dst[:0], &decryptValueError{reason: "the value is not standard base64 text"}
	}
	return dst[:k], nil
}

// checkJSON makes sure a decrypted plaintext is JSON text before it is
// spliced into a document.
func checkJSON(pt []byte) error {
	d, err := jsontext.Parse(pt)
	if err != nil {
		return &decryptValueError{reason: "the decrypted value is not JSON text (was it encrypted by datamask or Powertools?)"}
	}
	d.Release()
	return nil
}

// appendQuotedBase64 appends msg as a JSON string of its standard base64.
func appendQuotedBase64(dst, msg []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, msg)
	return append(dst, '"')
}

// errorIsContext reports whether err comes from a cancelled or expired
// context.
func errorIsContext(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
