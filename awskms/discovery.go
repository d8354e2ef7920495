package awskms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/datamask/datamask/esdk"
)

// DiscoveryKeyring is the AWS Encryption SDK's AWS KMS discovery keyring: a
// decrypt-only keyring that asks KMS to decrypt each encrypted data key with
// the key ARN recorded in it, whichever key that is. Limit it with
// [WithDiscoveryFilter] to the keys of accounts you trust: without a filter
// it uses any key the caller's credentials may use, so a message from an
// untrusted writer decides which keys are called. [WithDiscoveryRegions]
// limits it to keys of some Regions too. Key ARNs whose Region is not a
// well-formed Region name are refused whatever the options, since the
// Region chooses the host each KMS call goes to.
//
// Build it with [NewDiscoveryKeyring]; it is safe for concurrent use.
type DiscoveryKeyring struct {
	client      Client
	filter      *discoveryFilter
	regions     []string // sorted; nil: any Region
	grantTokens []string
}

var _ esdk.Keyring = (*DiscoveryKeyring)(nil)

// NewDiscoveryKeyring returns a discovery keyring. Options:
// [WithDiscoveryFilter], [WithDiscoveryRegions] and [WithGrantTokens].
func NewDiscoveryKeyring(client Client, opts ...Option) (*DiscoveryKeyring, error) {
	if client == nil {
		return nil, errors.New("awskms: NewDiscoveryKeyring: client is nil")
	}
	cfg, err := newConfig("NewDiscoveryKeyring", opts)
	if err != nil {
		return nil, err
	}
	return &DiscoveryKeyring{client: client, filter: cfg.filter, regions: cfg.regions, grantTokens: cfg.grantTokens}, nil
}

// OnEncrypt implements [esdk.Keyring]: it always fails, because a discovery
// keyring has no key to encrypt with.
func (k *DiscoveryKeyring) OnEncrypt(context.Context, *esdk.EncryptionMaterials) error {
	return errors.New("awskms: a discovery keyring only decrypts: encrypt with a keyring from NewKeyring")
}

// OnDecrypt implements [esdk.Keyring]. It calls KMS Decrypt, in message
// order, for each encrypted data key whose key ARN passes the filter, with
// KeyId set to that ARN, until one yields a data key of the suite's length
// under that key. Keys outside the filter or the Regions are refused
// without calling KMS.
// Errors are as for [Keyring.OnDecrypt].
func (k *DiscoveryKeyring) OnDecrypt(ctx context.Context, m *esdk.DecryptionMaterials, edks []esdk.EncryptedDataKey) error {
	return decryptEDKs(ctx, m, edks, k.client, k.grantTokens, func(a arn, info string) (bool, error) {
		if k.filter != nil && !k.filter.allows(a) {
			return false, fmt.Errorf("awskms: key %q is outside the discovery filter (%v): not tried", info, k.filter)
		}
		if _, ok := slices.BinarySearch(k.regions, a.region); k.regions != nil && !ok {
			return false, fmt.Errorf("awskms: key %q is outside the discovery Regions (%s): not tried", info, strings.Join(k.regions, " "))
		}
		return true, nil
	}, func() string { return "allowed" })
}

// String describes the filter, the Regions and the number of grant tokens.
func (k *DiscoveryKeyring) String() string {
	f := "none"
	if k.filter != nil {
		f = strconv.Quote(k.filter.String())
	}
	r := ""
	if k.regions != nil {
		r = ", Regions: " + strconv.Quote(strings.Join(k.regions, " "))
	}
	return "awskms.DiscoveryKeyring{Filter: " + f + r + ", GrantTokens: " + strconv.Itoa(len(k.grantTokens)) + "}"
}

// GoString is String.
func (k *DiscoveryKeyring) GoString() string { return k.String() }

// Format prints String for every verb, so no verb prints a grant token.
func (k *DiscoveryKeyring) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue logs the filter and the number of grant tokens.
func (k *DiscoveryKeyring) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("type", "aws-kms-discovery"), slog.Int("grant_tokens", len(k.grantTokens))}
	if k.filter != nil {
		attrs = append(attrs, slog.String("partition", k.filter.partition), slog.Any("accounts", k.filter.accounts))
	}
	if k.regions != nil {
		attrs = append(attrs, slog.Any("regions", k.regions))
	}
	return slog.GroupValue(attrs...)
}
