package awskms

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// KMS limits on grant tokens.
const (
	maxGrantTokens   = 10
	maxGrantTokenLen = 8192
)

// An Option configures a keyring in [NewKeyring] or [NewDiscoveryKeyring].
type Option interface {
	apply(*config) error
}

type config struct {
	grantTokens []string
	filter      *discoveryFilter
	regions     []string // WithDiscoveryRegions: sorted, unique
	set         map[string]bool
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

func (c *config) once(name string) error {
	if c.set[name] {
		return errors.New("awskms: " + name + " given twice")
	}
	c.set[name] = true
	return nil
}

func newConfig(fn string, opts []Option) (*config, error) {
	c := &config{set: map[string]bool{}}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("awskms: " + fn + ": nil Option")
		}
		if err := o.apply(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// WithGrantTokens sends the grant tokens with every KMS request of the
// keyring (GrantTokens of GenerateDataKey, Encrypt and Decrypt), so that a
// grant takes effect before it is eventually consistent. KMS takes at most
// 10 tokens of 1 to 8192 characters. The keyring never prints them.
func WithGrantTokens(tokens ...string) Option {
	return option(func(c *config) error {
		if err := c.once("WithGrantTokens"); err != nil {
			return err
		}
		if len(tokens) == 0 || len(tokens) > maxGrantTokens {
			return fmt.Errorf("awskms: WithGrantTokens: %d tokens given; KMS takes 1 to %d", len(tokens), maxGrantTokens)
		}
		for i, t := range tokens {
			if t == "" || len(t) > maxGrantTokenLen {
				return fmt.Errorf("awskms: WithGrantTokens: token %d is empty or longer than %d characters", i+1, maxGrantTokenLen)
			}
		}
		c.grantTokens = slices.Clone(tokens)
		return nil
	})
}

// discoveryFilter limits a discovery keyring to keys of some accounts in one
// partition.
type discoveryFilter struct {
	partition string
	accounts  []string // sorted, unique
}

func (f *discoveryFilter) allows(a arn) bool {
	_, found := slices.BinarySearch(f.accounts, a.account)
	return a.partition == f.partition && found
}

func (f *discoveryFilter) String() string {
	return "partition " + f.partition + ", accounts " + strings.Join(f.accounts, " ")
}

// WithDiscoveryFilter limits a discovery keyring ([NewDiscoveryKeyring]) to
// the keys of accountIDs (12 digits each) in partition ("aws", "aws-cn",
// "aws-us-gov", ...): it refuses the encrypted data keys of any other key
// without calling KMS. Every reader that may receive messages from
// untrusted writers should set one.
func WithDiscoveryFilter(partition string, accountIDs ...string) Option {
	return option(func(c *config) error {
		if err := c.once("WithDiscoveryFilter"); err != nil {
			return err
		}
		if partition == "" || strings.ContainsAny(partition, ":/") {
			return fmt.Errorf("awskms: WithDiscoveryFilter: %q is not a partition such as \"aws\"", partition)
		}
		if len(accountIDs) == 0 {
			return errors.New("awskms: WithDiscoveryFilter: give at least one account ID")
		}
		for _, a := range accountIDs {
			if !validAccount(a) {
				return fmt.Errorf("awskms: WithDiscoveryFilter: %q is not a 12-digit AWS account ID", a)
			}
		}
		accounts := slices.Clone(accountIDs)
		slices.Sort(accounts)
		c.filter = &discoveryFilter{partition: partition, accounts: slices.Compact(accounts)}
		return nil
	})
}

func validAccount(a string) bool {
	if len(a) != 12 {
		return false
	}
	for _, r := range a {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// WithDiscoveryRegions limits a discovery keyring ([NewDiscoveryKeyring])
// to the keys of some Regions ("us-east-1", ...): it refuses the encrypted
// data keys of keys in any other Region without calling KMS. A key ARN's
// Region chooses the KMS endpoint of the call, and a message's writer
// chooses its key ARNs, so a reader that only uses keys of known Regions
// should say which. It combines with [WithDiscoveryFilter]: a key must
// pass both.
func WithDiscoveryRegions(regions ...string) Option {
	return option(func(c *config) error {
		if err := c.once("WithDiscoveryRegions"); err != nil {
			return err
		}
		if len(regions) == 0 {
			return errors.New("awskms: WithDiscoveryRegions: give at least one Region")
		}
		for _, r := range regions {
			if !validRegion(r) {
				return fmt.Errorf("awskms: WithDiscoveryRegions: %q is not a Region name such as \"us-east-1\"", r)
			}
		}
		c.regions = slices.Compact(slices.Sorted(slices.Values(regions)))
		return nil
	})
}
