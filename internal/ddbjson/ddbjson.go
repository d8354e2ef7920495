// Package ddbjson reads and writes DynamoDB items in DynamoDB's JSON form,
// as the AWS CLI and the DynamoDB API show them:
//
//	{"pk": {"S": "user#1"}, "n": {"N": "2.50"}, "b": {"B": "AAE="}, "ok": {"BOOL": true}}
//
// numbers as strings (kept as written), binary as standard padded base64,
// sets as JSON arrays, lists under "L" and maps under "M". Errors name the
// attribute path and what is wrong, never a value.
package ddbjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MaxDepth is the deepest nesting of maps and lists read: DynamoDB allows
// 32 levels.
const MaxDepth = 32

// Error is a syntax or type error in an item, naming where it is.
type Error struct {
	// Path is the attribute path, such as `address.L[2].city`; empty for
	// the item itself.
	Path string
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "ddbjson: " + e.Msg
	}
	return "ddbjson: attribute " + strconv.Quote(e.Path) + ": " + e.Msg
}

// Unmarshal reads one item: a JSON object of attribute names to attribute
// values. Anything after the object other than white space is an error.
func Unmarshal(data []byte) (map[string]types.AttributeValue, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	item, err := readItem(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, &Error{Msg: "unexpected data after the item"}
	}
	return item, nil
}

func readItem(d *json.Decoder) (map[string]types.AttributeValue, error) {
	if err := expectDelim(d, '{', ""); err != nil {
		return nil, err
	}
	item := map[string]types.AttributeValue{}
	for d.More() {
		name, err := readKey(d, "")
		if err != nil {
			return nil, err
		}
		if _, dup := item[name]; dup {
			return nil, &Error{Path: name, Msg: "the attribute appears twice"}
		}
		av, err := readValue(d, name, 1)
		if err != nil {
			return nil, err
		}
		item[name] = av
	}
	return item, closeDelim(d, "")
}

func syntaxError(path string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Path: path, Msg: fmt.Sprintf("invalid JSON at byte offset %d", se.Offset)}
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Path: path, Msg: "unexpected end of the JSON text"}
	}
	return &Error{Path: path, Msg: "invalid JSON"}
}

func expectDelim(d *json.Decoder, want json.Delim, path string) error {
	tok, err := d.Token()
	if err != nil {
		return syntaxError(path, err)
	}
	if tok != want {
		what := "a JSON object"
		if want == '[' {
			what = "a JSON array"
		}
		return &Error{Path: path, Msg: "want " + what}
	}
	return nil
}

func closeDelim(d *json.Decoder, path string) error {
	if _, err := d.Token(); err != nil {
		return syntaxError(path, err)
	}
	return nil
}

func readKey(d *json.Decoder, path string) (string, error) {
	tok, err := d.Token()
	if err != nil {
		return "", syntaxError(path, err)
	}
	k, _ := tok.(string)
	return k, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// readValue reads {"TYPE": VALUE} at path.
func readValue(d *json.Decoder, path string, depth int) (types.AttributeValue, error) {
	if depth > MaxDepth {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("nested more than %d levels deep", MaxDepth)}
	}
	if err := expectDelim(d, '{', path); err != nil {
		return nil, &Error{Path: path, Msg: `want an attribute value such as {"S": "text"}`}
	}
	if !d.More() {
		return nil, &Error{Path: path, Msg: `an attribute value has exactly one type key, such as {"S": "text"}; this one has none`}
	}
	typ, err := readKey(d, path)
	if err != nil {
		return nil, err
	}
	var av types.AttributeValue
	switch typ {
	case "S":
		s, err := readString(d, path)
		if err != nil {
			return nil, err
		}
		av = &types.AttributeValueMemberS{Value: s}
	case "N":
		s, err := readString(d, path)
		if err != nil {
			return nil, err
		}
		av = &types.AttributeValueMemberN{Value: s}
	case "B":
		b, err := readBinary(d, path)
		if err != nil {
			return nil, err
		}
		av = &types.AttributeValueMemberB{Value: b}
	case "BOOL", "NULL":
		tok, err := d.Token()
		if err != nil {
			return nil, syntaxError(path, err)
		}
		b, ok := tok.(bool)
		if !ok {
			return nil, &Error{Path: path, Msg: typ + " takes true or false"}
		}
		if typ == "BOOL" {
			av = &types.AttributeValueMemberBOOL{Value: b}
		} else {
			if !b {
				return nil, &Error{Path: path, Msg: "NULL takes true"}
			}
			av = &types.AttributeValueMemberNULL{Value: true}
		}
	case "SS", "NS", "BS":
		if err := expectDelim(d, '[', path); err != nil {
			return nil, &Error{Path: path, Msg: typ + " takes an array"}
		}
		var ss []string
		var bs [][]byte
		for d.More() {
			if typ == "BS" {
				b, err := readBinary(d, path)
				if err != nil {
					return nil, err
				}
				bs = append(bs, b)
				continue
			}
			s, err := readString(d, path)
			if err != nil {
				return nil, err
			}
			ss = append(ss, s)
		}
		if err := closeDelim(d, path); err != nil {
			return nil, err
		}
		switch typ {
		case "SS":
			av = &types.AttributeValueMemberSS{Value: orEmpty(ss)}
		case "NS":
			av = &types.AttributeValueMemberNS{Value: orEmpty(ss)}
		default:
			if bs == nil {
				bs = [][]byte{}
			}
			av = &types.AttributeValueMemberBS{Value: bs}
		}
	case "L":
		if err := expectDelim(d, '[', path); err != nil {
			return nil, &Error{Path: path, Msg: "L takes an array of attribute values"}
		}
		l := []types.AttributeValue{}
		for d.More() {
			v, err := readValue(d, path+".L["+strconv.Itoa(len(l))+"]", depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		if err := closeDelim(d, path); err != nil {
			return nil, err
		}
		av = &types.AttributeValueMemberL{Value: l}
	case "M":
		if err := expectDelim(d, '{', path); err != nil {
			return nil, &Error{Path: path, Msg: "M takes an object of attribute values"}
		}
		m := map[string]types.AttributeValue{}
		for d.More() {
			k, err := readKey(d, path)
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; dup {
				return nil, &Error{Path: join(path, k), Msg: "the map key appears twice"}
			}
			v, err := readValue(d, join(path, k), depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		if err := closeDelim(d, path); err != nil {
			return nil, err
		}
		av = &types.AttributeValueMemberM{Value: m}
	default:
		return nil, &Error{Path: path, Msg: "unknown attribute type " + strconv.Quote(typ) + " (want S, N, B, BOOL, NULL, SS, NS, BS, L or M)"}
	}
	if d.More() {
		return nil, &Error{Path: path, Msg: "an attribute value has exactly one type key; this one has several"}
	}
	return av, closeDelim(d, path)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func readString(d *json.Decoder, path string) (string, error) {
	tok, err := d.Token()
	if err != nil {
		return "", syntaxError(path, err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", &Error{Path: path, Msg: "want a JSON string (numbers too are written as strings)"}
	}
	return s, nil
}

func readBinary(d *json.Decoder, path string) ([]byte, error) {
	s, err := readString(d, path)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, &Error{Path: path, Msg: "binary values are standard, padded base64"}
	}
	return b, nil
}

// Marshal writes item as one line of DynamoDB JSON, attributes and map keys
// in byte order so that the output is deterministic. It fails for a nil or
// unknown attribute value.
func Marshal(item map[string]types.AttributeValue) ([]byte, error) {
	var b bytes.Buffer
	if err := appendItem(&b, item, ""); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func appendItem(b *bytes.Buffer, m map[string]types.AttributeValue, path string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, k)
		b.WriteByte(':')
		if err := appendValue(b, m[k], join(path, k)); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

func appendValue(b *bytes.Buffer, av types.AttributeValue, path string) error {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		b.WriteString(`{"S":`)
		writeString(b, v.Value)
	case *types.AttributeValueMemberN:
		b.WriteString(`{"N":`)
		writeString(b, v.Value)
	case *types.AttributeValueMemberB:
		b.WriteString(`{"B":"`)
		b.WriteString(base64.StdEncoding.EncodeToString(v.Value))
		b.WriteByte('"')
	case *types.AttributeValueMemberBOOL:
		b.WriteString(`{"BOOL":` + strconv.FormatBool(v.Value))
	case *types.AttributeValueMemberNULL:
		b.WriteString(`{"NULL":true`)
	case *types.AttributeValueMemberSS:
		b.WriteString(`{"SS":`)
		writeStrings(b, v.Value)
	case *types.AttributeValueMemberNS:
		b.WriteString(`{"NS":`)
		writeStrings(b, v.Value)
	case *types.AttributeValueMemberBS:
		b.WriteString(`{"BS":[`)
		for i, m := range v.Value {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('"')
			b.WriteString(base64.StdEncoding.EncodeToString(m))
			b.WriteByte('"')
		}
		b.WriteByte(']')
	case *types.AttributeValueMemberL:
		b.WriteString(`{"L":[`)
		for i, e := range v.Value {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := appendValue(b, e, path+".L["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *types.AttributeValueMemberM:
		b.WriteString(`{"M":`)
		if err := appendItem(b, v.Value, path); err != nil {
			return err
		}
	case nil:
		return &Error{Path: path, Msg: "a nil attribute value"}
	default:
		return &Error{Path: path, Msg: "an attribute value of an unknown type"}
	}
	b.WriteByte('}')
	return nil
}

func writeStrings(b *bytes.Buffer, ss []string) {
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, s)
	}
	b.WriteByte(']')
}

// writeString writes s as a JSON string, escaping what JSON requires and
// keeping other characters (invalid UTF-8 becomes U+FFFD, as encoding/json
// does).
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
