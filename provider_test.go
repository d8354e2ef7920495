package datamask_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
)

func TestGenerateLocalKey(t *testing.T) {
	a, b := newKeyText(t), newKeyText(t)
	if bytes.Equal(a, b) {
		t.Fatal("GenerateLocalKey returned the same key twice")
	}
	if len(a) != 45 || a[44] != '\n' {
		t.Fatalf("GenerateLocalKey = %d bytes, want 44 base64 characters and a newline", len(a))
	}
	key, err := base64.StdEncoding.Strict().DecodeString(string(a[:44]))
	if err != nil || len(key) != 32 {
		t.Fatalf("GenerateLocalKey decodes to %d bytes, %v; want 32", len(key), err)
	}
}

func TestNewLocalKeyring(t *testing.T) {
	key := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, n)) }
	tests := []struct {
		name string
		text string
		opts []datamask.LocalKeyOption
		err  string // "" for success
	}{
		{"256-bit", key(32), nil, ""},
		{"192-bit", key(24), nil, ""},
		{"128-bit", key(16), nil, ""},
		{"trailing newline", key(32) + "\n", nil, ""},
		{"CRLF and spaces", "  " + key(32) + "\r\n", nil, ""},
		{"named", key(32), []datamask.LocalKeyOption{datamask.WithKeyNamespace("ns"), datamask.WithKeyName("n")}, ""},
		{"empty", "\n", nil, "is empty"},
		{"15 bytes", key(15), nil, "holds 15 bytes"},
		{"33 bytes", key(33), nil, "holds 33 bytes"},
		{"not base64", "this is not base64!", nil, "not standard base64"},
		{"unpadded", strings.TrimRight(key(32), "="), nil, "not standard base64"},
		{"URL alphabet", "-_" + key(32)[2:], nil, "not standard base64"},
		{"empty namespace", key(32), []datamask.LocalKeyOption{datamask.WithKeyNamespace("")}, "must not be empty"},
		{"aws-kms namespace", key(32), []datamask.LocalKeyOption{datamask.WithKeyNamespace("aws-kms")}, "reserved for AWS KMS"},
		{"empty name", key(32), []datamask.LocalKeyOption{datamask.WithKeyName("")}, "must not be empty"},
		{"name twice", key(32), []datamask.LocalKeyOption{datamask.WithKeyName("a"), datamask.WithKeyName("b")}, "WithKeyName given twice"},
		{"nil option", key(32), []datamask.LocalKeyOption{nil}, "nil LocalKeyOption"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := datamask.NewLocalKeyring([]byte(tt.text), tt.opts...)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("NewLocalKeyring(%q) = %v, want a keyring", tt.text, err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("NewLocalKeyring(%q) = %v, want an error containing %q", tt.text, err, tt.err)
			case tt.err != "":
				if s := strings.TrimSpace(tt.text); len(s) > 3 && strings.Contains(err.Error(), s[:4]) {
					t.Errorf("error %q quotes the key text", err)
				}
				return
			}
			if s := fmt.Sprintf("%v %+v %#v", k, k, k); strings.Contains(s, strings.TrimSpace(tt.text)[:8]) {
				t.Errorf("keyring prints %q, which holds key text", s)
			}
		})
	}
}

// TestLocalKeyNames checks the documented defaults: an AWS Encryption SDK
// raw AES keyring with namespace "datamask" and name "default" and the
// same key decrypts what a local keyring encrypts; other names do not.
func TestLocalKeyNames(t *testing.T) {
	text := newKeyText(t)
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatal(err)
	}
	local, err := datamask.NewLocalKeyring(text)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out, err := newMasker(t, local).Encrypt(ctx, []byte(`{"a": 1}`), datamask.Fields("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		namespace, name string
		ok              bool
	}{
		{"datamask", "default", true},
		{"datamask", "other", false},
		{"other", "default", false},
	} {
		kr, err := esdk.NewRawAESKeyring(tc.namespace, tc.name, key)
		if err != nil {
			t.Fatal(err)
		}
		back, err := newMasker(t, kr).Decrypt(ctx, out, datamask.Fields("a"))
		var dke *datamask.DecryptKeyError
		switch {
		case tc.ok && (err != nil || string(back) != `{"a": 1}`):
			t.Errorf("Decrypt with raw AES keyring %s/%s = %s, %v, want the document", tc.namespace, tc.name, back, err)
		case !tc.ok && !errors.As(err, &dke):
			t.Errorf("Decrypt with raw AES keyring %s/%s = %v, want *DecryptKeyError", tc.namespace, tc.name, err)
		}
	}
	named, err := datamask.NewLocalKeyring(text, datamask.WithKeyNamespace("team"), datamask.WithKeyName("orders"))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := esdk.NewRawAESKeyring("team", "orders", key)
	if err != nil {
		t.Fatal(err)
	}
	out, err = newMasker(t, named).Encrypt(ctx, []byte(`{"a": 1}`), datamask.Fields("a"))
	if err != nil {
		t.Fatal(err)
	}
	if back, err := newMasker(t, kr).Decrypt(ctx, out, datamask.Fields("a")); err != nil || string(back) != `{"a": 1}` {
		t.Errorf("Decrypt with raw AES keyring team/orders = %s, %v, want the document", back, err)
	}
}

func TestReadLocalKeyring(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := newKeyText(t)
	good := write("good.key", text)
	if _, err := datamask.ReadLocalKeyring(good); err != nil {
		t.Errorf("ReadLocalKeyring(good) = %v", err)
	}
	_, err := datamask.ReadLocalKeyring(filepath.Join(dir, "missing.key"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.key") {
		t.Errorf("ReadLocalKeyring(missing) = %v, want fs.ErrNotExist naming the file", err)
	}
	big := write("big.key", bytes.Repeat(text, 100))
	if _, err := datamask.ReadLocalKeyring(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("ReadLocalKeyring(big) = %v, want an error about the size", err)
	}
	short := write("short.key", []byte(base64.StdEncoding.EncodeToString(make([]byte, 20))+"\n"))
	_, err = datamask.ReadLocalKeyring(short)
	if err == nil || !strings.Contains(err.Error(), `"`+short+`" holds 20 bytes`) {
		t.Errorf("ReadLocalKeyring(short) = %v, want an error naming the file and the size", err)
	}
	if _, err := datamask.ReadLocalKeyring(dir); err == nil {
		t.Error("ReadLocalKeyring(directory) = nil error")
	}
}

func TestNewESDKProviderOptions(t *testing.T) {
	kr := localKeyring(t)
	tests := []struct {
		name string
		opts []datamask.ProviderOption
		err  string
	}{
		{"defaults", nil, ""},
		{"suite 0478", []datamask.ProviderOption{datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey)}, ""},
		{"legacy suite", []datamask.ProviderOption{datamask.WithSuite(0x0178)}, "cannot encrypt"},
		{"zero suite", []datamask.ProviderOption{datamask.WithSuite(0)}, "cannot encrypt"},
		{"suite twice", []datamask.ProviderOption{datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey), datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey)}, "WithSuite given twice"},
		{"frame 1", []datamask.ProviderOption{datamask.WithFrameLength(1)}, ""},
		{"frame 0", []datamask.ProviderOption{datamask.WithFrameLength(0)}, "not between 1"},
		{"frame too long", []datamask.ProviderOption{datamask.WithFrameLength(esdk.MaxFrameLength + 1)}, "not between 1"},
		{"max EDKs 0", []datamask.ProviderOption{datamask.WithMaxEncryptedDataKeys(0)}, "not between 1 and 65535"},
		{"max EDKs 65536", []datamask.ProviderOption{datamask.WithMaxEncryptedDataKeys(65536)}, "not between 1 and 65535"},
		{"nil option", []datamask.ProviderOption{nil}, "nil ProviderOption"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := datamask.NewESDKProvider(kr, tt.opts...)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("NewESDKProvider(%s) = %v, %v, want error %q", tt.name, p, err, tt.err)
			}
		})
	}
	if _, err := datamask.NewESDKProvider(nil); err == nil {
		t.Error("NewESDKProvider(nil) = nil error")
	}
}

// TestESDKProviderHeader checks that the suite and frame length options
// reach the messages.
func TestESDKProviderHeader(t *testing.T) {
	kr := localKeyring(t)
	client, err := esdk.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(kr)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts  []datamask.ProviderOption
		suite esdk.Suite
		frame int
	}{
		{nil, esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384, 4096},
		{[]datamask.ProviderOption{datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey), datamask.WithFrameLength(512)}, esdk.AES256GCMHKDFSHA512CommitKey, 512},
	} {
		p, err := datamask.NewESDKProvider(kr, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if p.Suite() != tc.suite {
			t.Errorf("Suite() = %v, want %v", p.Suite(), tc.suite)
		}
		msg, err := p.Encrypt(context.Background(), bytes.Repeat([]byte("a"), 1000), map[string]string{"k": "v"})
		if err != nil {
			t.Fatal(err)
		}
		_, h, err := client.Decrypt(context.Background(), msg, cmm, esdk.WithExpectedContext(map[string]string{"k": "v"}))
		if err != nil {
			t.Fatal(err)
		}
		if h.Suite != tc.suite || h.FrameLength != tc.frame {
			t.Errorf("message suite %v, frame length %d; want %v, %d", h.Suite, h.FrameLength, tc.suite, tc.frame)
		}
	}
}

// failingKeyring fails every request for a data key, as a KMS key that is
// disabled or not allowed would.
type failingKeyring struct{ esdk.Keyring }

var errKeyService = errors.New("test: the key service refused")

func (failingKeyring) OnEncrypt(context.Context, *esdk.EncryptionMaterials) error {
	return errKeyService
}

func TestESDKProviderEncryptKeyError(t *testing.T) {
	m := newMasker(t, failingKeyring{localKeyring(t)})
	_, err := m.Encrypt(context.Background(), []byte(`{"ssn": "123-45-6789"}`), datamask.Fields("ssn"))
	var eke *datamask.EncryptKeyError
	if !errors.As(err, &eke) || !errors.Is(err, errKeyService) {
		t.Fatalf("Encrypt with a failing keyring = %v, want *EncryptKeyError wrapping the keyring's error", err)
	}
	checkNoSecrets(t, err, "123-45-6789")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newMasker(t, localKeyring(t)).Encrypt(ctx, []byte(`{"a": 1}`))
	if err != nil && errors.As(err, &eke) {
		t.Errorf("Encrypt with a cancelled context = %v, want no *EncryptKeyError", err)
	}
}

func TestESDKProviderRedacts(t *testing.T) {
	text := newKeyText(t)
	kr, err := datamask.NewLocalKeyring(text)
	if err != nil {
		t.Fatal(err)
	}
	p, err := datamask.NewESDKProvider(kr)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("provider", "p", p)
	key, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprintf("%x", p), fmt.Sprintf("%s", p), logged.String()} {
		if strings.Contains(s, strings.TrimSpace(string(text))[:8]) || bytes.Contains([]byte(s), key[:8]) || strings.Contains(s, fmt.Sprintf("%x", key[:8])) {
			t.Errorf("provider prints %q, which holds the key", s)
		}
	}
	if !strings.Contains(fmt.Sprint(p), "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384") {
		t.Errorf("String() = %q, want the suite named", p)
	}
}

// secretKeyring is a user's own keyring that keeps its key in a field and
// has no String method.
type secretKeyring struct {
	esdk.Keyring
	key []byte
}

// TestESDKProviderRedactsForeignKeyring checks that the provider describes
// a keyring without a String method by its type only: printing its fields
// would print its key.
func TestESDKProviderRedactsForeignKeyring(t *testing.T) {
	kr := &secretKeyring{Keyring: localKeyring(t), key: []byte("foreign-secret-key-material")}
	p, err := datamask.NewESDKProvider(kr)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprintf("%s", p)} {
		if strings.Contains(s, "foreign-secret") || strings.Contains(s, strings.Trim(fmt.Sprint(kr.key[:8]), "[]")) {
			t.Errorf("provider prints %q, which holds the keyring's key", s)
		}
		if !strings.Contains(s, "*datamask_test.secretKeyring") {
			t.Errorf("provider prints %q, want the keyring's type named", s)
		}
	}
}

func TestDataKeyCacheOptions(t *testing.T) {
	kr := localKeyring(t)
	p, err := datamask.NewESDKProvider(kr)
	if err != nil {
		t.Fatal(err)
	}
	want := datamask.DataKeyCache{Capacity: 100, MaxAge: 300 * time.Second, MaxMessages: 1 << 32, MaxBytes: 1<<63 - 1}
	if c, ok := p.DataKeyCache(); !ok || c != want {
		t.Errorf("DataKeyCache() = %+v, %v; want the Powertools defaults %+v", c, ok, want)
	}
	p, err = datamask.NewESDKProvider(kr, datamask.WithDataKeyCache(datamask.DataKeyCache{Capacity: 5, MaxMessages: 7}))
	if err != nil {
		t.Fatal(err)
	}
	want.Capacity, want.MaxMessages = 5, 7
	if c, ok := p.DataKeyCache(); !ok || c != want {
		t.Errorf("DataKeyCache() = %+v, %v; want %+v", c, ok, want)
	}
	p, err = datamask.NewESDKProvider(kr, datamask.WithoutDataKeyCache())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.DataKeyCache(); ok {
		t.Error("DataKeyCache() is on after WithoutDataKeyCache")
	}
	for _, tc := range []struct {
		opts []datamask.ProviderOption
		err  string
	}{
		{[]datamask.ProviderOption{datamask.WithDataKeyCache(datamask.DataKeyCache{}), datamask.WithoutDataKeyCache()}, "conflicts"},
		{[]datamask.ProviderOption{datamask.WithoutDataKeyCache(), datamask.WithDataKeyCache(datamask.DataKeyCache{})}, "conflicts"},
		{[]datamask.ProviderOption{datamask.WithDataKeyCache(datamask.DataKeyCache{}), datamask.WithDataKeyCache(datamask.DataKeyCache{})}, "given twice"},
		{[]datamask.ProviderOption{datamask.WithDataKeyCache(datamask.DataKeyCache{Capacity: -1})}, "WithDataKeyCache"},
		{[]datamask.ProviderOption{datamask.WithDataKeyCache(datamask.DataKeyCache{MaxAge: -time.Second})}, "WithDataKeyCache"},
		{[]datamask.ProviderOption{datamask.WithDataKeyCache(datamask.DataKeyCache{MaxMessages: 1<<32 + 1})}, "WithDataKeyCache"},
		{[]datamask.ProviderOption{datamask.WithDataKeyCache(datamask.DataKeyCache{MaxBytes: 1 << 63})}, "WithDataKeyCache"},
	} {
		if _, err := datamask.NewESDKProvider(kr, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("NewESDKProvider(%d options) = %v, want an error containing %q", len(tc.opts), err, tc.err)
		}
	}
}

// TestDataKeyCacheSavesKeyCalls counts keyring calls for 100 fields: one
// data key for all of them with the cache, one each without it.
func TestDataKeyCacheSavesKeyCalls(t *testing.T) {
	ctx := context.Background()
	doc, _ := manyFields(100)
	opts := []datamask.CallOption{datamask.Fields("$.customers[*].ssn"), datamask.EncryptionContext(map[string]string{"tenant": "acme"})}
	for _, tc := range []struct {
		name               string
		opts               []datamask.ProviderOption
		encrypts, decrypts int64
	}{
		{"default cache", nil, 1, 1},
		{"10 messages a key", []datamask.ProviderOption{datamask.WithDataKeyCache(datamask.DataKeyCache{MaxMessages: 10})}, 10, 10},
		{"no cache", []datamask.ProviderOption{datamask.WithoutDataKeyCache()}, 100, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, suite := range suites {
				kr := &countingKeyring{Keyring: localKeyring(t)}
				m := newMasker(t, kr, append(tc.opts, datamask.WithSuite(suite))...)
				enc, err := m.Encrypt(ctx, doc, opts...)
				if err != nil {
					t.Fatal(err)
				}
				back, err := m.Decrypt(ctx, enc, opts...)
				if err != nil || !bytes.Equal(back, doc) {
					t.Fatalf("round trip = %.100s, %v", back, err)
				}
				if e, d := kr.encrypts.Load(), kr.decrypts.Load(); e != tc.encrypts || d != tc.decrypts {
					t.Errorf("%s: keyring calls for 100 fields = %d encrypt, %d decrypt; want %d, %d", suiteName(suite), e, d, tc.encrypts, tc.decrypts)
				}
			}
		})
	}
}
