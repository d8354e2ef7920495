package dbesdk_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/benchdata"
	"github.com/datamask/datamask/internal/ddbjson"
	"github.com/datamask/datamask/kmstest"
)

// ddbManifest is the layout of ../shared/ddb_vectors/manifest.json (see its
// README.md) and of the folders under testdata/vectors.
type ddbManifest struct {
	Meta  map[string]any          `json:"meta"`
	Tests map[string]ddbVectorDef `json:"tests"`
}

type ddbVectorDef struct {
	Format             string            `json:"format"`
	Description        string            `json:"description"`
	Result             string            `json:"result"`
	Why                string            `json:"why,omitempty"`
	Table              string            `json:"table"`
	PartitionKey       string            `json:"partition_key"`
	SortKey            *string           `json:"sort_key"`
	Suite              string            `json:"suite"`
	Actions            map[string]string `json:"actions"`
	UnsignedPrefix     string            `json:"allowed_unsigned_prefix,omitempty"`
	UnsignedAttributes []string          `json:"allowed_unsigned_attributes,omitempty"`
	Keyring            vectorKeyringDef  `json:"keyring"`
	Plaintext          json.RawMessage   `json:"plaintext"`
	Ciphertext         json.RawMessage   `json:"ciphertext"`
	Decrypted          json.RawMessage   `json:"decrypted,omitempty"`
	DerivedFrom        string            `json:"derived_from,omitempty"`
}

type vectorKeyringDef struct {
	Type          string `json:"type"`
	Namespace     string `json:"namespace,omitempty"`
	Name          string `json:"name,omitempty"`
	Key           string `json:"key,omitempty"`
	Padding       string `json:"padding,omitempty"`
	PublicKeyPEM  string `json:"public_key_pem,omitempty"`
	PrivateKeyPEM string `json:"private_key_pem,omitempty"`
	// KeyARNs and KMSTestSeed describe an AWS KMS keyring (type
	// "aws-kms", datamask's vectors only): the keys of a fake KMS
	// (package kmstest) started with WithInsecureKeySeed(KMSTestSeed) in
	// its default Region and account; the first key generates.
	KeyARNs     []string `json:"key_arns,omitempty"`
	KMSTestSeed string   `json:"kmstest_seed,omitempty"`
}

// repoRoot is the repository root.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0) // <repo>/dbesdk/vectors_test.go
	return filepath.Dir(filepath.Dir(file))
}

// vectorDirs returns the folders to run: ../shared/ddb_vectors, every folder
// under testdata/vectors (written by the Go DB-ESDK on this machine), and
// those DDB_VECTORS lists (colon-separated; relative to the repository
// root). A listed folder without a manifest fails the test.
func vectorDirs(t *testing.T) []string {
	t.Helper()
	dirs := []string{filepath.Join(benchdata.SharedDir(), "ddb_vectors")}
	own, err := filepath.Glob(filepath.Join(repoRoot(), "dbesdk", "testdata", "vectors", "*", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range own {
		dirs = append(dirs, filepath.Dir(m))
	}
	for _, d := range strings.Split(os.Getenv("DDB_VECTORS"), ":") {
		if d == "" {
			continue
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(repoRoot(), d)
		}
		dirs = append(dirs, d)
	}
	return dirs
}

func loadManifest(t *testing.T, dir string) ddbManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("vector folder %s: %v", dir, err)
	}
	var m ddbManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s/manifest.json: %v", dir, err)
	}
	if len(m.Tests) == 0 {
		t.Fatalf("%s/manifest.json has no tests", dir)
	}
	return m
}

func (v *ddbVectorDef) config(t testing.TB) dbesdk.TableConfig {
	t.Helper()
	cfg := dbesdk.TableConfig{
		LogicalTableName:   v.Table,
		PartitionKey:       v.PartitionKey,
		Actions:            map[string]dbesdk.Action{},
		UnsignedPrefix:     v.UnsignedPrefix,
		UnsignedAttributes: v.UnsignedAttributes,
	}
	if v.SortKey != nil {
		cfg.SortKey = *v.SortKey
	}
	for name, a := range v.Actions {
		act, err := dbesdk.ParseAction(a)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Actions[name] = act
	}
	switch v.Suite {
	case "0x6700":
		cfg.Suite = esdk.DBEAES256GCMCommitKeyHMACSHA384
	case "0x6701":
		cfg.Suite = esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384
	default:
		t.Fatalf("unknown suite %q", v.Suite)
	}
	return cfg
}

func (k *vectorKeyringDef) keyring(t testing.TB) esdk.Keyring {
	t.Helper()
	switch k.Type {
	case "raw-aes":
		key, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			t.Fatal(err)
		}
		kr, err := esdk.NewRawAESKeyring(k.Namespace, k.Name, key)
		if err != nil {
			t.Fatal(err)
		}
		return kr
	case "raw-rsa":
		padding := map[string]esdk.RSAPadding{
			"PKCS1": esdk.LegacyRSAPKCS1v15, "OAEP_SHA1_MGF1": esdk.RSAOAEPSHA1, "OAEP_SHA256_MGF1": esdk.RSAOAEPSHA256,
			"OAEP_SHA384_MGF1": esdk.RSAOAEPSHA384, "OAEP_SHA512_MGF1": esdk.RSAOAEPSHA512,
		}[k.Padding]
		if padding == 0 {
			t.Fatalf("unknown RSA padding %q", k.Padding)
		}
		var pub *rsa.PublicKey
		var priv *rsa.PrivateKey
		if b, _ := pem.Decode([]byte(k.PublicKeyPEM)); b != nil {
			p, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			pub = p.(*rsa.PublicKey)
		}
		if b, _ := pem.Decode([]byte(k.PrivateKeyPEM)); b != nil {
			p, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			priv = p.(*rsa.PrivateKey)
		}
		kr, err := esdk.NewRawRSAKeyring(k.Namespace, k.Name, padding, pub, priv)
		if err != nil {
			t.Fatal(err)
		}
		return kr
	case "aws-kms":
		if k.KMSTestSeed == "" || len(k.KeyARNs) == 0 {
			t.Fatal("an aws-kms vector keyring needs kmstest_seed and key_arns")
		}
		srv := kmstest.Start(t, kmstest.WithInsecureKeySeed([]byte(k.KMSTestSeed)))
		// The seeded fake makes its keys in order: make them until every
		// key the vector names exists.
		for range 10 {
			if missing := slices.ContainsFunc(k.KeyARNs, func(a string) bool { return !slices.Contains(srv.Keys(), a) }); !missing {
				break
			}
			srv.CreateKey()
		}
		client := kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
		kr, err := awskms.NewKeyring(client, k.KeyARNs)
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	t.Fatalf("unsupported keyring type %q", k.Type)
	return nil
}

func mustItem(t testing.TB, raw json.RawMessage) map[string]types.AttributeValue {
	t.Helper()
	item, err := ddbjson.Unmarshal(raw)
	if err != nil {
		t.Fatalf("vector item: %v", err)
	}
	return item
}

func itemJSON(t testing.TB, item map[string]types.AttributeValue) string {
	t.Helper()
	b, err := ddbjson.Marshal(item)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// secretTexts returns the texts of the values of item's attributes other
// than its keys, long enough to be recognized in an error message.
func secretTexts(item map[string]types.AttributeValue, keys ...string) []string {
	var out []string
	var walk func(types.AttributeValue)
	walk = func(av types.AttributeValue) {
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			out = append(out, v.Value)
		case *types.AttributeValueMemberN:
			out = append(out, v.Value)
		case *types.AttributeValueMemberB:
			out = append(out, base64.StdEncoding.EncodeToString(v.Value))
		case *types.AttributeValueMemberSS:
			out = append(out, v.Value...)
		case *types.AttributeValueMemberL:
			for _, e := range v.Value {
				walk(e)
			}
		case *types.AttributeValueMemberM:
			for _, e := range v.Value {
				walk(e)
			}
		}
	}
	for name, av := range item {
		if !slices.Contains(keys, name) {
			walk(av)
		}
	}
	var long []string
	for _, s := range out {
		if len(s) >= 6 {
			long = append(long, s)
		}
	}
	return long
}

// TestDecryptVectors runs every "dbesdk" test of the vector folders: each
// positive item decrypts to its expected plaintext, each negative one is
// refused with an *ItemError naming no attribute value. For positive items
// not derived from another, the encrypt direction too: the plaintext
// encrypted under the test's configuration decrypts to the expected item.
// The "legacy-ddbec" tests belong to package dbesdk/legacy's runner.
func TestDecryptVectors(t *testing.T) {
	for _, dir := range vectorDirs(t) {
		m := loadManifest(t, dir)
		ran, other := 0, 0
		for _, v := range m.Tests {
			if v.Format == "dbesdk" {
				ran++
			} else {
				other++
			}
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			for id, v := range m.Tests {
				if v.Format != "dbesdk" {
					continue
				}
				t.Run(id, func(t *testing.T) {
					t.Parallel()
					runVector(t, v)
				})
			}
		})
		if ran == 0 {
			t.Errorf("%s: no dbesdk test", dir)
		}
		t.Logf("%s: %d dbesdk tests; %d tests of other formats left to their runners", dir, ran, other)
	}
}

func runVector(t *testing.T, v ddbVectorDef) {
	cfg := v.config(t)
	kr := v.Keyring.keyring(t)
	ct := mustItem(t, v.Ciphertext)
	want := v.Plaintext
	if len(v.Decrypted) > 0 {
		want = v.Decrypted
	}
	for _, cache := range []bool{false, true} {
		var opts []dbesdk.Option
		if !cache {
			opts = append(opts, dbesdk.WithoutDataKeyCache())
		}
		enc, err := dbesdk.New(cfg, kr, opts...)
		if err != nil {
			t.Fatalf("New() = %v", err)
		}
		got, err := enc.DecryptItem(context.Background(), ct)
		switch v.Result {
		case "success":
			if err != nil {
				t.Fatalf("DecryptItem() = %v, want success", err)
			}
			if g, w := itemJSON(t, got), itemJSON(t, mustItem(t, want)); g != w {
				t.Fatalf("DecryptItem() =\n%s\nwant\n%s", g, w)
			}
		case "failure":
			if err == nil || got != nil {
				t.Fatalf("DecryptItem() = %v, %v; want an error (%s)", got != nil, err, v.Why)
			}
			checkItemError(t, err, v, ct)
		default:
			t.Fatalf("unknown result %q", v.Result)
		}
	}
	if v.Result != "success" || v.DerivedFrom != "" {
		return
	}
	enc, err := dbesdk.New(cfg, kr)
	if err != nil {
		t.Fatal(err)
	}
	pt := mustItem(t, v.Plaintext)
	encrypted, err := enc.EncryptItem(context.Background(), pt)
	if err != nil {
		t.Fatalf("EncryptItem() = %v", err)
	}
	got, err := enc.DecryptItem(context.Background(), encrypted)
	if err != nil {
		t.Fatalf("DecryptItem(EncryptItem()) = %v", err)
	}
	if g, w := itemJSON(t, got), itemJSON(t, mustItem(t, want)); g != w {
		t.Fatalf("DecryptItem(EncryptItem()) =\n%s\nwant\n%s", g, w)
	}
}

// checkItemError asserts that err is an *ItemError of a tampered item (or,
// for a key the decrypting keyring lacks, a key error) that shows no value
// of the item but its keys.
func checkItemError(t *testing.T, err error, v ddbVectorDef, item map[string]types.AttributeValue) {
	t.Helper()
	var ie *dbesdk.ItemError
	if !errors.As(err, &ie) || ie.Op != "decrypt" || ie.Table != v.Table {
		t.Fatalf("DecryptItem() = %v, want an *ItemError for table %q", err, v.Table)
	}
	if !errors.Is(err, dbesdk.ErrInvalidItem) && !errors.Is(err, esdk.ErrNoDecryptKey) {
		t.Errorf("DecryptItem() = %v, want ErrInvalidItem or ErrNoDecryptKey", err)
	}
	keys := []string{v.PartitionKey}
	if v.SortKey != nil {
		keys = append(keys, *v.SortKey)
	}
	pt := mustItem(t, v.Plaintext)
	for _, s := range append(secretTexts(item, keys...), secretTexts(pt, keys...)...) {
		if strings.Contains(err.Error(), s) {
			t.Errorf("DecryptItem() error %q shows the value %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%q", v.PartitionKey)) {
		t.Errorf("DecryptItem() error %q does not name the partition key", err)
	}
}
