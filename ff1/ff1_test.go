package ff1_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/datamask/datamask/ff1"
)

// nistSamples are the nine FF1 samples of NIST's "Examples with
// Intermediate Values" for SP 800-38G (FF1samples.pdf): AES-128, -192 and
// -256, each with radix 10 and no tweak, radix 10 with a tweak, and radix 36
// with a tweak.
var nistSamples = []struct {
	name, key, tweak string
	radix            int
	pt, ct           string
}{
	{"Sample1", "2B7E151628AED2A6ABF7158809CF4F3C", "", 10, "0123456789", "2433477484"},
	{"Sample2", "2B7E151628AED2A6ABF7158809CF4F3C", "39383736353433323130", 10, "0123456789", "6124200773"},
	{"Sample3", "2B7E151628AED2A6ABF7158809CF4F3C", "3737373770717273373737", 36, "0123456789abcdefghi", "a9tv40mll9kdu509eum"},
	{"Sample4", "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F", "", 10, "0123456789", "2830668132"},
	{"Sample5", "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F", "39383736353433323130", 10, "0123456789", "2496655549"},
	{"Sample6", "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F", "3737373770717273373737", 36, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"},
	{"Sample7", "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94", "", 10, "0123456789", "6657667009"},
	{"Sample8", "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94", "39383736353433323130", 10, "0123456789", "1001623463"},
	{"Sample9", "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94", "3737373770717273373737", 36, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"},
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNISTSamples(t *testing.T) {
	for _, s := range nistSamples {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			c, err := ff1.New(mustHex(t, s.key), s.radix)
			if err != nil {
				t.Fatal(err)
			}
			tweak := mustHex(t, s.tweak)
			got, err := c.Encrypt(s.pt, tweak)
			if err != nil || got != s.ct {
				t.Fatalf("Encrypt(%q) = %q, %v, want %q", s.pt, got, err, s.ct)
			}
			back, err := c.Decrypt(s.ct, tweak)
			if err != nil || back != s.pt {
				t.Fatalf("Decrypt(%q) = %q, %v, want %q", s.ct, back, err, s.pt)
			}
		})
	}
}

func randomString(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// TestRoundTrip encrypts random strings of every radix at lengths around
// the minimum, the fast path's limit and beyond, and checks that the output
// keeps length and alphabet and decrypts back.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 32)
	for _, radix := range []int{2, 3, 8, 10, 16, 26, 36, 61, 62} {
		c, err := ff1.New(key[:16+8*(radix%3)], radix)
		if err != nil {
			t.Fatal(err)
		}
		alpha := c.Alphabet()
		lengths := []int{c.MinLength(), c.MinLength() + 1, 16, 17, 18, 19, 20, 25, 36, 37, 64, 65, 100, 257}
		for _, n := range lengths {
			if n < c.MinLength() {
				continue
			}
			for i := range 20 {
				x := randomString(r, alpha, n)
				tweak := []byte(strings.Repeat("t", i*3))
				ct, err := c.Encrypt(x, tweak)
				if err != nil {
					t.Fatalf("radix %d: Encrypt(%q) error %v", radix, x, err)
				}
				if len(ct) != n || strings.Trim(ct, alpha) != "" {
					t.Fatalf("radix %d: Encrypt(%q) = %q: not %d characters of the alphabet", radix, x, ct, n)
				}
				pt, err := c.Decrypt(ct, tweak)
				if err != nil || pt != x {
					t.Fatalf("radix %d: Decrypt(Encrypt(%q)) = %q, %v", radix, x, pt, err)
				}
			}
		}
	}
}

// TestTweakChangesOutput checks that the tweak is used: another tweak gives
// another output (the chance of equality for 16 digits is 10^-16).
func TestTweakChangesOutput(t *testing.T) {
	c, err := ff1.New(make([]byte, 16), 10)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Encrypt("4111111111111111", []byte("tenant-a"))
	b, _ := c.Encrypt("4111111111111111", []byte("tenant-b"))
	if a == b {
		t.Fatalf("Encrypt under two tweaks = %q twice", a)
	}
}

func TestAlphabet(t *testing.T) {
	c, err := ff1.NewWithAlphabet(make([]byte, 16), "ABCDEFGHIJ")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ff1.New(make([]byte, 16), 10)
	if err != nil {
		t.Fatal(err)
	}
	// The same numerals through two alphabets give the same numerals.
	x := "0123456789"
	got, err := c.Encrypt("ABCDEFGHIJ", nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := d.Encrypt(x, nil)
	var mapped strings.Builder
	for _, ch := range want {
		mapped.WriteByte("ABCDEFGHIJ"[ch-'0'])
	}
	if got != mapped.String() {
		t.Fatalf("Encrypt(ABCDEFGHIJ) = %q, want %q", got, mapped.String())
	}
}

func TestRefusals(t *testing.T) {
	c10, err := ff1.New(make([]byte, 16), 10)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ff1.New(make([]byte, 16), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		c     *ff1.Cipher
		x     string
		tweak []byte
		want  string
	}{
		{"empty", c10, "", nil, "give at least 6"},
		{"domain 10^5", c10, "12345", nil, "domain under 1000000"},
		{"radix 2, 19 bits", c2, strings.Repeat("1", 19), nil, "give at least 20"},
		{"minus sign", c10, "-1234567", nil, "sign"},
		{"plus sign", c10, "+1234567", nil, "sign"},
		{"letter", c10, "12345a78", nil, "position 5"},
		{"separator", c10, "123-45-6789", nil, "position 3"},
		{"non-ASCII", c10, "1234567\u00e9", nil, "position 7"},
		{"too long", c10, strings.Repeat("1", ff1.MaxLength+1), nil, "more than 4096"},
		{"tweak too long", c10, "1234567", make([]byte, ff1.MaxTweakLength+1), "tweak is 257 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, op := range []func(string, []byte) (string, error){tc.c.Encrypt, tc.c.Decrypt} {
				got, err := op(tc.x, tc.tweak)
				if !errors.Is(err, ff1.ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error = %v, want ErrInvalidInput saying %q", err, tc.want)
				}
				if got != "" {
					t.Fatalf("output %q with an error", got)
				}
				if len(tc.x) >= 5 && strings.Contains(err.Error(), tc.x) {
					t.Fatalf("error %q holds the input", err)
				}
			}
		})
	}
	// The minimum length is accepted.
	if _, err := c10.Encrypt("123456", nil); err != nil {
		t.Fatalf("Encrypt of 6 digits: %v", err)
	}
	if _, err := c2.Encrypt(strings.Repeat("1", 20), nil); err != nil {
		t.Fatalf("Encrypt of 20 bits: %v", err)
	}
}

func TestNewRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		key      []byte
		alphabet string
		want     string
	}{
		{"short key", make([]byte, 15), "0123456789", "key is 15 bytes"},
		{"long key", make([]byte, 33), "0123456789", "key is 33 bytes"},
		{"radix 1", make([]byte, 16), "0", "1 characters"},
		{"radix 63", make([]byte, 16), ff1.DefaultAlphabet + "_", "63 characters"},
		{"duplicate", make([]byte, 16), "0123456780", "appears twice"},
		{"sign", make([]byte, 16), "0123456789-", "sign"},
		{"space", make([]byte, 16), "01 ", "not printable"},
	} {
		if _, err := ff1.NewWithAlphabet(tc.key, tc.alphabet); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewWithAlphabet error = %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	for _, radix := range []int{-1, 0, 1, 63} {
		if _, err := ff1.New(make([]byte, 16), radix); err == nil {
			t.Errorf("New(radix %d) succeeded", radix)
		}
	}
}

func TestString(t *testing.T) {
	key := []byte("0123456789abcdef")
	c, err := ff1.New(key, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		if s := fmt.Sprintf(f, c); s != "ff1.Cipher(radix 10)" {
			t.Errorf("Sprintf(%q) = %q", f, s)
		}
	}
}

// TestConcurrent runs one Cipher from many goroutines (go test -race).
func TestConcurrent(t *testing.T) {
	c, err := ff1.New(make([]byte, 32), 10)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := c.Encrypt("4111111111111111", []byte("t"))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				got, err := c.Encrypt("4111111111111111", []byte("t"))
				if err != nil || got != want {
					t.Errorf("Encrypt = %q, %v, want %q", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzFF1(f *testing.F) {
	for _, s := range nistSamples {
		f.Add(s.pt, []byte(s.tweak), uint8(s.radix))
	}
	f.Add("-123456", []byte{}, uint8(10))
	f.Add("123-45-6789", []byte("x"), uint8(10))
	f.Add("", []byte(nil), uint8(2))
	key := make([]byte, 16)
	f.Fuzz(func(t *testing.T, x string, tweak []byte, radix uint8) {
		r := int(radix)%61 + 2
		c, err := ff1.New(key, r)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := c.Encrypt(x, tweak)
		if err != nil {
			if !errors.Is(err, ff1.ErrInvalidInput) {
				t.Fatalf("Encrypt error %v is not ErrInvalidInput", err)
			}
			if len(x) >= 12 && strings.Contains(err.Error(), x) {
				t.Fatalf("error %q holds the input", err)
			}
			return
		}
		if len(ct) != len(x) || strings.Trim(ct, c.Alphabet()) != "" {
			t.Fatalf("Encrypt(%q) = %q: not the same length and alphabet", x, ct)
		}
		pt, err := c.Decrypt(ct, tweak)
		if err != nil || pt != x {
			t.Fatalf("Decrypt(Encrypt(%q)) = %q, %v", x, pt, err)
		}
	})
}

func ExampleCipher_Encrypt() {
	key, _ := hex.DecodeString("2B7E151628AED2A6ABF7158809CF4F3C")
	c, err := ff1.New(key, 10)
	if err != nil {
		panic(err)
	}
	tweak := []byte("tenant acme, field card")
	token, err := c.Encrypt("4111111111111111", tweak)
	if err != nil {
		panic(err)
	}
	value, err := c.Decrypt(token, tweak)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(token), value)
	_, err = c.Encrypt("12345", tweak)
	fmt.Println(err)
	// Output:
	// 16 4111111111111111
	// ff1: invalid input: 5 characters of radix 10 are a domain under 1000000 values: give at least 6
}

func BenchmarkEncrypt(b *testing.B) {
	for _, tc := range []struct {
		name  string
		radix int
		x     string
	}{
		{"radix10/16digits", 10, "4111111111111111"},
		{"radix10/9digits", 10, "123456789"},
		{"radix36/19chars", 36, "0123456789abcdefghi"},
		{"radix62/40chars", 62, strings.Repeat("aZ09", 10)},
	} {
		c, err := ff1.New(make([]byte, 32), tc.radix)
		if err != nil {
			b.Fatal(err)
		}
		tweak := []byte("tenant\x00policy")
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Encrypt(tc.x, tweak); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	c, err := ff1.New(make([]byte, 32), 10)
	if err != nil {
		b.Fatal(err)
	}
	tweak := []byte("tenant\x00policy")
	ct, _ := c.Encrypt("4111111111111111", tweak)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decrypt(ct, tweak); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPeerVectors checks 210 vectors computed by another implementation,
// github.com/capitalone/fpe's ff1 (commit b7dcc90), run on the
// developer's machine to write testdata/capitalone-fpe.json: radix 2 to
// 62, lengths 16 to 256 (the math/big path included), AES-128, -192 and
// -256, random tweaks of 0 to 32 bytes.
func TestPeerVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/capitalone-fpe.json")
	if err != nil {
		t.Fatal(err)
	}
	var vecs []struct {
		Key   string `json:"key"`
		Radix int    `json:"radix"`
		Tweak string `json:"tweak"`
		PT    string `json:"pt"`
		CT    string `json:"ct"`
	}
	if err := json.Unmarshal(data, &vecs); err != nil {
		t.Fatal(err)
	}
	if len(vecs) < 200 {
		t.Fatalf("%d vectors, want 210", len(vecs))
	}
	for i, v := range vecs {
		c, err := ff1.New(mustHex(t, v.Key), v.Radix)
		if err != nil {
			t.Fatal(err)
		}
		tweak := mustHex(t, v.Tweak)
		if len(v.PT) < c.MinLength() {
			continue
		}
		got, err := c.Encrypt(v.PT, tweak)
		if err != nil || got != v.CT {
			t.Errorf("vector %d (radix %d, %d numerals): Encrypt = %q, %v, want %q", i, v.Radix, len(v.PT), got, err, v.CT)
			continue
		}
		if back, err := c.Decrypt(v.CT, tweak); err != nil || back != v.PT {
			t.Errorf("vector %d: Decrypt = %q, %v", i, back, err)
		}
	}
}
