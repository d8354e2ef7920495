package format

import (
	"encoding/binary"
)

// Body AAD content strings.
const (
	contentFrame  = "AWSKMSEncryptionClient Frame"
	contentFinal  = "AWSKMSEncryptionClient Final Frame"
	contentSingle = "AWSKMSEncryptionClient Single Block"
)

// Block kinds for [AppendBodyAAD].
const (
	RegularFrame = iota + 1
	FinalFrame
	SingleBlock
)

// MaxBodyAADLen bounds the body AAD length (v2 message ID, the longest
// content string, sequence number and length).
const MaxBodyAADLen = V2MessageIDLn + len(contentSingle) + 4 + 8

// AppendBodyAAD appends the AAD of one frame or of a non-framed body.
func AppendBodyAAD(b, messageID []byte, kind int, seq uint32, length uint64) []byte {
	b = append(b, messageID...)
	switch kind {
	case RegularFrame:
		b = append(b, contentFrame...)
	case FinalFrame:
		b = append(b, contentFinal...)
	case SingleBlock:
		b = append(b, contentSingle...)
	default:
		panic("format: unknown body block kind")
	}
	b = binary.BigEndian.AppendUint32(b, seq)
	return binary.BigEndian.AppendUint64(b, length)
}

// SeqIV returns the IV of frame seq: the sequence number left-padded with
// zeros to 12 bytes.
func SeqIV(seq uint32) [IVLen]byte {
	var iv [IVLen]byte
	binary.BigEndian.PutUint32(iv[8:], seq)
	return iv
}

// Frame is one parsed body frame; its byte fields are sub-slices of the
// parser's input.
type Frame struct {
	Final      bool
	Seq        uint32
	IV         []byte
	Ciphertext []byte
	Tag        []byte
}

// RegularFrameLen and FinalFrameLen give the encoded size of a frame holding
// n plaintext bytes.
func RegularFrameLen(n int) int { return 4 + IVLen + n + TagLen }

// FinalFrameLen gives the encoded size of a final frame of n bytes.
func FinalFrameLen(n int) int { return 4 + 4 + IVLen + 4 + n + TagLen }

// ParseFrame parses the frame at the start of b for a body with the given
// frame length, and returns it with its encoded size. It checks only the
// layout (and that a final frame is no longer than frameLen); sequence
// numbers and IVs are the caller's to check.
func ParseFrame(b []byte, frameLen uint32) (Frame, int, error) {
	r := newReader(b)
	var f Frame
	f.Seq = r.u32()
	n := int64(frameLen)
	if r.ok && f.Seq == FinalFrameMarker {
		f.Final = true
		f.Seq = r.u32()
		f.IV = r.bytes(IVLen)
		l := r.u32()
		if l > frameLen {
			return Frame{}, 0, ErrMalformed
		}
		n = int64(l)
	} else {
		f.IV = r.bytes(IVLen)
	}
	if !r.ok || n > int64(r.remaining()) {
		return Frame{}, 0, ErrMalformed
	}
	f.Ciphertext = r.bytes(int(n))
	f.Tag = r.bytes(TagLen)
	if !r.ok {
		return Frame{}, 0, ErrMalformed
	}
	return f, r.off, nil
}

// ParseSingleBlock parses a non-framed body at the start of b: IV, u64
// content length, content and tag. It returns them with the encoded size.
func ParseSingleBlock(b []byte) (iv, ct, tag []byte, n int, err error) {
	r := newReader(b)
	iv = r.bytes(IVLen)
	l := r.u64()
	if !r.ok || l > MaxNonFramedLen || l > uint64(r.remaining()) {
		return nil, nil, nil, 0, ErrMalformed
	}
	ct = r.bytes(int(l))
	tag = r.bytes(TagLen)
	if !r.ok {
		return nil, nil, nil, 0, ErrMalformed
	}
	return iv, ct, tag, r.off, nil
}

// AppendSingleBlockHeader appends the IV and length fields of a non-framed
// body (used by tests that write non-framed messages).
func AppendSingleBlockHeader(b, iv []byte, length uint64) []byte {
	b = append(b, iv...)
	return binary.BigEndian.AppendUint64(b, length)
}

// ParseFooter parses the footer at the start of b: a u16 length and the
// signature. It returns the signature and the footer size.
func ParseFooter(b []byte) ([]byte, int, error) {
	r := newReader(b)
	sig := r.u16Bytes()
	if !r.ok {
		return nil, 0, ErrMalformed
	}
	return sig, r.off, nil
}
