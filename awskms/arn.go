package awskms

import (
	"errors"
	"fmt"
	"strings"
)

// exampleARN shows what a key ARN looks like in error messages.
const exampleARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// arn is an AWS KMS ARN, arn:PARTITION:kms:REGION:ACCOUNT:TYPE/ID, split into
// its parts as the AWS Encryption SDK specification's aws-kms-key-arn.md
// defines them.
type arn struct {
	partition, region, account string
	resourceType, resourceID   string
}

var (
	errNotARN    = errors.New("not an AWS KMS ARN")
	errBadRegion = errors.New("an AWS KMS ARN whose Region is not a Region name")
)

// parseARN parses s: exactly six parts separated by ':', "arn" first, the
// service "kms", a non-empty partition and account, a well-formed Region
// (see validRegion), and a resource "key/ID" or "alias/NAME" with a
// non-empty ID or name.
func parseARN(s string) (arn, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" {
		return arn{}, errNotARN
	}
	a := arn{partition: parts[1], region: parts[3], account: parts[4]}
	var ok bool
	a.resourceType, a.resourceID, ok = strings.Cut(parts[5], "/")
	if !ok || a.partition == "" || a.region == "" || a.account == "" || a.resourceID == "" ||
		(a.resourceType != "key" && a.resourceType != "alias") {
		return arn{}, errNotARN
	}
	if !validRegion(a.region) {
		return arn{}, errBadRegion
	}
	return a, nil
}

// validRegion reports whether r is a well-formed AWS Region name: parts of
// lowercase letters and digits joined by single hyphens, the first starting
// with a letter and the last all digits ("us-east-1", "us-gov-west-1",
// "cn-north-1", "eusc-de-east-1"), at most 32 bytes. A key ARN's Region
// chooses the host of each KMS call made for it (the SDK builds
// kms.REGION.amazonaws.com and the like), and a message chooses its own
// key ARNs: a "Region" with dots or other characters ("x.s3.us-east-1")
// would send a discovery keyring's Decrypt, with the caller's credentials,
// to another host under the partition's domain.
func validRegion(r string) bool {
	if len(r) == 0 || len(r) > 32 || r[0] < 'a' || r[0] > 'z' {
		return false
	}
	parts := strings.Split(r, "-")
	if len(parts) < 2 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			digit := c >= '0' && c <= '9'
			if i == len(parts)-1 && !digit || !digit && (c < 'a' || c > 'z') {
				return false
			}
		}
	}
	return true
}

// parseKeyARN parses s as the ARN of a key (not an alias).
func parseKeyARN(s string) (arn, error) {
	a, err := parseARN(s)
	if err != nil {
		return arn{}, err
	}
	if a.resourceType != "key" {
		return arn{}, errors.New("an alias ARN, not a key ARN")
	}
	return a, nil
}

// checkConfiguredKey explains why id cannot configure a strict keyring.
func checkConfiguredKey(id string) (arn, error) {
	a, err := parseARN(id)
	const why = "the keyring records its key's ARN in every message and decrypts only " +
		"the data keys recorded under one of its own ARNs, so it needs the full key ARN, such as %q"
	switch {
	case err == nil && a.resourceType == "key":
		return a, nil
	case err == nil:
		return arn{}, fmt.Errorf("%q is an alias ARN, not a key ARN: "+why+
			" (look it up with: aws kms describe-key --key-id %s --query KeyMetadata.Arn)", id, exampleARN, id)
	case errors.Is(err, errBadRegion):
		return arn{}, fmt.Errorf("%q names a Region that is not a Region name such as \"us-east-1\": "+
			"the Region of a key ARN chooses the KMS host each call goes to", id)
	case id == "":
		return arn{}, fmt.Errorf("a key ARN is empty: "+why, exampleARN)
	case strings.HasPrefix(id, "alias/"):
		return arn{}, fmt.Errorf("%q is a key alias, not a key ARN: "+why+
			" (look it up with: aws kms describe-key --key-id %s --query KeyMetadata.Arn)", id, exampleARN, id)
	case !strings.Contains(id, ":"):
		return arn{}, fmt.Errorf("%q is a key id, not a key ARN: "+why+
			" (look it up with: aws kms describe-key --key-id %s --query KeyMetadata.Arn)", id, exampleARN, id)
	default:
		return arn{}, fmt.Errorf("%q is not a KMS key ARN: "+why, id, exampleARN)
	}
}
