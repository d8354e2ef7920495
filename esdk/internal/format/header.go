package format

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// EDK is one encrypted data key entry of a header.
type EDK struct {
	ProviderID   string
	ProviderInfo []byte
	Ciphertext   []byte
}

// Header is a parsed or to-be-written message header. Byte fields of a parsed
// header are sub-slices of the parser's input.
type Header struct {
	Version     byte
	Suite       SuiteInfo
	MessageID   []byte
	Context     []Pair // in wire order
	EDKs        []EDK
	ContentType byte
	FrameLength uint32
	SuiteData   []byte // v2: the commit key; v1: nil
	IV          []byte // v1 header auth IV; v2: nil (implicitly zero)
	Tag         []byte

	// BodyLen is the length of the header body (what the header tag
	// authenticates) and Len the length of the whole header, set by
	// ParseHeader and by MarshalLen.
	BodyLen, Len int
}

var errHeaderField = errors.New("a header field does not fit the message format")

// MarshalLen validates h for writing and sets and returns h.BodyLen and
// h.Len. It fails if a field cannot be represented: a string that is not
// UTF-8, a length over 65535, no or too many encrypted data keys, or fields
// that do not match the version and suite.
func (h *Header) MarshalLen() (int, error) {
	ctxLen, err := ContextLen(h.Context)
	if err != nil {
		return 0, err
	}
	if len(h.EDKs) == 0 || len(h.EDKs) > 0xFFFF {
		return 0, errHeaderField
	}
	n := 0
	switch h.Version {
	case V1:
		if len(h.MessageID) != V1MessageIDLn || len(h.IV) != IVLen || len(h.SuiteData) != 0 {
			return 0, errHeaderField
		}
		n = 1 + 1 + 2 + V1MessageIDLn + 2 + ctxLen + 2
	case V2:
		if len(h.MessageID) != V2MessageIDLn || len(h.IV) != 0 || len(h.SuiteData) != h.Suite.SuiteDataLen() {
			return 0, errHeaderField
		}
		n = 1 + 2 + V2MessageIDLn + 2 + ctxLen + 2
	default:
		return 0, errHeaderField
	}
	if h.Suite.Version != h.Version {
		return 0, errHeaderField
	}
	for _, k := range h.EDKs {
		if !utf8.ValidString(k.ProviderID) || len(k.ProviderID) > 0xFFFF ||
			len(k.ProviderInfo) > 0xFFFF || len(k.Ciphertext) > 0xFFFF {
			return 0, errHeaderField
		}
		n += 6 + len(k.ProviderID) + len(k.ProviderInfo) + len(k.Ciphertext)
	}
	switch h.ContentType {
	case Framed:
		if h.FrameLength == 0 {
			return 0, errHeaderField
		}
	case NonFramed:
		if h.FrameLength != 0 {
			return 0, errHeaderField
		}
	default:
		return 0, errHeaderField
	}
	if h.Version == V1 {
		n += 1 + 4 + 1 + 4
	} else {
		n += 1 + 4 + len(h.SuiteData)
	}
	h.BodyLen = n
	if h.Version == V1 {
		n += IVLen
	}
	h.Len = n + TagLen
	return h.Len, nil
}

// AppendBody appends the header body (everything the header tag
// authenticates). Call MarshalLen first.
func (h *Header) AppendBody(b []byte) []byte {
	b = append(b, h.Version)
	if h.Version == V1 {
		b = append(b, v1Type)
	}
	b = binary.BigEndian.AppendUint16(b, h.Suite.ID)
	b = append(b, h.MessageID...)
	ctxLen, _ := ContextLen(h.Context)
	b = binary.BigEndian.AppendUint16(b, uint16(ctxLen))
	b = AppendContext(b, h.Context)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.EDKs)))
	for _, k := range h.EDKs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(k.ProviderID)))
		b = append(b, k.ProviderID...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(k.ProviderInfo)))
		b = append(b, k.ProviderInfo...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(k.Ciphertext)))
		b = append(b, k.Ciphertext...)
	}
	b = append(b, h.ContentType)
	if h.Version == V1 {
		b = append(b, 0, 0, 0, 0, IVLen)
		b = binary.BigEndian.AppendUint32(b, h.FrameLength)
	} else {
		b = binary.BigEndian.AppendUint32(b, h.FrameLength)
		b = append(b, h.SuiteData...)
	}
	return b
}

// AppendAuth appends the header authentication: the IV (v1 only) and tag.
func (h *Header) AppendAuth(b []byte) []byte {
	b = append(b, h.IV...)
	return append(b, h.Tag...)
}

// ParseHeader parses the header at the start of b and returns it with the
// number of bytes it takes (h.Len). It checks everything the format alone
// can check: known version and type, a suite valid in that version, the
// encryption context, 1 to maxEDKs encrypted data keys (failing with
// ErrTooManyEDKs as soon as the count is read), the content type, the v1
// reserved bytes and IV length, and a frame length of 0 exactly when
// non-framed. Other failures return ErrMalformed.
func ParseHeader(b []byte, maxEDKs int) (*Header, error) {
	r := newReader(b)
	h := &Header{Version: r.u8()}
	var idLen int
	switch h.Version {
	case V1:
		if r.u8() != v1Type {
			return nil, ErrMalformed
		}
		idLen = V1MessageIDLn
	case V2:
		idLen = V2MessageIDLn
	default:
		return nil, ErrMalformed
	}
	suite, ok := LookupSuite(r.u16())
	if !r.ok || !ok || suite.Version != h.Version {
		return nil, ErrMalformed
	}
	h.Suite = suite
	h.MessageID = r.bytes(idLen)
	ctx := r.u16Bytes()
	if !r.ok {
		return nil, ErrMalformed
	}
	var err error
	if h.Context, err = ParseContext(ctx); err != nil {
		return nil, err
	}

	count := int(r.u16())
	if !r.ok || count == 0 {
		return nil, ErrMalformed
	}
	if count > maxEDKs {
		return nil, ErrTooManyEDKs
	}
	// Each entry takes at least 6 bytes.
	if count > r.remaining()/6 {
		return nil, ErrMalformed
	}
	h.EDKs = make([]EDK, count)
	for i := range h.EDKs {
		id := r.u16Bytes()
		info := r.u16Bytes()
		ct := r.u16Bytes()
		if !r.ok || !utf8.Valid(id) {
			return nil, ErrMalformed
		}
		h.EDKs[i] = EDK{ProviderID: string(id), ProviderInfo: info, Ciphertext: ct}
	}

	h.ContentType = r.u8()
	if h.Version == V1 {
		reserved := r.u32()
		ivLen := r.u8()
		if reserved != 0 || ivLen != IVLen {
			return nil, ErrMalformed
		}
	}
	h.FrameLength = r.u32()
	if !r.ok {
		return nil, ErrMalformed
	}
	switch {
	case h.ContentType == Framed && h.FrameLength > 0:
	case h.ContentType == NonFramed && h.FrameLength == 0:
	default:
		return nil, ErrMalformed
	}
	if h.Version == V2 {
		h.SuiteData = r.bytes(suite.SuiteDataLen())
	}
	h.BodyLen = r.off
	if h.Version == V1 {
		h.IV = r.bytes(IVLen)
	}
	h.Tag = r.bytes(TagLen)
	if !r.ok {
		return nil, ErrMalformed
	}
	h.Len = r.off
	return h, nil
}
