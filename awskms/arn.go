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

var errNotARN = errors.New("not an AWS KMS ARN")

// parseARN parses s: exactly six parts separated by ':', "arn" first, the
// service "kms", a non-empty partition, region and account, and a resource
// "key/ID" or "alias/NAME" with a non-empty ID or name.
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
	return a, nil
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
