package awskms

import (
	"strings"
	"testing"
)

func TestParseARN(t *testing.T) {
	tests := []struct {
		in   string
		want arn
		ok   bool
	}{
		{"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", arn{"aws", "us-east-1", "111122223333", "key", "1234abcd-12ab-34cd-56ef-1234567890ab"}, true},
		{"arn:aws:kms:us-west-2:111122223333:alias/test-key", arn{"aws", "us-west-2", "111122223333", "alias", "test-key"}, true},
		{"arn:aws:kms:us-west-2:111122223333:alias/a/b", arn{"aws", "us-west-2", "111122223333", "alias", "a/b"}, true},
		{"arn:aws-cn:kms:cn-north-1:1:key/mrk-1", arn{"aws-cn", "cn-north-1", "1", "key", "mrk-1"}, true},
		{"", arn{}, false},
		{"arn:aws:kms:us-east-1:111122223333:key", arn{}, false},
		{"arn:aws:kms:us-east-1:111122223333:key/", arn{}, false},
		{"arn:aws:kms:us-east-1:111122223333:grant/x", arn{}, false},
		{"arn:aws:kms:us-east-1:111122223333:key/x:y", arn{}, false},
		{"arn::kms:us-east-1:111122223333:key/x", arn{}, false},
		{"ARN:aws:kms:us-east-1:111122223333:key/x", arn{}, false},
		{"arn:aws:KMS:us-east-1:111122223333:key/x", arn{}, false},
		{"alias/x", arn{}, false},
		{"1234abcd-12ab-34cd-56ef-1234567890ab", arn{}, false},
		// Regions: parts of [a-z0-9] joined by single hyphens, a letter
		// first, digits last (the SDK makes the KMS host from it).
		{"arn:aws:kms:us-gov-west-1:1:key/k", arn{"aws", "us-gov-west-1", "1", "key", "k"}, true},
		{"arn:aws-iso-b:kms:us-isob-east-1:1:key/k", arn{"aws-iso-b", "us-isob-east-1", "1", "key", "k"}, true},
		{"arn:aws-eusc:kms:eusc-de-east-1:1:key/k", arn{"aws-eusc", "eusc-de-east-1", "1", "key", "k"}, true},
		{"arn:aws:kms:ap-southeast-10:1:key/k", arn{"aws", "ap-southeast-10", "1", "key", "k"}, true},
		{"arn:aws:kms:x.s3.us-east-1:1:key/k", arn{}, false},
		{"arn:aws:kms:us-east-1.:1:key/k", arn{}, false},
		{"arn:aws:kms:us-east-1.example.com:1:key/k", arn{}, false},
		{"arn:aws:kms:US-EAST-1:1:key/k", arn{}, false},
		{"arn:aws:kms:us_east_1:1:key/k", arn{}, false},
		{"arn:aws:kms:us-east-:1:key/k", arn{}, false},
		{"arn:aws:kms:-us-east-1:1:key/k", arn{}, false},
		{"arn:aws:kms:us--east-1:1:key/k", arn{}, false},
		{"arn:aws:kms:us-east-1a:1:key/k", arn{}, false},
		{"arn:aws:kms:1-east-1:1:key/k", arn{}, false},
		{"arn:aws:kms:useast1:1:key/k", arn{}, false},
		{"arn:aws:kms:us-east-1%2f:1:key/k", arn{}, false},
		{"arn:aws:kms:us-east-1 :1:key/k", arn{}, false},
		{"arn:aws:kms:" + strings.Repeat("a", 31) + "-1:1:key/k", arn{}, false},
	}
	for _, tt := range tests {
		got, err := parseARN(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseARN(%q) = %+v, %v, want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseARN checks that parseARN never panics and that what it accepts
// is exactly its parts joined back.
func FuzzParseARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:us-west-2:111122223333:alias/test-key",
		"arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-4321abcd12ab34cd56ef1234567890ab",
		"alias/test-key", "1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:::key/", "",
		"arn:aws:kms:x.s3.us-east-1:111122223333:key/k",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseARN(s)
		if err != nil {
			if a != (arn{}) {
				t.Fatalf("parseARN(%q) = %+v with error %v, want the zero arn", s, a, err)
			}
			return
		}
		joined := strings.Join([]string{"arn", a.partition, "kms", a.region, a.account, a.resourceType + "/" + a.resourceID}, ":")
		if joined != s {
			t.Fatalf("parseARN(%q) = %+v, which joins to %q", s, a, joined)
		}
		if a.partition == "" || a.region == "" || a.account == "" || a.resourceID == "" ||
			(a.resourceType != "key" && a.resourceType != "alias") {
			t.Fatalf("parseARN(%q) = %+v, accepted an empty or invalid part", s, a)
		}
		// The Region becomes part of a host name: one DNS label.
		if len(a.region) > 32 || strings.Trim(a.region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" ||
			strings.HasPrefix(a.region, "-") || strings.HasSuffix(a.region, "-") || strings.Contains(a.region, "--") {
			t.Fatalf("parseARN(%q) accepted the Region %q", s, a.region)
		}
		if _, err := checkConfiguredKey(s); (err == nil) != (a.resourceType == "key") {
			t.Fatalf("checkConfiguredKey(%q) = %v for resource type %q", s, err, a.resourceType)
		}
	})
}
