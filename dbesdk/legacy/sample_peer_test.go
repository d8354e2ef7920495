//go:build ddbecpeer

package legacy_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/internal/motoserver"
)

// The tokenization sample is aws-samples/aws-serverless-tokenization. Its
// Lambda layer module ddb_encrypt_item (src/tokenizer) writes the vault
// items through DDBEC's EncryptedTable with the Direct KMS provider and
// reads them back with get_decrypted_item. TestTokenizationSamplePeer runs
// that module itself (TOKENIZATION_SAMPLE_SRC names src/tokenizer) against
// moto_server's DynamoDB and the fake KMS; like TestPythonPeer it builds only
// with the tag ddbecpeer.

// sampleAccount is the AWS account id the sample stores in Account_Id (it
// takes it from the Lambda function's ARN).
const sampleAccount = "111122223333"

// sampleCards are card numbers as the sample's callers post them (the
// networks' published test numbers).
var sampleCards = []string{"4111111111111111", "5555 5555 5555 4444", "378282246310005"}

func sampleSrc(t *testing.T) string {
	t.Helper()
	src := os.Getenv("TOKENIZATION_SAMPLE_SRC")
	if src == "" {
		t.Fatal("TOKENIZATION_SAMPLE_SRC is not set: with -tags ddbecpeer, set it to the src/tokenizer folder of " +
			"aws-samples/aws-serverless-tokenization (see testdata/README.md)")
	}
	if _, err := os.Stat(filepath.Join(src, "ddb_encrypt_item.py")); err != nil {
		t.Fatalf("TOKENIZATION_SAMPLE_SRC=%s has no ddb_encrypt_item.py: %v", src, err)
	}
	return src
}

// sampleTest is the vector test of the sample's layout with keyring.
func sampleTest(keyring keyringSpec) *vectorTest {
	cfg := legacy.TokenizationSampleConfig(legacy.TokenizationSampleTable)
	actions := map[string]string{}
	for name, a := range cfg.Actions {
		actions[name] = a.String()
	}
	return &vectorTest{
		Format: vectorFormat, Result: "success", Table: cfg.Table, PartitionKey: cfg.PartitionKey, SortKey: strPtr(cfg.SortKey),
		Actions: actions, DefaultAction: cfg.DefaultAction.String(), Keyring: keyring,
	}
}

func sampleTampers() []tamper {
	return []tamper{
		{"flip-candidate", "last byte of the encrypted CandidateString flipped", func(it, _ map[string]types.AttributeValue) bool {
			it["CandidateString"] = flipLast(it["CandidateString"])
			return true
		}},
		{"flip-signature", "last byte of *amzn-ddb-map-sig* flipped", func(it, _ map[string]types.AttributeValue) bool {
			it[legacy.SignatureAttribute] = flipLast(it[legacy.SignatureAttribute])
			return true
		}},
		{"change-account-id", "Account_Id changed: it is DO_NOTHING, but its value is in the KMS encryption context", func(it, _ map[string]types.AttributeValue) bool {
			it["Account_Id"] = &types.AttributeValueMemberS{Value: "444455556666"}
			return true
		}},
		{"move-to-other-token", "the item stored under another token (Hash_Key)", func(it, other map[string]types.AttributeValue) bool {
			it["Hash_Key"] = other["Hash_Key"]
			return true
		}},
		{"swap-candidate", "CandidateString ciphertext taken from another token's item", func(it, other map[string]types.AttributeValue) bool {
			it["CandidateString"] = other["CandidateString"]
			return true
		}},
		{"swap-material-description", "*amzn-ddb-map-desc* (its KMS-encrypted data key) taken from another token's item", func(it, other map[string]types.AttributeValue) bool {
			it[legacy.MaterialDescriptionAttribute] = other[legacy.MaterialDescriptionAttribute]
			return true
		}},
	}
}

// TestTokenizationSamplePeer stores tokens with the sample's own code and
// reads them here, stores tokens written here and reads them with the
// sample's code, and checks that both refuse tampered items. With
// DDBEC_WRITE_VECTORS=1 what the sample wrote becomes
// testdata/tokenization-sample/manifest.json.
func TestTokenizationSamplePeer(t *testing.T) {
	src := peerSrc(t)
	sample := sampleSrc(t)
	moto := motoserver.Start(t)
	fakes := newKMSFakes(t)
	arn, secret := newFixedKey(sampleAccount)
	_, srv, err := fakes.client(arn, secret)
	if err != nil {
		t.Fatal(err)
	}
	env := srv.Env()
	env["AWS_ENDPOINT_URL_DYNAMODB"] = moto
	env["KMSKey"] = arn
	env["TOKENIZATION_SAMPLE_SRC"] = sample
	py := startPeer(t, src, env)

	table := legacy.TokenizationSampleTable // the sample's name is signed into every item
	if _, err := py.do(map[string]any{"op": "sample_create_table", "table": table}); err != nil {
		t.Fatalf("creating the table on moto_server: %v", err)
	}
	test := sampleTest(keyringSpec{Type: "aws-kms-direct", KeyARN: arn, KMSTestSecret: secret})
	cfg, err := test.config()
	if err != nil {
		t.Fatal(err)
	}
	p, err := fakes.provider(test.Keyring)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := legacy.New(cfg, p, legacy.WithKeyValuesRedacted())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	vectors := map[string]*vectorTest{}

	// The sample writes, we read.
	var stored []map[string]types.AttributeValue
	for i, card := range sampleCards {
		token := newToken()
		plain := map[string]string{"Hash_Key": token, "Account_Id": sampleAccount, "CandidateString": card}
		raw, err := py.do(map[string]any{"op": "sample_put", "table": table, "item": plain})
		if err != nil {
			t.Fatalf("the sample's encrypt_item: %v", err)
		}
		ct := py.item(raw)
		got, err := enc.DecryptItem(ctx, ct)
		if err != nil {
			t.Fatalf("token %d: DecryptItem(the sample's item) = %v", i, err)
		}
		want := sampleItem(token, card)
		if g, w := itemJSON(got), itemJSON(want); g != w {
			t.Errorf("token %d: DecryptItem(the sample's item) = %s, want %s", i, g, w)
		}
		stored = append(stored, ct)
		v := *test
		v.Description = "written by the tokenization sample's ddb_encrypt_item.encrypt_item (DDBEC EncryptedTable, Direct KMS)"
		v.Plaintext, v.Ciphertext = rawJSON(want), rawJSON(ct)
		vectors[fmt.Sprintf("sample-token-%d", i)] = &v
	}

	// We write, the sample reads.
	token := newToken()
	ours, err := enc.EncryptItem(ctx, sampleItem(token, "4000 0566 5566 5556"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := py.do(map[string]any{"op": "sample_put_raw", "table": table, "item": rawJSON(ours)}); err != nil {
		t.Fatal(err)
	}
	raw, err := py.do(map[string]any{"op": "sample_get", "table": table, "key": map[string]string{"Hash_Key": token, "Account_Id": sampleAccount}})
	if err != nil {
		t.Fatalf("the sample's get_decrypted_item refuses our item: %v", err)
	}
	if g, w := itemJSON(py.item(raw)), itemJSON(sampleItem(token, "4000 0566 5566 5556")); g != w {
		t.Errorf("the sample's get_decrypted_item(our item) = %s, want %s", g, w)
	}

	// Tampered items: the sample's get_decrypted_item and we refuse them.
	for _, tc := range sampleTampers() {
		it, other := maps.Clone(stored[0]), stored[1]
		tc.apply(it, other)
		if _, err := py.do(map[string]any{"op": "sample_put_raw", "table": table, "item": rawJSON(it)}); err != nil {
			t.Fatal(err)
		}
		key := map[string]string{"Hash_Key": it["Hash_Key"].(*types.AttributeValueMemberS).Value, "Account_Id": it["Account_Id"].(*types.AttributeValueMemberS).Value}
		_, pyErr := py.do(map[string]any{"op": "sample_get", "table": table, "key": key})
		if pyErr == nil {
			t.Errorf("%s: the sample's get_decrypted_item accepts it", tc.name)
			continue
		}
		if got, err := enc.DecryptItem(ctx, it); err == nil || !errors.Is(err, legacy.ErrDecrypt) {
			t.Errorf("%s: DecryptItem() = %s, %v; want ErrDecrypt", tc.name, itemJSON(got), err)
		}
		v := *test
		v.Result, v.Why, v.PeerError, v.DerivedFrom = "failure", tc.why, pyErr.Error(), "sample-token-0"
		v.Description = "a token item the sample wrote, tampered; the sample's get_decrypted_item refuses it"
		v.Plaintext, v.Ciphertext = vectors["sample-token-0"].Plaintext, rawJSON(it)
		vectors["sample-tamper-"+tc.name] = &v
	}
	if writeVectors() && !t.Failed() {
		writeManifest(t, filepath.Join("testdata", "tokenization-sample"), "vault items of aws-samples/aws-serverless-tokenization, "+
			"written by the sample's own ddb_encrypt_item module (DDBEC for Python, Direct KMS through the fake KMS, DynamoDB on moto_server), "+
			"and tampered copies the sample refuses", vectors)
	}
}

func sampleItem(token, card string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"Hash_Key":        &types.AttributeValueMemberS{Value: token},
		"Account_Id":      &types.AttributeValueMemberS{Value: sampleAccount},
		"CandidateString": &types.AttributeValueMemberS{Value: card},
	}
}

// newToken returns a token as the sample makes them: str(uuid.uuid4()).
func newToken() string {
	arn, _ := newFixedKey(sampleAccount) // its key id is a random version 4 UUID
	return arn[len(arn)-36:]
}
