package esdk

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"maps"
	"testing"

	"github.com/datamask/datamask/esdk/internal/format"
)

// msgSpec describes a message for buildMessage, a test-only writer of the
// messages Encrypt refuses to write: every legacy suite (format v1) and
// non-framed bodies (FORMAT.md §2.5), which the shared vectors lack.
type msgSpec struct {
	suite     uint16
	nonFramed bool
	frameLen  int // framed only
	ec        map[string]string
	plaintext []byte
	// fullFinal makes the last full frame of an exact multiple the final
	// frame, instead of an empty final frame (the spec allows both).
	fullFinal bool
}

// buildMessage writes spec's message with data keys from kr.
func buildMessage(t testing.TB, kr Keyring, spec msgSpec) []byte {
	t.Helper()
	info, ok := format.LookupSuite(spec.suite)
	if !ok {
		t.Fatalf("unknown suite %04x", spec.suite)
	}
	ec := maps.Clone(spec.ec)
	if ec == nil {
		ec = map[string]string{}
	}
	var signer *ecdsa.PrivateKey
	if info.Sig != format.SigNone {
		curve := elliptic.P384()
		if info.Sig == format.SigP256 {
			curve = elliptic.P256()
		}
		var err error
		if signer, err = ecdsa.GenerateKey(curve, rand.Reader); err != nil {
			t.Fatal(err)
		}
		if ec[PublicKeyContextKey], err = compressPublicKey(&signer.PublicKey); err != nil {
			t.Fatal(err)
		}
	}
	m := &EncryptionMaterials{Suite: Suite(spec.suite), EncryptionContext: ec}
	if err := kr.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}

	h := format.Header{Version: info.Version, Suite: info, Context: format.SortedPairs(ec, nil)}
	for _, k := range m.EncryptedDataKeys {
		h.EDKs = append(h.EDKs, format.EDK{ProviderID: k.ProviderID, ProviderInfo: k.ProviderInfo, Ciphertext: k.Ciphertext})
	}
	if info.Version == format.V1 {
		h.MessageID = make([]byte, format.V1MessageIDLn)
		h.IV = make([]byte, format.IVLen)
	} else {
		h.MessageID = make([]byte, format.V2MessageIDLn)
	}
	rand.Read(h.MessageID)
	if spec.nonFramed {
		h.ContentType = format.NonFramed
	} else {
		h.ContentType, h.FrameLength = format.Framed, uint32(spec.frameLen)
	}
	encKey, commitKey, err := deriveKeys(info, m.DataKey(), h.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	h.SuiteData = commitKey
	if _, err := h.MarshalLen(); err != nil {
		t.Fatal(err)
	}
	aead, err := newGCM(encKey)
	if err != nil {
		t.Fatal(err)
	}
	out := h.AppendBody(nil)
	iv := make([]byte, format.IVLen)
	if h.IV != nil {
		iv = h.IV
	}
	h.Tag = aead.Seal(nil, iv, nil, out)
	out = h.AppendAuth(out)
	if spec.nonFramed {
		seqIV := format.SeqIV(1)
		out = format.AppendSingleBlockHeader(out, seqIV[:], uint64(len(spec.plaintext)))
		aad := format.AppendBodyAAD(nil, h.MessageID, format.SingleBlock, 1, uint64(len(spec.plaintext)))
		out = aead.Seal(out, seqIV[:], spec.plaintext, aad)
	} else if spec.fullFinal {
		fs := newFrameSealer(aead, h.MessageID, spec.frameLen)
		pt := spec.plaintext
		for len(pt) > spec.frameLen {
			out = fs.regular(out, pt[:spec.frameLen])
			pt = pt[spec.frameLen:]
		}
		out = fs.final(out, pt)
	} else {
		out = sealFrames(out, aead, h.MessageID, spec.plaintext, spec.frameLen)
	}
	if signer != nil {
		var sig []byte
		if info.Sig == format.SigP256 {
			d := sha256.Sum256(out)
			sig, err = ecdsa.SignASN1(rand.Reader, signer, d[:])
		} else {
			d := sha512.Sum384(out)
			sig, err = ecdsa.SignASN1(rand.Reader, signer, d[:])
		}
		if err != nil {
			t.Fatal(err)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(sig)))
		out = append(out, sig...)
	}
	return out
}
