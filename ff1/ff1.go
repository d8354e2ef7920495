// Package ff1 implements FF1, the format-preserving encryption mode of NIST
// SP 800-38G Rev. 1, on crypto/aes: it encrypts a string of numerals of
// some alphabet (a radix from 2 to 62) into another string of the same
// length and alphabet, under a key and a tweak.
//
// Start with [New] (a key and a radix: the alphabet is the radix's first
// characters of [DefaultAlphabet], so radix 10 is "0123456789") or
// [NewWithAlphabet], then call [Cipher.Encrypt] and [Cipher.Decrypt]. A
// Cipher is immutable and safe for concurrent use.
//
// # Refusals
//
// As Rev. 1 requires, the domain (radix to the power of the length) must be
// at least 1,000,000: a string too short for its radix is refused. So is a
// string with a character outside the alphabet, a sign ("-12345678" is not
// a numeral string: encrypt the digits and keep the sign yourself), or more
// than [MaxLength] numerals, and a tweak longer than [MaxTweakLength]
// bytes. Every such error is [ErrInvalidInput]; its text gives a position
// or a length, never the input.
//
// # What FF1 is not
//
// FF1 is deterministic: the same input, key and tweak always give the same
// output, so equal inputs stay equal. It has no integrity: any string of the
// domain decrypts to something. Use a distinct tweak per context (a tenant,
// a field) so that equal values of different contexts do not match.
//
// # Performance
//
// A string whose halves fit in 63 bits (up to 18 decimal digits, 12 base-36
// characters) takes an allocation-free path of ten AES block encryptions
// per call plus the tweak's blocks; longer strings use math/big.
package ff1

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
)

// DefaultAlphabet is the alphabet of [New]: the first radix characters of
// it are the numerals 0 to radix-1, which is the convention of the NIST
// samples (radix 36 is "0123456789abcdefghijklmnopqrstuvwxyz").
const DefaultAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// Limits of the inputs. NIST leaves the maximum lengths to the
// implementation; these bound the work one call may do.
const (
	// MinDomain is the smallest domain (radix^length) Rev. 1 allows.
	MinDomain = 1_000_000
	// MaxLength is the most numerals Encrypt and Decrypt accept.
	MaxLength = 4096
	// MaxTweakLength is the longest tweak, in bytes.
	MaxTweakLength = 256
)

// ErrInvalidInput is returned, wrapped with a reason, for a string or a
// tweak that FF1 cannot encrypt or decrypt with this Cipher. The reason
// never holds the input.
var ErrInvalidInput = errors.New("ff1: invalid input")

// Cipher encrypts and decrypts numeral strings with FF1 under one AES key
// and alphabet. Build it with [New] or [NewWithAlphabet].
type Cipher struct {
	block    cipher.Block
	radix    int
	alphabet string
	index    [256]int8 // character -> numeral, -1 outside the alphabet
	minLen   int       // shortest length whose domain is at least MinDomain
	// fastV is the largest half length v for which radix^v < 2^63, so that
	// NUM_radix of either half fits in a uint64 with room for an addition.
	fastV int
	// forceBig makes every length take the math/big path (tests compare
	// the two paths).
	forceBig bool
}

// New returns an FF1 cipher for key (16, 24 or 32 bytes: AES-128, -192 or
// -256) over the radix first characters of [DefaultAlphabet], radix 2 to
// 62. The key is copied into the AES key schedule; the caller may clear it.
func New(key []byte, radix int) (*Cipher, error) {
	if radix < 2 || radix > len(DefaultAlphabet) {
		return nil, fmt.Errorf("ff1: New: radix %d is not between 2 and %d", radix, len(DefaultAlphabet))
	}
	return NewWithAlphabet(key, DefaultAlphabet[:radix])
}

// NewWithAlphabet returns an FF1 cipher for key over alphabet, whose
// characters (2 to 62 distinct ASCII characters, none of them '+' or '-')
// are the numerals 0, 1, 2... in order.
func NewWithAlphabet(key []byte, alphabet string) (*Cipher, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("ff1: key is %d bytes: give 16, 24 or 32 (AES-128, -192 or -256)", len(key))
	}
	if len(alphabet) < 2 || len(alphabet) > len(DefaultAlphabet) {
		return nil, fmt.Errorf("ff1: the alphabet has %d characters: give 2 to %d", len(alphabet), len(DefaultAlphabet))
	}
	c := &Cipher{radix: len(alphabet), alphabet: alphabet}
	for i := range c.index {
		c.index[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		ch := alphabet[i]
		switch {
		case ch < 0x21 || ch > 0x7e:
			return nil, fmt.Errorf("ff1: alphabet character %d is not printable ASCII", i)
		case ch == '+' || ch == '-':
			return nil, fmt.Errorf("ff1: the alphabet holds the sign %q: signs cannot be numerals", ch)
		case c.index[ch] >= 0:
			return nil, fmt.Errorf("ff1: alphabet character %q appears twice", ch)
		}
		c.index[ch] = int8(i)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("ff1: %v", err)
	}
	c.block = block
	for d := uint64(1); d < MinDomain; d *= uint64(c.radix) {
		c.minLen++
	}
	if c.minLen < 2 {
		c.minLen = 2
	}
	for p := uint64(1); p <= (1<<63-1)/uint64(c.radix); p *= uint64(c.radix) {
		c.fastV++ // radix^fastV < 2^63
	}
	return c, nil
}

// Radix returns the number of characters of the alphabet.
func (c *Cipher) Radix() int { return c.radix }

// Alphabet returns the characters of the numerals 0 to radix-1.
func (c *Cipher) Alphabet() string { return c.alphabet }

// MinLength returns the shortest string the cipher accepts: the least
// length whose domain, radix^length, is at least [MinDomain].
func (c *Cipher) MinLength() int { return c.minLen }

// String names the cipher by its radix, never its key.
func (c *Cipher) String() string { return "ff1.Cipher(radix " + strconv.Itoa(c.radix) + ")" }

// GoString is String.
func (c *Cipher) GoString() string { return c.String() }

// Format prints String for every verb, so that no verb prints the key
// schedule.
func (c *Cipher) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// Encrypt returns the FF1 encryption of x, a string of the cipher's
// alphabet, under tweak (nil or empty for none). It fails with
// [ErrInvalidInput] as the package documentation says.
func (c *Cipher) Encrypt(x string, tweak []byte) (string, error) {
	return c.crypt(x, tweak, true)
}

// Decrypt returns the string that [Cipher.Encrypt] turned into x under
// tweak.
func (c *Cipher) Decrypt(x string, tweak []byte) (string, error) {
	return c.crypt(x, tweak, false)
}

func (c *Cipher) crypt(x string, tweak []byte, encrypt bool) (string, error) {
	n := len(x)
	if err := c.check(n, tweak); err != nil {
		return "", err
	}
	// One scratch allocation: the AES blocks escape through the
	// cipher.Block interface.
	sc := new(scratch)
	num := sc.num[:0]
	if n > len(sc.num) {
		num = make([]byte, 0, n)
	}
	for i := 0; i < n; i++ {
		d := c.index[x[i]]
		if d < 0 {
			if i == 0 && (x[0] == '-' || x[0] == '+') {
				return "", fmt.Errorf("%w: the string starts with a sign: FF1 encrypts unsigned numeral strings (keep the sign apart)", ErrInvalidInput)
			}
			return "", fmt.Errorf("%w: the character at position %d is not in the radix-%d alphabet", ErrInvalidInput, i, c.radix)
		}
		num = append(num, byte(d))
	}
	c.cryptNumerals(sc, num, tweak, encrypt)
	for i, d := range num {
		num[i] = c.alphabet[d]
	}
	return string(num), nil
}

// check refuses lengths and tweaks outside the limits.
func (c *Cipher) check(n int, tweak []byte) error {
	switch {
	case n < c.minLen:
		return fmt.Errorf("%w: %d characters of radix %d are a domain under %d values: give at least %d", ErrInvalidInput, n, c.radix, MinDomain, c.minLen)
	case n > MaxLength:
		return fmt.Errorf("%w: %d characters are more than %d", ErrInvalidInput, n, MaxLength)
	case len(tweak) > MaxTweakLength:
		return fmt.Errorf("%w: the tweak is %d bytes, more than %d", ErrInvalidInput, len(tweak), MaxTweakLength)
	}
	return nil
}

// cryptNumerals encrypts or decrypts the numerals x in place (Algorithms 7
// and 8 of SP 800-38G). len(x) and tweak have been checked.
func (c *Cipher) cryptNumerals(sc *scratch, x []byte, tweak []byte, encrypt bool) {
	n := len(x)
	u := n / 2
	v := n - u
	// b = ceil(ceil(v*log2(radix))/8): the bytes of radix^v - 1.
	var b int
	if v <= c.fastV {
		b = (bits.Len64(pow(uint64(c.radix), v)-1) + 7) / 8
	} else {
		rv := new(big.Int).Exp(big.NewInt(int64(c.radix)), big.NewInt(int64(v)), nil)
		b = (rv.Sub(rv, big.NewInt(1)).BitLen() + 7) / 8
	}
	d := 4*((b+3)/4) + 4

	// P || Q without its last block is the same in every round: run the
	// CBC-MAC over it once.
	p, state, blk := &sc.p, &sc.state, &sc.blk
	p[0], p[1], p[2] = 1, 2, 1
	p[3], p[4], p[5] = byte(c.radix>>16), byte(c.radix>>8), byte(c.radix)
	p[6], p[7] = 10, byte(u)
	binary.BigEndian.PutUint32(p[8:], uint32(n))
	binary.BigEndian.PutUint32(p[12:], uint32(len(tweak)))
	c.block.Encrypt(state[:], p[:])
	t := len(tweak)
	pad := mod(-t-b-1, 16)
	qLen := t + pad + 1 + b
	// Q = T || 0^pad || [i] || [NUM(B)]_b. The rounds differ only in their
	// last 1+b bytes; when those fit in the last block (b <= 15), the
	// blocks before it are shared.
	shared := qLen - 16
	if b+1 > 16 {
		shared = t + pad - mod(t+pad, 16) // whole blocks of T || 0^pad
	}
	for off := 0; off < shared; off += 16 {
		for j := 0; j < 16; j++ {
			blk[j] = state[j] ^ qByte(tweak, off+j)
		}
		c.block.Encrypt(state[:], blk[:])
	}

	if v <= c.fastV && !c.forceBig {
		c.fastRounds(sc, x, u, v, b, d, tweak, shared, encrypt)
		return
	}
	c.bigRounds(sc, x, u, v, b, d, tweak, shared, qLen, encrypt)
}

// scratch holds the blocks of one call.
type scratch struct {
	p, state, blk, r, last [16]byte
	num                    [64]byte
}

// qByte is byte j of T || 0^pad, for j within it.
func qByte(tweak []byte, j int) byte {
	if j < len(tweak) {
		return tweak[j]
	}
	return 0
}

func mod(a, m int) int {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

func pow(r uint64, e int) uint64 {
	p := uint64(1)
	for range e {
		p *= r
	}
	return p
}

// fastRounds runs the ten Feistel rounds with NUM_radix of each half in a
// uint64 (radix^v < 2^63) and b+1 <= 16, so that each round's PRF is one
// AES block over the precomputed state and y needs at most 128 bits.
func (c *Cipher) fastRounds(sc *scratch, x []byte, u, v, b, d int, tweak []byte, shared int, encrypt bool) {
	state, last, blk, r := &sc.state, &sc.last, &sc.blk, &sc.r
	radix := uint64(c.radix)
	a, bb := numRadix(x[:u], radix), numRadix(x[u:], radix)
	ru, rv := pow(radix, u), pow(radix, v)
	// The last block: the end of T || 0^pad, then [i] and [NUM(B)]_b.
	for j := 0; j < 15-b; j++ {
		last[j] = qByte(tweak, shared+j)
	}
	for k := range 10 {
		i := k
		if !encrypt {
			i = 9 - k
		}
		// The PRF input is NUM(B) on encrypt and NUM(A) on decrypt.
		in := bb
		if !encrypt {
			in = a
		}
		last[15-b] = byte(i)
		for j := 0; j < b; j++ {
			last[15-j] = byte(in >> (8 * j))
		}
		for j := range 16 {
			blk[j] = state[j] ^ last[j]
		}
		c.block.Encrypt(r[:], blk[:])
		// S is the first d bytes of R || CIPH(R xor [1]) || ...; d <= 12
		// here, so S is a prefix of R.
		var hi, lo uint64
		if d > 8 {
			hi = uint64(binary.BigEndian.Uint32(r[:4]))
			lo = binary.BigEndian.Uint64(r[4:12])
		} else {
			lo = binary.BigEndian.Uint64(r[:8])
		}
		m := rv
		if i%2 == 0 {
			m = ru
		}
		y := bits.Rem64(hi, lo, m)
		if encrypt {
			cc := a + y // both < m < 2^63
			if cc >= m {
				cc -= m
			}
			a, bb = bb, cc
		} else {
			var cc uint64
			if bb >= y {
				cc = bb - y
			} else {
				cc = bb + (m - y)
			}
			a, bb = cc, a
		}
	}
	strRadix(x[:u], a, radix)
	strRadix(x[u:], bb, radix)
}

func numRadix(x []byte, radix uint64) uint64 {
	var n uint64
	for _, d := range x {
		n = n*radix + uint64(d)
	}
	return n
}

// strRadix writes n as len(x) numerals of radix, most significant first.
func strRadix(x []byte, n, radix uint64) {
	for i := len(x) - 1; i >= 0; i-- {
		x[i] = byte(n % radix)
		n /= radix
	}
}

// bigRounds is the general case, with math/big.
func (c *Cipher) bigRounds(sc *scratch, x []byte, u, v, b, d int, tweak []byte, shared, qLen int, encrypt bool) {
	state, blk, r := &sc.state, &sc.blk, &sc.r
	radix := big.NewInt(int64(c.radix))
	a, bb := numRadixBig(x[:u], radix), numRadixBig(x[u:], radix)
	ru := new(big.Int).Exp(radix, big.NewInt(int64(u)), nil)
	rv := new(big.Int).Exp(radix, big.NewInt(int64(v)), nil)
	q := make([]byte, qLen-shared)
	for j := 0; j < len(q)-1-b; j++ {
		q[j] = qByte(tweak, shared+j)
	}
	s := make([]byte, ((d+15)/16)*16)
	numBuf := make([]byte, b)
	y, cc := new(big.Int), new(big.Int)
	for k := range 10 {
		i := k
		if !encrypt {
			i = 9 - k
		}
		in := bb
		if !encrypt {
			in = a
		}
		q[len(q)-1-b] = byte(i)
		in.FillBytes(numBuf)
		copy(q[len(q)-b:], numBuf)
		*r = *state
		for off := 0; off < len(q); off += 16 {
			for j := range 16 {
				blk[j] = r[j] ^ q[off+j]
			}
			c.block.Encrypt(r[:], blk[:])
		}
		copy(s, r[:])
		for j := 1; j*16 < d; j++ {
			for l := range 16 {
				blk[l] = r[l]
			}
			binary.BigEndian.PutUint64(blk[8:], binary.BigEndian.Uint64(r[8:])^uint64(j))
			c.block.Encrypt(s[16*j:], blk[:])
		}
		y.SetBytes(s[:d])
		m := rv
		if i%2 == 0 {
			m = ru
		}
		if encrypt {
			cc.Add(a, y)
			cc.Mod(cc, m)
			a, bb, cc = bb, cc, a
		} else {
			cc.Sub(bb, y)
			cc.Mod(cc, m) // Mod is Euclidean: the result is not negative
			a, bb, cc = cc, a, bb
		}
	}
	strRadixBig(x[:u], a, radix)
	strRadixBig(x[u:], bb, radix)
}

func numRadixBig(x []byte, radix *big.Int) *big.Int {
	n := new(big.Int)
	var dd big.Int
	for _, d := range x {
		n.Mul(n, radix)
		n.Add(n, dd.SetUint64(uint64(d)))
	}
	return n
}

func strRadixBig(x []byte, n *big.Int, radix *big.Int) {
	n = new(big.Int).Set(n)
	var r big.Int
	for i := len(x) - 1; i >= 0; i-- {
		n.QuoRem(n, radix, &r)
		x[i] = byte(r.Uint64())
	}
}
