package dbesdk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/esdk"
)

// Action says what EncryptItem does with an attribute. The zero value is
// invalid.
type Action int

const (
	// EncryptAndSign encrypts the attribute and signs its ciphertext.
	EncryptAndSign Action = iota + 1
	// SignAndIncludeInEncryptionContext signs the attribute, leaves it in
	// the clear and binds its value into the encryption context (so it
	// reaches the keyring: AWS KMS sees and logs it). Any such attribute
	// makes the item format version 2, and then the partition and sort keys
	// must have this action too.
	SignAndIncludeInEncryptionContext
	// SignOnly signs the attribute and leaves it in the clear.
	SignOnly
	// DoNothing leaves the attribute in the clear and unsigned: a reader
	// cannot tell whether it was changed. Only attributes named by
	// TableConfig.UnsignedPrefix or TableConfig.UnsignedAttributes may have
	// it.
	DoNothing
)

// String returns the DB-ESDK's name of the action, such as
// "ENCRYPT_AND_SIGN".
func (a Action) String() string {
	switch a {
	case EncryptAndSign:
		return "ENCRYPT_AND_SIGN"
	case SignAndIncludeInEncryptionContext:
		return "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT"
	case SignOnly:
		return "SIGN_ONLY"
	case DoNothing:
		return "DO_NOTHING"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// ParseAction returns the action named by the DB-ESDK's name s
// ("ENCRYPT_AND_SIGN", "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT",
// "SIGN_ONLY" or "DO_NOTHING").
func ParseAction(s string) (Action, error) {
	for a := EncryptAndSign; a <= DoNothing; a++ {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("dbesdk: %q is not an action: use ENCRYPT_AND_SIGN, SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT, SIGN_ONLY or DO_NOTHING", s)
}

func (a Action) valid() bool { return a >= EncryptAndSign && a <= DoNothing }

// Reserved names. Attribute names starting with ReservedPrefix belong to
// the DB-ESDK (aws_dbe_head, aws_dbe_foot, beacons); encryption context keys
// starting with "aws-crypto-" belong to the SDKs.
const (
	ReservedPrefix = "aws_dbe_"
	HeaderName     = "aws_dbe_head"
	FooterName     = "aws_dbe_foot"

	reservedContextPrefix = "aws-crypto-"
)

// The attributes of an item in the legacy DynamoDB Encryption Client
// format, by their default names.
const (
	LegacyMaterialDescriptionName = "*amzn-ddb-map-desc*"
	LegacySignatureName           = "*amzn-ddb-map-sig*"
)

// TableConfig configures the encryption of the items of one table, as the
// DB-ESDK's DynamoDB table encryption configuration does. [New] checks it
// and refuses any configuration the DB-ESDK would refuse.
type TableConfig struct {
	// LogicalTableName is bound to every item (usually the DynamoDB table
	// name; keep it when a table is restored under another name).
	// Required.
	LogicalTableName string
	// PartitionKey is the name of the partition key attribute. Required.
	PartitionKey string
	// SortKey is the name of the sort key attribute, or empty for a table
	// without one.
	SortKey string
	// Actions gives the action of every attribute items may have, the keys
	// included: SignOnly for the keys, or SignAndIncludeInEncryptionContext
	// when any attribute has that action. An item attribute without an
	// action is an error on encrypt, unless it is unsigned by
	// UnsignedPrefix or UnsignedAttributes.
	Actions map[string]Action
	// UnsignedPrefix, if not empty, marks the attributes whose names start
	// with it as not signed (DoNothing): a reader does not authenticate
	// them. Signed attributes must not start with it.
	UnsignedPrefix string
	// UnsignedAttributes lists more attributes that are not signed.
	UnsignedAttributes []string
	// Suite is the algorithm suite of the items written:
	// esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384 (0x6701, the default
	// when zero, as in the DB-ESDK) or esdk.DBEAES256GCMCommitKeyHMACSHA384
	// (0x6700: no ECDSA signature, some twenty times cheaper per item; for
	// tables where everyone who can encrypt is trusted). Decrypt reads
	// both, whatever this says.
	Suite esdk.Suite
	// Legacy, if set, lets the item encryptor read (and, if its policy says
	// so, write) items of the legacy DynamoDB Encryption Client format
	// through another implementation.
	Legacy *LegacyOverride
}

// LegacyEncryptor encrypts and decrypts items of the legacy DynamoDB
// Encryption Client format (attributes *amzn-ddb-map-desc* and
// *amzn-ddb-map-sig*). Package dbesdk/legacy provides one; an item
// encryptor hands it the items of that format (see [LegacyOverride]).
// Implementations must be safe for concurrent use.
type LegacyEncryptor interface {
	EncryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error)
	DecryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error)
}

// LegacyItemDetector may be implemented by a [LegacyEncryptor] whose
// items use other attribute names than the default ones
// ([LegacyMaterialDescriptionName], [LegacySignatureName]): DecryptItem then
// asks it which items are its own.
type LegacyItemDetector interface {
	IsLegacyItem(item map[string]types.AttributeValue) bool
}

// LegacyPolicy says what an item encryptor does with the legacy format. It
// mirrors the DB-ESDK's LegacyPolicy; the zero value is invalid.
type LegacyPolicy int

const (
	// ForbidLegacyEncryptAllowLegacyDecrypt writes DB-ESDK items and reads
	// legacy items through the LegacyEncryptor: the policy for migrating a
	// table. Use it unless DDBEC clients still read the table.
	ForbidLegacyEncryptAllowLegacyDecrypt LegacyPolicy = iota + 1
	// ForceLegacyEncryptAllowLegacyDecrypt writes legacy items (through the
	// LegacyEncryptor) and reads both formats: for tables still read by
	// DynamoDB Encryption Client programs.
	ForceLegacyEncryptAllowLegacyDecrypt
	// ForbidLegacyEncryptForbidLegacyDecrypt writes and reads DB-ESDK items
	// only; a legacy item is an error ([ErrLegacyItem]), as without an
	// override.
	ForbidLegacyEncryptForbidLegacyDecrypt
)

// String returns the DB-ESDK's name of the policy.
func (p LegacyPolicy) String() string {
	switch p {
	case ForbidLegacyEncryptAllowLegacyDecrypt:
		return "FORBID_LEGACY_ENCRYPT_ALLOW_LEGACY_DECRYPT"
	case ForceLegacyEncryptAllowLegacyDecrypt:
		return "FORCE_LEGACY_ENCRYPT_ALLOW_LEGACY_DECRYPT"
	case ForbidLegacyEncryptForbidLegacyDecrypt:
		return "FORBID_LEGACY_ENCRYPT_FORBID_LEGACY_DECRYPT"
	}
	return "LegacyPolicy(" + strconv.Itoa(int(p)) + ")"
}

func (p LegacyPolicy) valid() bool {
	return p >= ForbidLegacyEncryptAllowLegacyDecrypt && p <= ForbidLegacyEncryptForbidLegacyDecrypt
}

// LegacyOverride plugs an implementation of the legacy DynamoDB Encryption
// Client format into an item encryptor (TableConfig.Legacy). Both fields
// are required.
type LegacyOverride struct {
	Policy    LegacyPolicy
	Encryptor LegacyEncryptor
}

// An Option configures [New].
type Option interface {
	apply(*options) error
}

type options struct {
	caching  []esdk.CachingOption
	cacheSet bool
	noCache  bool
	maxEDKs  int
	maxSet   bool
}

type option func(*options) error

func (f option) apply(o *options) error { return f(o) }

// WithDataKeyCache configures the data key cache (esdk.CachingCMM), which
// is on by default with esdk's defaults (100 entries, 300 s). Materials are
// cached per encryption context, and the DB-ESDK's context holds the item's
// key values: the cache serves repeated writes and reads of the same item
// (one KMS call each way instead of one per operation), not items with
// different keys.
func WithDataKeyCache(opts ...esdk.CachingOption) Option {
	return option(func(o *options) error {
		if o.cacheSet || o.noCache {
			return errors.New("dbesdk: WithDataKeyCache given twice or with WithoutDataKeyCache: choose one")
		}
		o.caching, o.cacheSet = slices.Clone(opts), true
		return nil
	})
}

// WithoutDataKeyCache turns the data key cache off: every item encrypted
// or decrypted calls the keyring (for AWS KMS, one call per item), as the
// DB-ESDK does. Only use it when policy requires one data key per
// operation; all other users should keep the cache.
func WithoutDataKeyCache() Option {
	return option(func(o *options) error {
		if o.cacheSet || o.noCache {
			return errors.New("dbesdk: WithoutDataKeyCache given twice or with WithDataKeyCache: choose one")
		}
		o.noCache = true
		return nil
	})
}

// DefaultMaxEncryptedDataKeys is the default limit on the encrypted data
// keys of an item, written or read: each one of a hostile item could cost
// a keyring attempt (a KMS call).
const DefaultMaxEncryptedDataKeys = 10

// WithMaxEncryptedDataKeys sets how many encrypted data keys an item may
// carry (1 to 255, the format's limit; default
// [DefaultMaxEncryptedDataKeys]). An item with more is refused before any
// keyring is called.
func WithMaxEncryptedDataKeys(n int) Option {
	return option(func(o *options) error {
		if o.maxSet {
			return errors.New("dbesdk: WithMaxEncryptedDataKeys given twice")
		}
		if n < 1 || n > 255 {
			return fmt.Errorf("dbesdk: WithMaxEncryptedDataKeys: %d is not between 1 and 255", n)
		}
		o.maxEDKs, o.maxSet = n, true
		return nil
	})
}

// ErrInvalidConfig is matched (with errors.Is) by every error of [New] and
// [NewWithMaterialsManager] about the table configuration or the options.
var ErrInvalidConfig = errors.New("dbesdk: invalid item encryptor configuration")

// configError is an error of New; it matches ErrInvalidConfig.
type configError struct{ msg string }

func (e *configError) Error() string        { return "dbesdk: " + e.msg }
func (e *configError) Is(target error) bool { return target == ErrInvalidConfig }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// config is the checked, immutable configuration of an ItemEncryptor.
type config struct {
	table          string
	partitionKey   string
	sortKey        string
	actions        map[string]Action
	unsignedPrefix string
	unsigned       map[string]bool
	suite          esdk.Suite
	version        byte     // 2 if any attribute is SignAndIncludeInEncryptionContext
	contextAttrs   []string // SignAndIncludeInEncryptionContext attributes, sorted
	legacy         *LegacyOverride
	maxEDKs        int
}

// checkConfig applies the DB-ESDK's configuration rules.
func checkConfig(tc TableConfig) (*config, error) {
	c := &config{
		table:          tc.LogicalTableName,
		partitionKey:   tc.PartitionKey,
		sortKey:        tc.SortKey,
		actions:        maps.Clone(tc.Actions),
		unsignedPrefix: tc.UnsignedPrefix,
		unsigned:       map[string]bool{},
		suite:          tc.Suite,
		version:        1,
		maxEDKs:        DefaultMaxEncryptedDataKeys,
	}
	switch {
	case c.table == "":
		return nil, configErrorf("LogicalTableName is empty: give the table's name (it is bound to every item)")
	case !utf8.ValidString(c.table):
		return nil, configErrorf("LogicalTableName is not valid UTF-8")
	case c.partitionKey == "":
		return nil, configErrorf("PartitionKey is empty: give the name of the table's partition key attribute")
	case c.sortKey == c.partitionKey:
		return nil, configErrorf("SortKey %q is the partition key: leave SortKey empty for a table without sort key", c.sortKey)
	}
	if c.suite == 0 {
		c.suite = esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384
	} else if !c.suite.DBE() {
		return nil, configErrorf("suite %v is not a DB-ESDK suite: use 0x6701 (%v, the default) or 0x6700 (%v)", c.suite,
			esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384, esdk.DBEAES256GCMCommitKeyHMACSHA384)
	}
	for _, name := range tc.UnsignedAttributes {
		if name == "" || !utf8.ValidString(name) {
			return nil, configErrorf("UnsignedAttributes holds an empty or invalid UTF-8 name")
		}
		c.unsigned[name] = true
	}
	if !utf8.ValidString(c.unsignedPrefix) {
		return nil, configErrorf("UnsignedPrefix is not valid UTF-8")
	}
	if len(c.actions) == 0 {
		return nil, configErrorf("Actions is empty: give an action for the partition key (SIGN_ONLY) and every other attribute")
	}
	names := slices.Sorted(maps.Keys(c.actions))
	for _, name := range names {
		a := c.actions[name]
		switch {
		case name == "" || !utf8.ValidString(name) || len(name) > 0xFFFF:
			return nil, configErrorf("Actions holds an empty, invalid UTF-8 or over-long attribute name")
		case !a.valid():
			return nil, configErrorf("attribute %q has invalid action %v", name, a)
		case strings.HasPrefix(name, ReservedPrefix):
			return nil, configErrorf("attribute %q is reserved: names starting with %q belong to the DB-ESDK and may not be configured", name, ReservedPrefix)
		case strings.HasPrefix(name, reservedContextPrefix):
			return nil, configErrorf("attribute %q is reserved: names starting with %q may not be configured", name, reservedContextPrefix)
		case a == DoNothing && !c.unsignedName(name):
			return nil, configErrorf("attribute %q is configured as DO_NOTHING but it must also be in UnsignedAttributes or begin with UnsignedPrefix", name)
		case a != DoNothing && c.unsigned[name]:
			return nil, configErrorf("attribute %q is configured as %v but it is also in UnsignedAttributes", name, a)
		case a != DoNothing && c.unsignedPrefix != "" && strings.HasPrefix(name, c.unsignedPrefix):
			return nil, configErrorf("attribute %q is configured as %v but it also begins with UnsignedPrefix %q", name, a, c.unsignedPrefix)
		}
		if a == SignAndIncludeInEncryptionContext {
			c.version = 2
			c.contextAttrs = append(c.contextAttrs, name)
		}
	}
	keyAction := SignOnly
	if c.version == 2 {
		keyAction = SignAndIncludeInEncryptionContext
	}
	for _, k := range []struct{ what, name string }{{"partition key", c.partitionKey}, {"sort key", c.sortKey}} {
		if k.name == "" {
			continue
		}
		a, ok := c.actions[k.name]
		switch {
		case !ok:
			return nil, configErrorf("the %s %q has no action: give it %v", k.what, k.name, keyAction)
		case a != keyAction && c.version == 2:
			return nil, configErrorf("the %s %q is %v, but with an attribute configured as SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT the keys must be SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT too", k.what, k.name, a)
		case a != keyAction:
			return nil, configErrorf("the %s %q is %v: keys must be signed and stay in the clear (DynamoDB reads them): give it SIGN_ONLY", k.what, k.name, a)
		}
	}
	if tc.Legacy != nil {
		switch {
		case !tc.Legacy.Policy.valid():
			return nil, configErrorf("Legacy.Policy is %v: set it, usually to %v", tc.Legacy.Policy, ForbidLegacyEncryptAllowLegacyDecrypt)
		case tc.Legacy.Encryptor == nil:
			return nil, configErrorf("Legacy.Encryptor is nil: give the legacy format's item encryptor")
		}
		l := *tc.Legacy
		c.legacy = &l
	}
	return c, nil
}

// unsignedName reports whether an attribute is outside the signature
// scope: named by UnsignedAttributes or UnsignedPrefix, or reserved.
func (c *config) unsignedName(name string) bool {
	return c.unsigned[name] || c.unsignedPrefix != "" && strings.HasPrefix(name, c.unsignedPrefix) ||
		strings.HasPrefix(name, ReservedPrefix)
}
