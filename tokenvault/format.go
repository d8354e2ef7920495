package tokenvault

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/datamask/datamask/ff1"
)

// shape is what a preserve or ff1 policy makes of a value: which positions
// the token replaces.
type shape struct {
	free  []int   // positions of the letters and digits that change
	log10 float64 // log10 of the number of distinct tokens
}

// analyze checks value (or a token, which has the same shape) against a
// preserve or ff1 policy and finds its free positions. Errors are reasons
// for a ValueError; they give positions and classes, never characters.
func (p *Policy) analyze(value string) (shape, string) {
	s := p.spec
	if value == "" {
		return shape{}, "the value is empty"
	}
	if len(value) > MaxShapedLength {
		return shape{}, fmt.Sprintf("the value is %d bytes, more than %d", len(value), MaxShapedLength)
	}
	body := len(value)
	if s.KeepFrom != "" {
		i := strings.LastIndex(value, s.KeepFrom)
		if i < 0 {
			return shape{}, fmt.Sprintf("the value has no %s, which keep_from needs", strconv.Quote(s.KeepFrom))
		}
		body = i
	}
	var alnum []int
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c < 0x20 || c > 0x7e:
			return shape{}, fmt.Sprintf("the character at byte %d is not printable ASCII", i)
		case isDigit(c):
		case isLower(c) || isUpper(c):
			if s.Charset == CharsetDigits {
				return shape{}, fmt.Sprintf("the character at byte %d is a letter; the policy takes digits and separators", i)
			}
		default:
			continue
		}
		if i < body {
			alnum = append(alnum, i)
		}
	}
	first, last := s.KeepFirst, s.KeepLast
	if first+last >= len(alnum) {
		return shape{}, fmt.Sprintf("the value has %d letters and digits, and the policy keeps %d of them: nothing would change", len(alnum), first+last)
	}
	sh := shape{free: alnum[first : len(alnum)-last]}
	if s.Format == FormatFF1 {
		radix := 10.0
		if s.Charset == CharsetAlphanumeric {
			radix = 62
		}
		sh.log10 = float64(len(sh.free)) * math.Log10(radix)
		return sh, ""
	}
	for _, i := range sh.free {
		if isDigit(value[i]) {
			sh.log10++
		} else {
			sh.log10 += math.Log10(26)
		}
	}
	if s.Luhn != "" {
		sh.log10--
	}
	if sh.log10 < math.Log10(MinTokenSpace)-1e-9 {
		return shape{}, fmt.Sprintf("its %d changing letters and digits allow fewer than %d tokens (keep fewer characters, or use another format)", len(sh.free), MinTokenSpace)
	}
	return sh, ""
}

// checkValue refuses a value the policy cannot tokenize.
func (p *Policy) checkValue(value string) error {
	switch p.spec.Format {
	case FormatPreserve, FormatFF1:
		sh, reason := p.analyze(value)
		if reason != "" {
			return &ValueError{Policy: p.name, Reason: reason}
		}
		if p.spec.Format == FormatFF1 && sh.log10 < 6-1e-9 {
			return &ValueError{Policy: p.name, Reason: fmt.Sprintf("its %d changing letters and digits are too few for FF1, whose domain must be at least 1,000,000", len(sh.free))}
		}
		return nil
	}
	if value == "" {
		return &ValueError{Policy: p.name, Reason: "the value is empty"}
	}
	if len(value) > MaxValueLength {
		return &ValueError{Policy: p.name, Reason: fmt.Sprintf("the value is %d bytes, more than %d", len(value), MaxValueLength)}
	}
	return nil
}

// randomToken returns a new token of a stored policy for value, which
// checkValue accepted.
func (p *Policy) randomToken(value string) (string, error) {
	switch p.spec.Format {
	case FormatRandom:
		n := p.spec.Bits / 8
		var buf [32]byte
		if _, err := rand.Read(buf[:n]); err != nil {
			return "", fmt.Errorf("tokenvault: random source: %v", err)
		}
		return p.spec.Prefix + base64.RawURLEncoding.EncodeToString(buf[:n]), nil
	case FormatUUID:
		var u [16]byte
		if _, err := rand.Read(u[:]); err != nil {
			return "", fmt.Errorf("tokenvault: random source: %v", err)
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		var out [36]byte
		hex.Encode(out[0:8], u[0:4])
		out[8] = '-'
		hex.Encode(out[9:13], u[4:6])
		out[13] = '-'
		hex.Encode(out[14:18], u[6:8])
		out[18] = '-'
		hex.Encode(out[19:23], u[8:10])
		out[23] = '-'
		hex.Encode(out[24:], u[10:])
		return string(out[:]), nil
	case FormatPreserve:
		return p.preserveToken(value)
	}
	return "", errors.New("tokenvault: internal error: no random token for format " + p.spec.Format)
}

// randBytes hands out random bytes from a buffer refilled from crypto/rand.
type randBytes struct {
	buf [128]byte
	n   int
}

func (r *randBytes) next() (byte, error) {
	if r.n == 0 {
		if _, err := rand.Read(r.buf[:]); err != nil {
			return 0, fmt.Errorf("tokenvault: random source: %v", err)
		}
		r.n = len(r.buf)
	}
	r.n--
	return r.buf[r.n], nil
}

// uniform returns a uniformly random number below m (m <= 26) by rejection.
func (r *randBytes) uniform(m int) (int, error) {
	limit := 256 - 256%m
	for {
		b, err := r.next()
		if err != nil {
			return 0, err
		}
		if int(b) < limit {
			return int(b) % m, nil
		}
	}
}

func (p *Policy) preserveToken(value string) (string, error) {
	sh, reason := p.analyze(value)
	if reason != "" {
		return "", &ValueError{Policy: p.name, Reason: reason}
	}
	var r randBytes
	b := []byte(value)
	for range 64 {
		for _, i := range sh.free {
			c := value[i]
			var base byte
			m := 10
			switch {
			case isDigit(c):
				base = '0'
			case isLower(c):
				base, m = 'a', 26
			default:
				base, m = 'A', 26
			}
			d, err := r.uniform(m)
			if err != nil {
				return "", err
			}
			b[i] = base + byte(d)
		}
		if p.spec.Luhn != "" {
			if err := p.fixLuhn(b, sh.free, &r); err != nil {
				return "", err
			}
		}
		if string(b) != value {
			return string(b), nil
		}
	}
	// With at least MinTokenSpace tokens, 64 draws all equal to the value
	// mean a broken random source.
	return "", errors.New("tokenvault: random source gives the same token again and again")
}

// luhnDigit is a digit's contribution to the Luhn sum.
func luhnDigit(d int, doubled bool) int {
	if !doubled {
		return d
	}
	d *= 2
	if d > 9 {
		d -= 9
	}
	return d
}

// luhnSum returns the Luhn sum of the digits of b, skipping position skip.
func luhnSum(b []byte, skip int) (sum int, skipDoubled bool) {
	k := 0 // digit index from the right
	for i := len(b) - 1; i >= 0; i-- {
		if !isDigit(b[i]) {
			continue
		}
		doubled := k%2 == 1
		if i == skip {
			skipDoubled = doubled
		} else {
			sum += luhnDigit(int(b[i]-'0'), doubled)
		}
		k++
	}
	return sum, skipDoubled
}

// luhnValid reports whether the digits of s pass the Luhn check.
func luhnValid(s string) bool {
	sum, _ := luhnSum([]byte(s), -1)
	return sum%10 == 0
}

// fixLuhn sets the last free digit so that the token passes (LuhnValid) or
// fails (LuhnInvalid) the Luhn check.
func (p *Policy) fixLuhn(b []byte, free []int, r *randBytes) error {
	j := free[len(free)-1]
	sum, doubled := luhnSum(b, j)
	var want []int // digits d for which the check has the wanted result
	for d := range 10 {
		ok := (sum+luhnDigit(d, doubled))%10 == 0
		if ok == (p.spec.Luhn == LuhnValid) {
			want = append(want, d)
		}
	}
	k, err := r.uniform(len(want))
	if err != nil {
		return err
	}
	b[j] = '0' + byte(want[k])
	return nil
}

// checkToken refuses a string that no token of the policy looks like.
func (p *Policy) checkToken(token string) error {
	s := p.spec
	switch s.Format {
	case FormatRandom:
		rest, ok := strings.CutPrefix(token, s.Prefix)
		if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(s.Bits/8) {
			return ErrInvalidToken
		}
		for i := 0; i < len(rest); i++ {
			c := rest[i]
			if !(isDigit(c) || isLower(c) || isUpper(c) || c == '-' || c == '_') {
				return ErrInvalidToken
			}
		}
		return nil
	case FormatUUID:
		if len(token) != 36 || token[14] != '4' || !strings.ContainsRune("89ab", rune(token[19])) {
			return ErrInvalidToken
		}
		for i := 0; i < 36; i++ {
			c := token[i]
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if c != '-' {
					return ErrInvalidToken
				}
			} else if !isDigit(c) && !(c >= 'a' && c <= 'f') {
				return ErrInvalidToken
			}
		}
		return nil
	}
	if err := p.checkValue(token); err != nil {
		return ErrInvalidToken
	}
	if s.Luhn != "" && luhnValid(token) != (s.Luhn == LuhnValid) {
		return ErrInvalidToken
	}
	return nil
}

// ff1Alphabet is the alphabet of a ff1 policy's charset.
func ff1Alphabet(charset string) string {
	if charset == CharsetDigits {
		return ff1.DefaultAlphabet[:10]
	}
	return ff1.DefaultAlphabet
}

// ff1Tweak binds a token to its tenant, its policy and the characters that
// stay in clear (separators and kept ones, with their places).
func ff1Tweak(tenant, policy, value string, free []int) []byte {
	h := sha256.New()
	h.Write([]byte("datamask tokenvault ff1 tweak v1\x00"))
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(policy))
	h.Write([]byte{0})
	template := []byte(value)
	for _, i := range free {
		template[i] = 0
	}
	h.Write(template)
	return h.Sum(nil)[:16]
}

// ff1Crypt encrypts (or decrypts) the free characters of x, which
// checkValue accepted.
func (p *Policy) ff1Crypt(c *ff1.Cipher, tenant, x string, encrypt bool) (string, error) {
	sh, reason := p.analyze(x)
	if reason != "" {
		return "", &ValueError{Policy: p.name, Reason: reason}
	}
	num := make([]byte, len(sh.free))
	for k, i := range sh.free {
		num[k] = x[i]
	}
	tweak := ff1Tweak(tenant, p.name, x, sh.free)
	op := c.Decrypt
	if encrypt {
		op = c.Encrypt
	}
	out, err := op(string(num), tweak)
	if err != nil {
		return "", &ValueError{Policy: p.name, Reason: strings.TrimPrefix(err.Error(), "ff1: invalid input: ")}
	}
	b := []byte(x)
	for k, i := range sh.free {
		b[i] = out[k]
	}
	return string(b), nil
}
