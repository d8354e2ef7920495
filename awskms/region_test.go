package awskms_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

// TestSDKHostFromRegion shows why a key ARN's Region must be a Region name:
// the SDK builds the KMS host from it, and a Region with dots makes another
// host under the partition's domain.
func TestSDKHostFromRegion(t *testing.T) {
	r := kms.NewDefaultEndpointResolverV2()
	for region, want := range map[string]string{
		"us-east-1":      "kms.us-east-1.amazonaws.com",
		"x.s3.us-east-1": "kms.x.s3.us-east-1.amazonaws.com",
	} {
		ep, err := r.ResolveEndpoint(context.Background(), kms.EndpointParameters{Region: aws.String(region)})
		if err != nil {
			t.Fatalf("ResolveEndpoint(%q) = %v", region, err)
		}
		if ep.URI.Host != want {
			t.Errorf("ResolveEndpoint(%q) host = %q, want %q", region, ep.URI.Host, want)
		}
	}
}

// rewriteKeyring encrypts with a strict keyring, then records its data keys
// under another "key ARN", as a hostile writer can.
type rewriteKeyring struct {
	esdk.Keyring
	info string
}

func (k rewriteKeyring) OnEncrypt(ctx context.Context, m *esdk.EncryptionMaterials) error {
	if err := k.Keyring.OnEncrypt(ctx, m); err != nil {
		return err
	}
	for i := range m.EncryptedDataKeys {
		m.EncryptedDataKeys[i].ProviderInfo = []byte(k.info)
	}
	return nil
}

// TestMessageRegionRefused decrypts messages whose encrypted data key names
// a key ARN with a malformed Region: both keyrings refuse them before any
// KMS call, whatever their options.
func TestMessageRegionRefused(t *testing.T) {
	s := kmstest.Start(t)
	key := s.CreateKey()
	c := newSDKClient(s.URL(), s.Region())
	for _, region := range []string{"x.s3.us-east-1", "us-east-1.", "us-east-1/x", "US-EAST-1", "us-east-1a", "us--east-1", "localhost"} {
		info := "arn:aws:kms:" + region + ":111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		msg := encryptWith(t, rewriteKeyring{mustKeyring(t, c, []string{key}), info}, esdk.AES256GCMHKDFSHA512CommitKey, []byte("x"))
		discovery, err := awskms.NewDiscoveryKeyring(c)
		if err != nil {
			t.Fatal(err)
		}
		filtered, err := awskms.NewDiscoveryKeyring(c, awskms.WithDiscoveryFilter("aws", "111122223333"))
		if err != nil {
			t.Fatal(err)
		}
		for _, kr := range []esdk.Keyring{discovery, filtered, mustKeyring(t, c, []string{key})} {
			s.ResetCalls()
			_, _, err := decryptWith(t, kr, msg)
			want := "names a Region that is not a Region name"
			if !errors.Is(err, esdk.ErrNoDecryptKey) || !strings.Contains(err.Error(), want) {
				t.Errorf("%v: Decrypt(Region %q) = %v, want ErrNoDecryptKey saying %q", kr, region, err, want)
			}
			if calls := s.CallCounts(); len(calls) != 0 {
				t.Errorf("%v: Decrypt(Region %q) made KMS calls %v, want none", kr, region, calls)
			}
		}
	}
}

// TestDiscoveryRegions: WithDiscoveryRegions refuses keys of other Regions
// without a KMS call, alone or with a filter.
func TestDiscoveryRegions(t *testing.T) {
	s := kmstest.Start(t) // keys in kmstest.DefaultRegion
	key := s.CreateKey()
	c := newSDKClient(s.URL(), s.Region())
	msg := encryptWith(t, mustKeyring(t, c, []string{key}), esdk.AES256GCMHKDFSHA512CommitKey, []byte("regional"))
	tests := []struct {
		name string
		opts []awskms.Option
		ok   bool
	}{
		{"its Region", []awskms.Option{awskms.WithDiscoveryRegions(s.Region())}, true},
		{"among others", []awskms.Option{awskms.WithDiscoveryRegions("eu-west-1", s.Region(), "eu-west-1")}, true},
		{"with a filter", []awskms.Option{awskms.WithDiscoveryRegions(s.Region()), awskms.WithDiscoveryFilter(s.Partition(), s.Account())}, true},
		{"another Region", []awskms.Option{awskms.WithDiscoveryRegions("eu-west-1", "ap-southeast-2")}, false},
		{"the filter refuses", []awskms.Option{awskms.WithDiscoveryRegions(s.Region()), awskms.WithDiscoveryFilter(s.Partition(), "999999999999")}, false},
	}
	for _, tt := range tests {
		dk, err := awskms.NewDiscoveryKeyring(c, tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		s.ResetCalls()
		pt, _, err := decryptWith(t, dk, msg)
		if tt.ok {
			if err != nil || string(pt) != "regional" {
				t.Errorf("%s: Decrypt = %q, %v; want the plaintext", tt.name, pt, err)
			}
			continue
		}
		if !errors.Is(err, esdk.ErrNoDecryptKey) || !strings.Contains(err.Error(), "outside the discovery") {
			t.Errorf("%s: Decrypt = %v, want ErrNoDecryptKey (outside the discovery Regions or filter)", tt.name, err)
		}
		if calls := s.CallCounts(); len(calls) != 0 {
			t.Errorf("%s: KMS calls %v, want none", tt.name, calls)
		}
	}

	dk, err := awskms.NewDiscoveryKeyring(c, awskms.WithDiscoveryRegions("us-west-2", "eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dk.String(), `awskms.DiscoveryKeyring{Filter: none, Regions: "eu-west-1 us-west-2", GrantTokens: 0}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	_, _, err = decryptWith(t, dk, msg)
	if want := "is outside the discovery Regions (eu-west-1 us-west-2): not tried"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Decrypt = %v, want an error saying %q", err, want)
	}

	for _, bad := range [][]awskms.Option{
		{awskms.WithDiscoveryRegions()},
		{awskms.WithDiscoveryRegions("us-east-1", "x.s3.us-east-1")},
		{awskms.WithDiscoveryRegions("us-east-1"), awskms.WithDiscoveryRegions("eu-west-1")},
	} {
		if _, err := awskms.NewDiscoveryKeyring(c, bad...); err == nil || !strings.HasPrefix(err.Error(), "awskms: WithDiscoveryRegions") {
			t.Errorf("NewDiscoveryKeyring(bad Regions) = %v, want a WithDiscoveryRegions error", err)
		}
	}
	if _, err := awskms.NewKeyring(c, []string{key}, awskms.WithDiscoveryRegions("us-east-1")); err == nil || !strings.Contains(err.Error(), "applies only to NewDiscoveryKeyring") {
		t.Errorf("NewKeyring(WithDiscoveryRegions) = %v, want an error", err)
	}
	if _, err := awskms.NewKeyring(c, []string{"arn:aws:kms:x.s3.us-east-1:111122223333:key/k"}); err == nil ||
		!strings.Contains(err.Error(), `names a Region that is not a Region name such as "us-east-1"`) {
		t.Errorf("NewKeyring(ARN with a dotted Region) = %v, want an error", err)
	}
}
