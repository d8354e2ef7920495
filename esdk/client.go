package esdk

import (
	"errors"
	"fmt"
	"maps"
	"unicode/utf8"
)

// Defaults and limits of a [Client].
const (
	// DefaultMaxEncryptedDataKeys is the default limit on the encrypted data
	// keys of a message, both written and read. Every encrypted data key of a
	// hostile message can cost a keyring attempt (an RSA decryption, a KMS
	// call), so the limit is low; a message written under one to ten keys
	// passes.
	DefaultMaxEncryptedDataKeys = 10

	// NoMaxEncryptedDataKeys given to [WithMaxEncryptedDataKeys] lifts the
	// limit to what the format allows (65535).
	NoMaxEncryptedDataKeys = 0xFFFF

	// DefaultFrameLength is the default frame length in bytes, as in every
	// AWS Encryption SDK.
	DefaultFrameLength = 4096

	// MaxFrameLength is the largest frame length Encrypt accepts (the limit
	// of the Python SDK, so that every SDK can read the messages).
	MaxFrameLength = 1<<31 - 1
)

// Client encrypts and decrypts AWS Encryption SDK messages. Build it once
// with [NewClient] and share it: it is immutable and safe for concurrent
// use.
type Client struct {
	policy  CommitmentPolicy
	maxEDKs int
}

// An Option configures a [Client] in [NewClient].
type Option interface {
	applyClient(*clientConfig) error
}

type clientConfig struct {
	Client
	policySet, maxSet bool
}

type clientOption func(*clientConfig) error

func (f clientOption) applyClient(c *clientConfig) error { return f(c) }

// WithCommitmentPolicy sets the commitment policy. The default,
// [RequireEncryptRequireDecrypt], is right for everyone who does not need to
// read messages of legacy suites.
func WithCommitmentPolicy(p CommitmentPolicy) Option {
	return clientOption(func(c *clientConfig) error {
		if !p.valid() {
			return fmt.Errorf("esdk: WithCommitmentPolicy: invalid policy %v", p)
		}
		if c.policySet {
			return errors.New("esdk: WithCommitmentPolicy given twice")
		}
		c.policy, c.policySet = p, true
		return nil
	})
}

// WithMaxEncryptedDataKeys limits the number of encrypted data keys a message
// may have: Encrypt fails for materials with more, and Decrypt refuses a
// message with more, with [ErrTooManyEncryptedDataKeys], before reading
// them. n is 1 to 65535; [NoMaxEncryptedDataKeys] (65535) means no limit
// beyond the format's. The default is [DefaultMaxEncryptedDataKeys].
func WithMaxEncryptedDataKeys(n int) Option {
	return clientOption(func(c *clientConfig) error {
		if n < 1 || n > NoMaxEncryptedDataKeys {
			return fmt.Errorf("esdk: WithMaxEncryptedDataKeys: %d is not between 1 and %d", n, NoMaxEncryptedDataKeys)
		}
		if c.maxSet {
			return errors.New("esdk: WithMaxEncryptedDataKeys given twice")
		}
		c.maxEDKs, c.maxSet = n, true
		return nil
	})
}

// NewClient returns a client configured by opts. Without options it uses the
// commitment policy [RequireEncryptRequireDecrypt] and
// [DefaultMaxEncryptedDataKeys].
func NewClient(opts ...Option) (*Client, error) {
	cfg := clientConfig{Client: Client{policy: RequireEncryptRequireDecrypt, maxEDKs: DefaultMaxEncryptedDataKeys}}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("esdk: NewClient: nil Option")
		}
		if err := o.applyClient(&cfg); err != nil {
			return nil, err
		}
	}
	c := cfg.Client
	return &c, nil
}

// CommitmentPolicy returns the client's commitment policy.
func (c *Client) CommitmentPolicy() CommitmentPolicy { return c.policy }

// MaxEncryptedDataKeys returns the client's limit on encrypted data keys.
func (c *Client) MaxEncryptedDataKeys() int { return c.maxEDKs }

// An EncryptOption configures one call to [Client.Encrypt].
type EncryptOption interface {
	applyEncrypt(*encryptConfig) error
}

type encryptConfig struct {
	ec       map[string]string
	ecSet    bool
	suite    Suite
	frameLen int
}

type encryptOption func(*encryptConfig) error

func (f encryptOption) applyEncrypt(c *encryptConfig) error { return f(c) }

// WithEncryptionContext binds ec to the message: it is stored in the header
// in the clear, authenticated, and bound to the encrypted data keys where
// their keyring allows. Keys starting with "aws-crypto-" are reserved;
// keys and values must be valid UTF-8. The caller keeps ownership of ec,
// which Encrypt does not modify.
func WithEncryptionContext(ec map[string]string) EncryptOption {
	return encryptOption(func(c *encryptConfig) error {
		if c.ecSet {
			return errors.New("esdk: WithEncryptionContext given twice")
		}
		if err := checkReservedKeys(ec); err != nil {
			return err
		}
		for k, v := range ec {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return errors.New("esdk: WithEncryptionContext: keys and values must be valid UTF-8")
			}
		}
		c.ec, c.ecSet = ec, true
		return nil
	})
}

// WithSuite sets the algorithm suite: [AES256GCMHKDFSHA512CommitKeyECDSAP384]
// (the default) or [AES256GCMHKDFSHA512CommitKey]. The DB-ESDK suites are
// refused: they are for DynamoDB items (package dbesdk), not messages.
func WithSuite(s Suite) EncryptOption {
	return encryptOption(func(c *encryptConfig) error {
		if !s.Committing() || s.DBE() {
			return fmt.Errorf("esdk: WithSuite: %v cannot encrypt messages: use %v or %v", s,
				AES256GCMHKDFSHA512CommitKeyECDSAP384, AES256GCMHKDFSHA512CommitKey)
		}
		if c.suite != 0 {
			return errors.New("esdk: WithSuite given twice")
		}
		c.suite = s
		return nil
	})
}

// WithFrameLength sets the frame length in bytes (1 to [MaxFrameLength];
// default [DefaultFrameLength]). The plaintext is encrypted in frames of this
// size, each with its own authentication tag.
func WithFrameLength(n int) EncryptOption {
	return encryptOption(func(c *encryptConfig) error {
		if n < 1 || n > MaxFrameLength {
			return fmt.Errorf("esdk: WithFrameLength: %d is not between 1 and %d", n, MaxFrameLength)
		}
		c.frameLen = n
		return nil
	})
}

// A DecryptOption configures one call to [Client.Decrypt].
type DecryptOption interface {
	applyDecrypt(*decryptConfig) error
}

type decryptConfig struct {
	reproduced  map[string]string
	expected    map[string]string
	expectedSet bool
}

type decryptOption func(*decryptConfig) error

func (f decryptOption) applyDecrypt(c *decryptConfig) error { return f(c) }

// WithReproducedContext supplies the encryption context the caller expects,
// with the AWS Encryption SDK's semantics: every key present both in ec and
// in the message must have the same value (else [*ContextMismatchError]), and
// pairs of ec that the message does not store are authenticated with its
// header, which is how messages written with required context keys (see
// [NewRequiredContextCMM]) decrypt. Pairs the message stores but ec lacks
// are accepted: for an exact match use [WithExpectedContext].
func WithReproducedContext(ec map[string]string) DecryptOption {
	return decryptOption(func(c *decryptConfig) error {
		if c.reproduced != nil {
			return errors.New("esdk: WithReproducedContext given twice")
		}
		c.reproduced = maps.Clone(ec)
		if c.reproduced == nil {
			c.reproduced = map[string]string{}
		}
		return nil
	})
}

// WithExpectedContext requires the encryption context stored in the message,
// ignoring the SDK's own aws-crypto-public-key, to equal ec exactly (the
// semantics of Powertools' data masking). Otherwise Decrypt fails with
// [*ContextMismatchError] right after parsing the header, before any
// materials manager, keyring or key service is called. A nil or empty ec
// requires a message without context.
func WithExpectedContext(ec map[string]string) DecryptOption {
	return decryptOption(func(c *decryptConfig) error {
		if c.expectedSet {
			return errors.New("esdk: WithExpectedContext given twice")
		}
		c.expected, c.expectedSet = ec, true
		return nil
	})
}
