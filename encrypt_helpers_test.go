package datamask_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/jsontext"
)

// base64Provider is the fake provider of Powertools' upstream tests: the
// "message" is the plaintext itself, so what DataMasker stores is the
// base64 of the JSON text. It ignores the encryption context, as the
// upstream fake does.
type base64Provider struct{}

func (base64Provider) Encrypt(_ context.Context, pt []byte, _ map[string]string) ([]byte, error) {
	return bytes.Clone(pt), nil
}

func (base64Provider) Decrypt(_ context.Context, msg []byte, _ map[string]string) ([]byte, error) {
	return bytes.Clone(msg), nil
}

// newKeyText returns the text of a new local key file.
func newKeyText(t testing.TB) []byte {
	t.Helper()
	text, err := datamask.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// countingKeyring counts the calls a keyring gets, to show that a check
// happens before any key is used.
type countingKeyring struct {
	esdk.Keyring
	encrypts, decrypts atomic.Int64
}

func (k *countingKeyring) OnEncrypt(ctx context.Context, m *esdk.EncryptionMaterials) error {
	k.encrypts.Add(1)
	return k.Keyring.OnEncrypt(ctx, m)
}

func (k *countingKeyring) OnDecrypt(ctx context.Context, m *esdk.DecryptionMaterials, edks []esdk.EncryptedDataKey) error {
	k.decrypts.Add(1)
	return k.Keyring.OnDecrypt(ctx, m, edks)
}

// localKeyring returns a raw AES keyring over a new local key.
func localKeyring(t testing.TB, opts ...datamask.LocalKeyOption) *esdk.RawAESKeyring {
	t.Helper()
	k, err := datamask.NewLocalKeyring(newKeyText(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newMasker returns a DataMasker over an ESDK provider with keyring k.
func newMasker(t testing.TB, k esdk.Keyring, opts ...datamask.ProviderOption) *datamask.DataMasker {
	t.Helper()
	p, err := datamask.NewESDKProvider(k, opts...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// suites are the two suites datamask encrypts with.
var suites = []esdk.Suite{esdk.AES256GCMHKDFSHA512CommitKey, esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384}

// suiteName names a suite in subtest names.
func suiteName(s esdk.Suite) string { return fmt.Sprintf("suite=%04x", uint16(s)) }

// pythonJSON reformats JSON text as Python's json.dumps(v,
// ensure_ascii=False) writes it: ", " and ": " separators, members in
// order, numbers spelt as given. Powertools encrypts that text.
func pythonJSON(t testing.TB, raw []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out []byte
	var write func() error
	write = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case json.Delim:
			close := byte(']')
			if tok == '{' {
				close = '}'
			}
			out = append(out, byte(tok))
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out = append(out, ", "...)
				}
				if tok == '{' {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					out = jsontext.AppendQuote(out, k.(string))
					out = append(out, ": "...)
				}
				if err := write(); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			out = append(out, close)
		case string:
			out = jsontext.AppendQuote(out, tok)
		case json.Number:
			out = append(out, tok...)
		case bool:
			out = fmt.Append(out, tok)
		case nil:
			out = append(out, "null"...)
		}
		return nil
	}
	if err := write(); err != nil && err != io.EOF {
		t.Fatalf("pythonJSON(%s): %v", raw, err)
	}
	return out
}

// secretsIn lists the strings and number texts of a JSON document that an
// error message must never contain.
func secretsIn(raw []byte) []string {
	var out []string
	for _, s := range stringsIn(raw) {
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	return out
}

// checkNoSecrets fails t if err's text contains any of secrets.
func checkNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains the secret %q", err, s)
		}
	}
}
