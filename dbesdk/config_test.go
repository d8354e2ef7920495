package dbesdk_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
)

// testKeyringBytes is the key of testKeyring.
var testKeyringBytes = bytes.Repeat([]byte{0x42}, 32)

func testKeyring(t testing.TB) *esdk.RawAESKeyring {
	t.Helper()
	kr, err := esdk.NewRawAESKeyring("datamask-test", "dbesdk", testKeyringBytes)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// baseConfig is a valid version 1 configuration.
func baseConfig() dbesdk.TableConfig {
	return dbesdk.TableConfig{
		LogicalTableName: "users",
		PartitionKey:     "pk",
		SortKey:          "sk",
		Actions: map[string]dbesdk.Action{
			"pk": dbesdk.SignOnly, "sk": dbesdk.SignOnly,
			"email": dbesdk.EncryptAndSign, "name": dbesdk.EncryptAndSign, "tier": dbesdk.SignOnly,
			":note": dbesdk.DoNothing,
		},
		UnsignedPrefix: ":",
	}
}

type legacyStub struct{ dbesdk.LegacyEncryptor }

// TestConfigRules: every configuration the DB-ESDK refuses is refused by
// New with an error that matches ErrInvalidConfig and says what to fix.
func TestConfigRules(t *testing.T) {
	tests := []struct {
		name   string
		change func(*dbesdk.TableConfig)
		want   string
	}{
		{"no table name", func(c *dbesdk.TableConfig) { c.LogicalTableName = "" }, "LogicalTableName is empty"},
		{"table name not UTF-8", func(c *dbesdk.TableConfig) { c.LogicalTableName = "\xff" }, "not valid UTF-8"},
		{"no partition key", func(c *dbesdk.TableConfig) { c.PartitionKey = "" }, "PartitionKey is empty"},
		{"sort key is the partition key", func(c *dbesdk.TableConfig) { c.SortKey = "pk" }, "is the partition key"},
		{"no actions", func(c *dbesdk.TableConfig) { c.Actions = nil }, "Actions is empty"},
		{"partition key without action", func(c *dbesdk.TableConfig) { delete(c.Actions, "pk") }, `partition key "pk" has no action`},
		{"sort key without action", func(c *dbesdk.TableConfig) { delete(c.Actions, "sk") }, `sort key "sk" has no action`},
		{"encrypted partition key", func(c *dbesdk.TableConfig) { c.Actions["pk"] = dbesdk.EncryptAndSign }, "keys must be signed and stay in the clear"},
		{"unsigned sort key", func(c *dbesdk.TableConfig) { c.Actions["sk"] = dbesdk.DoNothing; c.UnsignedAttributes = []string{"sk"} }, "give it SIGN_ONLY"},
		{"v2 with SIGN_ONLY keys", func(c *dbesdk.TableConfig) { c.Actions["tier"] = dbesdk.SignAndIncludeInEncryptionContext },
			"the keys must be SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT too"},
		{"v2 with one SIGN_ONLY key", func(c *dbesdk.TableConfig) {
			c.Actions["tier"] = dbesdk.SignAndIncludeInEncryptionContext
			c.Actions["pk"] = dbesdk.SignAndIncludeInEncryptionContext
		}, `sort key "sk" is SIGN_ONLY`},
		{"invalid action", func(c *dbesdk.TableConfig) { c.Actions["tier"] = 0 }, "invalid action"},
		{"reserved attribute", func(c *dbesdk.TableConfig) { c.Actions["aws_dbe_head"] = dbesdk.SignOnly }, "is reserved"},
		{"reserved beacon name", func(c *dbesdk.TableConfig) { c.Actions["aws_dbe_b_email"] = dbesdk.SignOnly }, "is reserved"},
		{"reserved context prefix", func(c *dbesdk.TableConfig) { c.Actions["aws-crypto-x"] = dbesdk.SignOnly }, "is reserved"},
		{"empty attribute name", func(c *dbesdk.TableConfig) { c.Actions[""] = dbesdk.SignOnly }, "empty, invalid UTF-8"},
		{"DO_NOTHING but signed scope", func(c *dbesdk.TableConfig) { c.Actions["tier"] = dbesdk.DoNothing }, "must also be in UnsignedAttributes or begin with UnsignedPrefix"},
		{"signed but unsigned prefix", func(c *dbesdk.TableConfig) { c.Actions[":x"] = dbesdk.SignOnly }, "also begins with UnsignedPrefix"},
		{"signed but unsigned list", func(c *dbesdk.TableConfig) { c.UnsignedAttributes = []string{"tier"} }, "also in UnsignedAttributes"},
		{"unsigned list entry empty", func(c *dbesdk.TableConfig) { c.UnsignedAttributes = []string{""} }, "UnsignedAttributes holds an empty"},
		{"ESDK suite", func(c *dbesdk.TableConfig) { c.Suite = esdk.AES256GCMHKDFSHA512CommitKey }, "is not a DB-ESDK suite"},
		{"unknown suite", func(c *dbesdk.TableConfig) { c.Suite = 0x6702 }, "is not a DB-ESDK suite"},
		{"legacy without policy", func(c *dbesdk.TableConfig) { c.Legacy = &dbesdk.LegacyOverride{Encryptor: legacyStub{}} }, "Legacy.Policy is LegacyPolicy(0)"},
		{"legacy without encryptor", func(c *dbesdk.TableConfig) {
			c.Legacy = &dbesdk.LegacyOverride{Policy: dbesdk.ForbidLegacyEncryptAllowLegacyDecrypt}
		}, "Legacy.Encryptor is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.change(&cfg)
			_, err := dbesdk.New(cfg, testKeyring(t))
			if !errors.Is(err, dbesdk.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "dbesdk: ") {
				t.Errorf("New() = %v, want ErrInvalidConfig saying %q", err, tt.want)
			}
		})
	}
	// Accepted: version 2 with both keys SIGN_AND_INCLUDE, unsigned by list,
	// no sort key, either suite, a legacy override.
	ok := []func(*dbesdk.TableConfig){
		func(c *dbesdk.TableConfig) {
			c.Actions["tier"] = dbesdk.SignAndIncludeInEncryptionContext
			c.Actions["pk"], c.Actions["sk"] = dbesdk.SignAndIncludeInEncryptionContext, dbesdk.SignAndIncludeInEncryptionContext
		},
		func(c *dbesdk.TableConfig) {
			c.UnsignedPrefix = ""
			delete(c.Actions, ":note")
			c.UnsignedAttributes = []string{"x"}
		},
		func(c *dbesdk.TableConfig) { c.SortKey = ""; delete(c.Actions, "sk") },
		func(c *dbesdk.TableConfig) { c.Suite = esdk.DBEAES256GCMCommitKeyHMACSHA384 },
		func(c *dbesdk.TableConfig) {
			c.Legacy = &dbesdk.LegacyOverride{Policy: dbesdk.ForceLegacyEncryptAllowLegacyDecrypt, Encryptor: legacyStub{}}
		},
	}
	for i, change := range ok {
		cfg := baseConfig()
		change(&cfg)
		if _, err := dbesdk.New(cfg, testKeyring(t)); err != nil {
			t.Errorf("valid configuration %d: New() = %v", i, err)
		}
	}
}

func TestNewOptions(t *testing.T) {
	cfg := baseConfig()
	tests := []struct {
		name string
		opts []dbesdk.Option
		want string
	}{
		{"nil option", []dbesdk.Option{nil}, "nil Option"},
		{"cache twice", []dbesdk.Option{dbesdk.WithDataKeyCache(), dbesdk.WithDataKeyCache()}, "given twice"},
		{"cache and no cache", []dbesdk.Option{dbesdk.WithDataKeyCache(), dbesdk.WithoutDataKeyCache()}, "choose one"},
		{"bad cache option", []dbesdk.Option{dbesdk.WithDataKeyCache(esdk.WithCacheCapacity(0))}, "WithCacheCapacity"},
		{"max EDKs 0", []dbesdk.Option{dbesdk.WithMaxEncryptedDataKeys(0)}, "between 1 and 255"},
		{"max EDKs 256", []dbesdk.Option{dbesdk.WithMaxEncryptedDataKeys(256)}, "between 1 and 255"},
		{"max EDKs twice", []dbesdk.Option{dbesdk.WithMaxEncryptedDataKeys(2), dbesdk.WithMaxEncryptedDataKeys(3)}, "given twice"},
	}
	for _, tt := range tests {
		if _, err := dbesdk.New(cfg, testKeyring(t), tt.opts...); !errors.Is(err, dbesdk.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New() = %v, want ErrInvalidConfig saying %q", tt.name, err, tt.want)
		}
	}
	if _, err := dbesdk.New(cfg, nil); !errors.Is(err, dbesdk.ErrInvalidConfig) {
		t.Errorf("New(nil keyring) = %v", err)
	}
	if _, err := dbesdk.NewWithMaterialsManager(cfg, nil); !errors.Is(err, dbesdk.ErrInvalidConfig) {
		t.Errorf("NewWithMaterialsManager(nil) = %v", err)
	}
	cmm, _ := esdk.NewDefaultCMM(testKeyring(t))
	if _, err := dbesdk.NewWithMaterialsManager(cfg, cmm, dbesdk.WithoutDataKeyCache()); !errors.Is(err, dbesdk.ErrInvalidConfig) {
		t.Errorf("NewWithMaterialsManager(WithoutDataKeyCache) = %v, want a refusal", err)
	}
	enc, err := dbesdk.NewWithMaterialsManager(cfg, cmm, dbesdk.WithMaxEncryptedDataKeys(1))
	if err != nil {
		t.Fatal(err)
	}
	item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}, "sk": &types.AttributeValueMemberN{Value: "1"}}
	if _, err := enc.EncryptItem(context.Background(), item); err != nil {
		t.Errorf("EncryptItem(NewWithMaterialsManager) = %v", err)
	}
}

func TestActionNames(t *testing.T) {
	for _, a := range []dbesdk.Action{dbesdk.EncryptAndSign, dbesdk.SignAndIncludeInEncryptionContext, dbesdk.SignOnly, dbesdk.DoNothing} {
		if got, err := dbesdk.ParseAction(a.String()); err != nil || got != a {
			t.Errorf("ParseAction(%q) = %v, %v", a, got, err)
		}
	}
	if _, err := dbesdk.ParseAction("encrypt_and_sign"); err == nil {
		t.Errorf("ParseAction(lower case) = nil error")
	}
	if s := dbesdk.Action(9).String(); s != "Action(9)" {
		t.Errorf("Action(9).String() = %q", s)
	}
	if s := dbesdk.ForbidLegacyEncryptAllowLegacyDecrypt.String(); s != "FORBID_LEGACY_ENCRYPT_ALLOW_LEGACY_DECRYPT" {
		t.Errorf("policy String() = %q", s)
	}
}
