package hierarchy

import (
	"strings"
)

// exampleKeyARN shows what a KMS key ARN looks like, in error messages.
const exampleKeyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// maxKeyIDLen is the longest KMS KeyId AWS KMS accepts.
const maxKeyIDLen = 2048

// keyARN is a parsed KMS key ARN, arn:PARTITION:kms:REGION:ACCOUNT:key/ID.
type keyARN struct {
	region string
}

// parseKeyARN parses s as a KMS key ARN: an alias, an alias ARN or a bare
// key id is refused, as the AWS key store refuses them (a branch key
// names the key that protects it by its key ARN). The Region must look
// like a Region name, because it chooses the KMS host of the call.
func parseKeyARN(s string) (keyARN, bool) {
	if s == "" || len(s) > maxKeyIDLen {
		return keyARN{}, false
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "kms" || parts[4] == "" {
		return keyARN{}, false
	}
	resource, id, ok := strings.Cut(parts[5], "/")
	if !ok || resource != "key" || id == "" {
		return keyARN{}, false
	}
	if !validRegion(parts[3]) {
		return keyARN{}, false
	}
	return keyARN{region: parts[3]}, true
}

// validRegion reports whether r looks like an AWS Region name
// (us-east-1, cn-north-1, us-gov-west-1): lower-case letters, digits and
// dashes, no dots or slashes that could steer the KMS endpoint.
func validRegion(r string) bool {
	if r == "" || len(r) > 32 || r[0] < 'a' || r[0] > 'z' || !strings.Contains(r, "-") || strings.HasSuffix(r, "-") {
		return false
	}
	for _, c := range r {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
