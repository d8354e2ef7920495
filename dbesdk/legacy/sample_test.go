package legacy_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/kmstest"
)

// TestTokenizationSampleVectors reads the vault items that the serverless
// tokenization sample's own code wrote (testdata/tokenization-sample) with
// TokenizationSampleConfig and the Direct KMS provider: every token
// detokenizes to its card number at one kms:Decrypt per item (none when
// read again), every tampered item and every byte flip of a token's
// ciphertext or signature is refused, and no error shows a token or a card
// number.
func TestTokenizationSampleVectors(t *testing.T) {
	t.Parallel()
	m := loadManifest(t, filepath.Join("testdata", "tokenization-sample"))
	fakes := newKMSFakes(t)
	var enc *legacy.Encryptor
	var srv *kmstest.Server
	cfg := legacy.TokenizationSampleConfig(legacy.TokenizationSampleTable)
	var positives, negatives []*vectorTest
	for _, id := range slices.Sorted(maps.Keys(m.Tests)) {
		v := m.Tests[id]
		got, err := v.config()
		if err != nil {
			t.Fatal(err)
		}
		if got.Table != cfg.Table || got.PartitionKey != cfg.PartitionKey || got.SortKey != cfg.SortKey ||
			got.DefaultAction != cfg.DefaultAction || !maps.Equal(got.Actions, cfg.Actions) {
			t.Fatalf("%s: configuration %+v is not TokenizationSampleConfig's %+v", id, got, cfg)
		}
		if enc == nil {
			client, s, err := fakes.client(v.Keyring.KeyARN, v.Keyring.KMSTestSecret)
			if err != nil {
				t.Fatal(err)
			}
			srv = s
			p, err := legacy.NewDirectKMSProvider(client, v.Keyring.KeyARN)
			if err != nil {
				t.Fatal(err)
			}
			if enc, err = legacy.New(cfg, p, legacy.WithKeyValuesRedacted()); err != nil {
				t.Fatal(err)
			}
		}
		if v.Result == "success" {
			positives = append(positives, v)
		} else {
			negatives = append(negatives, v)
		}
	}
	if len(positives) == 0 || len(negatives) == 0 {
		t.Fatalf("%d positive and %d negative sample vectors; want some of each", len(positives), len(negatives))
	}
	ctx := context.Background()
	var secrets []string // tokens and card numbers, which no error may show
	for _, v := range positives {
		pt, err := parseItemJSON(v.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, str(pt["Hash_Key"]), str(pt["CandidateString"]))
	}

	srv.ResetCalls()
	for round := range 2 {
		for _, v := range positives {
			ct, err := parseItemJSON(v.Ciphertext)
			if err != nil {
				t.Fatal(err)
			}
			pt, _ := parseItemJSON(v.Plaintext)
			got, err := enc.DecryptItem(ctx, ct)
			if err != nil {
				t.Fatalf("DecryptItem(token %s) = %v", str(pt["Hash_Key"]), err)
			}
			if g, w := str(got["CandidateString"]), str(pt["CandidateString"]); g != w {
				t.Errorf("token %s detokenizes to %q, want %q", str(pt["Hash_Key"]), g, w)
			}
		}
		if got := srv.Calls(kmstest.OpDecrypt); got != len(positives) {
			t.Errorf("after reading the %d tokens %d times: %d kms:Decrypt calls, want %d (one per data key)", len(positives), round+1, got, len(positives))
		}
	}

	refused := func(what string, item map[string]types.AttributeValue) {
		t.Helper()
		got, err := enc.DecryptItem(ctx, item)
		if err == nil || got != nil || !errors.Is(err, legacy.ErrDecrypt) {
			t.Errorf("%s: DecryptItem() = %v, %v; want ErrDecrypt", what, itemJSON(got), err)
			return
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q shows a token or card number", what, err)
			}
		}
	}
	for _, v := range negatives {
		ct, err := parseItemJSON(v.Ciphertext)
		if err != nil {
			t.Fatal(err)
		}
		refused(v.Why, ct)
	}
	// Every byte of a token's encrypted card number and of its signature.
	ct, _ := parseItemJSON(positives[0].Ciphertext)
	for _, name := range []string{"CandidateString", legacy.SignatureAttribute} {
		b := ct[name].(*types.AttributeValueMemberB).Value
		for i := range b {
			for _, bit := range []byte{0x01, 0x80} {
				it := maps.Clone(ct)
				flipped := slices.Clone(b)
				flipped[i] ^= bit
				it[name] = &types.AttributeValueMemberB{Value: flipped}
				refused(name+" byte flipped", it)
			}
		}
	}
}

func str(av types.AttributeValue) string {
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
