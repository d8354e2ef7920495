package kmstest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// A Deviation names a known way in which a KMS emulator differs from AWS
// KMS, which [Check] can be told to tolerate with [Tolerate]. The zero value
// is not a deviation.
type Deviation int

const (
	_ Deviation = iota

	// DisabledKeysUsable: GenerateDataKey, Encrypt and Decrypt succeed
	// with a disabled key, where AWS KMS fails with DisabledException.
	// moto_server 5 behaves so.
	DisabledKeysUsable

	// IncorrectKeyAccessDenied: Decrypt given a KeyId other than the
	// ciphertext's key fails with AccessDeniedException, where AWS KMS
	// fails with IncorrectKeyException. moto_server 5 behaves so.
	IncorrectKeyAccessDenied

	// AmbiguousContext: the encryption context is bound as the plain
	// concatenation of its keys and values, so contexts that concatenate
	// alike, such as {"ab": "c"} and {"a": "bc"}, decrypt each other's
	// ciphertexts. AWS KMS tells them apart. moto_server 5 behaves so.
	AmbiguousContext

	// ReEncryptSourceKeyIgnored: ReEncrypt given a SourceKeyId other than
	// the ciphertext's key re-encrypts it anyway, where AWS KMS fails with
	// IncorrectKeyException. moto_server 5 behaves so.
	ReEncryptSourceKeyIgnored
)

// String returns the deviation's name.
func (d Deviation) String() string {
	switch d {
	case DisabledKeysUsable:
		return "DisabledKeysUsable"
	case IncorrectKeyAccessDenied:
		return "IncorrectKeyAccessDenied"
	case AmbiguousContext:
		return "AmbiguousContext"
	case ReEncryptSourceKeyIgnored:
		return "ReEncryptSourceKeyIgnored"
	}
	return fmt.Sprintf("Deviation(%d)", int(d))
}

// A CheckOption configures [Check].
type CheckOption interface {
	applyCheck(*checkConfig) error
}

type checkConfig struct {
	region   string
	tolerate map[Deviation]bool
}

type checkOption func(*checkConfig) error

func (f checkOption) applyCheck(c *checkConfig) error { return f(c) }

// CheckRegion sets the Region [Check] signs its requests for and expects
// in key ARNs (default [DefaultRegion]).
func CheckRegion(region string) CheckOption {
	return checkOption(func(c *checkConfig) error {
		if !validRegion(region) {
			return fmt.Errorf("kmstest: CheckRegion: %q is not a Region name", region)
		}
		c.region = region
		return nil
	})
}

// Tolerate makes [Check] accept the given deviations from AWS KMS. Each one
// observed is logged, so a test says where its emulator differs.
func Tolerate(deviations ...Deviation) CheckOption {
	return checkOption(func(c *checkConfig) error {
		for _, d := range deviations {
			if d < DisabledKeysUsable || d > ReEncryptSourceKeyIgnored {
				return fmt.Errorf("kmstest: Tolerate: unknown %v", d)
			}
			c.tolerate[d] = true
		}
		return nil
	})
}

// Check runs a conformance suite against the KMS endpoint at url: it checks,
// over plain HTTP in the KMS JSON 1.1 protocol, everything datamask's KMS
// keyring relies on. Keys are created with CreateKey and disabled with
// DisableKey, so the endpoint must be an emulator (this Server,
// moto_server, ...), not AWS KMS: requests carry a SigV4 Authorization
// header with a dummy signature.
//
// The suite checks that:
//   - CreateKey and DescribeKey (by key id and by key ARN) describe an
//     enabled key whose ARN is arn:PARTITION:kms:REGION:ACCOUNT:key/KEYID;
//   - GenerateDataKey returns as many bytes as KeySpec (AES_256, AES_128)
//     or NumberOfBytes asks, fresh on each call, and rejects invalid sizes
//     with ValidationException; GenerateDataKeyWithoutPlaintext returns
//     only a ciphertext, of a key of that size under the context given;
//   - ReEncrypt moves a ciphertext from one key and context to another
//     (the source context is checked, the new ciphertext bound to the
//     destination's), names both keys by their ARNs, and refuses a wrong
//     source context or an altered ciphertext (InvalidCiphertextException),
//     a SourceKeyId other than the ciphertext's key (IncorrectKeyException),
//     and an unknown destination (NotFoundException);
//   - Encrypt and Decrypt round-trip 1 to 4096 bytes, Decrypt works with
//     and without KeyId, and every response names the key by its ARN;
//   - the encryption context is bound: a changed, added, missing or
//     ambiguous pair fails with InvalidCiphertextException;
//   - an altered, truncated or foreign ciphertext never decrypts;
//   - unknown keys and aliases fail with NotFoundException, Decrypt with
//     another key's KeyId with IncorrectKeyException;
//   - a disabled key is described as such and refused with
//     DisabledException (HTTP 409) by GenerateDataKey,
//     GenerateDataKeyWithoutPlaintext, Encrypt, Decrypt and ReEncrypt (as
//     source and as destination) until it is enabled again.
//
// Check reports failures on t and runs each part as a subtest.
func Check(t *testing.T, url string, opts ...CheckOption) {
	t.Helper()
	runCheck(testingT{t}, url, opts...)
}

// runCheck is Check on the tester interface, so the suite itself can be
// tested against endpoints it must find at fault.
func runCheck(t tester, url string, opts ...CheckOption) {
	cfg := &checkConfig{region: DefaultRegion, tolerate: map[Deviation]bool{}}
	for _, o := range opts {
		if o == nil {
			t.Fatalf("kmstest: Check: nil CheckOption")
		}
		if err := o.applyCheck(cfg); err != nil {
			t.Fatalf("%v", err)
		}
	}
	c := &checker{
		cfg:    cfg,
		client: &rawClient{url: strings.TrimSuffix(url, "/"), region: cfg.region, http: &http.Client{Timeout: 30 * time.Second}},
	}
	ctx := t.Context()
	a := c.createKey(ctx, t)
	b := c.createKey(ctx, t)

	t.Run("CreateKey", func(t tester) { c.checkMetadata(t, a, true) })
	t.Run("DescribeKey", func(t tester) { c.describeKey(t, a) })
	t.Run("GenerateDataKey", func(t tester) { c.generateDataKey(t, a) })
	t.Run("GenerateDataKeyInvalid", func(t tester) { c.generateDataKeyInvalid(t, a) })
	t.Run("GenerateDataKeyWithoutPlaintext", func(t tester) { c.generateDataKeyWithoutPlaintext(t, a) })
	t.Run("ReEncrypt", func(t tester) { c.reEncrypt(t, a, b) })
	t.Run("EncryptDecrypt", func(t tester) { c.encryptDecrypt(t, a) })
	t.Run("EncryptInvalid", func(t tester) { c.encryptInvalid(t, a) })
	t.Run("ContextBound", func(t tester) { c.contextBound(t, a) })
	t.Run("Tampered", func(t tester) { c.tampered(t, a) })
	t.Run("UnknownKeys", func(t tester) { c.unknownKeys(t, a) })
	t.Run("IncorrectKey", func(t tester) { c.incorrectKey(t, a, b) })
	t.Run("DisabledKey", func(t tester) { c.disabledKey(t) })
}

// tester is the part of *testing.T the suite uses.
type tester interface {
	Helper()
	Context() context.Context
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Run(name string, f func(tester)) bool
}

// testingT adapts *testing.T to tester.
type testingT struct{ *testing.T }

func (t testingT) Run(name string, f func(tester)) bool {
	return t.T.Run(name, func(t *testing.T) { f(testingT{t}) })
}

func (t testingT) Errorf(format string, args ...any) {
	t.T.Helper()
	t.T.Errorf(format, args...)
}

func (t testingT) Fatalf(format string, args ...any) {
	t.T.Helper()
	t.T.Fatalf(format, args...)
}

func (t testingT) Logf(format string, args ...any) {
	t.T.Helper()
	t.T.Logf(format, args...)
}

type checker struct {
	cfg    *checkConfig
	client *rawClient
}

// keyInfo is the part of KeyMetadata the suite reads.
type keyInfo struct {
	AWSAccountID string `json:"AWSAccountId"`
	KeyID        string `json:"KeyId"`
	Arn          string `json:"Arn"`
	Enabled      bool   `json:"Enabled"`
	KeyState     string `json:"KeyState"`
	Description  string `json:"Description"`
}

const checkDescription = "kmstest conformance"

func (c *checker) createKey(ctx context.Context, t tester) keyInfo {
	t.Helper()
	var out struct{ KeyMetadata keyInfo }
	if err := c.client.call(ctx, "CreateKey", map[string]any{"Description": checkDescription}, &out); err != nil {
		t.Fatalf("CreateKey() = %v, want a new key", err)
	}
	return out.KeyMetadata
}

func (c *checker) checkMetadata(t tester, k keyInfo, enabled bool) {
	t.Helper()
	if k.KeyID == "" {
		t.Fatalf("KeyMetadata.KeyId is empty")
	}
	if !validAccount(k.AWSAccountID) {
		t.Errorf("KeyMetadata.AWSAccountId = %q, want 12 digits", k.AWSAccountID)
	}
	if want := "arn:" + partitionOf(c.cfg.region) + ":kms:" + c.cfg.region + ":" + k.AWSAccountID + ":key/" + k.KeyID; k.Arn != want {
		t.Errorf("KeyMetadata.Arn = %q, want %q", k.Arn, want)
	}
	state := "Enabled"
	if !enabled {
		state = "Disabled"
	}
	if k.Enabled != enabled || k.KeyState != state {
		t.Errorf("KeyMetadata Enabled, KeyState = %v, %q, want %v, %q", k.Enabled, k.KeyState, enabled, state)
	}
	if k.Description != checkDescription {
		t.Errorf("KeyMetadata.Description = %q, want %q", k.Description, checkDescription)
	}
}

func (c *checker) describe(t tester, keyID string) keyInfo {
	t.Helper()
	var out struct{ KeyMetadata keyInfo }
	if err := c.client.call(t.Context(), "DescribeKey", map[string]any{"KeyId": keyID}, &out); err != nil {
		t.Fatalf("DescribeKey(%q) = %v, want the key", keyID, err)
	}
	return out.KeyMetadata
}

func (c *checker) describeKey(t tester, k keyInfo) {
	for _, id := range []string{k.KeyID, k.Arn} {
		got := c.describe(t, id)
		if got.Arn != k.Arn || got.KeyID != k.KeyID {
			t.Errorf("DescribeKey(%q) = %q %q, want %q %q", id, got.KeyID, got.Arn, k.KeyID, k.Arn)
		}
		c.checkMetadata(t, got, true)
	}
}

type dataKey struct {
	CiphertextBlob []byte
	Plaintext      []byte
	KeyID          string `json:"KeyId"`
}

func (c *checker) generateDataKey(t tester, k keyInfo) {
	ctx := t.Context()
	tests := []struct {
		name string
		in   map[string]any
		want int
	}{
		{"KeySpec=AES_256", map[string]any{"KeySpec": "AES_256"}, 32},
		{"KeySpec=AES_128", map[string]any{"KeySpec": "AES_128"}, 16},
		{"NumberOfBytes=1", map[string]any{"NumberOfBytes": 1}, 1},
		{"NumberOfBytes=64", map[string]any{"NumberOfBytes": 64}, 64},
		{"NumberOfBytes=1024", map[string]any{"NumberOfBytes": 1024}, 1024},
	}
	for _, tt := range tests {
		for _, id := range []string{k.Arn, k.KeyID} {
			t.Run(tt.name, func(t tester) {
				in := map[string]any{"KeyId": id, "EncryptionContext": map[string]string{"purpose": "check"}}
				for name, v := range tt.in {
					in[name] = v
				}
				var first, second dataKey
				if err := c.client.call(ctx, "GenerateDataKey", in, &first); err != nil {
					t.Fatalf("GenerateDataKey(%v) = %v, want a data key", in, err)
				}
				if len(first.Plaintext) != tt.want || first.KeyID != k.Arn || len(first.CiphertextBlob) == 0 {
					t.Fatalf("GenerateDataKey(%v) = %d bytes under %q, want %d bytes under %q",
						in, len(first.Plaintext), first.KeyID, tt.want, k.Arn)
				}
				if err := c.client.call(ctx, "GenerateDataKey", in, &second); err != nil {
					t.Fatalf("GenerateDataKey(%v) again = %v, want a data key", in, err)
				}
				if tt.want >= 16 && bytes.Equal(first.Plaintext, second.Plaintext) {
					t.Errorf("GenerateDataKey(%v) returned the same %d-byte key twice, want fresh keys", in, tt.want)
				}
				var dec plaintextOut
				din := map[string]any{"CiphertextBlob": first.CiphertextBlob, "EncryptionContext": map[string]string{"purpose": "check"}}
				if err := c.client.call(ctx, "Decrypt", din, &dec); err != nil {
					t.Fatalf("Decrypt(GenerateDataKey blob) = %v, want the data key", err)
				}
				if !bytes.Equal(dec.Plaintext, first.Plaintext) || dec.KeyID != k.Arn {
					t.Errorf("Decrypt(GenerateDataKey blob) = other bytes under %q, want the data key under %q", dec.KeyID, k.Arn)
				}
			})
		}
	}
}

func (c *checker) generateDataKeyInvalid(t tester, k keyInfo) {
	tests := []struct {
		name string
		in   map[string]any
	}{
		{"KeySpecAndNumberOfBytes", map[string]any{"KeySpec": "AES_256", "NumberOfBytes": 32}},
		{"NeitherKeySpecNorNumberOfBytes", map[string]any{}},
		{"NumberOfBytes=0", map[string]any{"NumberOfBytes": 0}},
		{"NumberOfBytes=1025", map[string]any{"NumberOfBytes": 1025}},
		{"KeySpec=AES_512", map[string]any{"KeySpec": "AES_512"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t tester) {
			in := map[string]any{"KeyId": k.Arn}
			for name, v := range tt.in {
				in[name] = v
			}
			err := c.client.call(t.Context(), "GenerateDataKey", in, &dataKey{})
			wantError(t, "GenerateDataKey", in, err, "ValidationException", http.StatusBadRequest)
		})
	}
}

func (c *checker) generateDataKeyWithoutPlaintext(t tester, k keyInfo) {
	ec := map[string]string{"purpose": "without plaintext"}
	for _, tt := range []struct {
		name string
		in   map[string]any
		want int
	}{
		{"NumberOfBytes=32", map[string]any{"NumberOfBytes": 32}, 32},
		{"KeySpec=AES_128", map[string]any{"KeySpec": "AES_128"}, 16},
	} {
		t.Run(tt.name, func(t tester) {
			ctx := t.Context()
			in := map[string]any{"KeyId": k.Arn, "EncryptionContext": ec}
			for name, v := range tt.in {
				in[name] = v
			}
			var out map[string]json.RawMessage
			if err := c.client.call(ctx, "GenerateDataKeyWithoutPlaintext", in, &out); err != nil {
				t.Fatalf("GenerateDataKeyWithoutPlaintext(%v) = %v, want a ciphertext", in, err)
			}
			if _, ok := out["Plaintext"]; ok {
				t.Errorf("GenerateDataKeyWithoutPlaintext(%v) returned a Plaintext", in)
			}
			var got dataKey
			b, _ := json.Marshal(out)
			if err := json.Unmarshal(b, &got); err != nil || got.KeyID != k.Arn || len(got.CiphertextBlob) == 0 {
				t.Fatalf("GenerateDataKeyWithoutPlaintext(%v) = KeyId %q, %d-byte blob (%v), want a blob under %q",
					in, got.KeyID, len(got.CiphertextBlob), err, k.Arn)
			}
			var dec plaintextOut
			din := map[string]any{"CiphertextBlob": got.CiphertextBlob, "EncryptionContext": ec}
			if err := c.client.call(ctx, "Decrypt", din, &dec); err != nil {
				t.Fatalf("Decrypt(GenerateDataKeyWithoutPlaintext blob) = %v, want the data key", err)
			}
			if len(dec.Plaintext) != tt.want || dec.KeyID != k.Arn {
				t.Errorf("Decrypt(GenerateDataKeyWithoutPlaintext blob) = %d bytes under %q, want %d under %q",
					len(dec.Plaintext), dec.KeyID, tt.want, k.Arn)
			}
			err := c.client.call(ctx, "Decrypt", map[string]any{"CiphertextBlob": got.CiphertextBlob}, &dec)
			wantError(t, "Decrypt", "GenerateDataKeyWithoutPlaintext blob without its context", err, "InvalidCiphertextException", http.StatusBadRequest)
		})
	}
	t.Run("NumberOfBytes=0", func(t tester) {
		in := map[string]any{"KeyId": k.Arn, "NumberOfBytes": 0}
		err := c.client.call(t.Context(), "GenerateDataKeyWithoutPlaintext", in, &dataKey{})
		wantError(t, "GenerateDataKeyWithoutPlaintext", in, err, "ValidationException", http.StatusBadRequest)
	})
}

type reEncryptOut struct {
	CiphertextBlob []byte
	SourceKeyID    string `json:"SourceKeyId"`
	KeyID          string `json:"KeyId"`
}

func (c *checker) reEncrypt(t tester, a, b keyInfo) {
	srcEC := map[string]string{"type": "branch:version:1", "purpose": "check"}
	dstEC := map[string]string{"type": "branch:ACTIVE", "purpose": "check"}
	plaintext := []byte("thirty-two bytes of a branch key")
	blob := c.encrypt(t, a.Arn, plaintext, srcEC)
	call := func(t tester, in map[string]any) (reEncryptOut, error) {
		var out reEncryptOut
		err := c.client.call(t.Context(), "ReEncrypt", in, &out)
		return out, err
	}
	for _, tt := range []struct {
		name string
		dst  keyInfo
		src  string // SourceKeyId, "" for none
	}{
		{"ToOtherKey", b, a.Arn},
		{"ToSameKey", a, a.Arn},
		{"WithoutSourceKeyId", b, ""},
		{"SourceKeyIdAsKeyId", a, a.KeyID},
	} {
		t.Run(tt.name, func(t tester) {
			in := map[string]any{"CiphertextBlob": blob, "SourceEncryptionContext": srcEC,
				"DestinationKeyId": tt.dst.Arn, "DestinationEncryptionContext": dstEC}
			if tt.src != "" {
				in["SourceKeyId"] = tt.src
			}
			out, err := call(t, in)
			if err != nil {
				t.Fatalf("ReEncrypt(%s) = %v, want a ciphertext", tt.name, err)
			}
			if out.KeyID != tt.dst.Arn || out.SourceKeyID != a.Arn || len(out.CiphertextBlob) == 0 {
				t.Fatalf("ReEncrypt(%s) = KeyId %q, SourceKeyId %q, %d-byte blob; want %q, %q and a blob",
					tt.name, out.KeyID, out.SourceKeyID, len(out.CiphertextBlob), tt.dst.Arn, a.Arn)
			}
			var dec plaintextOut
			din := map[string]any{"CiphertextBlob": out.CiphertextBlob, "EncryptionContext": dstEC}
			if err := c.client.call(t.Context(), "Decrypt", din, &dec); err != nil {
				t.Fatalf("Decrypt(ReEncrypt blob) = %v, want the plaintext", err)
			}
			if !bytes.Equal(dec.Plaintext, plaintext) || dec.KeyID != tt.dst.Arn {
				t.Errorf("Decrypt(ReEncrypt blob) = other bytes or key %q, want the plaintext under %q", dec.KeyID, tt.dst.Arn)
			}
			din["EncryptionContext"] = srcEC
			err = c.client.call(t.Context(), "Decrypt", din, &dec)
			wantError(t, "Decrypt", "ReEncrypt blob under the source context", err, "InvalidCiphertextException", http.StatusBadRequest)
		})
	}
	t.Run("WrongSourceContext", func(t tester) {
		_, err := call(t, map[string]any{"CiphertextBlob": blob, "SourceEncryptionContext": dstEC, "DestinationKeyId": b.Arn})
		wantError(t, "ReEncrypt", "wrong source context", err, "InvalidCiphertextException", http.StatusBadRequest)
	})
	t.Run("Tampered", func(t tester) {
		altered := slices.Clone(blob)
		altered[len(altered)-1] ^= 0x80
		_, err := call(t, map[string]any{"CiphertextBlob": altered, "SourceEncryptionContext": srcEC, "DestinationKeyId": b.Arn})
		wantError(t, "ReEncrypt", "altered blob", err, "InvalidCiphertextException", http.StatusBadRequest)
	})
	t.Run("IncorrectSourceKey", func(t tester) {
		_, err := call(t, map[string]any{"CiphertextBlob": blob, "SourceEncryptionContext": srcEC, "SourceKeyId": b.Arn, "DestinationKeyId": b.Arn})
		if err == nil && c.cfg.tolerate[ReEncryptSourceKeyIgnored] {
			t.Logf("tolerated deviation %v: ReEncrypt with another key's SourceKeyId succeeded", ReEncryptSourceKeyIgnored)
			return
		}
		if e, ok := err.(*kmsError); ok && e.Type == "AccessDeniedException" && c.cfg.tolerate[IncorrectKeyAccessDenied] {
			t.Logf("tolerated deviation %v: ReEncrypt with another key's SourceKeyId = %v", IncorrectKeyAccessDenied, err)
			return
		}
		wantError(t, "ReEncrypt", "SourceKeyId "+b.Arn, err, "IncorrectKeyException", http.StatusBadRequest)
	})
	t.Run("UnknownDestination", func(t tester) {
		_, err := call(t, map[string]any{"CiphertextBlob": blob, "SourceEncryptionContext": srcEC, "DestinationKeyId": unknownKeyARN(b)})
		wantError(t, "ReEncrypt", "unknown destination", err, "NotFoundException", http.StatusBadRequest)
	})
}

type ciphertextOut struct {
	CiphertextBlob []byte
	KeyID          string `json:"KeyId"`
}

type plaintextOut struct {
	Plaintext []byte
	KeyID     string `json:"KeyId"`
}

func (c *checker) encrypt(t tester, keyID string, plaintext []byte, ec map[string]string) []byte {
	t.Helper()
	in := map[string]any{"KeyId": keyID, "Plaintext": plaintext}
	if ec != nil {
		in["EncryptionContext"] = ec
	}
	var out ciphertextOut
	if err := c.client.call(t.Context(), "Encrypt", in, &out); err != nil {
		t.Fatalf("Encrypt(%q, %d bytes, %v) = %v, want a ciphertext", keyID, len(plaintext), ec, err)
	}
	if len(out.CiphertextBlob) == 0 {
		t.Fatalf("Encrypt(%q, %d bytes, %v) returned no CiphertextBlob", keyID, len(plaintext), ec)
	}
	return out.CiphertextBlob
}

func (c *checker) encryptDecrypt(t tester, k keyInfo) {
	ctx := t.Context()
	contexts := []map[string]string{
		nil,
		{"tenant": "acme"},
		{"tenant": "acme", "aws-crypto-public-key": "A1B2", "émoji": "🔑", "empty": ""},
	}
	for _, size := range []int{1, 32, 4096} {
		for i, ec := range contexts {
			t.Run(fmt.Sprintf("%dbytes/context%d", size, i), func(t tester) {
				plaintext := bytes.Repeat([]byte{byte(size), byte(i), 0xff}, size)[:size]
				in := map[string]any{"KeyId": k.Arn, "Plaintext": plaintext}
				if ec != nil {
					in["EncryptionContext"] = ec
				}
				var enc ciphertextOut
				if err := c.client.call(ctx, "Encrypt", in, &enc); err != nil {
					t.Fatalf("Encrypt(%d bytes, %v) = %v, want a ciphertext", size, ec, err)
				}
				if enc.KeyID != k.Arn {
					t.Errorf("Encrypt(...).KeyId = %q, want %q", enc.KeyID, k.Arn)
				}
				if bytes.Contains(enc.CiphertextBlob, plaintext) && size >= 16 {
					t.Errorf("Encrypt(...) returned a blob holding the plaintext")
				}
				again := c.encrypt(t, k.Arn, plaintext, ec)
				if bytes.Equal(again, enc.CiphertextBlob) {
					t.Errorf("Encrypt(...) twice returned the same blob, want randomized encryption")
				}
				for _, keyID := range []string{"", k.Arn, k.KeyID} {
					din := map[string]any{"CiphertextBlob": enc.CiphertextBlob}
					if ec != nil {
						din["EncryptionContext"] = ec
					}
					if keyID != "" {
						din["KeyId"] = keyID
					}
					var dec plaintextOut
					if err := c.client.call(ctx, "Decrypt", din, &dec); err != nil {
						t.Fatalf("Decrypt(KeyId %q) = %v, want the plaintext", keyID, err)
					}
					if !bytes.Equal(dec.Plaintext, plaintext) || dec.KeyID != k.Arn {
						t.Errorf("Decrypt(KeyId %q) = %d bytes under %q, want the %d plaintext bytes under %q",
							keyID, len(dec.Plaintext), dec.KeyID, size, k.Arn)
					}
				}
			})
		}
	}
}

func (c *checker) encryptInvalid(t tester, k keyInfo) {
	for _, size := range []int{0, 4097} {
		t.Run(fmt.Sprintf("%dbytes", size), func(t tester) {
			in := map[string]any{"KeyId": k.Arn, "Plaintext": make([]byte, size)}
			err := c.client.call(t.Context(), "Encrypt", in, &ciphertextOut{})
			wantError(t, "Encrypt", fmt.Sprintf("%d bytes", size), err, "ValidationException", http.StatusBadRequest)
		})
	}
}

func (c *checker) contextBound(t tester, k keyInfo) {
	ec := map[string]string{"tenant": "acme", "purpose": "check"}
	blob := c.encrypt(t, k.Arn, []byte("context-bound"), ec)
	ambiguous := c.encrypt(t, k.Arn, []byte("ambiguous"), map[string]string{"ab": "c"})
	tests := []struct {
		name string
		blob []byte
		ec   map[string]string
	}{
		{"ValueChanged", blob, map[string]string{"tenant": "acme", "purpose": "other"}},
		{"KeyChanged", blob, map[string]string{"tenant": "acme", "Purpose": "check"}},
		{"PairAdded", blob, map[string]string{"tenant": "acme", "purpose": "check", "x": "y"}},
		{"PairMissing", blob, map[string]string{"tenant": "acme"}},
		{"NoContext", blob, nil},
		{"ContextNotUsed", c.encrypt(t, k.Arn, []byte("no context"), nil), map[string]string{"tenant": "acme"}},
		{"SplitDifferently", ambiguous, map[string]string{"a": "bc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t tester) {
			in := map[string]any{"CiphertextBlob": tt.blob}
			if tt.ec != nil {
				in["EncryptionContext"] = tt.ec
			}
			err := c.client.call(t.Context(), "Decrypt", in, &plaintextOut{})
			if err == nil && tt.name == "SplitDifferently" && c.cfg.tolerate[AmbiguousContext] {
				t.Logf("tolerated deviation %v: a ciphertext made under {\"ab\": \"c\"} decrypted under {\"a\": \"bc\"}", AmbiguousContext)
				return
			}
			wantError(t, "Decrypt", tt.ec, err, "InvalidCiphertextException", http.StatusBadRequest)
		})
	}
}

// tampered decrypts blobs altered in every way the suite can think of;
// none may decrypt. Where the error type is pinned, it is the one AWS KMS
// returns; for a single flipped byte any refusal that names the ciphertext
// or its key passes, since emulators put the key reference in different
// places (a flipped key reference can make moto_server answer
// AccessDeniedException).
func (c *checker) tampered(t tester, k keyInfo) {
	ec := map[string]string{"purpose": "tamper"}
	plaintext := []byte("sixteen byte msg")
	blob := c.encrypt(t, k.Arn, plaintext, ec)
	decrypt := func(t tester, b []byte) error {
		var out plaintextOut
		err := c.client.call(t.Context(), "Decrypt", map[string]any{"CiphertextBlob": b, "EncryptionContext": ec}, &out)
		if err == nil {
			t.Fatalf("Decrypt(altered blob) = %d bytes, want an error", len(out.Plaintext))
		}
		return err
	}
	t.Run("EveryByteFlipped", func(t tester) {
		for i := range blob {
			altered := slices.Clone(blob)
			altered[i] ^= 0x01
			err := decrypt(t, altered)
			e, ok := err.(*kmsError)
			if !ok || e.Status != http.StatusBadRequest ||
				!slices.Contains([]string{"InvalidCiphertextException", "AccessDeniedException", "NotFoundException"}, e.Type) {
				t.Errorf("Decrypt(blob with byte %d flipped) = %v, want InvalidCiphertextException (HTTP 400)", i, err)
			}
		}
	})
	altered := map[string][]byte{
		"LastByteFlipped": append(slices.Clone(blob[:len(blob)-1]), blob[len(blob)-1]^0x80),
		"Truncated":       blob[:len(blob)-1],
		"Extended":        append(slices.Clone(blob), 0),
		"NotACiphertext":  []byte("not a ciphertext"),
	}
	for _, name := range []string{"LastByteFlipped", "Truncated", "Extended", "NotACiphertext"} {
		t.Run(name, func(t tester) {
			err := decrypt(t, altered[name])
			wantError(t, "Decrypt", name, err, "InvalidCiphertextException", http.StatusBadRequest)
		})
	}
}

// unknownKeyARN returns the ARN of a key that does not exist in the
// account and Region of k.
func unknownKeyARN(k keyInfo) string {
	return strings.TrimSuffix(k.Arn, k.KeyID) + "00000000-0000-4000-8000-000000000000"
}

func (c *checker) unknownKeys(t tester, k keyInfo) {
	blob := c.encrypt(t, k.Arn, []byte("x"), nil)
	ids := []struct{ name, id string }{
		{"KeyARN", unknownKeyARN(k)},
		{"KeyID", "00000000-0000-4000-8000-000000000000"},
		{"Alias", "alias/kmstest-no-such-alias"},
	}
	for _, u := range ids {
		id := u.id
		calls := []struct {
			op string
			in map[string]any
		}{
			{"DescribeKey", map[string]any{"KeyId": id}},
			{"GenerateDataKey", map[string]any{"KeyId": id, "KeySpec": "AES_256"}},
			{"Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")}},
			{"Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": blob}},
		}
		for _, call := range calls {
			t.Run(call.op+"/"+u.name, func(t tester) {
				var out map[string]any
				err := c.client.call(t.Context(), call.op, call.in, &out)
				wantError(t, call.op, id, err, "NotFoundException", http.StatusBadRequest)
			})
		}
	}
}

func (c *checker) incorrectKey(t tester, a, b keyInfo) {
	blob := c.encrypt(t, a.Arn, []byte("under a"), nil)
	for _, id := range []string{b.Arn, b.KeyID} {
		name := "KeyARN"
		if id == b.KeyID {
			name = "KeyID"
		}
		t.Run(name, func(t tester) {
			var out plaintextOut
			err := c.client.call(t.Context(), "Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": blob}, &out)
			if e, ok := err.(*kmsError); ok && e.Type == "AccessDeniedException" && c.cfg.tolerate[IncorrectKeyAccessDenied] {
				t.Logf("tolerated deviation %v: Decrypt with another key's KeyId = %v", IncorrectKeyAccessDenied, err)
				return
			}
			wantError(t, "Decrypt", "KeyId "+id, err, "IncorrectKeyException", http.StatusBadRequest)
		})
	}
}

func (c *checker) disabledKey(t tester) {
	ctx := t.Context()
	k := c.createKey(ctx, t)
	blob := c.encrypt(t, k.Arn, []byte("before disable"), nil)
	// By key id: AWS KMS takes a key id or ARN here, and moto_server 5
	// fails on an ARN.
	if err := c.client.call(ctx, "DisableKey", map[string]any{"KeyId": k.KeyID}, nil); err != nil {
		t.Fatalf("DisableKey(%q) = %v, want success", k.KeyID, err)
	}
	c.checkMetadata(t, c.describe(t, k.Arn), false)
	other := c.createKey(ctx, t)
	otherBlob := c.encrypt(t, other.Arn, []byte("under another key"), nil)
	calls := []struct {
		name, op string
		in       map[string]any
	}{
		{"GenerateDataKey", "GenerateDataKey", map[string]any{"KeyId": k.Arn, "KeySpec": "AES_256"}},
		{"GenerateDataKeyWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", map[string]any{"KeyId": k.Arn, "KeySpec": "AES_256"}},
		{"Encrypt", "Encrypt", map[string]any{"KeyId": k.Arn, "Plaintext": []byte("x")}},
		{"Decrypt", "Decrypt", map[string]any{"CiphertextBlob": blob}},
		{"ReEncrypt/Source", "ReEncrypt", map[string]any{"CiphertextBlob": blob, "DestinationKeyId": other.Arn}},
		{"ReEncrypt/Destination", "ReEncrypt", map[string]any{"CiphertextBlob": otherBlob, "DestinationKeyId": k.Arn}},
	}
	for _, call := range calls {
		t.Run(call.name, func(t tester) {
			var out map[string]any
			err := c.client.call(ctx, call.op, call.in, &out)
			if err == nil && c.cfg.tolerate[DisabledKeysUsable] {
				t.Logf("tolerated deviation %v: %s with a disabled key succeeded", DisabledKeysUsable, call.op)
				return
			}
			wantError(t, call.op, "disabled key", err, "DisabledException", http.StatusConflict)
		})
	}
	if err := c.client.call(ctx, "EnableKey", map[string]any{"KeyId": k.KeyID}, nil); err != nil {
		t.Fatalf("EnableKey(%q) = %v, want success", k.KeyID, err)
	}
	c.checkMetadata(t, c.describe(t, k.Arn), true)
	var dec plaintextOut
	if err := c.client.call(ctx, "Decrypt", map[string]any{"CiphertextBlob": blob}, &dec); err != nil {
		t.Fatalf("Decrypt after EnableKey = %v, want the plaintext", err)
	}
	if string(dec.Plaintext) != "before disable" {
		t.Errorf("Decrypt after EnableKey = %q, want %q", dec.Plaintext, "before disable")
	}
}

func wantError(t tester, op string, arg any, err error, typ string, status int) {
	t.Helper()
	e, ok := err.(*kmsError)
	if !ok || e.Type != typ || e.Status != status {
		t.Errorf("%s(%v) = %v, want %s (HTTP %d)", op, arg, err, typ, status)
	}
}

// rawClient calls a KMS endpoint in the JSON 1.1 protocol with nothing but
// net/http, so the suite depends on no SDK.
type rawClient struct {
	url, region string
	http        *http.Client
}

// kmsError is an error response of the endpoint.
type kmsError struct {
	Type    string
	Message string
	Status  int
}

func (e *kmsError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Type, e.Status, e.Message)
}

// call sends op with in as its JSON body and decodes a 200 response into
// out (if not nil). An error response is returned as *kmsError.
func (c *rawClient) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("kmstest: encoding %s request: %v", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("kmstest: %s request: %v", op, err)
	}
	now := time.Now().UTC()
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+op)
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+AccessKeyID+"/"+now.Format("20060102")+"/"+c.region+
		"/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="+strings.Repeat("0", 64))
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("kmstest: %s: %v", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRequestBody))
	if err != nil {
		return fmt.Errorf("kmstest: %s: reading response: %v", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &kmsError{Status: resp.StatusCode}
		var body struct {
			Type     string `json:"__type"`
			Code     string `json:"code"`
			Message  string `json:"message"`
			Message2 string `json:"Message"`
		}
		if json.Unmarshal(data, &body) != nil {
			return fmt.Errorf("kmstest: %s: HTTP %d with a body that is not a KMS error (%d bytes)", op, resp.StatusCode, len(data))
		}
		e.Type = errorType(cmp.Or(resp.Header.Get("X-Amzn-Errortype"), body.Type, body.Code))
		e.Message = cmp.Or(body.Message, body.Message2)
		return e
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("kmstest: %s: decoding response: %v", op, err)
	}
	return nil
}

// errorType strips the namespace ("com.amazonaws.kms#") and any ":..."
// suffix an error code may carry, as the AWS SDKs do.
func errorType(code string) string {
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	return code
}
