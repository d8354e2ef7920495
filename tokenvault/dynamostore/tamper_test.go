package dynamostore_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/dynamostore"
	"github.com/datamask/datamask/tokenvault/storetest"
)

// TestTampered alters items in the table as anyone who can write it can:
// every change of a signed attribute, and an item moved to another token,
// makes the token refuse to detokenize (ErrTampered), with no token or
// value in the error; the untouched tokens of the same batch still
// detokenize.
func TestTampered(t *testing.T) {
	ctx := context.Background()
	client := dynamolocal.Client(t)
	s := newStoreWith(t, client, localKeyring(t))
	v, err := tokenvault.Open(ctx, s, storetest.Provider(t), storetest.Policies(t))
	if err != nil {
		t.Fatal(err)
	}
	values := []string{"value zero", "value one", "value two", "value three", "value four", "value five", "value six"}
	tokens, _, err := v.TokenizeBatch(ctx, "acme", "convergent", values)
	if err != nil {
		t.Fatal(err)
	}
	read := func(tok string) map[string]types.AttributeValue {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table()), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: tok}, "sk": &types.AttributeValueMemberS{Value: "r4:acmeconvergent"}}})
		if err != nil || out.Item == nil {
			t.Fatalf("GetItem: %v, %v", out, err)
		}
		return out.Item
	}
	write := func(item map[string]types.AttributeValue) {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table()), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	other := read(tokens[6])
	edits := []struct {
		what string
		edit func(map[string]types.AttributeValue)
	}{
		{"ciphertext of another token", func(it map[string]types.AttributeValue) { it["ct"] = other["ct"] }},
		{"fingerprint changed", func(it map[string]types.AttributeValue) { it["fp"] = other["fp"] }},
		{"expiry added", func(it map[string]types.AttributeValue) {
			it["exp"] = &types.AttributeValueMemberN{Value: "1"}
			it["ttl"] = &types.AttributeValueMemberN{Value: "1"}
		}},
		{"signature of another item", func(it map[string]types.AttributeValue) {
			it["aws_dbe_head"], it["aws_dbe_foot"] = other["aws_dbe_head"], other["aws_dbe_foot"]
		}},
		{"attribute added", func(it map[string]types.AttributeValue) { it["note"] = &types.AttributeValueMemberS{Value: "x"} }},
	}
	for i, e := range edits {
		it := maps.Clone(read(tokens[i]))
		e.edit(it)
		write(it)
	}
	// tokens[5]'s item moved to a token of its own choosing.
	moved := maps.Clone(read(tokens[5]))
	forged := "tok_AAAAAAAAAAAAAAAAAAAAAA"
	moved["pk"] = &types.AttributeValueMemberS{Value: forged}
	write(moved)

	got, errs, err := v.DetokenizeBatch(ctx, "acme", "convergent", append(tokens[:7:7], forged))
	if err != nil {
		t.Fatal(err)
	}
	for i := range edits {
		if !errors.Is(errs[i], tokenvault.ErrTampered) {
			t.Errorf("%s: Detokenize = %q, %v; want ErrTampered", edits[i].what, got[i], errs[i])
		}
		for _, secret := range append(values, tokens...) {
			if errs[i] != nil && strings.Contains(errs[i].Error(), secret) {
				t.Errorf("%s: error %q shows a token or value", edits[i].what, errs[i])
			}
		}
	}
	if errs[5] != nil || got[5] != values[5] || errs[6] != nil || got[6] != values[6] {
		t.Errorf("untouched tokens: %v %v", errs[5], errs[6])
	}
	if !errors.Is(errs[7], tokenvault.ErrTampered) && !errors.Is(errs[7], tokenvault.ErrInvalidToken) {
		t.Errorf("moved item: %v, want ErrTampered", errs[7])
	}
	// A convergent lookup that follows a fingerprint item to an altered
	// record refuses it too.
	if _, err := v.Lookup(ctx, "acme", "convergent", values[0]); !errors.Is(err, tokenvault.ErrTampered) {
		t.Errorf("Lookup of a value whose record was altered = %v, want ErrTampered", err)
	}
	if tok, err := v.Tokenize(ctx, "acme", "convergent", values[0]); !errors.Is(err, tokenvault.ErrTampered) {
		t.Errorf("Tokenize of a value whose record was altered = %v; want ErrTampered, not a new token", err)
	} else if tok != "" {
		t.Errorf("Tokenize returned a token with its error")
	}
}

// TestWrongItemKey opens a vault on a table with another key for its
// items: Open fails with the keyring's error, not as if the vault were
// tampered.
func TestWrongItemKey(t *testing.T) {
	ctx := context.Background()
	client := dynamolocal.Client(t)
	s := newStoreWith(t, client, localKeyring(t))
	p := storetest.Provider(t)
	if _, err := tokenvault.Open(ctx, s, p, storetest.Policies(t)); err != nil {
		t.Fatal(err)
	}
	other, err := dynamostore.New(client, s.Table(), localKeyring(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tokenvault.Open(ctx, other, p, storetest.Policies(t))
	if err == nil || errors.Is(err, tokenvault.ErrTampered) || !errors.Is(err, esdk.ErrNoDecryptKey) {
		t.Fatalf("Open with another item key = %v; want esdk.ErrNoDecryptKey", err)
	}
	if strings.Contains(err.Error(), "vault-key") {
		t.Errorf("the error names the record's key: %v", err)
	}
}
