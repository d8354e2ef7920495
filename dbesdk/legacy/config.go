package legacy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Action says what the DynamoDB Encryption Client does with an attribute.
// The zero value is not an action.
type Action uint8

// The attribute actions, as DDBEC's CryptoAction names them.
const (
	// DoNothing leaves the attribute as it is: not encrypted, not signed.
	// It can be changed, added or removed without the item failing to
	// verify.
	DoNothing Action = iota + 1
	// SignOnly keeps the attribute in clear and covers it by the item's
	// signature.
	SignOnly
	// EncryptAndSign encrypts the attribute (it is stored as a binary
	// value) and covers the ciphertext by the item's signature.
	EncryptAndSign
)

// String returns DDBEC's name of the action, such as "ENCRYPT_AND_SIGN".
func (a Action) String() string {
	switch a {
	case DoNothing:
		return "DO_NOTHING"
	case SignOnly:
		return "SIGN_ONLY"
	case EncryptAndSign:
		return "ENCRYPT_AND_SIGN"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

func (a Action) valid() bool { return a >= DoNothing && a <= EncryptAndSign }

// ParseAction returns the action DDBEC names name: "ENCRYPT_AND_SIGN",
// "SIGN_ONLY" or "DO_NOTHING".
func ParseAction(name string) (Action, error) {
	for _, a := range []Action{DoNothing, SignOnly, EncryptAndSign} {
		if name == a.String() {
			return a, nil
		}
	}
	return 0, fmt.Errorf("legacy: unknown attribute action %q (want ENCRYPT_AND_SIGN, SIGN_ONLY or DO_NOTHING)", name)
}

// The attributes the DynamoDB Encryption Client adds to every item it
// signs. Their presence is how a legacy item is told from a DB-ESDK one
// (see [IsLegacyItem]); items to encrypt must not have them.
const (
	// SignatureAttribute holds the item's signature (binary).
	SignatureAttribute = "*amzn-ddb-map-sig*"
	// MaterialDescriptionAttribute holds the material description
	// (binary): how the item was encrypted and, for the wrapped and Direct
	// KMS providers, its encrypted content key.
	MaterialDescriptionAttribute = "*amzn-ddb-map-desc*"
)

// Config describes a table as the DynamoDB Encryption Client knows it: its
// name, its key attributes and what to do with each attribute. It is the
// DDBEC EncryptionContext (table, partition and sort key names) plus
// AttributeActions (a default action and per-attribute overrides).
//
// The key attributes are never encrypted. A key attribute that Actions does
// not name gets SignOnly, or DoNothing if DefaultAction is DoNothing: what
// DDBEC's EncryptedTable, EncryptedClient and EncryptedResource do (its
// AttributeActions.set_index_keys). Naming a key EncryptAndSign is an
// error, as it is in DDBEC.
//
// Reading an item needs the configuration it was written with: the same
// table name, key names, and the same action for every attribute the item
// holds (SignOnly and EncryptAndSign are signed differently, and an
// attribute signed on write but DoNothing on read makes the signature fail).
type Config struct {
	// Table is the table name. It is covered by every item's signature
	// (and for Direct KMS by the KMS encryption context), so an item only
	// verifies under the table name it was written with.
	Table string
	// PartitionKey is the name of the partition (hash) key attribute.
	PartitionKey string
	// SortKey is the name of the sort (range) key attribute, or "" if the
	// table has none.
	SortKey string
	// DefaultAction applies to every attribute that Actions does not name.
	// DDBEC's default is EncryptAndSign; it must be set explicitly here.
	DefaultAction Action
	// Actions overrides DefaultAction for the attributes it names.
	Actions map[string]Action
}

// TokenizationSampleTable is the table name of the token vault that AWS's
// serverless tokenization sample (aws-samples/aws-serverless-tokenization)
// creates.
const TokenizationSampleTable = "CreditCardTokenizerTable"

// TokenizationSampleConfig returns the configuration of the token vault of
// AWS's serverless tokenization sample: table (the sample's default is
// [TokenizationSampleTable]), partition key "Hash_Key" (the token), sort
// key "Account_Id" (the AWS account id, DO_NOTHING), and every other
// attribute, among them "CandidateString" (the card number),
// ENCRYPT_AND_SIGN. The sample encrypts with the Direct KMS provider: pair
// it with [NewDirectKMSProvider] over the sample's KMS key. Hash_Key is
// SIGN_ONLY, as the sample's EncryptedTable makes it.
//
// The sample's tokens are the partition key values, so an [Encryptor] for
// this table should be built with [WithKeyValuesRedacted].
func TokenizationSampleConfig(table string) Config {
	return Config{
		Table:         table,
		PartitionKey:  "Hash_Key",
		SortKey:       "Account_Id",
		DefaultAction: EncryptAndSign,
		Actions:       map[string]Action{"Account_Id": DoNothing},
	}
}

// config is a validated Config.
type config struct {
	table, pk, sk string
	def           Action
	actions       map[string]Action // includes the key attributes' actions
	noActions     bool              // every action is DoNothing: items pass unchanged
	anyEncrypt    bool
}

func (c Config) validate() (*config, error) {
	if c.Table == "" {
		return nil, fmt.Errorf("legacy: Config.Table is empty; the table name is signed into every item, so it must be the one the items were written with")
	}
	if c.PartitionKey == "" {
		return nil, fmt.Errorf("legacy: Config.PartitionKey is empty; give the name of the table's partition key attribute")
	}
	if c.SortKey == c.PartitionKey {
		return nil, fmt.Errorf("legacy: Config.SortKey is the partition key %q; leave it empty for a table without sort key", c.PartitionKey)
	}
	for _, name := range []string{c.PartitionKey, c.SortKey} {
		if isReserved(name) {
			return nil, fmt.Errorf("legacy: key attribute %q is a name the DynamoDB Encryption Client reserves", name)
		}
	}
	if !c.DefaultAction.valid() {
		return nil, fmt.Errorf("legacy: Config.DefaultAction is %v; set it to EncryptAndSign (DDBEC's default), SignOnly or DoNothing", c.DefaultAction)
	}
	cfg := &config{table: c.Table, pk: c.PartitionKey, sk: c.SortKey, def: c.DefaultAction, actions: maps.Clone(c.Actions)}
	if cfg.actions == nil {
		cfg.actions = map[string]Action{}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.actions)) {
		a := cfg.actions[name]
		if isReserved(name) {
			return nil, fmt.Errorf("legacy: Config.Actions names %q, which the DynamoDB Encryption Client reserves for itself", name)
		}
		if !a.valid() {
			return nil, fmt.Errorf("legacy: Config.Actions[%q] is %v; want EncryptAndSign, SignOnly or DoNothing", name, a)
		}
	}
	for _, k := range []struct{ what, name string }{{"partition", c.PartitionKey}, {"sort", c.SortKey}} {
		if k.name == "" {
			continue
		}
		a, ok := cfg.actions[k.name]
		if !ok {
			// DDBEC's set_index_keys: keys are signed unless the default
			// is to do nothing.
			a = min(c.DefaultAction, SignOnly)
			cfg.actions[k.name] = a
		}
		if a == EncryptAndSign {
			return nil, fmt.Errorf("legacy: Config.Actions[%q] is ENCRYPT_AND_SIGN, but %q is the %s key, which DynamoDB must read in clear (use SIGN_ONLY)", k.name, k.name, k.what)
		}
	}
	cfg.noActions = c.DefaultAction == DoNothing
	cfg.anyEncrypt = c.DefaultAction == EncryptAndSign
	for _, a := range cfg.actions {
		if a != DoNothing {
			cfg.noActions = false
		}
		if a == EncryptAndSign {
			cfg.anyEncrypt = true
		}
	}
	return cfg, nil
}

func (c *config) action(name string) Action {
	if a, ok := c.actions[name]; ok {
		return a
	}
	return c.def
}

func (c *config) keyNames() []string {
	if c.sk == "" {
		return []string{c.pk}
	}
	return []string{c.pk, c.sk}
}

func isReserved(name string) bool {
	return name == SignatureAttribute || name == MaterialDescriptionAttribute
}

// String describes the configuration without any value.
func (c *config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table %q, partition key %q", c.table, c.pk)
	if c.sk != "" {
		fmt.Fprintf(&b, ", sort key %q", c.sk)
	}
	fmt.Fprintf(&b, ", default %v, %d attribute actions", c.def, len(c.actions))
	return b.String()
}
