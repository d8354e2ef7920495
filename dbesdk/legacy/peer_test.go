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
)

// The peer is the DynamoDB Encryption Client for Python, run from its
// sources (aws/aws-dynamodb-encryption-python, src folder) by
// testdata/ddbec_peer.py with the installed boto3 and cryptography. It is
// not part of the repository nor installed in CI: these tests run when
// DDBEC_PYTHON_SRC names the src folder, and what the peer writes is kept
// in testdata as vectors that TestVectors replays everywhere. With
// DDBEC_WRITE_VECTORS=1 they rewrite those vectors.

// peerSrc returns the peer's source folder or skips t.
func peerSrc(t *testing.T) string {
	t.Helper()
	src := os.Getenv("DDBEC_PYTHON_SRC")
	if src == "" {
		t.Skip("DDBEC_PYTHON_SRC is not set: the DynamoDB Encryption Client for Python runs from its sources on a developer's machine " +
			"(set it to the src folder of aws/aws-dynamodb-encryption-python); CI replays what it wrote from testdata")
	}
	if _, err := os.Stat(filepath.Join(src, "dynamodb_encryption_sdk", "__init__.py")); err != nil {
		t.Fatalf("DDBEC_PYTHON_SRC=%s is not the client's src folder: %v", src, err)
	}
	return src
}

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

func strPtr(s string) *string { return &s }

// richItem has every attribute type, names whose UTF-16 and UTF-8 orders
// differ, numbers in forms that normalize, and nesting; signed-only (s_),
// encrypted (e_ and the default) and unsigned (u_) attributes.
func richItem(pk, sk types.AttributeValue, pkName, skName string) map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	nested := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"level2": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"n": n("768.80"), "t": &types.AttributeValueMemberBOOL{Value: true}, "z": &types.AttributeValueMemberNULL{Value: true},
			"ss": &types.AttributeValueMemberSS{Value: []string{"😀 b", "\uff61a", "a"}},
			"l":  &types.AttributeValueMemberL{Value: []types.AttributeValue{n("-3"), s(""), &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}},
		}},
		"\uff61": s("halfwidth"), "😀": s("emoji"), "k": &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
	}}
	item := map[string]types.AttributeValue{
		pkName:          pk,
		"e_s":           s("4111 1111 1111 1111"),
		"e_s_unicode":   s("naïve 文字 😀"),
		"e_s_empty":     s(""),
		"e_n":           n("1.50"),
		"e_n_exp":       n("6E+9"),
		"e_n_small":     n("-0.00012300"),
		"e_n_28":        n("7922769748929676301510341635"),
		"e_b":           &types.AttributeValueMemberB{Value: []byte{0xff, 0, 0x80}},
		"e_b_empty":     &types.AttributeValueMemberB{Value: []byte{}},
		"e_bool":        &types.AttributeValueMemberBOOL{Value: false},
		"e_null":        &types.AttributeValueMemberNULL{Value: true},
		"e_ss":          &types.AttributeValueMemberSS{Value: []string{"zeta", "\uff61", "😀", "alpha"}},
		"e_ns":          &types.AttributeValueMemberNS{Value: []string{"10", "9.50", "-1", "1E+2"}},
		"e_bs":          &types.AttributeValueMemberBS{Value: [][]byte{{2}, {1, 0}, {}}},
		"e_l":           &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x"), n("2.0"), nested}},
		"e_m":           nested,
		"\uff61name":    s("encrypted by default, name sorts after 😀 in UTF-16"),
		"😀name":         s("encrypted by default"),
		"s_s":           s("signed only"),
		"s_n":           n("2.50"),
		"s_ss":          &types.AttributeValueMemberSS{Value: []string{"b", "a", "c"}},
		"s_ns":          &types.AttributeValueMemberNS{Value: []string{"3", "1.0", "2"}},
		"s_m":           &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"b": n("1"), "a": s("2")}},
		"u_s":           s("not signed"),
		"u_n":           n("5.000"),
		"version":       n("1"),
		"e_n_big_exp":   n("9.9E+99"),
		"e_n_small_exp": n("1.5E-100"),
	}
	if skName != "" {
		item[skName] = sk
	}
	return item
}

func richActions() map[string]string {
	return map[string]string{
		"s_s": "SIGN_ONLY", "s_n": "SIGN_ONLY", "s_ss": "SIGN_ONLY", "s_ns": "SIGN_ONLY", "s_m": "SIGN_ONLY", "version": "SIGN_ONLY",
		"u_s": "DO_NOTHING", "u_n": "DO_NOTHING",
	}
}

func simpleItem(pk, sk types.AttributeValue, pkName, skName, secret string) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		pkName:   pk,
		"secret": &types.AttributeValueMemberS{Value: secret},
		"s_s":    &types.AttributeValueMemberS{Value: "tag"},
		"u_s":    &types.AttributeValueMemberS{Value: "free"},
	}
	if skName != "" {
		item[skName] = sk
	}
	return item
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
