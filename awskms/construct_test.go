package awskms_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/datamask/datamask/awskms"
)

const (
	arnA = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	arnB = "arn:aws-cn:kms:cn-north-1:444455556666:key/mrk-4321abcd12ab34cd56ef1234567890ab"
)

// TestNewKeyringRejects checks that every identifier other than a key ARN
// is refused with a message that says what a key ARN is and why it is
// needed, and the other construction errors.
func TestNewKeyringRejects(t *testing.T) {
	client := newSDKClient("http://127.0.0.1:1", "us-east-1")
	why := "needs the full key ARN, such as \"arn:aws:kms:"
	tests := []struct {
		name   string
		client awskms.Client
		keys   []string
		opts   []awskms.Option
		want   []string
	}{
		{"alias", client, []string{"alias/my-key"}, nil, []string{`"alias/my-key" is a key alias, not a key ARN`, why, "describe-key --key-id alias/my-key"}},
		{"alias-arn", client, []string{"arn:aws:kms:us-east-1:111122223333:alias/my-key"}, nil, []string{"is an alias ARN, not a key ARN", why}},
		{"key-id", client, []string{"1234abcd-12ab-34cd-56ef-1234567890ab"}, nil, []string{"is a key id, not a key ARN", why}},
		{"mrk-key-id", client, []string{"mrk-4321abcd12ab34cd56ef1234567890ab"}, nil, []string{"is a key id, not a key ARN"}},
		{"second-key", client, []string{arnA, "alias/x"}, nil, []string{"key 2: \"alias/x\" is a key alias"}},
		{"empty", client, []string{""}, nil, []string{"a key ARN is empty", why}},
		{"other-service", client, []string{"arn:aws:s3:us-east-1:111122223333:key/x"}, nil, []string{"is not a KMS key ARN", why}},
		{"no-region", client, []string{"arn:aws:kms::111122223333:key/x"}, nil, []string{"is not a KMS key ARN"}},
		{"no-account", client, []string{"arn:aws:kms:us-east-1::key/x"}, nil, []string{"is not a KMS key ARN"}},
		{"no-resource-id", client, []string{"arn:aws:kms:us-east-1:111122223333:key/"}, nil, []string{"is not a KMS key ARN"}},
		{"extra-colon", client, []string{"arn:aws:kms:us-east-1:111122223333:key/x:y"}, nil, []string{"is not a KMS key ARN"}},
		{"duplicate", client, []string{arnA, arnA}, nil, []string{"given twice"}},
		{"no-keys", client, nil, nil, []string{"no key ARN given"}},
		{"nil-client", nil, []string{arnA}, nil, []string{"client is nil"}},
		{"nil-option", client, []string{arnA}, []awskms.Option{nil}, []string{"nil Option"}},
		{"filter", client, []string{arnA}, []awskms.Option{awskms.WithDiscoveryFilter("aws", "111122223333")}, []string{"applies only to NewDiscoveryKeyring"}},
		{"no-tokens", client, []string{arnA}, []awskms.Option{awskms.WithGrantTokens()}, []string{"0 tokens given"}},
		{"11-tokens", client, []string{arnA}, []awskms.Option{awskms.WithGrantTokens(strings.Split("a b c d e f g h i j k", " ")...)}, []string{"11 tokens given; KMS takes 1 to 10"}},
		{"empty-token", client, []string{arnA}, []awskms.Option{awskms.WithGrantTokens("a", "")}, []string{"token 2 is empty"}},
		{"tokens-twice", client, []string{arnA}, []awskms.Option{awskms.WithGrantTokens("a"), awskms.WithGrantTokens("b")}, []string{"WithGrantTokens given twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := awskms.NewKeyring(tt.client, tt.keys, tt.opts...)
			if err == nil {
				t.Fatalf("NewKeyring(%q) = %v, want an error", tt.keys, k)
			}
			if !strings.HasPrefix(err.Error(), "awskms: ") {
				t.Errorf("NewKeyring(%q) error %q lacks the package prefix", tt.keys, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("NewKeyring(%q) = %q, want it to contain %q", tt.keys, err, w)
				}
			}
		})
	}
	for _, keys := range [][]string{{arnA}, {arnA, arnB}, {"arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k"}} {
		k, err := awskms.NewKeyring(client, keys, awskms.WithGrantTokens("t"))
		if err != nil {
			t.Errorf("NewKeyring(%q) = %v, want a keyring", keys, err)
			continue
		}
		if got := k.KeyARNs(); fmt.Sprint(got) != fmt.Sprint(keys) {
			t.Errorf("KeyARNs() = %q, want %q", got, keys)
		}
	}
}

func TestNewDiscoveryKeyringRejects(t *testing.T) {
	client := newSDKClient("http://127.0.0.1:1", "us-east-1")
	tests := []struct {
		name   string
		client awskms.Client
		opts   []awskms.Option
		want   string
	}{
		{"nil-client", nil, nil, "client is nil"},
		{"no-accounts", client, []awskms.Option{awskms.WithDiscoveryFilter("aws")}, "at least one account"},
		{"short-account", client, []awskms.Option{awskms.WithDiscoveryFilter("aws", "12345")}, `"12345" is not a 12-digit AWS account ID`},
		{"letters", client, []awskms.Option{awskms.WithDiscoveryFilter("aws", "12345678901a")}, "not a 12-digit"},
		{"empty-partition", client, []awskms.Option{awskms.WithDiscoveryFilter("", "111122223333")}, "is not a partition"},
		{"arn-as-partition", client, []awskms.Option{awskms.WithDiscoveryFilter("arn:aws", "111122223333")}, "is not a partition"},
		{"twice", client, []awskms.Option{awskms.WithDiscoveryFilter("aws", "111122223333"), awskms.WithDiscoveryFilter("aws", "111122223333")}, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := awskms.NewDiscoveryKeyring(tt.client, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "awskms: ") {
				t.Errorf("NewDiscoveryKeyring() = %v, %v, want an error containing %q", k, err, tt.want)
			}
		})
	}
}

// TestGrantTokensNeverPrinted formats the keyrings every way and checks
// that no grant token shows, while the public facts do.
func TestGrantTokensNeverPrinted(t *testing.T) {
	client := newSDKClient("http://127.0.0.1:1", "us-east-1")
	token := "secret-grant-token-xyz"
	k, err := awskms.NewKeyring(client, []string{arnA, arnB}, awskms.WithGrantTokens(token))
	if err != nil {
		t.Fatal(err)
	}
	d, err := awskms.NewDiscoveryKeyring(client, awskms.WithGrantTokens(token), awskms.WithDiscoveryFilter("aws", "111122223333"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		v    any
		want string
	}{
		{k, `awskms.Keyring{Keys: ["` + arnA + `" "` + arnB + `"], GrantTokens: 1}`},
		{d, `awskms.DiscoveryKeyring{Filter: "partition aws, accounts 111122223333", GrantTokens: 1}`},
	} {
		if got := fmt.Sprint(tt.v); got != tt.want {
			t.Errorf("Sprint(%T) = %q, want %q", tt.v, got, tt.want)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			for _, v := range []any{tt.v, struct{ K any }{tt.v}, []any{tt.v}} {
				if out := fmt.Sprintf(verb, v); strings.Contains(out, token) || strings.Contains(out, fmt.Sprintf("%x", token)) {
					t.Errorf("Sprintf(%q, %T) = %q reveals the grant token", verb, v, out)
				}
			}
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("keyring", "k", tt.v)
		if strings.Contains(buf.String(), token) || !strings.Contains(buf.String(), `"grant_tokens":1`) {
			t.Errorf("slog output %s reveals the grant token or lacks the count", buf.String())
		}
	}
}
