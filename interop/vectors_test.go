package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"

	"github.com/datamask/datamask/internal/benchdata"
)

// decryptManifest is an ESDK test-vector decrypt manifest (awses-decrypt,
// versions 2 to 4) with its keys file.
type decryptManifest struct {
	Manifest struct {
		Type string `json:"type"`
	} `json:"manifest"`
	Keys  string                   `json:"keys"`
	Tests map[string]decryptVector `json:"tests"`

	dir  string
	keys map[string]vectorKey // the keys file's "keys"
}

type decryptVector struct {
	Ciphertext        string            `json:"ciphertext"`
	CMM               string            `json:"cmm"`
	EncryptionContext map[string]string `json:"encryption-context"`
	MasterKeys        []struct {
		Type                string `json:"type"`
		Key                 string `json:"key"`
		ProviderID          string `json:"provider-id"`
		EncryptionAlgorithm string `json:"encryption-algorithm"`
		PaddingAlgorithm    string `json:"padding-algorithm"`
		PaddingHash         string `json:"padding-hash"`
	} `json:"master-keys"`
	Result struct {
		Output *struct {
			Plaintext string `json:"plaintext"`
		} `json:"output"`
		Error *struct {
			ErrorDescription string `json:"error-description"`
		} `json:"error"`
	} `json:"result"`
}

type vectorKey struct {
	Type      string `json:"type"`
	KeyID     string `json:"key-id"`
	Algorithm string `json:"algorithm"`
	Encoding  string `json:"encoding"`
	Material  string `json:"material"`
}

// vectorDirs lists the decrypt manifest folders: those in ESDK_VECTORS
// (colon-separated), or every folder under ../shared/esdk_vectors.
func vectorDirs(t *testing.T) []string {
	t.Helper()
	if env := os.Getenv("ESDK_VECTORS"); env != "" {
		return strings.Split(env, ":")
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
		t.Fatalf("no vector folders under %s", root)
	}
	return dirs
}

func loadManifest(dir string) (*decryptManifest, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	m := &decryptManifest{dir: dir}
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("%s/manifest.json: %v", dir, err)
	}
	if m.Manifest.Type != "awses-decrypt" {
		return nil, fmt.Errorf("%s/manifest.json has type %q, want awses-decrypt", dir, m.Manifest.Type)
	}
	var keys struct {
		Keys map[string]vectorKey `json:"keys"`
	}
	kraw, err := os.ReadFile(m.file(m.Keys))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(kraw, &keys); err != nil {
		return nil, fmt.Errorf("%s: %v", m.Keys, err)
	}
	m.keys = keys.Keys
	return m, nil
}

// file resolves a manifest's file:// URI against its folder.
func (m *decryptManifest) file(uri string) string {
	return filepath.Join(m.dir, filepath.FromSlash(strings.TrimPrefix(uri, "file://")))
}

// officialKeyring builds the official keyring for a vector's master keys.
func (m *decryptManifest) officialKeyring(ctx context.Context, o *Official, v decryptVector) (OfficialKeyring, error) {
	if len(v.MasterKeys) != 1 {
		return nil, fmt.Errorf("vector has %d master keys, this harness handles 1", len(v.MasterKeys))
	}
	mk := v.MasterKeys[0]
	k, ok := m.keys[mk.Key]
	if !ok {
		return nil, fmt.Errorf("key %q is not in %s", mk.Key, m.Keys)
	}
	switch {
	case mk.Type == "raw" && mk.EncryptionAlgorithm == "aes":
		raw, err := base64.StdEncoding.DecodeString(k.Material)
		if err != nil {
			return nil, err
		}
		return o.RawAESKeyring(ctx, mk.ProviderID, mk.Key, raw)
	case mk.Type == "raw" && mk.EncryptionAlgorithm == "rsa":
		var padding mpltypes.PaddingScheme
		switch mk.PaddingAlgorithm + "/" + mk.PaddingHash {
		case "pkcs1/":
			padding = mpltypes.PaddingSchemePkcs1
		case "oaep-mgf1/sha1":
			padding = mpltypes.PaddingSchemeOaepSha1Mgf1
		case "oaep-mgf1/sha256":
			padding = mpltypes.PaddingSchemeOaepSha256Mgf1
		case "oaep-mgf1/sha384":
			padding = mpltypes.PaddingSchemeOaepSha384Mgf1
		case "oaep-mgf1/sha512":
			padding = mpltypes.PaddingSchemeOaepSha512Mgf1
		default:
			return nil, fmt.Errorf("unknown RSA padding %s/%s", mk.PaddingAlgorithm, mk.PaddingHash)
		}
		if k.Type != "private" {
			return nil, fmt.Errorf("key %q is %s, decrypt needs a private key", mk.Key, k.Type)
		}
		return o.RawRSAKeyring(ctx, mk.ProviderID, mk.Key, padding, nil, []byte(k.Material))
	}
	return nil, fmt.Errorf("master key type %s/%s is not handled", mk.Type, mk.EncryptionAlgorithm)
}

// TestOfficialDecryptsSharedVectors checks the harness's use of the official
// Go ESDK against the shared decrypt vectors (.NET and JS written): if it
// cannot read them, its verdicts on datamask's messages mean nothing.
func TestOfficialDecryptsSharedVectors(t *testing.T) {
	ctx := context.Background()
	// The vectors cover the legacy non-committing suites too.
	o, err := NewOfficial(OfficialRequireEncryptAllowDecrypt)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, dir := range vectorDirs(t) {
		m, err := loadManifest(dir)
		if err != nil {
			t.Fatalf("loading %s: %v", dir, err)
		}
		names := make([]string, 0, len(m.Tests))
		for name := range m.Tests {
			names = append(names, name)
		}
		slices.Sort(names)
		total += len(names)
		for _, name := range names {
			v := m.Tests[name]
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
				t.Parallel()
				msg, err := os.ReadFile(m.file(v.Ciphertext))
				if err != nil {
					t.Fatal(err)
				}
				kr, err := m.officialKeyring(ctx, o, v)
				if err != nil {
					t.Fatal(err)
				}
				var got *OfficialDecrypted
				if v.CMM == "RequiredEncryptionContext" {
					cmm, cerr := o.RequiredContextCMM(ctx, kr, sortedKeys(v.EncryptionContext))
					if cerr != nil {
						t.Fatal(cerr)
					}
					got, err = o.DecryptWithCMM(ctx, cmm, msg, v.EncryptionContext)
				} else {
					got, err = o.Decrypt(ctx, kr, msg, v.EncryptionContext)
				}
				switch {
				case v.Result.Error != nil:
					if err == nil {
						t.Fatalf("official Decrypt(%s) succeeded, want an error (%s)", name, v.Result.Error.ErrorDescription)
					}
				case v.Result.Output != nil:
					if err != nil {
						t.Fatalf("official Decrypt(%s) = %v, want the plaintext", name, err)
					}
					want, err := os.ReadFile(m.file(v.Result.Output.Plaintext))
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got.Plaintext, want) {
						t.Errorf("official Decrypt(%s) = %d bytes, want the %d bytes of %s",
							name, len(got.Plaintext), len(want), v.Result.Output.Plaintext)
					}
				default:
					t.Fatalf("vector %s has neither result.output nor result.error", name)
				}
			})
		}
	}
	if total == 0 {
		t.Fatal("no vectors found")
	}
}
