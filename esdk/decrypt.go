package esdk

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"github.com/datamask/datamask/esdk/internal/format"
)

// ContentType says whether a message body is framed.
type ContentType uint8

const (
	// NonFramed is a body of one block. Encrypt never writes it; Decrypt
	// reads it.
	NonFramed ContentType = 1
	// Framed is a body of frames (see [WithFrameLength]).
	Framed ContentType = 2
)

// String returns "framed" or "non-framed".
func (t ContentType) String() string {
	switch t {
	case NonFramed:
		return "non-framed"
	case Framed:
		return "framed"
	}
	return fmt.Sprintf("ContentType(%d)", uint8(t))
}

// Header is the parsed header of a decrypted message. Its slices and map
// belong to the caller.
type Header struct {
	// Version is the message format version: 1 or 2.
	Version int
	Suite   Suite
	// MessageID is 16 bytes in version 1, 32 in version 2.
	MessageID []byte
	// EncryptionContext is the context stored in the message, including
	// aws-crypto-public-key for signed suites; reproduced pairs it does not
	// store are not included.
	EncryptionContext map[string]string
	EncryptedDataKeys []EncryptedDataKey
	ContentType       ContentType
	// FrameLength is the frame length of a framed message, else 0.
	FrameLength int
}

// Decrypt decrypts an AWS Encryption SDK message of any of the eleven suites
// (as the commitment policy allows), format version 1 or 2, framed or not,
// with materials from mm, usually a [DefaultCMM]. It returns the plaintext
// and the message header only after every check has passed: the key
// commitment (compared in constant time before any other use of the key),
// the header tag, every frame in sequence, the signature, and the absence
// of bytes after the end.
//
// Errors: [ErrInvalidMessage] for a malformed or altered message (no matter
// which check failed); [*ContextMismatchError] when the context given with
// [WithExpectedContext] or [WithReproducedContext] disagrees with the
// message, found before mm is called; [ErrLegacySuite] for a suite the
// commitment policy forbids, also before mm is called;
// [ErrTooManyEncryptedDataKeys]; and the errors of mm and its keyrings, such
// as [*NoDecryptKeyError] when no data key can be decrypted.
func (c *Client) Decrypt(ctx context.Context, message []byte, mm MaterialsManager, opts ...DecryptOption) ([]byte, *Header, error) {
	if mm == nil {
		return nil, nil, errors.New("esdk: Decrypt: materials manager is nil")
	}
	var cfg decryptConfig
	for _, o := range opts {
		if o == nil {
			return nil, nil, errors.New("esdk: Decrypt: nil DecryptOption")
		}
		if err := o.applyDecrypt(&cfg); err != nil {
			return nil, nil, err
		}
	}

	h, err := format.ParseHeader(message, c.maxEDKs)
	if err != nil {
		switch {
		case errors.Is(err, format.ErrTooManyEDKs):
			return nil, nil, ErrTooManyEncryptedDataKeys
		case len(message) > 0 && message[0] == 'A':
			// Base64 of a v1 message starts "AY", of a v2 one "AgR4"/"AgV4".
			return nil, nil, fmt.Errorf("%w (it looks base64-encoded: decode it first)", ErrInvalidMessage)
		}
		return nil, nil, ErrInvalidMessage
	}
	suite := Suite(h.Suite.ID)
	stored := make(map[string]string, len(h.Context))
	for _, p := range h.Context {
		stored[p.Key] = p.Value
	}
	if cfg.expectedSet {
		if keys := exactMismatch(stored, cfg.expected); keys != nil {
			return nil, nil, &ContextMismatchError{Keys: keys}
		}
	}
	if keys := reproducedMismatch(stored, cfg.reproduced); keys != nil {
		return nil, nil, &ContextMismatchError{Keys: keys}
	}
	if !c.policy.allowsDecrypt(suite) {
		return nil, nil, ErrLegacySuite
	}

	// Check the layout of the body and footer before asking for a key, so
	// a broken message costs no key service call.
	body := message[h.Len:]
	ptLen, bodyLen, err := walkBody(h, body)
	if err != nil {
		return nil, nil, err
	}
	signedLen := h.Len + bodyLen
	var sig []byte
	if h.Suite.Sig != format.SigNone {
		var n int
		if sig, n, err = format.ParseFooter(message[signedLen:]); err != nil {
			return nil, nil, invalid("footer")
		}
		bodyLen += n
	}
	if bodyLen != len(body) {
		return nil, nil, invalid("bytes after the end of the message")
	}

	edks := exportEDKs(h.EDKs)
	dm, err := mm.DecryptionMaterials(ctx, DecryptionMaterialsRequest{
		Suite:             suite,
		CommitmentPolicy:  c.policy,
		EncryptedDataKeys: edks,
		EncryptionContext: stored,
		ReproducedContext: cfg.reproduced,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := checkDecryptionMaterials(dm, suite, h.Suite); err != nil {
		return nil, nil, err
	}

	encKey, commitKey, err := deriveKeys(h.Suite, dm.dataKey.bytes(), h.MessageID)
	if err != nil {
		return nil, nil, fmt.Errorf("esdk: Decrypt: %v", err)
	}
	if h.Suite.Committing() && subtle.ConstantTimeCompare(commitKey, h.SuiteData) != 1 {
		return nil, nil, invalid("key commitment")
	}
	aead, err := newGCM(encKey)
	if err != nil {
		return nil, nil, fmt.Errorf("esdk: Decrypt: %v", err)
	}

	headerAAD := message[:h.BodyLen]
	if len(dm.RequiredContextKeys) > 0 {
		pairs := format.SortedPairs(dm.EncryptionContext, func(k string) bool { return !slices.Contains(dm.RequiredContextKeys, k) })
		headerAAD = format.AppendContext(bytes.Clone(headerAAD), pairs)
	}
	var zeroIV [format.IVLen]byte
	iv := zeroIV[:]
	if h.Version == format.V1 {
		iv = h.IV
	}
	if _, err := aead.Open(nil, iv, h.Tag, headerAAD); err != nil {
		return nil, nil, invalid("header tag")
	}

	plaintext, err := openBody(aead, h, body, ptLen)
	if err != nil {
		return nil, nil, err
	}
	if sig != nil && !ecdsa.VerifyASN1(dm.verificationKey, signatureDigest(h.Suite, message[:signedLen]), sig) {
		clear(plaintext)
		return nil, nil, invalid("signature")
	}

	return plaintext, &Header{
		Version:           int(h.Version),
		Suite:             suite,
		MessageID:         bytes.Clone(h.MessageID),
		EncryptionContext: stored,
		EncryptedDataKeys: edks,
		ContentType:       ContentType(h.ContentType),
		FrameLength:       int(h.FrameLength),
	}, nil
}

// exactMismatch returns the sorted keys on which stored (ignoring
// aws-crypto-public-key) and expected differ, or nil if they are equal.
func exactMismatch(stored, expected map[string]string) []string {
	var keys []string
	for k, v := range stored {
		if k == PublicKeyContextKey {
			continue
		}
		if ev, ok := expected[k]; !ok || ev != v {
			keys = append(keys, k)
		}
	}
	for k := range expected {
		if _, ok := stored[k]; !ok || k == PublicKeyContextKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// checkDecryptionMaterials validates what a materials manager returned.
func checkDecryptionMaterials(m *DecryptionMaterials, suite Suite, info format.SuiteInfo) error {
	const prefix = "esdk: Decrypt: the materials manager returned "
	switch {
	case m == nil:
		return errors.New(prefix + "no materials")
	case m.Suite != suite:
		return fmt.Errorf(prefix+"suite %v for a message of suite %v", m.Suite, suite)
	case len(m.dataKey.bytes()) != info.KeyLen:
		return errors.New(prefix + "no data key, or one of the wrong length")
	case (m.verificationKey != nil) != (info.Sig != format.SigNone):
		return errors.New(prefix + "a verification key that does not match the suite")
	}
	for _, k := range m.RequiredContextKeys {
		if _, ok := m.EncryptionContext[k]; !ok {
			return fmt.Errorf(prefix+"required context key %q without a value", k)
		}
	}
	return nil
}

// exportEDKs copies the header's encrypted data keys out of the message into
// one allocation, so that neither keyrings nor the returned header alias the
// caller's buffer.
func exportEDKs(edks []format.EDK) []EncryptedDataKey {
	total := 0
	for _, e := range edks {
		total += len(e.ProviderInfo) + len(e.Ciphertext)
	}
	arena := make([]byte, 0, total)
	out := make([]EncryptedDataKey, len(edks))
	take := func(b []byte) []byte {
		start := len(arena)
		arena = append(arena, b...)
		return arena[start:len(arena):len(arena)]
	}
	for i, e := range edks {
		out[i] = EncryptedDataKey{ProviderID: e.ProviderID, ProviderInfo: take(e.ProviderInfo), Ciphertext: take(e.Ciphertext)}
	}
	return out
}

// walkBody checks the layout of the body at the start of b: frames in
// sequence from 1 with the IV of their sequence number, a final frame no
// longer than the frame length, or one well-formed non-framed block. It
// returns the plaintext length and the body length.
func walkBody(h *format.Header, b []byte) (ptLen, n int, err error) {
	if h.ContentType == format.NonFramed {
		iv, ct, _, n, err := format.ParseSingleBlock(b)
		if err != nil {
			return 0, 0, invalid("non-framed body layout")
		}
		if want := format.SeqIV(1); !bytes.Equal(iv, want[:]) {
			return 0, 0, invalid("non-framed IV")
		}
		return len(ct), n, nil
	}
	for seq := uint32(1); ; seq++ {
		f, fn, err := format.ParseFrame(b[n:], h.FrameLength)
		if err != nil {
			return 0, 0, invalid("frame layout")
		}
		if want := format.SeqIV(seq); f.Seq != seq || !bytes.Equal(f.IV, want[:]) {
			return 0, 0, invalid("frame sequence number or IV")
		}
		ptLen += len(f.Ciphertext)
		n += fn
		if f.Final {
			return ptLen, n, nil
		}
	}
}

// openBody decrypts the body whose layout walkBody accepted. On failure it
// clears what it decrypted and returns ErrInvalidMessage.
func openBody(aead cipher.AEAD, h *format.Header, b []byte, ptLen int) ([]byte, error) {
	out := make([]byte, 0, ptLen)
	aadBuf := make([]byte, 0, format.MaxBodyAADLen)
	if h.ContentType == format.NonFramed {
		iv, ct, tag, n, _ := format.ParseSingleBlock(b)
		aad := format.AppendBodyAAD(aadBuf, h.MessageID, format.SingleBlock, 1, uint64(len(ct)))
		// The tag follows the content in the message, so ct with its tag
		// is one contiguous slice.
		out, err := aead.Open(out, iv, b[n-len(tag)-len(ct):n], aad)
		if err != nil {
			return nil, invalid("non-framed tag")
		}
		return out, nil
	}
	off := 0
	for {
		f, fn, _ := format.ParseFrame(b[off:], h.FrameLength)
		kind := format.RegularFrame
		if f.Final {
			kind = format.FinalFrame
		}
		aad := format.AppendBodyAAD(aadBuf[:0], h.MessageID, kind, f.Seq, uint64(len(f.Ciphertext)))
		// Ciphertext and tag are adjacent: open them as one slice.
		res, err := aead.Open(out, f.IV, b[off+fn-len(f.Tag)-len(f.Ciphertext):off+fn], aad)
		if err != nil {
			clear(out[:cap(out)])
			return nil, invalid("frame tag")
		}
		out = res
		off += fn
		if f.Final {
			return out, nil
		}
	}
}

// signatureDigest hashes the signed part of a message for suite s.
func signatureDigest(s format.SuiteInfo, signed []byte) []byte {
	if s.Sig == format.SigP256 {
		d := sha256.Sum256(signed)
		return d[:]
	}
	d := sha512.Sum384(signed)
	return d[:]
}
