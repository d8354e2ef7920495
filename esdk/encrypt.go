package esdk

import (
	"context"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/datamask/datamask/esdk/internal/format"
)

// maxP384SigLen is the longest DER ECDSA P-384 signature.
const maxP384SigLen = 104

// Encrypt encrypts plaintext into an AWS Encryption SDK message (format v2,
// framed) with materials from mm, usually a [DefaultCMM]. Any AWS Encryption
// SDK decrypts the result given a keyring that can decrypt one of its data
// keys.
//
// Invalid options or materials give descriptive errors; errors of mm and its
// keyrings (such as a key service refusing) are returned as they are.
func (c *Client) Encrypt(ctx context.Context, plaintext []byte, mm MaterialsManager, opts ...EncryptOption) ([]byte, error) {
	if mm == nil {
		return nil, errors.New("esdk: Encrypt: materials manager is nil")
	}
	cfg := encryptConfig{frameLen: DefaultFrameLength}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("esdk: Encrypt: nil EncryptOption")
		}
		if err := o.applyEncrypt(&cfg); err != nil {
			return nil, err
		}
	}
	frameLen := cfg.frameLen
	fullFrames := len(plaintext) / frameLen
	finalLen := len(plaintext) % frameLen
	// N full frames are followed by a final frame, empty for an exact
	// multiple, as the Python and JavaScript SDKs write.
	if uint64(fullFrames)+1 > math.MaxUint32 {
		return nil, errors.New("esdk: Encrypt: the plaintext needs more than 2^32-1 frames: use a larger frame length")
	}

	m, err := mm.EncryptionMaterials(ctx, EncryptionMaterialsRequest{
		Suite:             cfg.suite,
		EncryptionContext: cfg.ec,
		CommitmentPolicy:  c.policy,
		PlaintextLength:   int64(len(plaintext)),
	})
	if err != nil {
		return nil, err
	}
	suite, err := c.checkEncryptionMaterials(m)
	if err != nil {
		return nil, err
	}

	h := format.Header{
		Version:     format.V2,
		Suite:       suite,
		MessageID:   make([]byte, format.V2MessageIDLn),
		ContentType: format.Framed,
		FrameLength: uint32(frameLen),
	}
	if _, err := rand.Read(h.MessageID); err != nil {
		return nil, fmt.Errorf("esdk: Encrypt: %w", err)
	}
	required := m.RequiredContextKeys
	isRequired := func(k string) bool { return slices.Contains(required, k) }
	if len(required) == 0 {
		isRequired = nil
	}
	h.Context = format.SortedPairs(m.EncryptionContext, isRequired)
	h.EDKs = make([]format.EDK, len(m.EncryptedDataKeys))
	for i, k := range m.EncryptedDataKeys {
		h.EDKs[i] = format.EDK{ProviderID: k.ProviderID, ProviderInfo: k.ProviderInfo, Ciphertext: k.Ciphertext}
	}
	encKey, commitKey, err := deriveKeys(suite, m.dataKey.bytes(), h.MessageID)
	if err != nil {
		return nil, fmt.Errorf("esdk: Encrypt: %v", err)
	}
	h.SuiteData = commitKey
	headerLen, err := h.MarshalLen()
	if err != nil {
		return nil, fmt.Errorf("esdk: Encrypt: cannot write the header: %v", err)
	}
	aead, err := newGCM(encKey)
	if err != nil {
		return nil, fmt.Errorf("esdk: Encrypt: %v", err)
	}

	size := int64(headerLen) + int64(fullFrames)*int64(format.RegularFrameLen(frameLen)) + int64(format.FinalFrameLen(finalLen))
	if suite.Sig != format.SigNone {
		size += 2 + maxP384SigLen
	}
	if size > math.MaxInt {
		return nil, errors.New("esdk: Encrypt: the message would be too large for this platform")
	}
	out := make([]byte, 0, int(size))
	out = h.AppendBody(out)

	// Header tag: AES-GCM over nothing, with the header body (and any
	// required context pairs, which the header does not store) as AAD.
	var zeroIV [format.IVLen]byte
	var tag [format.TagLen]byte
	headerAAD := out
	if len(required) > 0 {
		pairs := format.SortedPairs(m.EncryptionContext, func(k string) bool { return !isRequired(k) })
		headerAAD = format.AppendContext(slices.Clip(out), pairs)
	}
	h.Tag = aead.Seal(tag[:0], zeroIV[:], nil, headerAAD)
	out = h.AppendAuth(out)

	out = sealFrames(out, aead, h.MessageID, plaintext, frameLen)
	if suite.Sig == format.SigNone {
		return out, nil
	}
	digest := sha512.Sum384(out)
	sig, err := ecdsa.SignASN1(rand.Reader, m.signingKey.key(), digest[:])
	if err != nil {
		return nil, fmt.Errorf("esdk: Encrypt: cannot sign the message: %v", err)
	}
	out = binary.BigEndian.AppendUint16(out, uint16(len(sig)))
	return append(out, sig...), nil
}

// sealFrames appends the framed body of plaintext to out.
func sealFrames(out []byte, aead cipher.AEAD, messageID, plaintext []byte, frameLen int) []byte {
	fs := newFrameSealer(aead, messageID, frameLen)
	for len(plaintext) >= frameLen {
		out = fs.regular(out, plaintext[:frameLen])
		plaintext = plaintext[frameLen:]
	}
	return fs.final(out, plaintext)
}

// frameSealer writes the frames of one message body in order: regular
// frames of exactly the frame length, then one final frame.
type frameSealer struct {
	aead      cipher.AEAD
	messageID []byte
	frameLen  int
	seq       uint32
	aad       []byte
	iv        []byte
}

func newFrameSealer(aead cipher.AEAD, messageID []byte, frameLen int) *frameSealer {
	return &frameSealer{
		aead: aead, messageID: messageID, frameLen: frameLen, seq: 1,
		aad: make([]byte, 0, format.MaxBodyAADLen),
		iv:  make([]byte, format.IVLen),
	}
}

// regular appends a regular frame holding chunk (frameLen bytes).
func (s *frameSealer) regular(out, chunk []byte) []byte {
	binary.BigEndian.PutUint32(s.iv[8:], s.seq)
	out = binary.BigEndian.AppendUint32(out, s.seq)
	out = append(out, s.iv...)
	aad := format.AppendBodyAAD(s.aad[:0], s.messageID, format.RegularFrame, s.seq, uint64(s.frameLen))
	s.seq++
	return s.aead.Seal(out, s.iv, chunk, aad)
}

// final appends the final frame holding chunk (0 to frameLen bytes).
func (s *frameSealer) final(out, chunk []byte) []byte {
	binary.BigEndian.PutUint32(s.iv[8:], s.seq)
	out = binary.BigEndian.AppendUint32(out, format.FinalFrameMarker)
	out = binary.BigEndian.AppendUint32(out, s.seq)
	out = append(out, s.iv...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(chunk)))
	aad := format.AppendBodyAAD(s.aad[:0], s.messageID, format.FinalFrame, s.seq, uint64(len(chunk)))
	return s.aead.Seal(out, s.iv, chunk, aad)
}

// checkEncryptionMaterials validates what a materials manager returned.
func (c *Client) checkEncryptionMaterials(m *EncryptionMaterials) (format.SuiteInfo, error) {
	const prefix = "esdk: Encrypt: the materials manager returned "
	if m == nil {
		return format.SuiteInfo{}, errors.New(prefix + "no materials")
	}
	suite, ok := m.Suite.info()
	if !ok || !c.policy.allowsEncrypt(m.Suite) || m.Suite.DBE() {
		return format.SuiteInfo{}, fmt.Errorf(prefix+"suite %v, which cannot encrypt", m.Suite)
	}
	if len(m.dataKey.bytes()) != suite.KeyLen {
		return format.SuiteInfo{}, errors.New(prefix + "no data key, or one of the wrong length")
	}
	if n := len(m.EncryptedDataKeys); n == 0 || n > c.maxEDKs {
		return format.SuiteInfo{}, fmt.Errorf(prefix+"%d encrypted data keys; the client allows 1 to %d (see WithMaxEncryptedDataKeys)", n, c.maxEDKs)
	}
	for k := range m.EncryptionContext {
		if strings.HasPrefix(k, reservedPrefix) && k != PublicKeyContextKey {
			return format.SuiteInfo{}, fmt.Errorf(prefix+"the reserved encryption context key %q", k)
		}
	}
	for _, k := range m.RequiredContextKeys {
		if _, ok := m.EncryptionContext[k]; !ok {
			return format.SuiteInfo{}, fmt.Errorf(prefix+"required context key %q without a value in the encryption context", k)
		}
	}
	pub, hasPub := m.EncryptionContext[PublicKeyContextKey]
	if suite.Sig == format.SigNone {
		if hasPub || m.signingKey != nil {
			return format.SuiteInfo{}, errors.New(prefix + "a signing key for an unsigned suite")
		}
		return suite, nil
	}
	priv := m.signingKey.key()
	if priv == nil || !hasPub || priv.Curve != elliptic.P384() {
		return format.SuiteInfo{}, errors.New(prefix + "no P-384 signing key, or no verification key in the encryption context")
	}
	want, err := compressPublicKey(&priv.PublicKey)
	if err != nil || want != pub {
		return format.SuiteInfo{}, errors.New(prefix + "a verification key in the encryption context that does not match its signing key")
	}
	return suite, nil
}
