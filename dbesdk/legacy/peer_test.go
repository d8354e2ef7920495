//go:build ddbecpeer

package legacy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/kmstest"
)

// The peer is the DynamoDB Encryption Client for Python, run from its
// sources (aws/aws-dynamodb-encryption-python, src folder) by
// testdata/ddbec_peer.py with the installed boto3 and cryptography. It is
// not part of the repository nor installed in CI, so these tests build only
// with the tag ddbecpeer, and need DDBEC_PYTHON_SRC to name the src folder:
//
//	DDBEC_PYTHON_SRC=/path/to/aws-dynamodb-encryption-python/src \
//	go test -tags ddbecpeer -run TestPythonPeer ./dbesdk/legacy/
//
// What the peer writes is kept in testdata as vectors that TestVectors
// replays everywhere; with DDBEC_WRITE_VECTORS=1 these tests rewrite them.

// peerSrc returns the peer's source folder, or fails tb: the tag asks for
// the peer.
func peerSrc(tb testing.TB) string {
	tb.Helper()
	src := os.Getenv("DDBEC_PYTHON_SRC")
	if src == "" {
		tb.Fatal("DDBEC_PYTHON_SRC is not set: with -tags ddbecpeer, set it to the src folder of aws/aws-dynamodb-encryption-python " +
			"(see testdata/README.md)")
	}
	if _, err := os.Stat(filepath.Join(src, "dynamodb_encryption_sdk", "__init__.py")); err != nil {
		tb.Fatalf("DDBEC_PYTHON_SRC=%s is not the client's src folder: %v", src, err)
	}
	return src
}

func strPtr(s string) *string { return &s }

func writeVectors() bool { return os.Getenv("DDBEC_WRITE_VECTORS") == "1" }

// peer is a running ddbec_peer.py.
type peer struct {
	t   testing.TB
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Scanner
}

func startPeer(t testing.TB, src string, env map[string]string) *peer {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is not on PATH: %v", err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "ddbec_peer.py"))
	dir := t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "PYTHONPATH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PYTHONPATH="+src,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("ddbec_peer.py: %v\n%s", err, stderr.String())
		}
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 16<<20)
	return &peer{t: t, in: in, out: sc}
}

// do sends one request and returns the answer's item, or the peer's
// refusal as an error.
func (p *peer) do(req map[string]any) (json.RawMessage, error) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	line, err := json.Marshal(req)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.in.Write(append(line, '\n')); err != nil {
		p.t.Fatalf("writing to the peer: %v", err)
	}
	if !p.out.Scan() {
		p.t.Fatalf("the peer did not answer %s: %v", req["op"], p.out.Err())
	}
	var resp struct {
		OK    bool            `json:"ok"`
		Item  json.RawMessage `json:"item"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(p.out.Bytes(), &resp); err != nil {
		p.t.Fatalf("the peer answered %q: %v", p.out.Text(), err)
	}
	if !resp.OK {
		return nil, errors.New(resp.Error)
	}
	return resp.Item, nil
}

// item parses an answer's item.
func (p *peer) item(raw json.RawMessage) map[string]types.AttributeValue {
	p.t.Helper()
	item, err := parseItemJSON(raw)
	if err != nil {
		p.t.Fatalf("the peer's item: %v", err)
	}
	return item
}

// peerTest is the part of a vector test the peer reads.
func peerTest(v *vectorTest) map[string]any {
	return map[string]any{
		"table": v.Table, "partition_key": v.PartitionKey, "sort_key": v.SortKey,
		"actions": v.Actions, "default_action": v.DefaultAction, "keyring": v.Keyring,
	}
}

func rawJSON(item map[string]types.AttributeValue) json.RawMessage {
	return json.RawMessage(itemJSON(item))
}

func randomB64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newFixedKey returns a key ARN of the fake KMS with a random key id and
// secret, to import into every fake that must decrypt its blobs.
func newFixedKey(account string) (arn, secret string) {
	u := make([]byte, 16)
	rand.Read(u)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
	return "arn:aws:kms:us-east-1:" + account + ":key/" + id, randomB64(32)
}

func rsaDER(t *testing.T) (pubB64, privB64 string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(priv)
}

// peerScenario is one configuration crossed with the peer.
type peerScenario struct {
	name  string
	test  *vectorTest
	items []map[string]types.AttributeValue
}

func peerScenarios(t *testing.T, kmsARN, kmsSecret string) []peerScenario {
	hmacKey, aesKey := randomB64(32), randomB64(32)
	wrapPub, wrapPriv := rsaDER(t)
	signPub, signPriv := rsaDER(t)
	S := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	N := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	B := func(v ...byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }
	base := func(keyring keyringSpec, sk *string) *vectorTest {
		return &vectorTest{Format: vectorFormat, Result: "success", Table: "PeerTable", PartitionKey: "pk", SortKey: sk,
			Actions: richActions(), DefaultAction: "ENCRYPT_AND_SIGN", Keyring: keyring}
	}
	pair := func(sk *string, pk1, sk1, pk2, sk2 types.AttributeValue) []map[string]types.AttributeValue {
		name := ""
		if sk != nil {
			name = *sk
		}
		return []map[string]types.AttributeValue{richItem(pk1, sk1, "pk", name), simpleItem(pk2, sk2, "pk", name, "5555 5555 5555 4444")}
	}
	wrappedAES := keyringSpec{Type: "wrapped", EncryptionAlgorithm: "AES", EncryptionKey: aesKey, SigningAlgorithm: "HmacSHA256", SigningKey: hmacKey}
	wrappedMD := wrappedAES
	wrappedMD.MaterialDescription = map[string]string{"purpose": "peer vectors", "ünïcode": "✓"}
	wrappedRSA := keyringSpec{Type: "wrapped", EncryptionAlgorithm: "RSA", EncryptionKey: wrapPub, DecryptionKey: wrapPriv,
		SigningAlgorithm: "SHA256withRSA", SigningKey: signPriv, VerificationKey: signPub}
	static := keyringSpec{Type: "static", EncryptionAlgorithm: "AES", EncryptionKey: aesKey, SigningAlgorithm: "HmacSHA256", SigningKey: hmacKey}
	direct := keyringSpec{Type: "aws-kms-direct", KeyARN: kmsARN, KMSTestSecret: kmsSecret}

	scs := []peerScenario{
		{"wrapped-aes", base(wrappedAES, strPtr("sk")), pair(strPtr("sk"), S("user#1"), N("10"), S("user#2"), N("1E+1"))},
		{"wrapped-aes-material-description", base(wrappedMD, strPtr("sk")), pair(strPtr("sk"), S("md#1"), S("a"), S("md#2"), S("b"))},
		{"wrapped-rsa", base(wrappedRSA, strPtr("sk")), pair(strPtr("sk"), S("rsa#1"), N("1"), S("rsa#2"), N("2"))},
		{"static", base(static, nil), pair(nil, S("static#1"), nil, S("static#2"), nil)},
		{"direct-kms", base(direct, strPtr("sk")), pair(strPtr("sk"), S("kms#1"), N("42"), S("kms#2"), N("4.20"))},
		{"direct-kms-binary-key", base(direct, strPtr("sk")), pair(strPtr("sk"), B(0, 1, 0xfe), S("ü"), B(0xff), S("x"))},
		{"direct-kms-pk-only", base(direct, nil), pair(nil, N("-7.5"), nil, N("8"), nil)},
	}
	signOnlyDefault := base(direct, strPtr("sk"))
	signOnlyDefault.DefaultAction = "SIGN_ONLY"
	signOnlyDefault.Actions = map[string]string{"secret": "ENCRYPT_AND_SIGN", "u_s": "DO_NOTHING"}
	scs = append(scs, peerScenario{"direct-kms-default-sign-only", signOnlyDefault, pair(strPtr("sk"), S("d#1"), S("1"), S("d#2"), S("2"))})
	for i := range scs {
		scs[i].test.Description = "written by the DynamoDB Encryption Client for Python: " + scs[i].name
	}
	return scs
}

// tamper is a change to a stored item that must make it fail.
type tamper struct {
	name, why string
	apply     func(item, other map[string]types.AttributeValue) bool // false: not applicable
}

func flipLast(av types.AttributeValue) types.AttributeValue {
	b := slices.Clone(av.(*types.AttributeValueMemberB).Value)
	b[len(b)-1] ^= 1
	return &types.AttributeValueMemberB{Value: b}
}

var tampers = []tamper{
	{"flip-signature", "last byte of *amzn-ddb-map-sig* flipped", func(it, _ map[string]types.AttributeValue) bool {
		it[legacy.SignatureAttribute] = flipLast(it[legacy.SignatureAttribute])
		return true
	}},
	{"flip-encrypted", "last byte of the encrypted attribute e_s (or secret) flipped", func(it, _ map[string]types.AttributeValue) bool {
		for _, name := range []string{"e_s", "secret"} {
			if _, ok := it[name].(*types.AttributeValueMemberB); ok {
				it[name] = flipLast(it[name])
				return true
			}
		}
		return false
	}},
	{"change-sign-only", "SIGN_ONLY attribute s_s changed", func(it, _ map[string]types.AttributeValue) bool {
		it["s_s"] = &types.AttributeValueMemberS{Value: "changed"}
		return true
	}},
	{"remove-signed", "signed attribute s_s removed", func(it, _ map[string]types.AttributeValue) bool {
		delete(it, "s_s")
		return true
	}},
	{"add-attribute", "attribute 'extra' added; the default action signs it", func(it, _ map[string]types.AttributeValue) bool {
		it["extra"] = &types.AttributeValueMemberS{Value: "added"}
		return true
	}},
	{"change-partition-key", "partition key value changed", func(it, _ map[string]types.AttributeValue) bool {
		switch v := it["pk"].(type) {
		case *types.AttributeValueMemberS:
			it["pk"] = &types.AttributeValueMemberS{Value: v.Value + "x"}
		case *types.AttributeValueMemberN:
			it["pk"] = &types.AttributeValueMemberN{Value: v.Value + "1"}
		case *types.AttributeValueMemberB:
			it["pk"] = &types.AttributeValueMemberB{Value: append(slices.Clone(v.Value), 1)}
		}
		return true
	}},
	{"swap-material-description", "*amzn-ddb-map-desc* (with its content key) taken from the other item", func(it, other map[string]types.AttributeValue) bool {
		if bytes.Equal(it[legacy.MaterialDescriptionAttribute].(*types.AttributeValueMemberB).Value,
			other[legacy.MaterialDescriptionAttribute].(*types.AttributeValueMemberB).Value) {
			return false // the static provider writes the same description for every item
		}
		it[legacy.MaterialDescriptionAttribute] = other[legacy.MaterialDescriptionAttribute]
		return true
	}},
}

// TestPythonPeer crosses items both ways with the Python client, for every
// provider: what we write it decrypts to what we decrypt, and what it
// writes we decrypt to what it decrypts; each tamper of an item it wrote is
// refused by both. With DDBEC_WRITE_VECTORS=1 the items it wrote and the
// tampered ones become testdata/python/manifest.json.
func TestPythonPeer(t *testing.T) {
	src := peerSrc(t)
	fakes := newKMSFakes(t)
	arn, secret := newFixedKey("111122223333")
	_, srv, err := fakes.client(arn, secret)
	if err != nil {
		t.Fatal(err)
	}
	py := startPeer(t, src, srv.Env())
	ctx := context.Background()
	vectors := map[string]*vectorTest{}

	for _, sc := range peerScenarios(t, arn, secret) {
		t.Run(sc.name, func(t *testing.T) {
			cfg, err := sc.test.config()
			if err != nil {
				t.Fatal(err)
			}
			p, err := fakes.provider(sc.test.Keyring)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := legacy.New(cfg, p)
			if err != nil {
				t.Fatal(err)
			}
			req := func(op string, item map[string]types.AttributeValue) (json.RawMessage, error) {
				return py.do(map[string]any{"op": op, "test": peerTest(sc.test), "item": rawJSON(item)})
			}
			var theirs []map[string]types.AttributeValue
			for i, item := range sc.items {
				// Ours -> Python.
				ours, err := enc.EncryptItem(ctx, item)
				if err != nil {
					t.Fatal(err)
				}
				want, err := enc.DecryptItem(ctx, ours)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := req("decrypt", ours)
				if err != nil {
					t.Fatalf("item %d: Python refuses our item: %v", i, err)
				}
				if g, w := itemJSON(py.item(raw)), itemJSON(want); g != w {
					t.Errorf("item %d: Python decrypts our item to\n%s\nwe decrypt it to\n%s", i, g, w)
				}
				bad := maps.Clone(ours)
				bad[legacy.SignatureAttribute] = flipLast(bad[legacy.SignatureAttribute])
				if _, err := req("decrypt", bad); err == nil {
					t.Errorf("item %d: Python accepts our item with a flipped signature byte", i)
				}

				// Python -> ours.
				raw, err = req("encrypt", item)
				if err != nil {
					t.Fatalf("item %d: Python encrypt: %v", i, err)
				}
				ct := py.item(raw)
				raw, err = req("decrypt", ct)
				if err != nil {
					t.Fatalf("item %d: Python decrypt of its own item: %v", i, err)
				}
				pyPlain := py.item(raw)
				got, err := enc.DecryptItem(ctx, ct)
				if err != nil {
					t.Fatalf("item %d: we refuse Python's item: %v", i, err)
				}
				if g, w := itemJSON(got), itemJSON(pyPlain); g != w {
					t.Errorf("item %d: we decrypt Python's item to\n%s\nPython decrypts it to\n%s", i, g, w)
				}
				theirs = append(theirs, ct)
				id := fmt.Sprintf("python-%s-%d", sc.name, i)
				v := *sc.test
				v.Plaintext, v.Ciphertext = rawJSON(item), rawJSON(ct)
				if itemJSON(pyPlain) != itemJSON(item) {
					v.Decrypted = rawJSON(pyPlain)
				}
				vectors[id] = &v
			}
			// Tampered copies of the small item Python wrote (the rich one is
			// swept byte by byte in TestTamper): refused by both.
			for _, i := range []int{1} {
				for _, tc := range tampers {
					it, other := maps.Clone(theirs[i]), theirs[1-i]
					if !tc.apply(it, other) {
						continue
					}
					_, pyErr := req("decrypt", it)
					if pyErr == nil {
						t.Errorf("item %d, %s: Python accepts it", i, tc.name)
						continue
					}
					if got, err := enc.DecryptItem(ctx, it); err == nil || !errors.Is(err, legacy.ErrDecrypt) {
						t.Errorf("item %d, %s: DecryptItem() = %v, %v; want ErrDecrypt", i, tc.name, itemJSON(got), err)
					}
					id := fmt.Sprintf("python-%s-%d-tamper-%s", sc.name, i, tc.name)
					v := *sc.test
					v.Result, v.Why, v.PeerError = "failure", tc.why, pyErr.Error()
					v.DerivedFrom = fmt.Sprintf("python-%s-%d", sc.name, i)
					v.Plaintext, v.Ciphertext = rawJSON(sc.items[i]), rawJSON(it)
					vectors[id] = &v
				}
			}
		})
	}
	if writeVectors() && !t.Failed() {
		writeManifest(t, filepath.Join("testdata", "python"), "legacy-ddbec items written by the DynamoDB Encryption Client for Python "+
			"(aws-dynamodb-encryption-python, run from its sources by TestPythonPeer), and tampered copies it refuses", vectors)
	}
}

// writeManifest writes a vector folder's manifest.json.
func writeManifest(t *testing.T, dir, what string, tests map[string]*vectorTest) {
	t.Helper()
	m := map[string]any{
		"meta": map[string]any{
			"set":     filepath.Base(dir),
			"writers": map[string]string{"legacy-ddbec": what},
			"readme":  "../README.md",
		},
		"tests": tests,
	}
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d tests to %s", len(tests), filepath.Join(dir, "manifest.json"))
}

// BenchmarkPythonPeer measures the DynamoDB Encryption Client for Python on
// the same item, in the peer's own loop (DDBEC_PYTHON_SRC must name its
// sources; skipped otherwise): compare with BenchmarkItem.
func BenchmarkPythonPeer(b *testing.B) {
	src := peerSrc(b)
	srv := kmstest.Start(b)
	arn, secret := newFixedKey(srv.Account())
	if _, err := srv.ImportKey(arn[len(arn)-36:], mustB64(secret)); err != nil {
		b.Fatal(err)
	}
	py := startPeer(b, src, srv.Env())
	test := &vectorTest{Table: benchConfig.Table, PartitionKey: "pk", SortKey: strPtr("sk"), DefaultAction: "ENCRYPT_AND_SIGN",
		Actions: map[string]string{"status": "SIGN_ONLY", "created": "SIGN_ONLY", "tags": "SIGN_ONLY", "etag": "DO_NOTHING"}}
	keyrings := map[string]keyringSpec{
		"wrapped-aes": {Type: "wrapped", EncryptionAlgorithm: "AES", EncryptionKey: randomB64(32), SigningAlgorithm: "HmacSHA256", SigningKey: randomB64(32)},
		"direct-kms":  {Type: "aws-kms-direct", KeyARN: arn, KMSTestSecret: secret},
	}
	for _, name := range []string{"wrapped-aes", "direct-kms"} {
		test.Keyring = keyrings[name]
		for _, op := range []string{"encrypt", "decrypt"} {
			b.Run(op+"/"+name, func(b *testing.B) {
				srv.ResetCalls()
				if _, err := py.do(map[string]any{"op": "bench", "bench_op": op, "n": b.N, "test": peerTest(test), "item": rawJSON(benchItem(1))}); err != nil {
					b.Fatal(err)
				}
				reportKMS(b, srv, 1)
			})
		}
	}
}

func mustB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
