package legacy_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Items in the vectors are DynamoDB JSON: {"name": {"S": "text"}}, numbers
// as strings, binary values and binary set members in standard base64.

func parseItemJSON(data []byte) (map[string]types.AttributeValue, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	item := make(map[string]types.AttributeValue, len(raw))
	for name, v := range raw {
		av, err := parseValueJSON(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %v", name, err)
		}
		item[name] = av
	}
	return item, nil
}

func parseValueJSON(data json.RawMessage) (types.AttributeValue, error) {
	var typed map[string]json.RawMessage
	if err := json.Unmarshal(data, &typed); err != nil {
		return nil, err
	}
	if len(typed) != 1 {
		return nil, fmt.Errorf("want one type, got %d", len(typed))
	}
	for typ, v := range typed {
		switch typ {
		case "S":
			var s string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberS{Value: s}, err
		case "N":
			var s string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberN{Value: s}, err
		case "B":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, err
			}
			b, err := base64.StdEncoding.DecodeString(s)
			return &types.AttributeValueMemberB{Value: b}, err
		case "BOOL":
			var b bool
			err := json.Unmarshal(v, &b)
			return &types.AttributeValueMemberBOOL{Value: b}, err
		case "NULL":
			var b bool
			err := json.Unmarshal(v, &b)
			return &types.AttributeValueMemberNULL{Value: b}, err
		case "SS", "NS", "BS":
			var ss []string
			if err := json.Unmarshal(v, &ss); err != nil {
				return nil, err
			}
			switch typ {
			case "SS":
				return &types.AttributeValueMemberSS{Value: ss}, nil
			case "NS":
				return &types.AttributeValueMemberNS{Value: ss}, nil
			}
			bs := make([][]byte, len(ss))
			for i, s := range ss {
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, err
				}
				bs[i] = b
			}
			return &types.AttributeValueMemberBS{Value: bs}, nil
		case "L":
			var raw []json.RawMessage
			if err := json.Unmarshal(v, &raw); err != nil {
				return nil, err
			}
			l := make([]types.AttributeValue, len(raw))
			for i, r := range raw {
				av, err := parseValueJSON(r)
				if err != nil {
					return nil, err
				}
				l[i] = av
			}
			return &types.AttributeValueMemberL{Value: l}, nil
		case "M":
			m, err := parseItemJSON(v)
			return &types.AttributeValueMemberM{Value: m}, err
		default:
			return nil, fmt.Errorf("unknown type %q", typ)
		}
	}
	panic("unreachable")
}

// itemJSON renders an item as DynamoDB JSON with sorted names, for
// comparisons and messages.
func itemJSON(item map[string]types.AttributeValue) string {
	var b bytes.Buffer
	appendItemJSON(&b, item)
	return b.String()
}

func appendItemJSON(b *bytes.Buffer, item map[string]types.AttributeValue) {
	b.WriteByte('{')
	for i, name := range slices.Sorted(maps.Keys(item)) {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, name)
		b.WriteByte(':')
		appendValueJSON(b, item[name])
	}
	b.WriteByte('}')
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

func appendValueJSON(b *bytes.Buffer, av types.AttributeValue) {
	writeStrings := func(typ string, ss []string) {
		fmt.Fprintf(b, `{%q:[`, typ)
		for i, s := range ss {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, s)
		}
		b.WriteString("]}")
	}
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		b.WriteString(`{"S":`)
		writeJSONString(b, v.Value)
		b.WriteByte('}')
	case *types.AttributeValueMemberN:
		b.WriteString(`{"N":`)
		writeJSONString(b, v.Value)
		b.WriteByte('}')
	case *types.AttributeValueMemberB:
		fmt.Fprintf(b, `{"B":%q}`, base64.StdEncoding.EncodeToString(v.Value))
	case *types.AttributeValueMemberBOOL:
		fmt.Fprintf(b, `{"BOOL":%v}`, v.Value)
	case *types.AttributeValueMemberNULL:
		fmt.Fprintf(b, `{"NULL":%v}`, v.Value)
	case *types.AttributeValueMemberSS:
		writeStrings("SS", v.Value)
	case *types.AttributeValueMemberNS:
		writeStrings("NS", v.Value)
	case *types.AttributeValueMemberBS:
		ss := make([]string, len(v.Value))
		for i, m := range v.Value {
			ss[i] = base64.StdEncoding.EncodeToString(m)
		}
		writeStrings("BS", ss)
	case *types.AttributeValueMemberL:
		b.WriteString(`{"L":[`)
		for i, e := range v.Value {
			if i > 0 {
				b.WriteByte(',')
			}
			appendValueJSON(b, e)
		}
		b.WriteString("]}")
	case *types.AttributeValueMemberM:
		b.WriteString(`{"M":`)
		appendItemJSON(b, v.Value)
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, `{"?":%q}`, fmt.Sprintf("%T", av))
	}
}

// sortSets returns a copy of item with the members of every set sorted.
func sortSets(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(item))
	for name, av := range item {
		out[name] = sortSetsValue(av)
	}
	return out
}

func sortSetsValue(av types.AttributeValue) types.AttributeValue {
	switch v := av.(type) {
	case *types.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: slices.Sorted(slices.Values(v.Value))}
	case *types.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: slices.Sorted(slices.Values(v.Value))}
	case *types.AttributeValueMemberBS:
		bs := slices.Clone(v.Value)
		slices.SortFunc(bs, bytes.Compare)
		return &types.AttributeValueMemberBS{Value: bs}
	case *types.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = sortSetsValue(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: sortSets(v.Value)}
	}
	return av
}
