// Package datamask protects sensitive data inside JSON payloads: it erases,
// encrypts and decrypts the fields you select with JSONPath.
//
// It is the Go counterpart of the Data Masking utility of Powertools for AWS
// Lambda (Python and TypeScript), and its encrypted values are AWS Encryption
// SDK messages that those tools, the JS ESDK and the official Go ESDK decrypt.
//
// # Erase
//
// [Erase] and [DataMasker.Erase] replace the values that JSONPath
// expressions select ([Fields]) with "*****", a fixed mask ([CustomMask]),
// a shape-keeping mask ([DynamicMask]), a regular expression ([RegexMask])
// or a rule per expression ([MaskingRules]). Expressions are RFC 9535
// JSONPath or the Powertools (jsonpath-ng) dialect: "$.customers[*].ssn"
// and "customers[*].ssn" select the same values. The document is indexed in
// one pass and only the selected values are rewritten: every other byte,
// number spelling and key order included, is kept.
//
// (The package documentation is completed with the features it describes.)
package datamask

import (
	"errors"
)

// DataMasker erases, encrypts and decrypts values in JSON documents. Build it
// with [New]; it is safe for concurrent use, and it keeps the expressions and
// regular expressions it has compiled, so reuse one DataMasker.
type DataMasker struct {
	provider  Provider
	marshal   func(any) ([]byte, error)
	unmarshal func([]byte, any) error
	cache     *compileCache // compiled expressions and masks; nil disables caching
}

// New returns a DataMasker configured by opts. Erase needs no option;
// Encrypt and Decrypt need [WithProvider].
func New(opts ...Option) (*DataMasker, error) {
	m := &DataMasker{marshal: jsonMarshal, unmarshal: jsonUnmarshal, cache: newCompileCache()}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("datamask: New: nil Option")
		}
		if err := o.applyMasker(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// newCallConfig applies opts for operation op ("erase", "encrypt" or
// "decrypt") and rejects options that do not apply to it.
func newCallConfig(op string, opts []CallOption) (*callConfig, error) {
	c := &callConfig{}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("datamask: " + op + ": nil CallOption")
		}
		if err := o.applyCall(c); err != nil {
			return nil, err
		}
	}
	switch op {
	case "erase":
		if c.contextSet {
			return nil, errors.New("datamask: erase: EncryptionContext applies only to Encrypt and Decrypt")
		}
		if c.rules != nil && (c.fieldsSet || c.mask != nil) {
			return nil, errors.New("datamask: erase: MaskingRules cannot be combined with Fields or a mask option: put every expression in the rules")
		}
	default:
		if c.mask != nil {
			return nil, errors.New("datamask: " + op + ": " + c.maskFrom + " applies only to Erase")
		}
		if c.rules != nil {
			return nil, errors.New("datamask: " + op + ": MaskingRules applies only to Erase")
		}
	}
	return c, nil
}
