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
		if _, err := checkConfiguredKey(s); (err == nil) != (a.resourceType == "key") {
			t.Fatalf("checkConfiguredKey(%q) = %v for resource type %q", s, err, a.resourceType)
		}
	})
}
