package tokenvault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Token formats: the values of [PolicySpec.Format].
const (
	// FormatRandom: Prefix followed by Bits random bits (at least 128) in
	// unpadded base64url, such as "tok_3q2-7wEAAAAAAAAAAAAAAA". Any value
	// is accepted.
	FormatRandom = "random"
	// FormatUUID: a random UUID, version 4 ("9b2e4c1a-...-..."), as AWS's
	// serverless tokenization sample issues. Any value is accepted.
	FormatUUID = "uuid"
	// FormatPreserve: a random token of the value's length and shape:
	// each digit becomes a random digit, each lowercase letter a random
	// lowercase letter, each uppercase letter a random uppercase letter,
	// and other printable ASCII characters (separators) are kept
	// ("123-45-6789" may become "830-46-6789" with KeepLast 4). The value
	// must be printable ASCII.
	FormatPreserve = "preserve"
	// FormatFF1: vaultless: the token is the FF1 encryption (NIST SP
	// 800-38G Rev. 1) of the value's digits (Charset "digits") or letters
	// and digits ("alphanumeric"), separators kept, under a key derived
	// from the vault's key and a tweak per tenant and policy. Nothing is
	// stored: such tokens cannot be deleted, forgotten or expired one by
	// one, and they are deterministic (equal values, equal tokens). The key
	// is derived from the vault's key and the policy's name: renaming the
	// policy, or another vault, gives other tokens.
	FormatFF1 = "ff1"
)

// Character sets of [PolicySpec.Charset].
const (
	// CharsetDigits: the value's characters are digits and separators.
	CharsetDigits = "digits"
	// CharsetAlphanumeric: ASCII letters and digits, and separators.
	CharsetAlphanumeric = "alphanumeric"
)

// Luhn settings of [PolicySpec.Luhn], for card numbers.
const (
	// LuhnValid: tokens pass the Luhn check, so that systems validating
	// card numbers accept them.
	LuhnValid = "valid"
	// LuhnInvalid: tokens fail the Luhn check, so that a token can never
	// be taken for a card number.
	LuhnInvalid = "invalid"
)

// Limits of names, values and policies.
const (
	// MaxValueLength is the longest value, in bytes, of the random and UUID
	// formats.
	MaxValueLength = 64 << 10
	// MaxShapedLength is the longest value, in bytes, of the preserve and
	// ff1 formats.
	MaxShapedLength = 4096
	// MinTokenSpace is the fewest distinct tokens a preserve value must
	// allow: a value with fewer is refused rather than given a token
	// that is easy to guess or to collide.
	MinTokenSpace = 10_000
	maxNameLength = 64
	maxTenantLen  = 256
)

// PolicySpec describes a policy: its token format and options. Its JSON
// form is what a policies file holds (see [ParsePolicies]).
type PolicySpec struct {
	// Format is FormatRandom, FormatUUID, FormatPreserve or FormatFF1.
	Format string `json:"format"`
	// Prefix starts every token of FormatRandom (default "tok_"; at most
	// 16 printable ASCII characters).
	Prefix string `json:"prefix,omitempty"`
	// Bits is the random bits of a FormatRandom token: 128 (the default)
	// to 256, a multiple of 8.
	Bits int `json:"bits,omitempty"`
	// Charset is CharsetDigits or CharsetAlphanumeric (the default) for
	// FormatPreserve and FormatFF1: a value with a letter under
	// CharsetDigits is refused.
	Charset string `json:"charset,omitempty"`
	// KeepFirst and KeepLast keep that many of the value's first and last
	// letters and digits (separators are not counted) in the token, for
	// FormatPreserve and FormatFF1.
	KeepFirst int `json:"keep_first,omitempty"`
	KeepLast  int `json:"keep_last,omitempty"`
	// KeepFrom keeps the value from the last occurrence of this string
	// on ("@" keeps an email's domain), for FormatPreserve; a value
	// without it is refused.
	KeepFrom string `json:"keep_from,omitempty"`
	// Luhn is LuhnValid or LuhnInvalid (FormatPreserve with CharsetDigits
	// only): the token's digits pass or fail the Luhn check. "" leaves the
	// check digit random.
	Luhn string `json:"luhn,omitempty"`
	// Convergent makes the vault give the same value the same token in a
	// tenant, through a keyed fingerprint stored beside the record. It
	// reveals which records share a value to whoever reads the store, and
	// a token reveals that two events concern the same value: use it only
	// where joins on the token are needed. Not for FormatFF1, which is
	// deterministic already. The fingerprint key is derived from the
	// vault's key and the policy's name.
	Convergent bool `json:"convergent,omitempty"`
	// TTL, if not zero, is how long each token lives (at least a second);
	// [WithTTL] overrides it per call. Not for FormatFF1. In JSON it is a
	// Go duration string such as "720h".
	TTL time.Duration `json:"-"`
}

// Policy is a named, validated token format with its options. Build it
// with [NewPolicy], [ParsePolicies] or [BuiltinPolicies]; it is immutable.
type Policy struct {
	name string
	spec PolicySpec
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.name }

// Spec returns the policy's format and options, defaults filled in.
func (p *Policy) Spec() PolicySpec { return p.spec }

// stored reports whether the policy's tokens have records.
func (p *Policy) stored() bool { return p.spec.Format != FormatFF1 }

// NewPolicy validates spec and returns the policy name. A name is 1 to 64
// ASCII letters, digits, '_', '-' and '.'.
func NewPolicy(name string, spec PolicySpec) (*Policy, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	fail := func(format string, args ...any) (*Policy, error) {
		return nil, fmt.Errorf("tokenvault: policy %s: %s", strconv.Quote(name), fmt.Sprintf(format, args...))
	}
	s := spec
	shaped := s.Format == FormatPreserve || s.Format == FormatFF1
	switch s.Format {
	case FormatRandom:
		if s.Prefix == "" {
			s.Prefix = "tok_"
		}
		if s.Bits == 0 {
			s.Bits = 128
		}
		if s.Bits < 128 || s.Bits > 256 || s.Bits%8 != 0 {
			return fail("bits %d is not a multiple of 8 from 128 to 256", s.Bits)
		}
		if len(s.Prefix) > 16 || !printable(s.Prefix) {
			return fail("prefix must be at most 16 printable ASCII characters")
		}
	case FormatUUID:
		if s.Prefix != "" || s.Bits != 0 {
			return fail("prefix and bits apply only to the random format")
		}
	case FormatPreserve, FormatFF1:
		if s.Prefix != "" || s.Bits != 0 {
			return fail("prefix and bits apply only to the random format")
		}
		if s.Charset == "" {
			s.Charset = CharsetAlphanumeric
		}
		if s.Charset != CharsetDigits && s.Charset != CharsetAlphanumeric {
			return fail("charset %q is not %q or %q", s.Charset, CharsetDigits, CharsetAlphanumeric)
		}
		if s.KeepFirst < 0 || s.KeepLast < 0 || s.KeepFirst > MaxShapedLength || s.KeepLast > MaxShapedLength {
			return fail("keep_first and keep_last must be between 0 and %d", MaxShapedLength)
		}
	case "":
		return fail("no format: give %q, %q, %q or %q", FormatRandom, FormatUUID, FormatPreserve, FormatFF1)
	default:
		return fail("unknown format %q: give %q, %q, %q or %q", s.Format, FormatRandom, FormatUUID, FormatPreserve, FormatFF1)
	}
	if !shaped && (s.Charset != "" || s.KeepFirst != 0 || s.KeepLast != 0) {
		return fail("charset, keep_first and keep_last apply only to the preserve and ff1 formats")
	}
	if s.KeepFrom != "" && (s.Format != FormatPreserve || len(s.KeepFrom) > 16 || !printable(s.KeepFrom)) {
		return fail("keep_from applies only to the preserve format and is at most 16 printable ASCII characters")
	}
	switch s.Luhn {
	case "":
	case LuhnValid, LuhnInvalid:
		if s.Format != FormatPreserve || s.Charset != CharsetDigits {
			return fail("luhn applies only to the preserve format with charset %q", CharsetDigits)
		}
		if s.KeepFrom != "" {
			return fail("luhn and keep_from cannot be combined")
		}
	default:
		return fail("luhn %q is not %q or %q", s.Luhn, LuhnValid, LuhnInvalid)
	}
	if s.Format == FormatFF1 {
		if s.Convergent {
			return fail("ff1 tokens are deterministic already: drop convergent")
		}
		if s.TTL != 0 {
			return fail("ff1 tokens are not stored, so they cannot expire: drop ttl")
		}
	}
	if s.TTL != 0 && s.TTL < time.Second {
		return fail("ttl %v is shorter than a second", s.TTL)
	}
	return &Policy{name: name, spec: s}, nil
}

func checkName(name string) error {
	if name == "" || len(name) > maxNameLength {
		return fmt.Errorf("tokenvault: policy name %s must be 1 to %d characters", strconv.Quote(name), maxNameLength)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isDigit(c) || isLower(c) || isUpper(c) || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("tokenvault: policy name %s may hold only ASCII letters, digits, '_', '-' and '.'", strconv.Quote(name))
		}
	}
	return nil
}

func checkTenant(tenant string) error {
	if tenant == "" || len(tenant) > maxTenantLen {
		return fmt.Errorf("tokenvault: tenant %s must be 1 to %d bytes", strconv.Quote(tenant), maxTenantLen)
	}
	for _, r := range tenant {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return fmt.Errorf("tokenvault: tenant %s holds a control character or invalid UTF-8", strconv.Quote(tenant))
		}
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// Names of the built-in policies.
const (
	// PolicyCard: card numbers; FormatPreserve, digits, the last 4 kept,
	// Luhn-invalid tokens ("4111-1111-1111-1111" becomes something like
	// "5293-0816-4472-1111", which no card network accepts).
	PolicyCard = "card"
	// PolicySSN: US Social Security numbers; FormatPreserve, digits, the
	// last 4 kept ("123-45-6789" becomes something like "830-46-6789").
	PolicySSN = "ssn"
	// PolicyEmail: email addresses; FormatPreserve with the domain kept
	// ("ana.silva@example.com" becomes something like
	// "qwe.rtyui@example.com").
	PolicyEmail = "email"
	// PolicyOpaque: anything; FormatRandom, "tok_" and 128 random bits.
	PolicyOpaque = "opaque"
)

// BuiltinPolicies returns the built-in policies: [PolicyCard],
// [PolicySSN], [PolicyEmail] and [PolicyOpaque]. None is convergent and
// none expires.
func BuiltinPolicies() []*Policy {
	specs := map[string]PolicySpec{
		PolicyCard:   {Format: FormatPreserve, Charset: CharsetDigits, KeepLast: 4, Luhn: LuhnInvalid},
		PolicySSN:    {Format: FormatPreserve, Charset: CharsetDigits, KeepLast: 4},
		PolicyEmail:  {Format: FormatPreserve, Charset: CharsetAlphanumeric, KeepFrom: "@"},
		PolicyOpaque: {Format: FormatRandom, Prefix: "tok_", Bits: 128},
	}
	var ps []*Policy
	for _, name := range []string{PolicyCard, PolicySSN, PolicyEmail, PolicyOpaque} {
		p, err := NewPolicy(name, specs[name])
		if err != nil {
			panic(err) // the built-in specs are valid
		}
		ps = append(ps, p)
	}
	return ps
}

// maxPoliciesFile bounds what ParsePolicies reads.
const maxPoliciesFile = 1 << 20

// ParsePolicies reads a policies file: a JSON object from policy name to
// its [PolicySpec] in JSON, with the TTL as a Go duration string:
//
//	{
//	  "card":     {"format": "preserve", "charset": "digits", "keep_last": 4, "luhn": "invalid"},
//	  "customer": {"format": "random", "prefix": "cus_", "convergent": true, "ttl": "8760h"},
//	  "account":  {"format": "ff1", "charset": "digits"}
//	}
//
// Unknown fields, duplicate names and names of the built-in policies are
// refused, and so is anything after the object. Errors name the policy and
// the field.
func ParsePolicies(data []byte) ([]*Policy, error) {
	if len(data) > maxPoliciesFile {
		return nil, fmt.Errorf("tokenvault: policies file is larger than %d bytes", maxPoliciesFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("tokenvault: policies file: not a JSON object of policy name to policy")
	}
	builtin := map[string]bool{PolicyCard: true, PolicySSN: true, PolicyEmail: true, PolicyOpaque: true}
	seen := map[string]bool{}
	var ps []*Policy
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("tokenvault: policies file: %v", jsonErr(err))
		}
		name := tok.(string) // object keys are strings
		if seen[name] {
			return nil, fmt.Errorf("tokenvault: policies file: policy %s given twice", strconv.Quote(name))
		}
		seen[name] = true
		if builtin[name] {
			return nil, fmt.Errorf("tokenvault: policies file: %s is a built-in policy: choose another name", strconv.Quote(name))
		}
		var raw struct {
			PolicySpec
			TTL string `json:"ttl,omitempty"`
		}
		var msg json.RawMessage
		if err := dec.Decode(&msg); err != nil {
			return nil, fmt.Errorf("tokenvault: policies file: policy %s: %v", strconv.Quote(name), jsonErr(err))
		}
		vd := json.NewDecoder(bytes.NewReader(msg))
		vd.DisallowUnknownFields()
		if err := vd.Decode(&raw); err != nil {
			return nil, fmt.Errorf("tokenvault: policies file: policy %s: %v", strconv.Quote(name), jsonErr(err))
		}
		spec := raw.PolicySpec
		if raw.TTL != "" {
			d, err := time.ParseDuration(raw.TTL)
			if err != nil {
				return nil, fmt.Errorf("tokenvault: policies file: policy %s: ttl %q is not a duration such as \"720h\"", strconv.Quote(name), raw.TTL)
			}
			if d <= 0 {
				return nil, fmt.Errorf("tokenvault: policies file: policy %s: ttl %q is not positive", strconv.Quote(name), raw.TTL)
			}
			spec.TTL = d
		}
		p, err := NewPolicy(name, spec)
		if err != nil {
			return nil, fmt.Errorf("tokenvault: policies file: %s", strings.TrimPrefix(err.Error(), "tokenvault: "))
		}
		ps = append(ps, p)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("tokenvault: policies file: %v", jsonErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("tokenvault: policies file: data after the JSON object")
	}
	return ps, nil
}

// jsonErr keeps the parts of encoding/json errors that say what is wrong,
// which quote field names and types, never values.
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at byte offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "field " + strconv.Quote(strings.TrimPrefix(te.Field, "PolicySpec.")) + " must be a JSON " + te.Type.String()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// policyNames lists names for messages.
func policyNames(m map[string]*Policy) string {
	names := slices.Sorted(maps.Keys(m))
	for i, n := range names {
		names[i] = strconv.Quote(n)
	}
	return strings.Join(names, ", ")
}
