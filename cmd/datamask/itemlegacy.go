package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/dbesdk/legacy"
)

const itemLegacyUsage = `Legacy items (the DynamoDB Encryption Client, DDBEC): with "legacy" in --config,
decrypt reads both formats, and encrypt writes DB-ESDK items ("mode": "read") or
legacy items that DDBEC clients read ("mode": "write"):
  "legacy": {"mode": "read" | "write", "default_action": ACTION}
  The legacy items' attribute actions are "actions" (SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT
  has no legacy equivalent) and "unsigned_attributes" (DO_NOTHING); attributes named in
  neither take "default_action" (DDBEC's default, ENCRYPT_AND_SIGN, if absent).
  Keys of the legacy items:
  --kms-key ARN              (exactly one) DDBEC's Direct KMS provider with that key:
                             one data key per item written, kms:Decrypt per distinct one read
  --legacy-wrapping-key FILE with --aes-key: DDBEC's wrapped provider, content keys wrapped
                             with this AES key (base64 of 16, 24 or 32 bytes, as keygen writes)
  --legacy-signing-key FILE  with --aes-key: the wrapped provider's HMAC-SHA256 signing key
                             (base64, at least 16 bytes); both files are required with --aes-key
`

// itemLegacyConfig is the "legacy" object of --config.
type itemLegacyConfig struct {
	Mode          string `json:"mode"`
	DefaultAction string `json:"default_action"`
}

// legacySpec is a checked "legacy" object: the policy and the legacy
// format's table configuration.
type legacySpec struct {
	policy dbesdk.LegacyPolicy
	cfg    legacy.Config
}

// readLegacyConfig checks the "legacy" object of --config against the rest
// of the configuration tc; every problem is a usage error.
func readLegacyConfig(path string, raw json.RawMessage, tc dbesdk.TableConfig) (*legacySpec, error) {
	var rawKeys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rawKeys); err != nil {
		return nil, usageErrorf(`--config %s: "legacy" must be an object such as {"mode": "read"}`, path)
	}
	for k := range rawKeys {
		if k != "mode" && k != "default_action" {
			return nil, usageErrorf(`--config %s: "legacy" has an unknown key %q`, path, k).withHint(`its keys are "mode" and "default_action"`)
		}
	}
	var lc itemLegacyConfig
	if err := json.Unmarshal(raw, &lc); err != nil {
		return nil, usageErrorf(`--config %s: "legacy": %v`, path, err)
	}
	spec := &legacySpec{}
	switch lc.Mode {
	case "read":
		spec.policy = dbesdk.ForbidLegacyEncryptAllowLegacyDecrypt
	case "write":
		spec.policy = dbesdk.ForceLegacyEncryptAllowLegacyDecrypt
	default:
		return nil, usageErrorf(`--config %s: "legacy" "mode" is %q`, path, lc.Mode).
			withHint(`use "read" (read legacy items, write DB-ESDK ones) or "write" (write legacy items for DDBEC clients)`)
	}
	def := legacy.EncryptAndSign
	if lc.DefaultAction != "" {
		var err error
		if def, err = legacy.ParseAction(lc.DefaultAction); err != nil {
			return nil, usageErrorf(`--config %s: "legacy" "default_action" %q is not ENCRYPT_AND_SIGN, SIGN_ONLY or DO_NOTHING`, path, lc.DefaultAction)
		}
	}
	spec.cfg = legacy.Config{Table: tc.LogicalTableName, PartitionKey: tc.PartitionKey, SortKey: tc.SortKey,
		DefaultAction: def, Actions: map[string]legacy.Action{}}
	for _, name := range slices.Sorted(maps.Keys(tc.Actions)) {
		switch a := tc.Actions[name]; a {
		case dbesdk.EncryptAndSign:
			spec.cfg.Actions[name] = legacy.EncryptAndSign
		case dbesdk.SignOnly:
			spec.cfg.Actions[name] = legacy.SignOnly
		case dbesdk.DoNothing:
			spec.cfg.Actions[name] = legacy.DoNothing
		default:
			return nil, usageErrorf(`--config %s: attribute %q is %v, which legacy items cannot have`, path, name, a).
				withHint("the DynamoDB Encryption Client has ENCRYPT_AND_SIGN, SIGN_ONLY and DO_NOTHING only")
		}
	}
	for _, name := range tc.UnsignedAttributes {
		spec.cfg.Actions[name] = legacy.DoNothing
	}
	return spec, nil
}

// legacyEncryptor builds the legacy encryptor of spec with the keys of the
// flags: Direct KMS for --kms-key, the wrapped provider for --aes-key with
// the --legacy-* key files.
func legacyEncryptor(ctx context.Context, spec *legacySpec, f *cryptFlags, set map[string]bool) (*legacy.Encryptor, error) {
	var p legacy.Provider
	switch {
	case len(f.kmsKeys) > 1:
		return nil, usageErrorf(`"legacy" with --kms-key takes exactly one key: DDBEC's Direct KMS provider uses one`)
	case len(f.kmsKeys) == 1:
		if set["legacy-wrapping-key"] || set["legacy-signing-key"] {
			return nil, usageErrorf("--legacy-wrapping-key and --legacy-signing-key go with --aes-key: with --kms-key, legacy items use the KMS key (Direct KMS)")
		}
		// The ARN is checked before any credentials are looked for.
		if _, err := legacy.NewDirectKMSProvider(kms.New(kms.Options{}), f.kmsKeys[0]); err != nil {
			return nil, usageErrorf("--kms-key: %s", strings.TrimPrefix(err.Error(), "legacy: "))
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, failure(err, "configure AWS credentials (aws configure, AWS_PROFILE or the AWS_ACCESS_KEY_ID variables)")
		}
		if p, err = legacy.NewDirectKMSProvider(kms.NewFromConfig(cfg), f.kmsKeys[0]); err != nil {
			return nil, failure(err)
		}
	default:
		if !set["legacy-wrapping-key"] || !set["legacy-signing-key"] {
			return nil, usageErrorf(`"legacy" with --aes-key needs --legacy-wrapping-key FILE and --legacy-signing-key FILE: the keys DDBEC's wrapped provider used`).
				withHint("for a new legacy table, write each with 'datamask keygen -o FILE'")
		}
		wrap, err := readKeyFile("--legacy-wrapping-key", f.legacyWrapping)
		if err != nil {
			return nil, err
		}
		defer clear(wrap)
		sign, err := readKeyFile("--legacy-signing-key", f.legacySigning)
		if err != nil {
			return nil, err
		}
		defer clear(sign)
		wk, err := legacy.NewAESWrappingKey(wrap)
		if err != nil {
			return nil, usageErrorf("--legacy-wrapping-key %s: %s", f.legacyWrapping, strings.TrimPrefix(err.Error(), "legacy: NewAESWrappingKey: "))
		}
		sk, err := legacy.NewHMACSigningKey(sign)
		if err != nil {
			return nil, usageErrorf("--legacy-signing-key %s: %s", f.legacySigning, strings.TrimPrefix(err.Error(), "legacy: NewHMACSigningKey: "))
		}
		if p, err = legacy.NewWrappedProvider(wk, sk); err != nil {
			return nil, failure(err)
		}
	}
	enc, err := legacy.New(spec.cfg, p)
	if err != nil {
		return nil, usageErrorf("--config: %s", strings.TrimPrefix(err.Error(), "legacy: "))
	}
	return enc, nil
}

// readKeyFile reads a base64 key file (as keygen writes); errors name the
// flag and file, never the contents.
func readKeyFile(flagName, path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, usageErrorf("%s: %v", flagName, err)
	}
	defer fh.Close()
	text, err := io.ReadAll(io.LimitReader(fh, 4097))
	defer clear(text)
	if err != nil {
		return nil, usageErrorf("%s: %v", flagName, err)
	}
	text = bytes.TrimSpace(text)
	key := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Strict().Decode(key, text)
	if err != nil || n == 0 || len(text) > 4096 {
		clear(key)
		return nil, usageErrorf("%s %s: not a base64 key file", flagName, path).withHint("write one with 'datamask keygen -o FILE'")
	}
	return key[:n], nil
}

// knownItemConfigKeys are the keys of --config.
var knownItemConfigKeys = []string{"table", "partition_key", "sort_key", "actions", "unsigned_prefix", "unsigned_attributes", "suite", "legacy"}

func isItemConfigKey(k string) bool { return slices.Contains(knownItemConfigKeys, k) }
