package awskms_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/internal/motoserver"
	"github.com/datamask/datamask/kmstest"
)

// One moto_server serves every test of this binary.
func TestMain(m *testing.M) { os.Exit(motoserver.Run(m)) }

// backend is a KMS the keyring tests run against: the fake of package
// kmstest, or moto_server.
type backend struct {
	name                       string
	url, region, account, part string
	fake                       *kmstest.Server // nil for moto_server
	admin                      *kms.Client     // creates and disables keys

	// Where moto_server differs from AWS KMS (see kmstest.Deviation).
	disabledKeysUsable       bool
	incorrectKeyAccessDenied bool
}

// backends starts both KMS backends for t. moto_server is skipped when it
// is not installed, and a failure under CI=true.
func backends(t *testing.T) []*backend {
	t.Helper()
	srv := kmstest.Start(t)
	fake := &backend{name: "fake", url: srv.URL(), region: srv.Region(), account: srv.Account(), part: srv.Partition(), fake: srv}
	fake.admin = newSDKClient(fake.url, fake.region)
	bs := []*backend{fake}
	t.Run("moto-available", func(t *testing.T) {
		url := motoserver.Start(t)
		bs = append(bs, &backend{
			name: "moto", url: url, region: "us-east-1", account: "123456789012", part: "aws",
			admin:              newSDKClient(url, "us-east-1"),
			disabledKeysUsable: true, incorrectKeyAccessDenied: true,
		})
	})
	return bs
}

// newSDKClient returns an aws-sdk-go-v2 KMS client for url with the SDK's
// standard retryer (3 attempts), a 1 ms backoff and no retry quota, so
// retries are real but fast.
func newSDKClient(url, region string) *kms.Client {
	return kms.New(kms.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(kmstest.AccessKeyID, kmstest.SecretAccessKey, ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		}),
	})
}

func (b *backend) createKey(t testing.TB) string {
	t.Helper()
	out, err := b.admin.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("awskms test")})
	if err != nil {
		t.Fatalf("%s: CreateKey() = %v", b.name, err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

func (b *backend) disableKey(t testing.TB, arn string) {
	t.Helper()
	// By key id: moto_server 5 fails (HTTP 500) on DisableKey by ARN.
	keyID := arn[strings.LastIndex(arn, "/")+1:]
	if _, err := b.admin.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatalf("%s: DisableKey(%s) = %v", b.name, arn, err)
	}
}

// newClient returns a counting client for the backend.
func (b *backend) newClient() *countingClient {
	return &countingClient{next: newSDKClient(b.url, b.region)}
}

// call is one request a countingClient saw.
type call struct {
	op, keyID, region string
	ec                map[string]string
	grantTokens       []string
	numberOfBytes     int32
}

// countingClient is an awskms.Client that records the calls it forwards,
// optionally after a delay.
type countingClient struct {
	next  awskms.Client
	delay time.Duration

	mu    sync.Mutex
	calls []call
}

var _ awskms.Client = (*countingClient)(nil)

func (c *countingClient) record(ctx context.Context, cl call, optFns []func(*kms.Options)) {
	var o kms.Options
	for _, fn := range optFns {
		fn(&o)
	}
	cl.region = o.Region
	c.mu.Lock()
	c.calls = append(c.calls, cl)
	c.mu.Unlock()
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-ctx.Done():
		}
	}
}

func (c *countingClient) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.record(ctx, call{op: "GenerateDataKey", keyID: aws.ToString(in.KeyId), ec: in.EncryptionContext,
		grantTokens: slices.Clone(in.GrantTokens), numberOfBytes: aws.ToInt32(in.NumberOfBytes)}, optFns)
	return c.next.GenerateDataKey(ctx, in, optFns...)
}

func (c *countingClient) Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	c.record(ctx, call{op: "Encrypt", keyID: aws.ToString(in.KeyId), ec: in.EncryptionContext, grantTokens: slices.Clone(in.GrantTokens)}, optFns)
	return c.next.Encrypt(ctx, in, optFns...)
}

func (c *countingClient) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.record(ctx, call{op: "Decrypt", keyID: aws.ToString(in.KeyId), ec: in.EncryptionContext, grantTokens: slices.Clone(in.GrantTokens)}, optFns)
	return c.next.Decrypt(ctx, in, optFns...)
}

// count returns the number of calls of op.
func (c *countingClient) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, cl := range c.calls {
		if cl.op == op {
			n++
		}
	}
	return n
}

// take returns the calls so far and forgets them.
func (c *countingClient) take() []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}
