package legacy_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/legacy"
)

func testProvider(t testing.TB) legacy.Provider {
	t.Helper()
	wk, err := legacy.NewAESWrappingKey(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := legacy.NewHMACSigningKey(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	p, err := legacy.NewWrappedProvider(wk, sk)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Each configuration rule is refused by New, with a message that says
// what is wrong.
func TestNewRefusesConfig(t *testing.T) {
	t.Parallel()
	p := testProvider(t)
	ok := legacy.Config{Table: "T", PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign}
	for _, tc := range []struct {
		name string
		edit func(*legacy.Config)
		want string
	}{
		{"no table", func(c *legacy.Config) { c.Table = "" }, "Config.Table is empty"},
		{"no partition key", func(c *legacy.Config) { c.PartitionKey = "" }, "Config.PartitionKey is empty"},
		{"sort key is partition key", func(c *legacy.Config) { c.SortKey = "pk" }, "SortKey is the partition key"},
		{"no default action", func(c *legacy.Config) { c.DefaultAction = 0 }, "DefaultAction is Action(0)"},
		{"bad default action", func(c *legacy.Config) { c.DefaultAction = 9 }, "DefaultAction is Action(9)"},
		{"bad action", func(c *legacy.Config) { c.Actions = map[string]legacy.Action{"a": 0} }, `Actions["a"] is Action(0)`},
		{"encrypted partition key", func(c *legacy.Config) { c.Actions = map[string]legacy.Action{"pk": legacy.EncryptAndSign} }, "is the partition key"},
		{"encrypted sort key", func(c *legacy.Config) { c.Actions = map[string]legacy.Action{"sk": legacy.EncryptAndSign} }, "is the sort key"},
		{"action for the signature", func(c *legacy.Config) {
			c.Actions = map[string]legacy.Action{legacy.SignatureAttribute: legacy.DoNothing}
		}, "reserves"},
		{"action for the material description", func(c *legacy.Config) {
			c.Actions = map[string]legacy.Action{legacy.MaterialDescriptionAttribute: legacy.SignOnly}
		}, "reserves"},
		{"reserved key name", func(c *legacy.Config) { c.PartitionKey = legacy.SignatureAttribute }, "reserves"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			enc, err := legacy.New(cfg, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "legacy: ") {
				t.Errorf("New() = %v, %v; want an error containing %q", enc, err, tc.want)
			}
		})
	}
	if _, err := legacy.New(ok, nil); err == nil {
		t.Error("New(cfg, nil) succeeded")
	}
	if _, err := legacy.New(ok, p, nil); err == nil {
		t.Error("New with a nil option succeeded")
	}
	if _, err := legacy.New(ok, p, legacy.WithKeyValuesRedacted(), legacy.WithKeyValuesRedacted()); err == nil {
		t.Error("WithKeyValuesRedacted twice succeeded")
	}
	if _, err := legacy.New(ok, p); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
}

// Key attributes without an action are signed (DDBEC's set_index_keys),
// unless the default is to do nothing; and the configuration is copied.
func TestKeyActions(t *testing.T) {
	t.Parallel()
	p := testProvider(t)
	ctx := context.Background()
	item := func() map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "a"}, "sk": &types.AttributeValueMemberN{Value: "1"},
			"x": &types.AttributeValueMemberS{Value: "secret"},
		}
	}
	actions := map[string]legacy.Action{"x": legacy.EncryptAndSign}
	enc, err := legacy.New(legacy.Config{Table: "T", PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign, Actions: actions}, p)
	if err != nil {
		t.Fatal(err)
	}
	actions["x"] = legacy.DoNothing // must not change enc
	ct, err := enc.EncryptItem(ctx, item())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ct["x"].(*types.AttributeValueMemberB); !ok {
		t.Errorf("x = %T, want encrypted (the Actions map was not copied)", ct["x"])
	}
	for _, key := range []string{"pk", "sk"} {
		if _, ok := ct[key].(*types.AttributeValueMemberB); ok {
			t.Errorf("key %s was encrypted", key)
		}
		changed := make(map[string]types.AttributeValue)
		for k, v := range ct {
			changed[k] = v
		}
		changed[key] = &types.AttributeValueMemberS{Value: "other"}
		if _, err := enc.DecryptItem(ctx, changed); !errors.Is(err, legacy.ErrDecrypt) {
			t.Errorf("key %s changed: DecryptItem() = %v, want ErrDecrypt (keys are signed)", key, err)
		}
	}

	// Every action DO_NOTHING: items pass unchanged, as in DDBEC.
	nothing, err := legacy.New(legacy.Config{Table: "T", PartitionKey: "pk", DefaultAction: legacy.DoNothing}, p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := nothing.EncryptItem(ctx, item())
	if err != nil || itemJSON(out) != itemJSON(item()) {
		t.Errorf("all DO_NOTHING: EncryptItem() = %s, %v; want the item unchanged", itemJSON(out), err)
	}
	if legacy.IsLegacyItem(out) {
		t.Error("IsLegacyItem(unchanged item) = true")
	}
	if !legacy.IsLegacyItem(ct) {
		t.Error("IsLegacyItem(encrypted item) = false")
	}
}

func TestParseAction(t *testing.T) {
	t.Parallel()
	for _, a := range []legacy.Action{legacy.DoNothing, legacy.SignOnly, legacy.EncryptAndSign} {
		got, err := legacy.ParseAction(a.String())
		if err != nil || got != a {
			t.Errorf("ParseAction(%q) = %v, %v; want %v", a.String(), got, err, a)
		}
	}
	for _, s := range []string{"", "encrypt_and_sign", "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT"} {
		if _, err := legacy.ParseAction(s); err == nil {
			t.Errorf("ParseAction(%q) succeeded", s)
		}
	}
}

// Items that cannot be encrypted are refused with ErrInvalidItem, naming
// the attribute and not its value, before any key is used.
func TestEncryptItemRefuses(t *testing.T) {
	t.Parallel()
	enc, err := legacy.New(legacy.Config{Table: "T", PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign}, testProvider(t))
	if err != nil {
		t.Fatal(err)
	}
	key := func(extra map[string]types.AttributeValue) map[string]types.AttributeValue {
		item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "p"}, "sk": &types.AttributeValueMemberN{Value: "1"}}
		for k, v := range extra {
			item[k] = v
		}
		return item
	}
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
		want string
	}{
		{"nil item", nil, "nil"},
		{"no sort key", map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "p"}}, `key attribute "sk" is missing`},
		{"map key", key(map[string]types.AttributeValue{"pk": &types.AttributeValueMemberM{}}), `key attribute "pk"`},
		{"signature present", key(map[string]types.AttributeValue{legacy.SignatureAttribute: &types.AttributeValueMemberB{Value: []byte{1}}}), "already encrypted"},
		{"bad number", key(map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "12abc99"}}), `attribute "n": number`},
		{"too many digits", key(map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: strings.Repeat("7", 39)}}), `attribute "n"`},
		{"NULL false", key(map[string]types.AttributeValue{"z": &types.AttributeValueMemberNULL{Value: false}}), `attribute "z": NULL`},
		{"nil value", key(map[string]types.AttributeValue{"v": nil}), `attribute "v": value is nil`},
		{"bad UTF-8", key(map[string]types.AttributeValue{"s": &types.AttributeValueMemberS{Value: "\xff"}}), "not valid UTF-8"},
		{"too deep", key(map[string]types.AttributeValue{"l": deepList(40)}), "nest deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := enc.EncryptItem(context.Background(), tc.item)
			if err == nil || out != nil || !errors.Is(err, legacy.ErrInvalidItem) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("EncryptItem() = %v, %v; want ErrInvalidItem containing %q", out, err, tc.want)
			}
			if strings.Contains(err.Error(), "12abc99") || strings.Contains(err.Error(), "7777777") {
				t.Errorf("error %q holds the value", err)
			}
		})
	}
}

func deepList(depth int) types.AttributeValue {
	var av types.AttributeValue = &types.AttributeValueMemberS{Value: "leaf"}
	for range depth {
		av = &types.AttributeValueMemberL{Value: []types.AttributeValue{av}}
	}
	return av
}

// Error texts name the table and key values, or hide the key values with
// WithKeyValuesRedacted.
func TestItemErrorText(t *testing.T) {
	t.Parallel()
	cfg := legacy.Config{Table: "Orders", PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign}
	item := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "user#1"}, "sk": &types.AttributeValueMemberB{Value: []byte{1, 2}},
		legacy.SignatureAttribute: &types.AttributeValueMemberB{Value: []byte{1}}, "secret": &types.AttributeValueMemberS{Value: "hunter2hunter2"},
	}
	for _, tc := range []struct {
		opts []legacy.Option
		want string
	}{
		{nil, `legacy: decrypt item of table "Orders", "pk"="user#1", "sk"="AQI=": item does not verify or decrypt`},
		{[]legacy.Option{legacy.WithKeyValuesRedacted()}, `legacy: decrypt item of table "Orders", "pk"=(redacted), "sk"=(redacted): item does not verify or decrypt`},
	} {
		enc, err := legacy.New(cfg, testProvider(t), tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = enc.DecryptItem(context.Background(), item)
		if err == nil || err.Error() != tc.want {
			t.Errorf("DecryptItem() = %v, want %q", err, tc.want)
		}
		var ie *legacy.ItemError
		if !errors.As(err, &ie) || ie.Key["pk"] != "user#1" || ie.Key["sk"] != "AQI=" {
			t.Errorf("ItemError = %#v, want Key with both values", ie)
		}
	}
}
