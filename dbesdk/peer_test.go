//go:build dbesdkpeer

package dbesdk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/datamask/datamask/kmstest"
)

// The Go DB-ESDK (aws-database-encryption-sdk-dynamodb, branch
// golang-release-staging-branch/dynamodb-esdk/v0.1.0-beta.4, with the
// material providers library v0.4.0) is not part of this repository: it is
// built outside it, into a small program that reads a configuration and
// items in DynamoDB JSON on standard input and encrypts or decrypts them
// ("peer encrypt|decrypt"). The peer tests build only with the tag
// dbesdkpeer, and then DBESDK_PEER must name that program: a missing peer
// fails. CI, which has no peer, builds without the tag and replays the
// vectors it wrote (testdata/vectors) in TestDecryptVectors. With DBESDK_PEER_VECTORS=DIR, the test also
// writes the peer's raw-keyring items as a vector folder DIR.
const (
	envPeer        = "DBESDK_PEER"
	envPeerVectors = "DBESDK_PEER_VECTORS"
	// peerKMSSeed seeds the fake KMS of the peer test and of its vectors.
	peerKMSSeed = "datamask dbesdk peer vectors"
)

// requirePeer returns the peer program DBESDK_PEER names, or fails t.
func requirePeer(t testing.TB) string {
	t.Helper()
	peer := os.Getenv(envPeer)
	if peer == "" {
		t.Fatalf("%s is not set: with -tags dbesdkpeer, set it to the Go DB-ESDK peer program (built outside the repository, see peer_test.go)", envPeer)
	}
	if _, err := os.Stat(peer); err != nil {
		t.Fatalf("%s=%s: %v", envPeer, peer, err)
	}
	return peer
}

// peerRequest is what the peer program reads.
type peerRequest struct {
	Table              string            `json:"table"`
	PartitionKey       string            `json:"partition_key"`
	SortKey            *string           `json:"sort_key"`
	Actions            map[string]string `json:"actions"`
	UnsignedPrefix     string            `json:"allowed_unsigned_prefix,omitempty"`
	UnsignedAttributes []string          `json:"allowed_unsigned_attributes,omitempty"`
	Suite              string            `json:"suite"`
	Keyring            peerKeyring       `json:"keyring"`
	Items              []json.RawMessage `json:"items"`
}

type peerKeyring struct {
	vectorKeyringDef
	Endpoint  string `json:"endpoint,omitempty"`
	Region    string `json:"region,omitempty"`
	Discovery bool   `json:"discovery,omitempty"`
}

type peerResponse struct {
	Items  []json.RawMessage `json:"items"`
	Errors []*string         `json:"errors"`
}

func runPeer(t *testing.T, peer, op string, req peerRequest) peerResponse {
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
	var resp peerResponse
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Items) != len(req.Items) {
		t.Fatalf("peer %s: answer %q: %v", op, out, err)
	}
	return resp
}

// peerCase is one configuration and the items the interop test sends both
// ways.
type peerCase struct {
	name  string
	cfg   dbesdk.TableConfig
	items []map[string]types.AttributeValue
}

func (c peerCase) request(suite esdk.Suite, kr peerKeyring) peerRequest {
	req := peerRequest{
		Table: c.cfg.LogicalTableName, PartitionKey: c.cfg.PartitionKey, Actions: map[string]string{},
		UnsignedPrefix: c.cfg.UnsignedPrefix, UnsignedAttributes: c.cfg.UnsignedAttributes,
		Suite: fmt.Sprintf("0x%04x", uint16(suite)), Keyring: kr,
	}
	if c.cfg.SortKey != "" {
		sk := c.cfg.SortKey
		req.SortKey = &sk
	}
	for n, a := range c.cfg.Actions {
		req.Actions[n] = a.String()
	}
	return req
}

// peerCases are the configurations crossed with the peer: format versions 1
// and 2, with and without sort key, every attribute type, names whose UTF-16
// and UTF-8 orders differ, numbers to normalize, nesting to the limit.
func peerCases() []peerCase {
	deep := types.AttributeValue(&types.AttributeValueMemberS{Value: "bottom"})
	for range 30 {
		deep = &types.AttributeValueMemberL{Value: []types.AttributeValue{deep}}
	}
	all := func(prefix string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			prefix + "s":    &types.AttributeValueMemberS{Value: "Grüße, 世界 🎉"},
			prefix + "n":    &types.AttributeValueMemberN{Value: "-0012.3400E+2"},
			prefix + "b":    &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 0xff}},
			prefix + "t":    &types.AttributeValueMemberBOOL{Value: true},
			prefix + "z":    &types.AttributeValueMemberNULL{Value: true},
			prefix + "ss":   &types.AttributeValueMemberSS{Value: []string{"｡", "𐀂", "a", ""}},
			prefix + "ns":   &types.AttributeValueMemberNS{Value: []string{"10", "9.50", "-1E-5", "12345678901234567890123456789012345678"}},
			prefix + "bs":   &types.AttributeValueMemberBS{Value: [][]byte{{2}, {1, 0}, {}}},
			prefix + "l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "1.0"}, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}},
			prefix + "m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"｡": &types.AttributeValueMemberS{Value: "x"}, "𐀂": &types.AttributeValueMemberN{Value: "0"}, "k": &types.AttributeValueMemberSS{Value: []string{"b", "a"}}}},
			prefix + "deep": deep,
		}
	}
	var out []peerCase
	for _, v := range []struct {
		name    string
		version int
		sortKey string
	}{{"v1-pk-sk", 1, "sk"}, {"v1-pk-only", 1, ""}, {"v2-pk-sk", 2, "sk"}, {"v2-pk-only", 2, ""}} {
		keyAction := dbesdk.SignOnly
		if v.version == 2 {
			keyAction = dbesdk.SignAndIncludeInEncryptionContext
		}
		cfg := dbesdk.TableConfig{
			LogicalTableName: "peer-" + v.name, PartitionKey: "pk", SortKey: v.sortKey,
			Actions:        map[string]dbesdk.Action{"pk": keyAction},
			UnsignedPrefix: ":", UnsignedAttributes: []string{"plain"},
		}
		if v.sortKey != "" {
			cfg.Actions["sk"] = keyAction
		}
		item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "user#1"}, ":u": &types.AttributeValueMemberS{Value: "unsigned"}, "plain": &types.AttributeValueMemberN{Value: "7"}}
		if v.sortKey != "" {
			item["sk"] = &types.AttributeValueMemberN{Value: "42.50"}
		}
		for name, av := range all("e_") {
			cfg.Actions[name], item[name] = dbesdk.EncryptAndSign, av
		}
		for name, av := range all("s_") {
			cfg.Actions[name], item[name] = dbesdk.SignOnly, av
		}
		if v.version == 2 {
			for name, av := range all("c_") {
				if name != "c_deep" {
					cfg.Actions[name], item[name] = dbesdk.SignAndIncludeInEncryptionContext, av
				}
			}
		}
		// Names ordered differently by UTF-16 and UTF-8, and by length.
		for _, name := range []string{"｡", "𐀂", "aaaa", "é", "Z"} {
			cfg.Actions[name], item[name] = dbesdk.EncryptAndSign, &types.AttributeValueMemberS{Value: "name " + name}
		}
		second := map[string]types.AttributeValue{}
		for k, av := range item {
			second[k] = av
		}
		second["pk"] = &types.AttributeValueMemberB{Value: []byte("binary key")}
		minimal := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberN{Value: "1E+3"}}
		for _, k := range cfg.Actions {
			_ = k
		}
		if v.sortKey != "" {
			minimal["sk"] = &types.AttributeValueMemberS{Value: ""}
		}
		items := []map[string]types.AttributeValue{item, second}
		if v.version == 1 {
			items = append(items, minimal)
		}
		out = append(out, peerCase{name: v.name, cfg: cfg, items: items})
	}
	return out
}

// peerKeyrings returns the keyrings crossed with the peer: ours and its
// description for the peer.
func peerKeyrings(t *testing.T) []struct {
	name string
	ours esdk.Keyring
	peer peerKeyring
} {
	aesKey := bytes.Repeat([]byte{0x5a}, 32)
	aes128 := bytes.Repeat([]byte{0x3c}, 16)
	rsaDef := vectorKeyringDef{Type: "raw-rsa", Namespace: "datamask-peer", Name: "rsa-oaep256", Padding: "OAEP_SHA256_MGF1"}
	rsaDef.PublicKeyPEM, rsaDef.PrivateKeyPEM = testRSAPEM(t)
	defs := []vectorKeyringDef{
		{Type: "raw-aes", Namespace: "datamask-peer", Name: "aes256", Key: base64.StdEncoding.EncodeToString(aesKey)},
		{Type: "raw-aes", Namespace: "datamask-peer", Name: "aes128", Key: base64.StdEncoding.EncodeToString(aes128)},
		rsaDef,
	}
	var out []struct {
		name string
		ours esdk.Keyring
		peer peerKeyring
	}
	for _, d := range defs {
		out = append(out, struct {
			name string
			ours esdk.Keyring
			peer peerKeyring
		}{d.Type + "-" + d.Name, d.keyring(t), peerKeyring{vectorKeyringDef: d}})
	}
	return out
}

// TestPeerInterop crosses items with the Go DB-ESDK both ways: what
// datamask encrypts, the peer decrypts to the same item datamask's
// DecryptItem returns, and what the peer encrypts datamask decrypts to what
// the peer's DecryptItem returns; with raw AES, raw RSA and AWS KMS
// keyrings (the fake KMS, one and two keys, strict and discovery), both
// suites, format versions 1 and 2.
func TestPeerInterop(t *testing.T) {
	peer := requirePeer(t)
	// A seeded fake KMS, so that the vectors written from its ciphertexts
	// replay on another one started with the same seed.
	srv := kmstest.Start(t, kmstest.WithInsecureKeySeed([]byte(peerKMSSeed)))
	k1, k2 := srv.CreateKey(), srv.CreateKey()
	kmsClient := kms.New(kms.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	keyrings := peerKeyrings(t)
	kmsDef := func(arns ...string) peerKeyring {
		return peerKeyring{vectorKeyringDef: vectorKeyringDef{Type: "aws-kms", KeyARNs: arns, KMSTestSeed: peerKMSSeed}, Endpoint: srv.URL(), Region: srv.Region()}
	}
	strict1, err := awskms.NewKeyring(kmsClient, []string{k1})
	if err != nil {
		t.Fatal(err)
	}
	strict2, err := awskms.NewKeyring(kmsClient, []string{k1, k2})
	if err != nil {
		t.Fatal(err)
	}
	keyrings = append(keyrings, []struct {
		name string
		ours esdk.Keyring
		peer peerKeyring
	}{{"aws-kms", strict1, kmsDef(k1)}, {"aws-kms-two-keys", strict2, kmsDef(k1, k2)}}...)
	discovery, err := awskms.NewDiscoveryKeyring(kmsClient)
	if err != nil {
		t.Fatal(err)
	}
	only2, err := awskms.NewKeyring(kmsClient, []string{k2})
	if err != nil {
		t.Fatal(err)
	}

	var vectors = map[string]ddbVectorDef{}
	for _, kr := range keyrings {
		for _, c := range peerCases() {
			for _, suite := range []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384} {
				name := fmt.Sprintf("%s/%s/%04x", kr.name, c.name, uint16(suite))
				t.Run(name, func(t *testing.T) {
					cfg := c.cfg
					cfg.Suite = suite
					ours, err := dbesdk.New(cfg, kr.ours)
					if err != nil {
						t.Fatal(err)
					}
					req := c.request(suite, kr.peer)
					// Ours to the peer.
					var want []string
					for _, item := range c.items {
						enc, err := ours.EncryptItem(context.Background(), item)
						if err != nil {
							t.Fatalf("EncryptItem() = %v", err)
						}
						dec, err := ours.DecryptItem(context.Background(), enc)
						if err != nil {
							t.Fatalf("DecryptItem(ours) = %v", err)
						}
						want = append(want, itemJSON(t, dec))
						req.Items = append(req.Items, json.RawMessage(itemJSON(t, enc)))
					}
					resp := runPeer(t, peer, "decrypt", req)
					for i := range want {
						if resp.Errors[i] != nil {
							t.Fatalf("peer decrypt of item %d: %s", i, *resp.Errors[i])
						}
						if got := string(resp.Items[i]); got != want[i] {
							t.Errorf("peer decrypt of item %d =\n%s\nwant (datamask's)\n%s", i, got, want[i])
						}
					}
					// The peer to ours.
					var plaintexts []json.RawMessage
					for _, item := range c.items {
						plaintexts = append(plaintexts, json.RawMessage(itemJSON(t, item)))
					}
					req.Items = plaintexts
					encrypted := runPeer(t, peer, "encrypt", req)
					for i, e := range encrypted.Errors {
						if e != nil {
							t.Fatalf("peer encrypt of item %d: %s", i, *e)
						}
					}
					req.Items = encrypted.Items
					peerDecrypted := runPeer(t, peer, "decrypt", req)
					readers := []esdk.Keyring{kr.ours}
					if strings.HasPrefix(kr.name, "aws-kms") {
						readers = append(readers, discovery)
						if kr.name == "aws-kms-two-keys" {
							readers = append(readers, only2)
						}
					}
					for ri, reader := range readers {
						dec, err := dbesdk.New(cfg, reader)
						if err != nil {
							t.Fatal(err)
						}
						for i, raw := range encrypted.Items {
							got, err := dec.DecryptItem(context.Background(), mustItem(t, raw))
							if err != nil {
								t.Fatalf("reader %d: DecryptItem(peer's item %d) = %v", ri, i, err)
							}
							if g, w := itemJSON(t, got), string(peerDecrypted.Items[i]); g != w {
								t.Errorf("reader %d: DecryptItem(peer's item %d) =\n%s\nwant (the peer's)\n%s", ri, i, g, w)
							}
						}
					}
					// Vectors: every case for one raw AES key and one KMS key;
					// for the other keyrings, two cases.
					if kr.name == "raw-aes-aes256" || kr.name == "aws-kms" || c.name == "v1-pk-sk" || c.name == "v2-pk-only" {
						for i, raw := range encrypted.Items {
							vectors[fmt.Sprintf("peer-%s-%s-%04x-%d", kr.name, c.name, uint16(suite), i)] =
								peerVector(c, suite, kr.peer.vectorKeyringDef, plaintexts[i], raw, peerDecrypted.Items[i])
						}
					}
				})
			}
		}
	}
	if dir := os.Getenv(envPeerVectors); dir != "" && !t.Failed() {
		writePeerVectors(t, dir, vectors)
	}
}

func peerVector(c peerCase, suite esdk.Suite, kr vectorKeyringDef, pt, ct, dec json.RawMessage) ddbVectorDef {
	v := ddbVectorDef{
		Format: "dbesdk", Result: "success", Table: c.cfg.LogicalTableName, PartitionKey: c.cfg.PartitionKey,
		Suite: fmt.Sprintf("0x%04x", uint16(suite)), Actions: map[string]string{},
		UnsignedPrefix: c.cfg.UnsignedPrefix, UnsignedAttributes: c.cfg.UnsignedAttributes,
		Keyring: kr, Plaintext: pt, Ciphertext: ct,
		Description: "written by the Go DB-ESDK v0.1.0-beta.4 (MPL Go v0.4.0): " + c.name,
	}
	if c.cfg.SortKey != "" {
		sk := c.cfg.SortKey
		v.SortKey = &sk
	}
	for n, a := range c.cfg.Actions {
		v.Actions[n] = a.String()
	}
	if !bytes.Equal(pt, dec) {
		v.Decrypted = dec
	}
	return v
}

// writePeerVectors writes vectors as DIR/manifest.json in the layout of
// ../shared/ddb_vectors.
func writePeerVectors(t *testing.T, dir string, vectors map[string]ddbVectorDef) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range vectors {
			if !yield(id) {
				return
			}
		}
	})
	// One test per line, so that a regenerated manifest diffs by test.
	meta, err := json.Marshal(map[string]any{
		"set":     "datamask peer vectors",
		"writers": map[string]string{"dbesdk": "AWS Database Encryption SDK for DynamoDB, Go (dynamodb-esdk v0.1.0-beta.4 branch, MPL Go v0.4.0), item encryptor"},
		"readme":  "README.md",
	})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString(`{"meta": `)
	b.Write(meta)
	b.WriteString(`, "tests": {`)
	for i, id := range ids {
		v, err := json.Marshal(vectors[id])
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
	t.Logf("wrote %d vectors to %s", len(ids), dir)
}

// testRSAPEM returns the PEM texts of the 2048-bit RSA key of the shared
// vectors' OAEP-SHA256 tests (generating a key would slow the tests).
func testRSAPEM(t testing.TB) (pub, priv string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(benchdata.SharedDir(), "ddb_vectors", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m ddbManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	k := m.Tests["dbesdk-rsa-oaep256-v1-6700"].Keyring
	if k.PublicKeyPEM == "" || k.PrivateKeyPEM == "" {
		t.Fatal("the shared vector dbesdk-rsa-oaep256-v1-6700 has no RSA key")
	}
	return k.PublicKeyPEM, k.PrivateKeyPEM
}
