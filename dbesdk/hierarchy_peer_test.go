package dbesdk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
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

// The hierarchical keyring against the Go DB-ESDK: TestHierarchyPeerInterop
// runs the peer program of TestPeerInterop (DBESDK_PEER) with its AWS KMS
// Hierarchical keyring and its key store (material providers library
// v0.4.0) over a table in DynamoDB Local and a seeded fake KMS. With
// DBESDK_PEER_HIERARCHY_VECTORS=DIR it also writes what the peer wrote (its
// key store's items, the branch keys it read, its encrypted items) as a
// vector folder DIR, which TestHierarchyVectors replays without the peer:
// testdata/hierarchy/go-dbesdk-beta4 was written so.
const (
	envPeerHierarchyVectors = "DBESDK_PEER_HIERARCHY_VECTORS"
	// peerHierarchySeed seeds the fake KMS of the peer test and its vectors.
	peerHierarchySeed = "datamask hierarchy peer vectors"
	// hierarchyLogicalName is the logical key store name of the peer test.
	hierarchyLogicalName = "datamask-hierarchy-peer"
)

// peerKeyStoreDef is the key store as the peer program reads it.
type peerKeyStoreDef struct {
	Table       string `json:"table"`
	LogicalName string `json:"logical_name"`
	DDBEndpoint string `json:"ddb_endpoint"`
	KMSKeyARN   string `json:"kms_key_arn,omitempty"`
	KMSEndpoint string `json:"kms_endpoint"`
	Region      string `json:"region"`
}

// peerHierarchyRequest is an encrypt or decrypt request to the peer with
// its hierarchical keyring.
type peerHierarchyRequest struct {
	Table              string               `json:"table"`
	PartitionKey       string               `json:"partition_key"`
	SortKey            *string              `json:"sort_key"`
	Actions            map[string]string    `json:"actions"`
	UnsignedPrefix     string               `json:"allowed_unsigned_prefix,omitempty"`
	UnsignedAttributes []string             `json:"allowed_unsigned_attributes,omitempty"`
	Suite              string               `json:"suite"`
	Keyring            peerHierarchyKeyring `json:"keyring"`
	Items              []json.RawMessage    `json:"items"`
}

type peerHierarchyKeyring struct {
	Type        string          `json:"type"` // aws-kms-hierarchy
	KeyStore    peerKeyStoreDef `json:"key_store"`
	BranchKeyID string          `json:"branch_key_id"`
}

// peerKeyStoreRequest and peerKeyStoreResponse are "peer keystore".
type peerKeyStoreRequest struct {
	Op                string            `json:"op"`
	KeyStore          peerKeyStoreDef   `json:"key_store"`
	BranchKeyID       string            `json:"branch_key_id,omitempty"`
	Version           string            `json:"version,omitempty"`
	EncryptionContext map[string]string `json:"encryption_context,omitempty"`
}

type peerKeyStoreResponse struct {
	TableARN          string            `json:"table_arn"`
	BranchKeyID       string            `json:"branch_key_id"`
	Version           string            `json:"version"`
	Key               string            `json:"key"` // base64: a test key of a seeded fake KMS
	EncryptionContext map[string]string `json:"encryption_context"`
	Error             string            `json:"error"`
}

func runPeerJSON(t *testing.T, peer, op string, req, resp any) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(peer, op)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("peer %s: %v: %s", op, err, stderr.String())
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("peer %s: answer %q: %v", op, out, err)
	}
}

func peerKeyStore(t *testing.T, peer string, req peerKeyStoreRequest) peerKeyStoreResponse {
	t.Helper()
	var resp peerKeyStoreResponse
	runPeerJSON(t, peer, "keystore", req, &resp)
	if resp.Error != "" {
		t.Fatalf("peer keystore %s: %s", req.Op, resp.Error)
	}
	return resp
}

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

// scanTable returns every item of table in DynamoDB JSON, in a stable order.
func scanTable(t *testing.T, ddb *dynamodb.Client, table string) []json.RawMessage {
	t.Helper()
	out, err := ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	for _, item := range out.Items {
		items = append(items, json.RawMessage(itemJSON(t, item)))
	}
	slices.SortFunc(items, func(a, b json.RawMessage) int { return bytes.Compare(a, b) })
	return items
}

func mustHierarchyKeyring(t testing.TB, store hierarchy.BranchKeyStore, id string) *hierarchy.Keyring {
	t.Helper()
	kr, err := hierarchy.NewKeyring(store, id, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// writeHierarchyVectors writes f as DIR/manifest.json, one test per line.
func writeHierarchyVectors(t *testing.T, dir string, f hierarchyVectorFile) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	part := func(name string, v any) {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%q: %s,\n", name, j)
	}
	b.WriteString("{\n")
	part("meta", f.Meta)
	part("kms", f.KMS)
	b.WriteString(`"key_store": {"logical_name": `)
	j, _ := json.Marshal(f.KeyStore.LogicalName)
	b.Write(j)
	b.WriteString(`, "kms_key_arn": `)
	j, _ = json.Marshal(f.KeyStore.KMSKeyARN)
	b.Write(j)
	b.WriteString(`, "items": [`)
	for i, item := range f.KeyStore.Items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n")
		b.Write(item)
	}
	b.WriteString("\n]},\n")
	part("branch_keys", f.BranchKeys)
	b.WriteString(`"tests": {`)
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range f.Tests {
			if !yield(id) {
				return
			}
		}
	})
	for i, id := range ids {
		v, err := json.Marshal(f.Tests[id])
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n%q: %s", id, v)
	}
	b.WriteString("\n}}\n")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d items, %d branch keys and %d key store items to %s", len(ids), len(f.BranchKeys), len(f.KeyStore.Items), dir)
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
