package esdk_test

import (
	"bytes"
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
	"sort"
	"strings"
	"testing"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/benchdata"
)

// The ESDK test-vector framework's decrypt manifests (type "awses-decrypt")
// and key manifests (type "keys"), as far as offline vectors use them.
type decryptManifest struct {
	Manifest struct {
		Type    string `json:"type"`
		Version int    `json:"version"`
	} `json:"manifest"`
	Keys  string                   `json:"keys"`
	Tests map[string]decryptVector `json:"tests"`
}

type decryptVector struct {
	Ciphertext        string            `json:"ciphertext"`
	CMM               string            `json:"cmm"`
	EncryptionContext map[string]string `json:"encryption-context"`
	MasterKeys        []masterKey       `json:"master-keys"`
	Result            struct {
		Output *struct {
			Plaintext string `json:"plaintext"`
		} `json:"output"`
		Error *struct {
			Description string `json:"error-description"`
		} `json:"error"`
	} `json:"result"`
}

type masterKey struct {
	Type                string `json:"type"`
	Key                 string `json:"key"`
	ProviderID          string `json:"provider-id"`
	EncryptionAlgorithm string `json:"encryption-algorithm"`
	PaddingAlgorithm    string `json:"padding-algorithm"`
	PaddingHash         string `json:"padding-hash"`
}

type keyManifest struct {
	Manifest struct {
		Type    string `json:"type"`
		Version int    `json:"version"`
	} `json:"manifest"`
	Keys map[string]keyEntry `json:"keys"`
}

type keyEntry struct {
	Type      string `json:"type"`
	KeyID     string `json:"key-id"`
	Algorithm string `json:"algorithm"`
	Bits      int    `json:"bits"`
	Encoding  string `json:"encoding"`
	Material  string `json:"material"`
}

// vectorDirs returns the manifest directories to run: those listed in
// ESDK_VECTORS (colon-separated; relative paths are relative to the
// repository root), or every folder under ../shared/esdk_vectors.
func vectorDirs(t *testing.T) []string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0) // <repo>/esdk/vectors_test.go
	repoRoot := filepath.Dir(filepath.Dir(file))
	if env := os.Getenv("ESDK_VECTORS"); env != "" {
		var dirs []string
		for _, d := range strings.Split(env, ":") {
			if d == "" {
				continue
			}
			if !filepath.IsAbs(d) {
				d = filepath.Join(repoRoot, d)
			}
			dirs = append(dirs, d)
		}
		return dirs
	}
	root := filepath.Join(benchdata.SharedDir(), "esdk_vectors")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("reading the shared vectors: %v", err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	if len(dirs) == 0 {
		t.Fatalf("no vector folder under %s", root)
	}
	return dirs
}

// fileURI resolves a manifest's "file://x" reference against dir.
func fileURI(t *testing.T, dir, uri string) string {
	t.Helper()
	rel, ok := strings.CutPrefix(uri, "file://")
	if !ok {
		t.Fatalf("unsupported URI %q (only file:// is)", uri)
	}
	return filepath.Join(dir, filepath.FromSlash(rel))
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// vectorKeyring builds the keyring of one vector's master keys.
func vectorKeyring(keys map[string]keyEntry, mks []masterKey) (esdk.Keyring, error) {
	var krs []esdk.Keyring
	for _, mk := range mks {
		if mk.Type != "raw" {
			return nil, fmt.Errorf("master key type %q is not supported offline", mk.Type)
		}
		k, ok := keys[mk.Key]
		if !ok {
			return nil, fmt.Errorf("key %q is not in keys.json", mk.Key)
		}
		switch mk.EncryptionAlgorithm {
		case "aes":
			if k.Encoding != "base64" {
				return nil, fmt.Errorf("key %q: encoding %q", mk.Key, k.Encoding)
			}
			material, err := base64.StdEncoding.DecodeString(k.Material)
			if err != nil {
				return nil, err
			}
			kr, err := esdk.NewRawAESKeyring(mk.ProviderID, k.KeyID, material)
			if err != nil {
				return nil, err
			}
			krs = append(krs, kr)
		case "rsa":
			padding, err := vectorPadding(mk)
			if err != nil {
				return nil, err
			}
			block, _ := pem.Decode([]byte(k.Material))
			if block == nil {
				return nil, fmt.Errorf("key %q: no PEM block", mk.Key)
			}
			var kr *esdk.RawRSAKeyring
			switch k.Type {
			case "private":
				priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
				if err != nil {
					return nil, err
				}
				rk, ok := priv.(*rsa.PrivateKey)
				if !ok {
					return nil, fmt.Errorf("key %q is not an RSA key", mk.Key)
				}
				kr, err = esdk.NewRawRSAKeyring(mk.ProviderID, k.KeyID, padding, &rk.PublicKey, rk)
				if err != nil {
					return nil, err
				}
			case "public":
				pub, err := x509.ParsePKIXPublicKey(block.Bytes)
				if err != nil {
					return nil, err
				}
				rk, ok := pub.(*rsa.PublicKey)
				if !ok {
					return nil, fmt.Errorf("key %q is not an RSA key", mk.Key)
				}
				kr, err = esdk.NewRawRSAKeyring(mk.ProviderID, k.KeyID, padding, rk, nil)
				if err != nil {
					return nil, err
				}
			default:
				return nil, fmt.Errorf("key %q: type %q", mk.Key, k.Type)
			}
			krs = append(krs, kr)
		default:
			return nil, fmt.Errorf("encryption algorithm %q is not supported", mk.EncryptionAlgorithm)
		}
	}
	switch len(krs) {
	case 0:
		return nil, errors.New("no master key")
	case 1:
		return krs[0], nil
	}
	return esdk.NewMultiKeyring(nil, krs...)
}

func vectorPadding(mk masterKey) (esdk.RSAPadding, error) {
	switch mk.PaddingAlgorithm {
	case "pkcs1":
		return esdk.LegacyRSAPKCS1v15, nil
	case "oaep-mgf1":
		switch mk.PaddingHash {
		case "sha1":
			return esdk.RSAOAEPSHA1, nil
		case "sha256":
			return esdk.RSAOAEPSHA256, nil
		case "sha384":
			return esdk.RSAOAEPSHA384, nil
		case "sha512":
			return esdk.RSAOAEPSHA512, nil
		}
	}
	return 0, fmt.Errorf("padding %q/%q is not supported", mk.PaddingAlgorithm, mk.PaddingHash)
}

// TestDecryptVectors decrypts every vector of every manifest directory (see
// vectorDirs): a vector with an output plaintext must decrypt to exactly
// those bytes, one with an error result must fail.
func TestDecryptVectors(t *testing.T) {
	client, err := esdk.NewClient(esdk.WithCommitmentPolicy(esdk.RequireEncryptAllowLegacyDecrypt))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, dir := range vectorDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				t.Fatalf("vector directory %s does not exist", dir)
			}
			var m decryptManifest
			readJSON(t, filepath.Join(dir, "manifest.json"), &m)
			if m.Manifest.Type != "awses-decrypt" {
				t.Fatalf("manifest type %q, want awses-decrypt", m.Manifest.Type)
			}
			var km keyManifest
			readJSON(t, fileURI(t, dir, m.Keys), &km)
			if km.Manifest.Type != "keys" {
				t.Fatalf("key manifest type %q, want keys", km.Manifest.Type)
			}
			if len(m.Tests) == 0 {
				t.Fatal("manifest has no tests")
			}
			total += len(m.Tests)
			ids := make([]string, 0, len(m.Tests))
			for id := range m.Tests {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				v := m.Tests[id]
				t.Run(id, func(t *testing.T) {
					t.Parallel()
					runDecryptVector(t, client, dir, km.Keys, v)
				})
			}
		})
	}
	t.Logf("%d vectors", total)
}

func runDecryptVector(t *testing.T, client *esdk.Client, dir string, keys map[string]keyEntry, v decryptVector) {
	ct, err := os.ReadFile(fileURI(t, dir, v.Ciphertext))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := vectorKeyring(keys, v.MasterKeys)
	if err != nil {
		t.Fatal(err)
	}
	cmm, err := esdk.NewDefaultCMM(kr)
	if err != nil {
		t.Fatal(err)
	}
	var opts []esdk.DecryptOption
	switch v.CMM {
	case "", "Default":
	case "RequiredEncryptionContext":
		opts = append(opts, esdk.WithReproducedContext(v.EncryptionContext))
	default:
		t.Fatalf("cmm %q is not supported", v.CMM)
	}
	got, h, err := client.Decrypt(context.Background(), ct, cmm, opts...)
	switch {
	case v.Result.Output != nil:
		if err != nil {
			t.Fatalf("Decrypt() error = %v, want plaintext", err)
		}
		want, err := os.ReadFile(fileURI(t, dir, v.Result.Output.Plaintext))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Decrypt() = %d bytes %.32q..., want %d bytes %.32q...", len(got), got, len(want), want)
		}
		if h == nil || !h.Suite.Known() {
			t.Fatalf("Decrypt() header = %+v, want a known suite", h)
		}
	case v.Result.Error != nil:
		if err == nil {
			t.Fatalf("Decrypt() = %d bytes, want an error (%s)", len(got), v.Result.Error.Description)
		}
	default:
		t.Fatal("vector has neither an output nor an error result")
	}
}
