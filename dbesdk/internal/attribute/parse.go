package attribute

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Parse returns the attribute value that the top-level serialization b of
// type t stands for. It fails with ErrMalformed for anything Append cannot
// have written (apart from member order, which it does not check): lengths
// that overrun b or leave bytes over, invalid UTF-8, a boolean other than 0
// or 1, duplicate set members or map keys, nesting deeper than MaxDepth.
// No length field is trusted for an allocation before it is checked against
// the bytes that remain. Numbers come back as stored (normalized, when
// Append wrote them).
func Parse(t TypeID, b []byte) (types.AttributeValue, error) {
	p := parser{b: b}
	av := p.value(t, len(b), 1)
	if p.err != nil || p.off != len(b) {
		return nil, ErrMalformed
	}
	return av, nil
}

// parser reads b from off; after the first failure err is set and every
// read returns zero values.
type parser struct {
	b   []byte
	off int
	err error
}

func (p *parser) fail() { p.err = ErrMalformed }

func (p *parser) bytes(n int) []byte {
	if p.err != nil || n < 0 || n > len(p.b)-p.off {
		p.fail()
		return nil
	}
	s := p.b[p.off : p.off+n : p.off+n]
	p.off += n
	return s
}

func (p *parser) u32() int {
	s := p.bytes(4)
	if p.err != nil {
		return 0
	}
	return int(binary.BigEndian.Uint32(s))
}

func (p *parser) u16() TypeID {
	s := p.bytes(2)
	if p.err != nil {
		return 0
	}
	return TypeID(binary.BigEndian.Uint16(s))
}

func (p *parser) str(n int) string {
	s := p.bytes(n)
	if p.err != nil || !utf8.Valid(s) {
		p.fail()
		return ""
	}
	return string(s)
}

// count reads a u32 count of entries of at least min bytes each and
// returns it, or fails if the bytes left cannot hold that many.
func (p *parser) count(min int) int {
	n := p.u32()
	if p.err != nil || n > (len(p.b)-p.off)/min {
		p.fail()
		return 0
	}
	return n
}

// value parses a value of type t occupying exactly n bytes from off.
func (p *parser) value(t TypeID, n int, depth int) types.AttributeValue {
	if depth > MaxDepth {
		p.fail()
		return nil
	}
	if p.err != nil || n < 0 || n > len(p.b)-p.off {
		p.fail()
		return nil
	}
	end := p.off + n
	var av types.AttributeValue
	switch t {
	case Null:
		if n != 0 {
			p.fail()
		}
		av = &types.AttributeValueMemberNULL{Value: true}
	case String:
		av = &types.AttributeValueMemberS{Value: p.str(n)}
	case Number:
		av = &types.AttributeValueMemberN{Value: p.str(n)}
	case Binary:
		v := p.bytes(n)
		av = &types.AttributeValueMemberB{Value: append(make([]byte, 0, len(v)), v...)}
	case Boolean:
		v := p.bytes(n)
		if n != 1 || p.err != nil || v[0] > 1 {
			p.fail()
			return nil
		}
		av = &types.AttributeValueMemberBOOL{Value: v[0] == 1}
	case StringSet, NumberSet:
		c := p.count(4)
		members := make([]string, 0, c)
		seen := make(map[string]struct{}, c)
		for i := 0; i < c && p.err == nil; i++ {
			s := p.str(p.u32())
			if _, dup := seen[s]; dup {
				p.fail()
			}
			seen[s] = struct{}{}
			members = append(members, s)
		}
		if t == StringSet {
			av = &types.AttributeValueMemberSS{Value: members}
		} else {
			av = &types.AttributeValueMemberNS{Value: members}
		}
	case BinarySet:
		c := p.count(4)
		members := make([][]byte, 0, c)
		seen := make(map[string]struct{}, c)
		for i := 0; i < c && p.err == nil; i++ {
			v := p.bytes(p.u32())
			if _, dup := seen[string(v)]; dup {
				p.fail()
			}
			seen[string(v)] = struct{}{}
			members = append(members, append(make([]byte, 0, len(v)), v...))
		}
		av = &types.AttributeValueMemberBS{Value: members}
	case Map:
		// An entry is at least key type, key length, value type and value
		// length.
		c := p.count(2 + 4 + 2 + 4)
		m := make(map[string]types.AttributeValue, c)
		for i := 0; i < c && p.err == nil; i++ {
			if p.u16() != String {
				p.fail()
				break
			}
			k := p.str(p.u32())
			vt := p.u16()
			v := p.value(vt, p.u32(), depth+1)
			if _, dup := m[k]; dup {
				p.fail()
			}
			m[k] = v
		}
		av = &types.AttributeValueMemberM{Value: m}
	case List:
		c := p.count(2 + 4)
		l := make([]types.AttributeValue, 0, c)
		for i := 0; i < c && p.err == nil; i++ {
			vt := p.u16()
			l = append(l, p.value(vt, p.u32(), depth+1))
		}
		av = &types.AttributeValueMemberL{Value: l}
	default:
		p.fail()
	}
	if p.err != nil || p.off != end {
		p.fail()
		return nil
	}
	return av
}
