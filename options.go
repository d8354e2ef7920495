package datamask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Provider encrypts and decrypts bytes under an encryption context. It is the
// seam for encryption back ends: the AWS Encryption SDK provider of package
// esdk (local AES keys, or AWS KMS keys through package awskms) implements
// it, and so can your own.
//
// Encrypt returns a binary message; [DataMasker] stores it as standard base64
// in a JSON string. Decrypt must check that the message was encrypted under
// exactly encryptionContext before using any key, returning
// [*ContextMismatchError] otherwise, and return [ErrDecryptValue] (wrapped or
// not) for a malformed or tampered message and [*DecryptKeyError] when no key
// can decrypt it. Encrypt should return [*EncryptKeyError] when it cannot
// get a data key.
//
// Implementations must be safe for concurrent use (DataMasker calls them
// from several goroutines), must not modify or keep plaintext, ciphertext
// or encryptionContext after returning, and return slices of their own.
type Provider interface {
	Encrypt(ctx context.Context, plaintext []byte, encryptionContext map[string]string) ([]byte, error)
	Decrypt(ctx context.Context, ciphertext []byte, encryptionContext map[string]string) ([]byte, error)
}

// An Option configures a [DataMasker] in [New].
type Option interface {
	applyMasker(*DataMasker) error
}

type maskerOption func(*DataMasker) error

func (f maskerOption) applyMasker(m *DataMasker) error { return f(m) }

// WithProvider sets the encryption provider used by Encrypt and Decrypt.
// Erase needs none.
func WithProvider(p Provider) Option {
	return maskerOption(func(m *DataMasker) error {
		if p == nil {
			return errors.New("datamask: WithProvider: provider is nil")
		}
		if m.provider != nil {
			return errors.New("datamask: WithProvider given twice")
		}
		m.provider = p
		return nil
	})
}

// WithJSONCodec replaces encoding/json for the Go-value methods (EraseValue,
// EncryptValue, DecryptValue): marshal turns a value into JSON text and
// unmarshal fills a value from JSON text. It is the counterpart of
// Powertools' json_serializer and json_deserializer. Methods that take JSON
// text never call them.
func WithJSONCodec(marshal func(any) ([]byte, error), unmarshal func([]byte, any) error) Option {
	return maskerOption(func(m *DataMasker) error {
		if marshal == nil || unmarshal == nil {
			return errors.New("datamask: WithJSONCodec: marshal and unmarshal must both be set")
		}
		if m.codecSet {
			return errors.New("datamask: WithJSONCodec given twice")
		}
		m.marshal, m.unmarshal, m.codecSet = marshal, unmarshal, true
		return nil
	})
}

// A CallOption configures one call to Erase, Encrypt, Decrypt, Tokenize or
// Detokenize. Options
// that do not apply to the operation, or that conflict with each other, make
// the call fail with an error that says which.
type CallOption interface {
	applyCall(*callConfig) error
}

type callOption func(*callConfig) error

func (f callOption) applyCall(c *callConfig) error { return f(c) }

// callConfig is the validated set of per-call options.
type callConfig struct {
	fields       []string
	fieldsSet    bool
	mask         *MaskRule // the global mask, nil for the default "*****"
	maskFrom     string    // the option that set mask, for conflict messages
	rules        map[string]MaskRule
	allowMissing bool
	missing      *[]string
	context      map[string]string
	contextSet   bool
	bind         bool          // BindFields
	contextFrom  []contextFrom // ContextFrom pairs
	canon        []string      // with bind: the canonical text of each field
	tokens       bool          // TokenFields or Tenant given
	policies     []string      // TokenFields: the policy of each field
	tenant       string        // Tenant
	tenantSet    bool
}

// Fields selects the values to act on with JSONPath expressions: RFC 9535
// ("$.customers[*].ssn") or the Powertools (jsonpath-ng) dialect
// ("customers[*].ssn", "address.'1'", "[?(@.age > 18)]", "=~" regex
// filters). Without Fields the whole document is the value.
func Fields(expressions ...string) CallOption {
	return callOption(func(c *callConfig) error {
		if len(expressions) == 0 {
			return errors.New("datamask: Fields: no expression given (omit Fields to act on the whole document)")
		}
		c.fields = append(c.fields, expressions...)
		c.fieldsSet = true
		return nil
	})
}

// CustomMask erases with mask instead of "*****". The mask is used as given,
// whatever the length of the value it replaces. An empty mask is refused
// (the call fails) rather than read as the default: omit CustomMask for
// "*****".
func CustomMask(mask string) CallOption {
	if mask == "" {
		return callOption(func(*callConfig) error {
			return errors.New(`datamask: CustomMask: the mask is empty: give the text that replaces each value, or omit CustomMask for the default "*****"`)
		})
	}
	return setMask("CustomMask", MaskRule{CustomMask: mask})
}

// DynamicMask erases each character with '*', keeping '-', '_', '.' and
// spaces, so the shape of the value stays visible ("123-45-6789" becomes
// "***-**-****"). Numbers and booleans are masked through their JSON text.
func DynamicMask() CallOption {
	return setMask("DynamicMask", MaskRule{DynamicMask: true})
}

// RegexMask replaces each match of pattern (RE2 syntax) in the value's text
// with format. In format, ${1} or $1 names a group; Python's \1 is accepted
// as ${1}. A pattern that RE2 cannot compile makes the call fail.
func RegexMask(pattern, format string) CallOption {
	return setMask("RegexMask", MaskRule{RegexPattern: pattern, MaskFormat: format})
}

func setMask(name string, r MaskRule) CallOption {
	return callOption(func(c *callConfig) error {
		if c.mask != nil {
			return fmt.Errorf("datamask: %s conflicts with %s: choose one mask", name, c.maskFrom)
		}
		c.mask, c.maskFrom = &r, name
		return nil
	})
}

// MaskRule says how to erase the values one expression selects. Its JSON
// names are those of Powertools' masking_rules. At most one way of masking
// may be set; with none, values become "*****".
type MaskRule struct {
	CustomMask   string `json:"custom_mask,omitempty"`
	DynamicMask  bool   `json:"dynamic_mask,omitempty"`
	RegexPattern string `json:"regex_pattern,omitempty"`
	MaskFormat   string `json:"mask_format,omitempty"`
}

// MaskingRules erases each expression's matches with its own rule. It
// replaces Fields and the global mask options, and cannot be combined with
// them. Selected objects and arrays are masked leaf by leaf, whatever the
// rule. Two rules that select the same value with different rules are an
// error; a value inside another rule's match is covered by that rule.
func MaskingRules(rules map[string]MaskRule) CallOption {
	return callOption(func(c *callConfig) error {
		if len(rules) == 0 {
			return errors.New("datamask: MaskingRules: no rule given")
		}
		if c.rules != nil {
			return errors.New("datamask: MaskingRules given twice")
		}
		c.rules = rules
		return nil
	})
}

// AllowMissingFields lets expressions that select nothing pass instead of
// failing with [*FieldNotFoundError]. If missing is not nil, those
// expressions are appended to it, in the order given ([MaskingRules]: in
// sorted order of the expressions). An expression whose match lies inside
// another expression's match counts as matched.
func AllowMissingFields(missing *[]string) CallOption {
	return callOption(func(c *callConfig) error {
		c.allowMissing, c.missing = true, missing
		return nil
	})
}

// EncryptionContext binds non-secret key-value pairs to encrypted messages.
// Decrypt must be given exactly the same pairs. Empty keys, and keys
// starting with "aws-crypto-" (reserved by the AWS Encryption SDK), are
// refused. An AWS Encryption SDK message holds at most 65,535 bytes of
// serialized context (2 bytes, then 4 bytes plus the key and value of each
// pair; a signed suite adds a pair of 93 bytes): Encrypt refuses a larger
// one before any key is used.
func EncryptionContext(ec map[string]string) CallOption {
	return callOption(func(c *callConfig) error {
		if c.contextSet {
			return errors.New("datamask: EncryptionContext given twice")
		}
		c.context, c.contextSet = ec, true
		return nil
	})
}

// jsonMarshal and jsonUnmarshal are the default codec of the Go-value methods.
func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
