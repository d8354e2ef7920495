//go:build dbesdkpeer

package dbesdk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/hierarchy"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
)

// TestHierarchyPeerInterop crosses items with the Go DB-ESDK both ways
// through hierarchical keyrings over one key store table: branch keys
// created by the peer's key store and by datamask's, before and after each
// side versions the other's; both suites, format versions 1 and 2.
func TestHierarchyPeerInterop(t *testing.T) {
	peer := requirePeer(t)
	ctx := context.Background()
	srv := kmstest.Start(t, kmstest.WithInsecureKeySeed([]byte(peerHierarchySeed)))
	key := srv.CreateKey()
	ddbURL := dynamolocal.Start(t)
	ddb := dynamolocal.NewClient(ddbURL)
	kmsClient := kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	table := dynamolocal.TableName("hierarchy-peer")
	def := peerKeyStoreDef{Table: table, LogicalName: hierarchyLogicalName, DDBEndpoint: ddbURL, KMSKeyARN: key,
		KMSEndpoint: srv.URL(), Region: srv.Region()}

	// The peer creates the table; datamask's key store accepts it.
	peerKeyStore(t, peer, peerKeyStoreRequest{Op: "create-table", KeyStore: def})
	t.Cleanup(func() {
		_, err := ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Errorf("DeleteTable(%q) = %v", table, err)
		}
	})
	ks, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: table, LogicalName: hierarchyLogicalName, KMSKeyARN: key}, ddb, kmsClient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable(the peer's table) = %v", err)
	}
	peerID := peerKeyStore(t, peer, peerKeyStoreRequest{Op: "create-key", KeyStore: def}).BranchKeyID
	ourID, err := ks.CreateKey(ctx, "datamask-tenant", map[string]string{"tenant": "datamask", "région": "東京"})
	if err != nil {
		t.Fatal(err)
	}

	vectors := map[string]hierarchyVectorTest{}
	cross := func(t *testing.T, round string) {
		for _, id := range []string{peerID, ourID} {
			kr, err := hierarchy.NewKeyring(ks, id, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			creator := "peer"
			if id == ourID {
				creator = "datamask"
			}
			for _, c := range peerCases() {
				for _, suite := range []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384} {
					name := fmt.Sprintf("%s/%s-key/%s/%04x", round, creator, c.name, uint16(suite))
					t.Run(name, func(t *testing.T) {
						cfg := c.cfg
						cfg.Suite = suite
						ours := mustNew(t, cfg, kr)
						base := c.request(suite, peerKeyring{})
						req := peerHierarchyRequest{Table: base.Table, PartitionKey: base.PartitionKey, SortKey: base.SortKey,
							Actions: base.Actions, UnsignedPrefix: base.UnsignedPrefix, UnsignedAttributes: base.UnsignedAttributes,
							Suite: base.Suite, Keyring: peerHierarchyKeyring{Type: "aws-kms-hierarchy", KeyStore: def, BranchKeyID: id}}
						// Ours to the peer.
						var want []string
						for _, item := range c.items {
							enc, err := ours.EncryptItem(ctx, item)
							if err != nil {
								t.Fatalf("EncryptItem() = %v", err)
							}
							want = append(want, itemJSON(t, mustDecrypt(t, ours, enc)))
							req.Items = append(req.Items, json.RawMessage(itemJSON(t, enc)))
						}
						var resp peerResponse
						runPeerJSON(t, peer, "decrypt", req, &resp)
						for i := range want {
							if resp.Errors[i] != nil {
								t.Fatalf("peer decrypt of datamask's item %d: %s", i, *resp.Errors[i])
							}
							if got := string(resp.Items[i]); got != want[i] {
								t.Errorf("peer decrypt of datamask's item %d =\n%s\nwant\n%s", i, got, want[i])
							}
						}
						// The peer to ours.
						var plaintexts []json.RawMessage
						for _, item := range c.items {
							plaintexts = append(plaintexts, json.RawMessage(itemJSON(t, item)))
						}
						req.Items = plaintexts
						var encrypted, decrypted peerResponse
						runPeerJSON(t, peer, "encrypt", req, &encrypted)
						for i, e := range encrypted.Errors {
							if e != nil {
								t.Fatalf("peer encrypt of item %d: %s", i, *e)
							}
						}
						req.Items = encrypted.Items
						runPeerJSON(t, peer, "decrypt", req, &decrypted)
						reader := mustNew(t, cfg, mustHierarchyKeyring(t, ks, id))
						for i, raw := range encrypted.Items {
							got, err := reader.DecryptItem(ctx, mustItem(t, raw))
							if err != nil {
								t.Fatalf("DecryptItem(peer's item %d) = %v", i, err)
							}
							if g, w := itemJSON(t, got), string(decrypted.Items[i]); g != w {
								t.Errorf("DecryptItem(peer's item %d) =\n%s\nwant (the peer's)\n%s", i, g, w)
							}
							v := hierarchyVectorTest{
								Description: fmt.Sprintf("written by the Go DB-ESDK v0.1.0-beta.4 (MPL Go v0.4.0) with its hierarchical keyring, branch key created by %s (%s): %s", creator, round, c.name),
								Result:      "success", Table: req.Table, PartitionKey: req.PartitionKey, SortKey: req.SortKey, Suite: req.Suite,
								Actions: req.Actions, UnsignedPrefix: req.UnsignedPrefix, UnsignedAttributes: req.UnsignedAttributes,
								BranchKeyID: id, Plaintext: plaintexts[i], Ciphertext: raw,
							}
							if !bytes.Equal(plaintexts[i], decrypted.Items[i]) {
								v.Decrypted = decrypted.Items[i]
							}
							vectors[fmt.Sprintf("%s-%s-key-%s-%04x-%d", round, creator, c.name, uint16(suite), i)] = v
						}
					})
				}
			}
		}
	}
	cross(t, "first-version")
	// Each side versions the other's branch key; the crossing goes on
	// under the new versions, and the old items keep decrypting.
	peerKeyStore(t, peer, peerKeyStoreRequest{Op: "version-key", KeyStore: def, BranchKeyID: ourID})
	if err := ks.VersionKey(ctx, peerID); err != nil {
		t.Fatalf("VersionKey(the peer's branch key) = %v", err)
	}
	cross(t, "second-version")

	// The branch keys as the peer's key store reads them, against ours.
	var keys []hierarchyVectorKey
	items := scanTable(t, ddb, table)
	for _, raw := range items {
		item := mustItem(t, raw)
		id := item["branch-key-id"].(*types.AttributeValueMemberS).Value
		typ := item["type"].(*types.AttributeValueMemberS).Value
		var resp peerKeyStoreResponse
		var ours []byte
		switch {
		case typ == "branch:ACTIVE":
			resp = peerKeyStore(t, peer, peerKeyStoreRequest{Op: "get-active", KeyStore: def, BranchKeyID: id})
			m, err := ks.GetActiveBranchKey(ctx, id)
			if err != nil || m.Version != resp.Version {
				t.Fatalf("GetActiveBranchKey(%s) = %v, %v; the peer says version %s", id, m, err, resp.Version)
			}
			ours = m.Key()
		case typ == "beacon:ACTIVE":
			resp = peerKeyStore(t, peer, peerKeyStoreRequest{Op: "get-beacon", KeyStore: def, BranchKeyID: id})
			m, err := ks.GetBeaconKey(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			ours = m.Key()
		default:
			v := typ[len("branch:version:"):]
			resp = peerKeyStore(t, peer, peerKeyStoreRequest{Op: "get-version", KeyStore: def, BranchKeyID: id, Version: v})
			m, err := ks.GetBranchKeyVersion(ctx, id, v)
			if err != nil {
				t.Fatal(err)
			}
			ours = m.Key()
		}
		if base64.StdEncoding.EncodeToString(ours) != resp.Key {
			t.Errorf("%s %s: datamask and the peer read different keys", id, typ)
		}
		keys = append(keys, hierarchyVectorKey{ID: id, Version: resp.Version, Active: typ == "branch:ACTIVE", Beacon: typ == "beacon:ACTIVE",
			Key: resp.Key, EncryptionContext: resp.EncryptionContext})
	}
	if dir := os.Getenv(envPeerHierarchyVectors); dir != "" && !t.Failed() {
		var f hierarchyVectorFile
		f.Meta = map[string]any{
			"set":    "datamask hierarchical keyring peer vectors",
			"writer": "AWS Database Encryption SDK for DynamoDB, Go (dynamodb-esdk v0.1.0-beta.4 branch, MPL Go v0.4.0): item encryptor with the AWS KMS Hierarchical keyring, and the MPL key store",
			"readme": "README.md",
		}
		f.KMS.Seed, f.KMS.KeyARNs = peerHierarchySeed, []string{key}
		f.KeyStore.LogicalName, f.KeyStore.KMSKeyARN, f.KeyStore.Items = hierarchyLogicalName, key, items
		f.BranchKeys = keys
		f.Tests = vectors
		writeHierarchyVectors(t, dir, f)
	}
}

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
