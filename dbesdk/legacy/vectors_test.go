package legacy_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/kmstest"
)

// vectorFormat is the format of the tests this runner takes; the DB-ESDK
// runner (package dbesdk) takes the "dbesdk" ones of the same manifests.
const vectorFormat = "legacy-ddbec"

// manifest is a vector folder's manifest.json (see
// ../shared/ddb_vectors/README.md and testdata/README.md).
type manifest struct {
	Meta  json.RawMessage        `json:"meta"`
	Tests map[string]*vectorTest `json:"tests"`
}

type vectorTest struct {
	Format        string            `json:"format"`
	Description   string            `json:"description"`
	Result        string            `json:"result"`
	Why           string            `json:"why,omitempty"`
	Table         string            `json:"table"`
	PartitionKey  string            `json:"partition_key"`
	SortKey       *string           `json:"sort_key"`
	Actions       map[string]string `json:"actions"`
	DefaultAction string            `json:"default_action"`
	Keyring       keyringSpec       `json:"keyring"`
	Plaintext     json.RawMessage   `json:"plaintext,omitempty"`
	Ciphertext    json.RawMessage   `json:"ciphertext"`
	Decrypted     json.RawMessage   `json:"decrypted,omitempty"`
	PeerError     string            `json:"peer_error,omitempty"`
	DerivedFrom   string            `json:"derived_from,omitempty"`
}

// keyringSpec describes a materials provider: "static" and "wrapped" as in
// the shared README; "aws-kms-direct" (testdata/README.md) is the Direct KMS
// provider over the fake KMS with a key of fixed id and secret.
type keyringSpec struct {
	Type                string            `json:"type"`
	EncryptionAlgorithm string            `json:"encryption_algorithm,omitempty"`
	EncryptionKey       string            `json:"encryption_key,omitempty"`
	DecryptionKey       string            `json:"decryption_key,omitempty"`
	SigningAlgorithm    string            `json:"signing_algorithm,omitempty"`
	SigningKey          string            `json:"signing_key,omitempty"`
	VerificationKey     string            `json:"verification_key,omitempty"`
	MaterialDescription map[string]string `json:"material_description,omitempty"`
	KeyARN              string            `json:"key_arn,omitempty"`
	KMSTestSecret       string            `json:"kmstest_secret,omitempty"`
	LegacyPKCS1v15      bool              `json:"legacy_pkcs1v15_unwrap,omitempty"`
}

// repoRoot is the repository root, from this file's path.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0) // <repo>/dbesdk/legacy/vectors_test.go
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// vectorDirs returns the vector folders to run: the shared set
// (../shared/ddb_vectors), every folder under testdata with a manifest.json,
// and the folders listed in DDB_VECTORS (colon-separated; relative paths
// are relative to the repository root). A listed folder that does not exist
// fails the test.
func vectorDirs(t *testing.T) []string {
	t.Helper()
	dirs, err := vectorDirsFrom(os.Getenv("DDB_VECTORS"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func vectorDirsFrom(env string) ([]string, error) {
	root := repoRoot()
	dirs := []string{filepath.Join(root, "..", "shared", "ddb_vectors")}
	own, err := filepath.Glob(filepath.Join("testdata", "*", "manifest.json"))
	if err != nil {
		return nil, err
	}
	for _, m := range own {
		dirs = append(dirs, filepath.Dir(m))
	}
	for _, d := range strings.Split(env, ":") {
		if d == "" {
			continue
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(root, d)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "manifest.json")); err != nil {
			return nil, fmt.Errorf("vector folder %s: %v (DDB_VECTORS lists folders holding a manifest.json)", d, err)
		}
	}
	return dirs, nil
}

// DDB_VECTORS adds folders; a listed folder that is missing is an error.
func TestVectorDirs(t *testing.T) {
	t.Parallel()
	base, err := vectorDirsFrom("")
	if err != nil {
		t.Fatal(err)
	}
	own, _ := filepath.Glob(filepath.Join("testdata", "*", "manifest.json"))
	if len(own) < 3 || len(base) != 1+len(own) {
		t.Errorf("vectorDirsFrom(\"\") = %v, want the shared set and the testdata folders %v", base, own)
	}
	extra, err := vectorDirsFrom("dbesdk/legacy/testdata/python::" + base[0])
	if err != nil || len(extra) != len(base)+2 {
		t.Errorf("vectorDirsFrom(two folders) = %v, %v; want %d folders", extra, err, len(base)+2)
	}
	if _, err := vectorDirsFrom("no/such/folder"); err == nil || !strings.Contains(err.Error(), "no/such/folder") {
		t.Errorf("vectorDirsFrom(missing folder) = %v, want an error naming it", err)
	}
}

func loadManifest(t *testing.T, dir string) *manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s/manifest.json: %v", dir, err)
	}
	return &m
}

// kmsFakes starts fake KMS servers for the Direct KMS vectors of a run,
// one per Region and account, and imports their keys.
type kmsFakes struct {
	t       *testing.T
	mu      sync.Mutex
	servers map[string]*kmstest.Server // by "region account"
	keys    map[string]string          // imported key ARN -> secret
}

func newKMSFakes(t *testing.T) *kmsFakes {
	return &kmsFakes{t: t, servers: map[string]*kmstest.Server{}, keys: map[string]string{}}
}

// client returns a KMS client for a fake holding key arn with secret.
func (f *kmsFakes) client(arn, secretB64 string) (*kms.Client, *kmstest.Server, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "key/") {
		return nil, nil, fmt.Errorf("key_arn %q is not a key ARN", arn)
	}
	region, account, keyID := parts[3], parts[4], strings.TrimPrefix(parts[5], "key/")
	secret, err := base64.StdEncoding.DecodeString(secretB64)
	if err != nil {
		return nil, nil, fmt.Errorf("kmstest_secret: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	srv := f.servers[region+" "+account]
	if srv == nil {
		srv = kmstest.Start(f.t, kmstest.WithRegion(region), kmstest.WithAccount(account))
		f.servers[region+" "+account] = srv
	}
	if s, ok := f.keys[arn]; !ok {
		if _, err := srv.ImportKey(keyID, secret); err != nil {
			return nil, nil, err
		}
		f.keys[arn] = secretB64
	} else if s != secretB64 {
		return nil, nil, fmt.Errorf("key %s appears with two secrets", arn)
	}
	return newKMSClient(srv), srv, nil
}

func newKMSClient(srv *kmstest.Server) *kms.Client {
	return kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(kmstest.AccessKeyID, kmstest.SecretAccessKey, ""),
	})
}

func b64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", field, err)
	}
	return b, nil
}

func signingKey(k keyringSpec) (*legacy.SigningKey, error) {
	switch k.SigningAlgorithm {
	case "HmacSHA256":
		key, err := b64("signing_key", k.SigningKey)
		if err != nil {
			return nil, err
		}
		if len(key) < 16 { // DDBEC's own vectors sign with an 8-byte key
			return legacy.InsecureShortHMACSigningKey(key)
		}
		return legacy.NewHMACSigningKey(key)
	case "SHA256withRSA":
		var priv *rsa.PrivateKey
		var pub *rsa.PublicKey
		if k.SigningKey != "" {
			der, err := b64("signing_key", k.SigningKey)
			if err != nil {
				return nil, err
			}
			key, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return nil, fmt.Errorf("signing_key: %v", err)
			}
			var ok bool
			if priv, ok = key.(*rsa.PrivateKey); !ok {
				return nil, fmt.Errorf("signing_key is a %T, not an RSA key", key)
			}
		}
		if k.VerificationKey != "" {
			der, err := b64("verification_key", k.VerificationKey)
			if err != nil {
				return nil, err
			}
			key, err := x509.ParsePKIXPublicKey(der)
			if err != nil {
				return nil, fmt.Errorf("verification_key: %v", err)
			}
			var ok bool
			if pub, ok = key.(*rsa.PublicKey); !ok {
				return nil, fmt.Errorf("verification_key is a %T, not an RSA key", key)
			}
		}
		return legacy.NewRSASigningKey(priv, pub)
	}
	return nil, fmt.Errorf("signing_algorithm %q is not supported", k.SigningAlgorithm)
}

// provider builds the materials provider a keyring describes.
func (f *kmsFakes) provider(k keyringSpec) (legacy.Provider, error) {
	var opts []legacy.ProviderOption
	if k.MaterialDescription != nil {
		opts = append(opts, legacy.WithMaterialDescription(k.MaterialDescription))
	}
	switch k.Type {
	case "static":
		if k.EncryptionAlgorithm != "AES" {
			return nil, fmt.Errorf("static encryption_algorithm %q is not supported", k.EncryptionAlgorithm)
		}
		key, err := b64("encryption_key", k.EncryptionKey)
		if err != nil {
			return nil, err
		}
		sk, err := signingKey(k)
		if err != nil {
			return nil, err
		}
		return legacy.NewStaticProvider(key, sk, opts...)
	case "wrapped":
		var wk *legacy.WrappingKey
		switch k.EncryptionAlgorithm {
		case "AES":
			key, err := b64("encryption_key", k.EncryptionKey)
			if err != nil {
				return nil, err
			}
			if wk, err = legacy.NewAESWrappingKey(key); err != nil {
				return nil, err
			}
		case "RSA":
			pubDER, err := b64("encryption_key", k.EncryptionKey)
			if err != nil {
				return nil, err
			}
			privDER, err := b64("decryption_key", k.DecryptionKey)
			if err != nil {
				return nil, err
			}
			pub, err := x509.ParsePKIXPublicKey(pubDER)
			if err != nil {
				return nil, fmt.Errorf("encryption_key: %v", err)
			}
			priv, err := x509.ParsePKCS8PrivateKey(privDER)
			if err != nil {
				return nil, fmt.Errorf("decryption_key: %v", err)
			}
			rpub, ok1 := pub.(*rsa.PublicKey)
			rpriv, ok2 := priv.(*rsa.PrivateKey)
			if !ok1 || !ok2 {
				return nil, errors.New("encryption_key and decryption_key must be RSA keys")
			}
			var wopts []legacy.WrappingKeyOption
			if k.LegacyPKCS1v15 {
				wopts = append(wopts, legacy.WithLegacyPKCS1v15Unwrap())
			}
			if wk, err = legacy.NewRSAWrappingKey(rpub, rpriv, wopts...); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("wrapped encryption_algorithm %q is not supported", k.EncryptionAlgorithm)
		}
		sk, err := signingKey(k)
		if err != nil {
			return nil, err
		}
		return legacy.NewWrappedProvider(wk, sk, opts...)
	case "aws-kms-direct":
		client, _, err := f.client(k.KeyARN, k.KMSTestSecret)
		if err != nil {
			return nil, err
		}
		return legacy.NewDirectKMSProvider(client, k.KeyARN)
	}
	return nil, fmt.Errorf("keyring type %q is not supported", k.Type)
}

// config builds the table configuration of a test.
func (v *vectorTest) config() (legacy.Config, error) {
	cfg := legacy.Config{Table: v.Table, PartitionKey: v.PartitionKey, Actions: map[string]legacy.Action{}}
	if v.SortKey != nil {
		cfg.SortKey = *v.SortKey
	}
	var err error
	if cfg.DefaultAction, err = legacy.ParseAction(v.DefaultAction); err != nil {
		return cfg, fmt.Errorf("default_action: %v", err)
	}
	for name, a := range v.Actions {
		if cfg.Actions[name], err = legacy.ParseAction(a); err != nil {
			return cfg, fmt.Errorf("actions[%q]: %v", name, err)
		}
	}
	return cfg, nil
}

// expected returns the item a successful decryption must return.
func (v *vectorTest) expected() (map[string]types.AttributeValue, error) {
	if len(v.Decrypted) > 0 {
		return parseItemJSON(v.Decrypted)
	}
	return parseItemJSON(v.Plaintext)
}

// TestVectors runs every legacy-ddbec test of the vector folders: each
// positive test's ciphertext decrypts to its expected item, and its
// plaintext, encrypted here, decrypts to the same; each negative one is
// refused with ErrDecrypt and no item, in an error that holds none of the
// item's non-key values.
func TestVectors(t *testing.T) {
	t.Parallel()
	fakes := newKMSFakes(t)
	total := map[string]int{}
	for _, dir := range vectorDirs(t) {
		m := loadManifest(t, dir)
		ids := slices.Sorted(maps.Keys(m.Tests))
		for _, id := range ids {
			v := m.Tests[id]
			if v.Format != vectorFormat {
				continue
			}
			total[v.Result]++
			t.Run(filepath.Base(dir)+"/"+id, func(t *testing.T) {
				t.Parallel()
				runVector(t, fakes, v)
			})
		}
	}
	t.Cleanup(func() {
		if total["success"] == 0 || total["failure"] == 0 {
			t.Errorf("ran %d positive and %d negative legacy tests; want some of each", total["success"], total["failure"])
		}
		t.Logf("legacy-ddbec vectors: %d positive, %d negative", total["success"], total["failure"])
	})
}

func runVector(t *testing.T, fakes *kmsFakes, v *vectorTest) {
	cfg, err := v.config()
	if err != nil {
		t.Fatal(err)
	}
	p, err := fakes.provider(v.Keyring)
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	enc, err := legacy.New(cfg, p)
	if err != nil {
		t.Fatalf("New(): %v", err)
	}
	ct, err := parseItemJSON(v.Ciphertext)
	if err != nil {
		t.Fatalf("ciphertext: %v", err)
	}
	ctx := context.Background()
	got, err := enc.DecryptItem(ctx, ct)
	switch v.Result {
	case "success":
		if err != nil {
			t.Fatalf("DecryptItem() = %v, want success (%s)", err, v.Description)
		}
		want, err := v.expected()
		if err != nil {
			t.Fatalf("expected item: %v", err)
		}
		if g, w := itemJSON(got), itemJSON(want); g != w {
			t.Fatalf("DecryptItem() =\n%s\nwant\n%s", g, w)
		}
		if v.DerivedFrom != "" {
			return // a tolerated change: its plaintext is the original's
		}
		pt, err := parseItemJSON(v.Plaintext)
		if err != nil {
			t.Fatalf("plaintext: %v", err)
		}
		again, err := enc.EncryptItem(ctx, pt)
		if err != nil {
			t.Fatalf("EncryptItem(plaintext) = %v", err)
		}
		back, err := enc.DecryptItem(ctx, again)
		if err != nil {
			t.Fatalf("DecryptItem(EncryptItem(plaintext)) = %v", err)
		}
		// A SIGN_ONLY set keeps the plaintext's member order, which may
		// differ from the order the writer stored: compare sets as sets.
		if g, w := itemJSON(sortSets(back)), itemJSON(sortSets(want)); g != w {
			t.Fatalf("DecryptItem(EncryptItem(plaintext)) =\n%s\nwant (sets as sets)\n%s", g, w)
		}
	case "failure":
		if err == nil || got != nil {
			t.Fatalf("DecryptItem() = %v, %v; want it refused (%s)", itemJSON(got), err, v.Why)
		}
		if !errors.Is(err, legacy.ErrDecrypt) {
			t.Errorf("DecryptItem() = %v, want ErrDecrypt", err)
		}
		var ie *legacy.ItemError
		if !errors.As(err, &ie) || ie.Table != cfg.Table || ie.Op != "decrypt" {
			t.Errorf("DecryptItem() = %#v, want an *ItemError for table %q", err, cfg.Table)
		}
		checkNoValues(t, err, ct, cfg)
	default:
		t.Fatalf("result %q is neither success nor failure", v.Result)
	}
}

// checkNoValues fails t if err's text holds a string value (of 4 bytes or
// more) of item other than its key values.
func checkNoValues(t *testing.T, err error, item map[string]types.AttributeValue, cfg legacy.Config) {
	t.Helper()
	msg := err.Error()
	for name, av := range item {
		if name == cfg.PartitionKey || name == cfg.SortKey {
			continue
		}
		for _, s := range stringsOf(av) {
			if len(s) >= 4 && strings.Contains(msg, s) {
				t.Errorf("error %q holds the value of attribute %q", msg, name)
			}
		}
	}
}

func stringsOf(av types.AttributeValue) []string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return []string{v.Value}
	case *types.AttributeValueMemberN:
		return []string{v.Value}
	case *types.AttributeValueMemberB:
		return []string{string(v.Value), base64.StdEncoding.EncodeToString(v.Value)}
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberNS:
		return v.Value
	case *types.AttributeValueMemberL:
		var out []string
		for _, e := range v.Value {
			out = append(out, stringsOf(e)...)
		}
		return out
	case *types.AttributeValueMemberM:
		var out []string
		for _, e := range v.Value {
			out = append(out, stringsOf(e)...)
		}
		return out
	}
	return nil
}
