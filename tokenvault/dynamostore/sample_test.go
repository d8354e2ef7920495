package dynamostore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/internal/ddbjson"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
	"github.com/datamask/datamask/tokenvault/dynamostore"
	"github.com/datamask/datamask/tokenvault/storetest"
)

// sampleVectors are the vault items that AWS's serverless tokenization
// sample's own code wrote (dbesdk/legacy/testdata/tokenization-sample: its
// ddb_encrypt_item module, DDBEC for Python, Direct KMS through the fake
// KMS), and tampered copies that the sample's get_decrypted_item refuses.
type sampleVector struct {
	Result     string          `json:"result"`
	Why        string          `json:"why"`
	Keyring    sampleKeyring   `json:"keyring"`
	Plaintext  json.RawMessage `json:"plaintext"`
	Ciphertext json.RawMessage `json:"ciphertext"`
}

type sampleKeyring struct {
	KeyARN string `json:"key_arn"`
	Secret string `json:"kmstest_secret"`
}

type sampleFixture struct {
	positives, negatives map[string]sampleVector
	kms                  *kms.Client
	srv                  *kmstest.Server
	keyARN               string
	ddb                  *dynamodb.Client
	table                string
}

func s(av types.AttributeValue) string {
	if v, ok := av.(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func mustItem(t testing.TB, raw json.RawMessage) map[string]types.AttributeValue {
	t.Helper()
	it, err := ddbjson.Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// newSampleFixture loads the vectors, starts a fake KMS holding the
// sample's key, and writes the positive items into a table of DynamoDB
// Local laid out as the sample's.
func newSampleFixture(t *testing.T) *sampleFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "dbesdk", "legacy", "testdata", "tokenization-sample", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Tests map[string]sampleVector `json:"tests"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f := &sampleFixture{positives: map[string]sampleVector{}, negatives: map[string]sampleVector{}}
	for id, v := range m.Tests {
		if v.Result == "success" {
			f.positives[id] = v
		} else {
			f.negatives[id] = v
		}
		f.keyARN = v.Keyring.KeyARN
	}
	if len(f.positives) < 3 || len(f.negatives) < 5 {
		t.Fatalf("%d positive and %d negative sample vectors", len(f.positives), len(f.negatives))
	}
	v := f.positives[slices.Sorted(maps.Keys(f.positives))[0]]
	parts := strings.SplitN(v.Keyring.KeyARN, ":", 6)
	secret, err := base64.StdEncoding.DecodeString(v.Keyring.Secret)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = kmstest.Start(t, kmstest.WithRegion(parts[3]), kmstest.WithAccount(parts[4]))
	if _, err := f.srv.ImportKey(strings.TrimPrefix(parts[5], "key/"), secret); err != nil {
		t.Fatal(err)
	}
	f.kms = kms.New(kms.Options{Region: f.srv.Region(), BaseEndpoint: aws.String(f.srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(kmstest.AccessKeyID, kmstest.SecretAccessKey, "")})
	f.ddb = dynamolocal.Client(t)
	// The sample's table, under a name of this test's (the name the
	// sample signed into its items stays CreditCardTokenizerTable).
	f.table = dynamolocal.CreateTable(t, f.ddb, &dynamodb.CreateTableInput{
		TableName: aws.String("CreditCardTokenizerTable"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("Hash_Key"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("Account_Id"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("Hash_Key"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("Account_Id"), KeyType: types.KeyTypeRange},
		},
	})
	for _, v := range f.positives {
		f.put(t, mustItem(t, v.Ciphertext))
	}
	return f
}

func (f *sampleFixture) put(t testing.TB, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := f.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func (f *sampleFixture) open(t testing.TB) *dynamostore.Sample {
	t.Helper()
	smp, err := dynamostore.OpenSample(f.ddb, f.table, f.kms, f.keyARN)
	if err != nil {
		t.Fatal(err)
	}
	return smp
}

// TestSampleDetokenize detokenizes the tokens the sample issued, through
// its own table layout, and refuses every tampered item the sample
// refuses, with neither a token nor a card number in any error.
func TestSampleDetokenize(t *testing.T) {
	f := newSampleFixture(t)
	smp := f.open(t)
	ctx := context.Background()
	var secrets []string
	for _, id := range slices.Sorted(maps.Keys(f.positives)) {
		pt := mustItem(t, f.positives[id].Plaintext)
		secrets = append(secrets, s(pt["Hash_Key"]), s(pt["CandidateString"]))
		got, err := smp.Detokenize(ctx, s(pt["Account_Id"]), s(pt["Hash_Key"]))
		if err != nil || got != s(pt["CandidateString"]) {
			t.Errorf("%s: Detokenize = %v, want the card number", id, err)
		}
		if _, err := smp.Detokenize(ctx, "999999999999", s(pt["Hash_Key"])); !errors.Is(err, tokenvault.ErrNotFound) {
			t.Errorf("%s: Detokenize for another account = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := smp.Detokenize(ctx, "111122223333", "5f0c6c35-0000-4000-8000-000000000000"); !errors.Is(err, tokenvault.ErrNotFound) {
		t.Errorf("Detokenize of an unknown token = %v", err)
	}
	for _, id := range slices.Sorted(maps.Keys(f.negatives)) {
		t.Run(id, func(t *testing.T) {
			v := f.negatives[id]
			ct := mustItem(t, v.Ciphertext)
			pt := mustItem(t, v.Plaintext)
			orig := mustItem(t, f.positives["sample-token-0"].Ciphertext)
			f.put(t, ct)
			defer f.put(t, orig)
			if s(ct["Account_Id"]) != s(pt["Account_Id"]) {
				defer f.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(f.table),
					Key: map[string]types.AttributeValue{"Hash_Key": ct["Hash_Key"], "Account_Id": ct["Account_Id"]}})
			}
			got, err := smp.Detokenize(ctx, s(ct["Account_Id"]), s(ct["Hash_Key"]))
			if !errors.Is(err, tokenvault.ErrTampered) {
				t.Fatalf("%s: Detokenize = %q, %v; want ErrTampered", v.Why, got, err)
			}
			for _, sec := range secrets {
				if strings.Contains(err.Error(), sec) {
					t.Errorf("the error shows a token or card number: %v", err)
				}
			}
		})
	}
}

// TestSampleCopy copies the sample's tokens into datamask vaults on each
// store (embedded, PostgreSQL, DynamoDB): every token detokenizes there to
// the sample's card number, a second copy changes nothing, and a tampered
// item is counted as failed, not copied.
func TestSampleCopy(t *testing.T) {
	f := newSampleFixture(t)
	smp := f.open(t)
	ctx := context.Background()
	// One tampered item under a token of its own.
	bad := mustItem(t, f.negatives["sample-tamper-flip-candidate"].Ciphertext)
	bad["Hash_Key"] = &types.AttributeValueMemberS{Value: "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b"}
	f.put(t, bad)

	stores := map[string]func(t *testing.T) tokenvault.Store{
		"bolt": func(t *testing.T) tokenvault.Store {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "vault.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"dynamodb": func(t *testing.T) tokenvault.Store { return newStoreOn(dynamolocal.Start)(t) },
		"postgres": func(t *testing.T) tokenvault.Store { return newPGStore(t) },
	}
	for _, name := range slices.Sorted(maps.Keys(stores)) {
		t.Run("store="+name, func(t *testing.T) {
			policies := append(storetest.Policies(t), dynamostore.NewSamplePolicy())
			v, err := tokenvault.Open(ctx, stores[name](t), storetest.Provider(t), policies)
			if err != nil {
				t.Fatal(err)
			}
			for round := range 2 {
				st, err := smp.CopyTo(ctx, v, "", dynamostore.SamplePolicy)
				if err != nil {
					t.Fatal(err)
				}
				if st.Copied != len(f.positives) || st.Tampered != 1 || st.Failed != 0 {
					t.Fatalf("round %d: CopyTo = %+v, want %d copied and the tampered item failed", round, st, len(f.positives))
				}
			}
			for id, vec := range f.positives {
				pt := mustItem(t, vec.Plaintext)
				got, err := v.Detokenize(ctx, s(pt["Account_Id"]), dynamostore.SamplePolicy, s(pt["Hash_Key"]))
				if err != nil || got != s(pt["CandidateString"]) {
					t.Errorf("%s: Detokenize in the datamask vault = %v", id, err)
				}
			}
			// Into one tenant of the caller's choosing.
			st, err := smp.CopyTo(ctx, v, "acme", dynamostore.SamplePolicy)
			if err != nil || st.Copied != len(f.positives) {
				t.Fatalf("CopyTo(tenant acme) = %+v, %v", st, err)
			}
			// A policy whose tokens are not UUIDs refuses them all.
			st, err = smp.CopyTo(ctx, v, "acme", tokenvault.PolicyOpaque)
			if err != nil || st.Copied != 0 || st.Failed != len(f.positives) || !errors.Is(st.FirstErr, tokenvault.ErrInvalidToken) {
				t.Fatalf("CopyTo(policy opaque) = %+v, %v", st, err)
			}
		})
	}
}
