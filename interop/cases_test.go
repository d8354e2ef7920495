package interop

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Suite IDs, spelled out here so the tests do not depend on how any one
// implementation names them.
const (
	suite0478 uint16 = 0x0478 // AES-256-GCM, HKDF-SHA512, key commitment
	suite0578 uint16 = 0x0578 // the same, signed with ECDSA P-384
)

// publicKeyEC is the context key the default CMM adds for signing suites.
const publicKeyEC = "aws-crypto-public-key"

// The raw keyrings of every interop test: both sides use the same
// namespace (provider ID) and name, as they must.
const (
	keyNamespace = "datamask-interop"
	aesKeyName   = "aes-256-interop"
	rsaKeyName   = "rsa-2048-interop"
)

// aesKey is the raw AES-256 wrapping key shared by both sides.
var aesKey = func() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(0xA0 + i)
	}
	return k
}()

// rsaTestKey is a 2048-bit RSA key pair, generated once per test binary,
// with its halves as PEM (SPKI public, PKCS #8 private) for the peers.
type rsaTestKey struct {
	priv                  *rsa.PrivateKey
	publicPEM, privatePEM []byte
}

var rsaKey = sync.OnceValues(func() (*rsaTestKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return &rsaTestKey{
		priv:       priv,
		publicPEM:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		privatePEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
	}, nil
})

func testRSAKey(t testing.TB) *rsaTestKey {
	t.Helper()
	k, err := rsaKey()
	if err != nil {
		t.Fatalf("generating the RSA test key: %v", err)
	}
	return k
}

// namedContext is one encryption context of the matrix.
type namedContext struct {
	name string
	ec   map[string]string
}

var contexts = []namedContext{
	{"empty", nil},
	{"ascii", map[string]string{"purpose": "interop test", "tenant": "acme-42", "Z": "upper case sorts first"}},
	// U+E000 < U+FFFD < U+10000 < U+1F600 in UTF-8 byte order (the
	// ESDK's), but in UTF-16 order the two supplementary characters
	// (surrogates D800, D83D) sort before U+E000 and U+FFFD.
	{"nonascii-keys", map[string]string{
		"\uFFFD":     "replacement character",
		"\U0001F600": "grinning face, above U+FFFF",
		"\U00010000": "linear b syllable, above U+FFFF",
		"\uE000":     "private use",
		"é":          "latin small e with acute",
		"z":          "ascii",
	}},
	{"nonascii-values", map[string]string{
		"name":        "Zoë Ñúñez",
		"city":        "東京",
		"mood":        "😀🎉",
		"replacement": "\uFFFD and \U00010000",
	}},
}

// interopCase is one message to carry across: who encrypts it with which
// suite, frame length, plaintext and encryption context.
type interopCase struct {
	name      string
	suite     uint16
	frame     int
	plaintext []byte
	ec        map[string]string
}

// utf8Text is non-ASCII text a little over 4 KiB long, so frames of 1, 512
// and 4096 bytes all split it inside multi-byte characters.
var utf8Text = func() []byte {
	var b strings.Builder
	for i := 0; b.Len() < 4500; i++ {
		fmt.Fprintf(&b, "%d: Grüße aus Köln, 東京の天気は晴れ 😀🎉, Ωμέγα — naïve café \uFFFD \U00010000\n", i)
	}
	return []byte(b.String())
}()

// randomBytes returns n bytes that are the same in every run.
func randomBytes(n int, seed uint64) []byte {
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(n), byte(n >> 8), byte(n >> 16)})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// interopCases is the matrix every direction runs: for each suite and
// frame length, plaintexts empty, frame-1, frame, frame+1 and an exact
// multiple of the frame (rotating through the contexts), the UTF-8 text
// under every context, and 1 MiB at frame lengths 512 and 4096.
func interopCases() []interopCase {
	var cases []interopCase
	add := func(suite uint16, frame int, pt string, plaintext []byte, ec namedContext) {
		cases = append(cases, interopCase{
			name:      fmt.Sprintf("suite=%04x/frame=%d/pt=%s/ec=%s", suite, frame, pt, ec.name),
			suite:     suite,
			frame:     frame,
			plaintext: plaintext,
			ec:        ec.ec,
		})
	}
	for _, suite := range []uint16{suite0478, suite0578} {
		for _, frame := range []int{1, 512, 4096} {
			sizes := []struct {
				name string
				n    int
			}{
				{"empty", 0}, {"frame-1", frame - 1}, {"frame", frame}, {"frame+1", frame + 1}, {"3frames", 3 * frame},
			}
			for i, s := range sizes {
				if s.n == 0 && s.name != "empty" {
					continue // frame-1 at frame length 1 is the empty case
				}
				add(suite, frame, s.name, randomBytes(s.n, uint64(suite)), contexts[i%len(contexts)])
			}
			for _, ec := range contexts {
				add(suite, frame, "utf8text", utf8Text, ec)
			}
			if frame >= 512 {
				add(suite, frame, "1MiB", randomBytes(1<<20, uint64(suite)), contexts[2])
			}
		}
	}
	return cases
}

// checkPlaintext fails t unless got is exactly want.
func checkPlaintext(t *testing.T, who string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s decrypt = %d bytes (first diff at %d), want the %d plaintext bytes",
			who, len(got), firstDiff(got, want), len(want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// checkContext fails t unless the context a peer reports is want plus, for
// the signing suite only, a well-formed aws-crypto-public-key.
func checkContext(t *testing.T, who string, got, want map[string]string, suite uint16) {
	t.Helper()
	rest := make(map[string]string, len(got))
	for k, v := range got {
		rest[k] = v
	}
	pub, hasPub := rest[publicKeyEC]
	delete(rest, publicKeyEC)
	if want == nil {
		want = map[string]string{}
	}
	if diff := cmp.Diff(want, rest); diff != "" {
		t.Errorf("%s encryption context mismatch (-want +got):\n%s", who, diff)
	}
	switch {
	case suite == suite0578 && !hasPub:
		t.Errorf("%s encryption context has no %s, want one for suite 0578", who, publicKeyEC)
	case suite == suite0578 && (len(pub) != 68 || !strings.HasPrefix(pub, "A")):
		t.Errorf("%s %s = %q, want 68 base64 characters of a compressed P-384 point", who, publicKeyEC, pub)
	case suite != suite0578 && hasPub:
		t.Errorf("%s encryption context has %s for suite %04x, want none", who, publicKeyEC, suite)
	}
}

// sortedKeys is used in failure messages.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
