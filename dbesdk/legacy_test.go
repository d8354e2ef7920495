package dbesdk_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/internal/benchdata"
	"github.com/datamask/datamask/kmstest"
)

// legacyVector is a "legacy-ddbec" test of ../shared/ddb_vectors and of
// dbesdk/legacy/testdata (see the README.md files there).
type legacyVector struct {
	Format        string            `json:"format"`
	Result        string            `json:"result"`
	Table         string            `json:"table"`
	PartitionKey  string            `json:"partition_key"`
	SortKey       *string           `json:"sort_key"`
	Actions       map[string]string `json:"actions"`
	DefaultAction string            `json:"default_action"`
	Keyring       struct {
		Type                string `json:"type"`
		EncryptionAlgorithm string `json:"encryption_algorithm"`
		EncryptionKey       string `json:"encryption_key"`
		DecryptionKey       string `json:"decryption_key"`
		SigningAlgorithm    string `json:"signing_algorithm"`
		SigningKey          string `json:"signing_key"`
		VerificationKey     string `json:"verification_key"`
		KeyARN              string `json:"key_arn"`
		KMSTestSecret       string `json:"kmstest_secret"`
		LegacyPKCS1v15      bool   `json:"legacy_pkcs1v15_unwrap"`
		MaterialDescription map[string]string
	} `json:"keyring"`
	Plaintext   json.RawMessage `json:"plaintext"`
	Ciphertext  json.RawMessage `json:"ciphertext"`
	Decrypted   json.RawMessage `json:"decrypted"`
	DerivedFrom string          `json:"derived_from"`
}

// legacyFakes holds one fake KMS per Region and account for the Direct KMS
// vectors, with their keys imported.
type legacyFakes struct {
	t       *testing.T // the test that owns the servers
	mu      sync.Mutex
	servers map[string]*kmstest.Server
	keys    map[string]bool
}

func (f *legacyFakes) client(t *testing.T, arn, secretB64 string) *kms.Client {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		t.Fatalf("key_arn %q is not a key ARN", arn)
	}
	secret, err := base64.StdEncoding.DecodeString(secretB64)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	srv := f.servers[parts[3]+parts[4]]
	if srv == nil {
		srv = kmstest.Start(f.t, kmstest.WithRegion(parts[3]), kmstest.WithAccount(parts[4]))
		f.servers[parts[3]+parts[4]] = srv
	}
	if !f.keys[arn] {
		if _, err := srv.ImportKey(strings.TrimPrefix(parts[5], "key/"), secret); err != nil {
			t.Fatal(err)
		}
		f.keys[arn] = true
	}
	return kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(kmstest.AccessKeyID, kmstest.SecretAccessKey, "")})
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encryptor builds the real legacy.Encryptor of a vector.
func (v *legacyVector) encryptor(t *testing.T, fakes *legacyFakes) *legacy.Encryptor {
	t.Helper()
	k := v.Keyring
	var sk *legacy.SigningKey
	var err error
	switch k.SigningAlgorithm {
	case "HmacSHA256":
		key := mustB64(t, k.SigningKey)
		if len(key) < 16 {
			sk, err = legacy.InsecureShortHMACSigningKey(key)
		} else {
			sk, err = legacy.NewHMACSigningKey(key)
		}
	case "SHA256withRSA":
		var priv *rsa.PrivateKey
		var pub *rsa.PublicKey
		if k.SigningKey != "" {
			p, err := x509.ParsePKCS8PrivateKey(mustB64(t, k.SigningKey))
			if err != nil {
				t.Fatal(err)
			}
			priv = p.(*rsa.PrivateKey)
		}
		if k.VerificationKey != "" {
			p, err := x509.ParsePKIXPublicKey(mustB64(t, k.VerificationKey))
			if err != nil {
				t.Fatal(err)
			}
			pub = p.(*rsa.PublicKey)
		}
		sk, err = legacy.NewRSASigningKey(priv, pub)
	}
	if err != nil {
		t.Fatal(err)
	}
	var p legacy.Provider
	switch {
	case k.Type == "static":
		p, err = legacy.NewStaticProvider(mustB64(t, k.EncryptionKey), sk)
	case k.Type == "wrapped" && k.EncryptionAlgorithm == "AES":
		var wk *legacy.WrappingKey
		if wk, err = legacy.NewAESWrappingKey(mustB64(t, k.EncryptionKey)); err == nil {
			p, err = legacy.NewWrappedProvider(wk, sk)
		}
	case k.Type == "wrapped" && k.EncryptionAlgorithm == "RSA":
		pub, err1 := x509.ParsePKIXPublicKey(mustB64(t, k.EncryptionKey))
		priv, err2 := x509.ParsePKCS8PrivateKey(mustB64(t, k.DecryptionKey))
		if err = errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		var opts []legacy.WrappingKeyOption
		if k.LegacyPKCS1v15 {
			opts = append(opts, legacy.WithLegacyPKCS1v15Unwrap())
		}
		var wk *legacy.WrappingKey
		if wk, err = legacy.NewRSAWrappingKey(pub.(*rsa.PublicKey), priv.(*rsa.PrivateKey), opts...); err == nil {
			p, err = legacy.NewWrappedProvider(wk, sk)
		}
	case k.Type == "aws-kms-direct":
		p, err = legacy.NewDirectKMSProvider(fakes.client(t, k.KeyARN, k.KMSTestSecret), k.KeyARN)
	default:
		t.Fatalf("keyring %s %s is not supported here", k.Type, k.EncryptionAlgorithm)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := legacy.Config{Table: v.Table, PartitionKey: v.PartitionKey, Actions: map[string]legacy.Action{}}
	if v.SortKey != nil {
		cfg.SortKey = *v.SortKey
	}
	if cfg.DefaultAction, err = legacy.ParseAction(v.DefaultAction); err != nil {
		t.Fatal(err)
	}
	for name, a := range v.Actions {
		if cfg.Actions[name], err = legacy.ParseAction(a); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := legacy.New(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// tableConfig is the DB-ESDK configuration of the vector's table: the same
// table and keys, each attribute's action (DO_NOTHING ones unsigned), and
// the legacy encryptor under policy. Attributes of the plaintext that the
// vector does not name take its default action.
func (v *legacyVector) tableConfig(t *testing.T, enc *legacy.Encryptor, policy dbesdk.LegacyPolicy) dbesdk.TableConfig {
	cfg := dbesdk.TableConfig{
		LogicalTableName: v.Table,
		PartitionKey:     v.PartitionKey,
		Actions:          map[string]dbesdk.Action{v.PartitionKey: dbesdk.SignOnly},
		Suite:            0x6700,
		Legacy:           &dbesdk.LegacyOverride{Policy: policy, Encryptor: enc},
	}
	if v.SortKey != nil {
		cfg.SortKey = *v.SortKey
		cfg.Actions[cfg.SortKey] = dbesdk.SignOnly
	}
	actions := maps.Clone(v.Actions)
	for name := range mustItem(t, v.Plaintext) {
		if _, ok := actions[name]; !ok {
			actions[name] = v.DefaultAction
		}
	}
	for name, a := range actions {
		switch {
		case name == cfg.PartitionKey || name == cfg.SortKey:
		case a == "DO_NOTHING":
			cfg.UnsignedAttributes = append(cfg.UnsignedAttributes, name)
		case a == "SIGN_ONLY":
			cfg.Actions[name] = dbesdk.SignOnly
		default:
			cfg.Actions[name] = dbesdk.EncryptAndSign
		}
	}
	return cfg
}

// legacyVectors returns the legacy-ddbec tests of the shared set and of
// dbesdk/legacy/testdata/python (the Python client's items, Direct KMS
// ones included) that carry a legacy attribute, by name.
func legacyVectors(t *testing.T) map[string]*legacyVector {
	t.Helper()
	out := map[string]*legacyVector{}
	for _, dir := range []string{
		filepath.Join(benchdata.SharedDir(), "ddb_vectors"),
		filepath.Join(repoRoot(), "dbesdk", "legacy", "testdata", "python"),
	} {
		b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Tests map[string]*legacyVector `json:"tests"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for id, v := range m.Tests {
			// Items whose attributes were all DO_NOTHING were stored
			// unchanged: nothing marks them as legacy items.
			if v.Format == "legacy-ddbec" && (strings.Contains(string(v.Ciphertext), dbesdk.LegacySignatureName) ||
				strings.Contains(string(v.Ciphertext), dbesdk.LegacyMaterialDescriptionName)) {
				out[filepath.Base(dir)+"/"+id] = v
			}
		}
	}
	return out
}

// TestLegacyVectorsThroughItemEncryptor proves the LegacyOverride hook with
// the real legacy format (package dbesdk/legacy) on items the Python and
// Java DynamoDB Encryption Clients wrote: under each policy, DecryptItem of
// an item encryptor reads them (or refuses them with ErrLegacyItem), the
// tampered ones fail with the legacy format's one error naming no value,
// EncryptItem writes legacy items that DDBEC reads only under
// ForceLegacyEncryptAllowLegacyDecrypt, and DB-ESDK items are read under
// every policy.
func TestLegacyVectorsThroughItemEncryptor(t *testing.T) {
	fakes := &legacyFakes{t: t, servers: map[string]*kmstest.Server{}, keys: map[string]bool{}}
	vectors := legacyVectors(t)
	counts := map[string]int{}
	for _, id := range slices.Sorted(maps.Keys(vectors)) {
		v := vectors[id]
		counts[v.Result+" "+v.Keyring.Type]++
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			runLegacyVector(t, fakes, v)
		})
	}
	t.Cleanup(func() {
		for _, want := range []string{"success static", "success wrapped", "success aws-kms-direct", "failure static", "failure wrapped", "failure aws-kms-direct"} {
			if counts[want] == 0 {
				t.Errorf("no %s legacy vector ran; ran %v", want, counts)
			}
		}
	})
}

func runLegacyVector(t *testing.T, fakes *legacyFakes, v *legacyVector) {
	ctx := context.Background()
	lenc := v.encryptor(t, fakes)
	ct := mustItem(t, v.Ciphertext)
	want := v.Decrypted
	if len(want) == 0 {
		want = v.Plaintext
	}
	policies := []dbesdk.LegacyPolicy{dbesdk.ForbidLegacyEncryptAllowLegacyDecrypt, dbesdk.ForceLegacyEncryptAllowLegacyDecrypt, dbesdk.ForbidLegacyEncryptForbidLegacyDecrypt}
	for _, policy := range policies {
		enc, err := dbesdk.New(v.tableConfig(t, lenc, policy), testKeyring(t))
		if err != nil {
			t.Fatalf("%v: New() = %v", policy, err)
		}
		got, err := enc.DecryptItem(ctx, ct)
		switch {
		case policy == dbesdk.ForbidLegacyEncryptForbidLegacyDecrypt:
			var ie *dbesdk.ItemError
			if !errors.Is(err, dbesdk.ErrLegacyItem) || !errors.As(err, &ie) || got != nil {
				t.Errorf("%v: DecryptItem() = %v, want ErrLegacyItem", policy, err)
			}
			continue
		case v.Result == "failure":
			var ie *legacy.ItemError
			if err == nil || got != nil || !errors.Is(err, legacy.ErrDecrypt) || !errors.As(err, &ie) || ie.Table != v.Table {
				t.Errorf("%v: DecryptItem(tampered) = %v, want legacy.ErrDecrypt for table %q", policy, err, v.Table)
				continue
			}
			for _, s := range secretTexts(ct, v.PartitionKey, deref(v.SortKey)) {
				if strings.Contains(err.Error(), s) {
					t.Errorf("%v: error %q holds a value of the item", policy, err)
				}
			}
			continue
		case err != nil:
			t.Errorf("%v: DecryptItem() = %v, want the item", policy, err)
			continue
		}
		if g, w := itemJSON(t, got), itemJSON(t, mustItem(t, want)); g != w {
			t.Errorf("%v: DecryptItem() =\n%s\nwant\n%s", policy, g, w)
		}
		if v.DerivedFrom != "" {
			continue
		}
		// Writing: legacy items only under the force policy, and the legacy
		// encryptor on its own reads them (as DDBEC clients do).
		pt := mustItem(t, v.Plaintext)
		out, err := enc.EncryptItem(ctx, pt)
		if err != nil {
			t.Fatalf("%v: EncryptItem() = %v", policy, err)
		}
		_, isLegacy := out[dbesdk.LegacySignatureName]
		_, isDB := out[dbesdk.HeaderName]
		if force := policy == dbesdk.ForceLegacyEncryptAllowLegacyDecrypt; isLegacy != force || isDB == force {
			t.Errorf("%v: EncryptItem() wrote legacy %v, DB-ESDK %v", policy, isLegacy, isDB)
		}
		if isLegacy {
			back, err := lenc.DecryptItem(ctx, out)
			if err != nil {
				t.Fatalf("%v: legacy DecryptItem(EncryptItem()) = %v", policy, err)
			}
			again, err := enc.DecryptItem(ctx, out)
			if err != nil || itemJSON(t, again) != itemJSON(t, back) {
				t.Errorf("%v: DecryptItem(EncryptItem()) = %v, want what the legacy encryptor reads", policy, err)
			}
		} else if _, err := enc.DecryptItem(ctx, out); err != nil {
			t.Errorf("%v: DecryptItem(DB-ESDK item) = %v", policy, err)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
