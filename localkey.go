package datamask

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/datamask/datamask/esdk"
)

// The key namespace and key name of a local key's raw AES keyring when
// [WithKeyNamespace] and [WithKeyName] are not given. They are written in
// every encrypted data key (the namespace as its provider ID), and a reader
// must use the same ones: an AWS Encryption SDK reading datamask's messages
// builds its raw AES keyring with namespace "datamask" and name "default".
const (
	DefaultKeyNamespace = "datamask"
	DefaultKeyName      = "default"
)

// maxKeyFileSize bounds what ReadLocalKeyring reads: a 256-bit key is 44
// base64 characters.
const maxKeyFileSize = 1 << 10

// A LocalKeyOption configures the keyring of [NewLocalKeyring] and
// [ReadLocalKeyring].
type LocalKeyOption interface {
	applyLocalKey(*localKeyConfig) error
}

type localKeyConfig struct {
	namespace, name       string
	namespaceSet, nameSet bool
}

type localKeyOption func(*localKeyConfig) error

func (f localKeyOption) applyLocalKey(c *localKeyConfig) error { return f(c) }

// WithKeyNamespace sets the key namespace of the raw AES keyring (default
// [DefaultKeyNamespace]). It must not be empty nor "aws-kms".
func WithKeyNamespace(namespace string) LocalKeyOption {
	return localKeyOption(func(c *localKeyConfig) error {
		if c.namespaceSet {
			return errors.New("datamask: WithKeyNamespace given twice")
		}
		c.namespace, c.namespaceSet = namespace, true
		return nil
	})
}

// WithKeyName sets the key name of the raw AES keyring (default
// [DefaultKeyName]). It must not be empty.
func WithKeyName(name string) LocalKeyOption {
	return localKeyOption(func(c *localKeyConfig) error {
		if c.nameSet {
			return errors.New("datamask: WithKeyName given twice")
		}
		c.name, c.nameSet = name, true
		return nil
	})
}

// GenerateLocalKey returns the text of a new local key file: a random
// 256-bit AES key in standard base64, ending with a newline. Store it as a
// secret (the datamask keygen command writes it with mode 0600).
func GenerateLocalKey() ([]byte, error) {
	key := make([]byte, 32)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("datamask: GenerateLocalKey: %v", err)
	}
	text := base64.StdEncoding.AppendEncode(make([]byte, 0, 45), key)
	return append(text, '\n'), nil
}

// NewLocalKeyring returns a raw AES keyring (see [esdk.NewRawAESKeyring])
// over a local key given as the text of a key file: standard base64 of a
// 16-, 24- or 32-byte AES key, surrounding whitespace such as a trailing
// newline ignored; [GenerateLocalKey] and the keygen command write such
// text. The keyring keeps its own copy of the key: clear keyText when done.
//
// A local key is in the memory of every process that encrypts or decrypts,
// and whoever reads the key file can decrypt everything. With AWS, keep data
// keys under AWS KMS keys instead (package awskms), whose key material
// never leaves KMS.
//
// A local key may wrap at most 2^32 data keys (random 12-byte AES-GCM IVs;
// see [esdk.RawAESKeyring]): with the data key cache, one per cache entry
// (one per encryption context per 5 minutes by default, one per record with
// [ContextFrom]); with [WithoutDataKeyCache], one per encrypted value, so
// 2^32 values. Generate a new key before then, and keep the old one to
// decrypt what it protects.
func NewLocalKeyring(keyText []byte, opts ...LocalKeyOption) (*esdk.RawAESKeyring, error) {
	return newLocalKeyring(keyText, "local key", opts)
}

// ReadLocalKeyring reads the local key file at path and returns its raw AES
// keyring as [NewLocalKeyring] does. Errors name the file and say what is
// wrong with it, never its contents.
func ReadLocalKeyring(path string, opts ...LocalKeyOption) (*esdk.RawAESKeyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datamask: cannot read the local key file: %w", err)
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	defer clear(text)
	if err != nil {
		return nil, fmt.Errorf("datamask: cannot read the local key file: %w", err)
	}
	if len(text) > maxKeyFileSize {
		return nil, fmt.Errorf("datamask: local key file %s is larger than %d bytes: it is not a key file (write one with datamask keygen)", strconv.Quote(path), maxKeyFileSize)
	}
	return newLocalKeyring(text, "local key file "+strconv.Quote(path), opts)
}

func newLocalKeyring(text []byte, what string, opts []LocalKeyOption) (*esdk.RawAESKeyring, error) {
	cfg := localKeyConfig{namespace: DefaultKeyNamespace, name: DefaultKeyName}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("datamask: nil LocalKeyOption")
		}
		if err := o.applyLocalKey(&cfg); err != nil {
			return nil, err
		}
	}
	text = bytes.TrimSpace(text)
	key := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	defer clear(key)
	n, err := base64.StdEncoding.Strict().Decode(key, text)
	switch {
	case len(text) == 0:
		return nil, fmt.Errorf("datamask: %s is empty: it must hold a base64 AES key (write one with datamask keygen)", what)
	case err != nil:
		return nil, fmt.Errorf("datamask: %s is not standard base64 text: it must hold a base64 AES key (write one with datamask keygen)", what)
	case n != 16 && n != 24 && n != 32:
		return nil, fmt.Errorf("datamask: %s holds %d bytes: an AES key is 16, 24 or 32 bytes (write a 32-byte one with datamask keygen)", what, n)
	}
	k, err := esdk.NewRawAESKeyring(cfg.namespace, cfg.name, key[:n])
	if err != nil {
		return nil, fmt.Errorf("datamask: %s: %v", what, err)
	}
	return k, nil
}
