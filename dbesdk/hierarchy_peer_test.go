package dbesdk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/hierarchy"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
)

// hierarchyVectorFile is the layout of testdata/hierarchy/*/manifest.json.
type hierarchyVectorFile struct {
	Meta map[string]any `json:"meta"`
	// KMS names the seeded fake KMS (package kmstest) whose keys protect
	// the branch keys: started with WithInsecureKeySeed(Seed) in its
	// default Region and account, its keys are KeyARNs in creation order.
	KMS struct {
		Seed    string   `json:"seed"`
		KeyARNs []string `json:"key_arns"`
	} `json:"kms"`
	// KeyStore holds the key store's items in DynamoDB JSON, to put in a
	// table of any name, and its logical name and KMS key.
	KeyStore struct {
		LogicalName string            `json:"logical_name"`
		KMSKeyARN   string            `json:"kms_key_arn"`
		Items       []json.RawMessage `json:"items"`
	} `json:"key_store"`
	// BranchKeys are branch key versions as the writer's key store read
	// them.
	BranchKeys []hierarchyVectorKey `json:"branch_keys"`
	// Tests are DB-ESDK items encrypted through the hierarchical keyring.
	Tests map[string]hierarchyVectorTest `json:"tests"`
}

type hierarchyVectorKey struct {
	ID                string            `json:"branch_key_id"`
	Version           string            `json:"version"`
	Active            bool              `json:"active"`
	Key               string            `json:"key"` // base64
	EncryptionContext map[string]string `json:"encryption_context,omitempty"`
	Beacon            bool              `json:"beacon,omitempty"`
}

type hierarchyVectorTest struct {
	Description        string            `json:"description"`
	Result             string            `json:"result"` // success or failure
	Why                string            `json:"why,omitempty"`
	Table              string            `json:"table"`
	PartitionKey       string            `json:"partition_key"`
	SortKey            *string           `json:"sort_key"`
	Suite              string            `json:"suite"`
	Actions            map[string]string `json:"actions"`
	UnsignedPrefix     string            `json:"allowed_unsigned_prefix,omitempty"`
	UnsignedAttributes []string          `json:"allowed_unsigned_attributes,omitempty"`
	BranchKeyID        string            `json:"branch_key_id"`
	Plaintext          json.RawMessage   `json:"plaintext"`
	Ciphertext         json.RawMessage   `json:"ciphertext"`
	Decrypted          json.RawMessage   `json:"decrypted,omitempty"`
}

func (v hierarchyVectorTest) config(t testing.TB) dbesdk.TableConfig {
	t.Helper()
	d := ddbVectorDef{Table: v.Table, PartitionKey: v.PartitionKey, SortKey: v.SortKey, Suite: v.Suite, Actions: v.Actions,
		UnsignedPrefix: v.UnsignedPrefix, UnsignedAttributes: v.UnsignedAttributes}
	return d.config(t)
}

func mustHierarchyKeyring(t testing.TB, store hierarchy.BranchKeyStore, id string) *hierarchy.Keyring {
	t.Helper()
	kr, err := hierarchy.NewKeyring(store, id, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestHierarchyVectors replays the vector folders under testdata/hierarchy
// (written by the Go DB-ESDK's hierarchical keyring and key store; see
// their README.md): the key store's items go into a table of DynamoDB
// Local, datamask's key store must read the same branch keys as the peer's
// did, every item must decrypt to what the peer decrypted (and fail with a
// byte of its first encrypted attribute flipped), and every plaintext must
// round-trip under the same branch key. A seeded fake KMS decrypts the
// branch keys: one KMS call per branch key version read.
func TestHierarchyVectors(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(repoRoot(), "dbesdk", "testdata", "hierarchy", "*", "manifest.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no vector folder under testdata/hierarchy (%v)", err)
	}
	for _, m := range dirs {
		t.Run(filepath.Base(filepath.Dir(m)), func(t *testing.T) {
			b, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			var f hierarchyVectorFile
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatalf("%s: %v", m, err)
			}
			if len(f.Tests) == 0 || len(f.KeyStore.Items) == 0 || len(f.BranchKeys) == 0 {
				t.Fatalf("%s: no tests, key store items or branch keys", m)
			}
			runHierarchyVectors(t, f)
		})
	}
}

func runHierarchyVectors(t *testing.T, f hierarchyVectorFile) {
	ctx := context.Background()
	srv := kmstest.Start(t, kmstest.WithInsecureKeySeed([]byte(f.KMS.Seed)))
	for range 10 {
		if !slices.ContainsFunc(f.KMS.KeyARNs, func(a string) bool { return !slices.Contains(srv.Keys(), a) }) {
			break
		}
		srv.CreateKey()
	}
	ddb := dynamolocal.Client(t)
	kmsClient := kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	table := dynamolocal.TableName("hierarchy-vectors")
	ks, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: table, LogicalName: f.KeyStore.LogicalName, KMSKeyARN: f.KeyStore.KMSKeyARN}, ddb, kmsClient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, err := ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Errorf("DeleteTable(%q) = %v", table, err)
		}
	})
	for _, raw := range f.KeyStore.Items {
		if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: mustItem(t, raw)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("branch-keys", func(t *testing.T) {
		for _, k := range f.BranchKeys {
			var got []byte
			var ec map[string]string
			switch {
			case k.Beacon:
				m, err := ks.GetBeaconKey(ctx, k.ID)
				if err != nil {
					t.Fatalf("GetBeaconKey(%s) = %v", k.ID, err)
				}
				got, ec = m.Key(), m.EncryptionContext
			case k.Active:
				m, err := ks.GetActiveBranchKey(ctx, k.ID)
				if err != nil || m.Version != k.Version {
					t.Fatalf("GetActiveBranchKey(%s) = %v, %v; want version %s", k.ID, m, err, k.Version)
				}
				got, ec = m.Key(), m.EncryptionContext
			default:
				m, err := ks.GetBranchKeyVersion(ctx, k.ID, k.Version)
				if err != nil {
					t.Fatalf("GetBranchKeyVersion(%s, %s) = %v", k.ID, k.Version, err)
				}
				got, ec = m.Key(), m.EncryptionContext
			}
			if base64.StdEncoding.EncodeToString(got) != k.Key || len(ec) != len(k.EncryptionContext) {
				t.Errorf("branch key %s version %q (beacon %v): datamask reads another key or context than the peer did", k.ID, k.Version, k.Beacon)
			}
			for name, v := range k.EncryptionContext {
				if ec[name] != v {
					t.Errorf("branch key %s: custom context %q differs", k.ID, name)
				}
			}
		}
	})
	keyrings := map[string]*hierarchy.Keyring{}
	srv.ResetCalls()
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range f.Tests {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		v := f.Tests[id]
		t.Run(id, func(t *testing.T) {
			kr := keyrings[v.BranchKeyID]
			if kr == nil {
				kr = mustHierarchyKeyring(t, ks, v.BranchKeyID)
				keyrings[v.BranchKeyID] = kr
			}
			enc := mustNew(t, v.config(t), kr)
			want := v.Plaintext
			if len(v.Decrypted) > 0 {
				want = v.Decrypted
			}
			ct := mustItem(t, v.Ciphertext)
			got, err := enc.DecryptItem(ctx, ct)
			if v.Result != "success" {
				if err == nil {
					t.Fatalf("DecryptItem() succeeded, want an error (%s)", v.Why)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecryptItem() = %v", err)
			}
			if g, w := itemJSON(t, got), itemJSON(t, mustItem(t, want)); g != w {
				t.Fatalf("DecryptItem() =\n%s\nwant\n%s", g, w)
			}
			// A byte of an encrypted attribute flipped.
			for name, a := range v.Actions {
				if a != "ENCRYPT_AND_SIGN" || ct[name] == nil {
					continue
				}
				bv := ct[name].(*types.AttributeValueMemberB)
				flipped := bytes.Clone(bv.Value)
				flipped[len(flipped)-1] ^= 1
				tampered := maps.Clone(ct)
				tampered[name] = &types.AttributeValueMemberB{Value: flipped}
				if _, err := enc.DecryptItem(ctx, tampered); !errors.Is(err, dbesdk.ErrInvalidItem) {
					t.Errorf("DecryptItem(%s flipped) = %v, want ErrInvalidItem", name, err)
				}
				break
			}
			// Encrypted again under the same branch key.
			again, err := enc.EncryptItem(ctx, mustItem(t, v.Plaintext))
			if err != nil {
				t.Fatalf("EncryptItem() = %v", err)
			}
			if g, w := itemJSON(t, mustDecrypt(t, enc, again)), itemJSON(t, mustItem(t, want)); g != w {
				t.Fatalf("DecryptItem(EncryptItem()) =\n%s\nwant\n%s", g, w)
			}
		})
	}
	// One Decrypt per branch key version: active and decrypt entries are
	// separate in each keyring's cache.
	versions := 0
	for _, k := range f.BranchKeys {
		if !k.Beacon {
			versions++
		}
	}
	if got := srv.Calls(kmstest.OpDecrypt); got > versions+len(keyrings) {
		t.Errorf("replaying %d items made %d KMS Decrypt calls, want at most %d", len(ids), got, versions+len(keyrings))
	}
}
