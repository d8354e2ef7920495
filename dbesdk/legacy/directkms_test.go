package legacy_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/kmstest"
)

func kmsEncryptor(t testing.TB, srv *kmstest.Server, key string, opts ...legacy.DirectKMSOption) *legacy.Encryptor {
	t.Helper()
	p, err := legacy.NewDirectKMSProvider(newKMSClient(srv), key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := legacy.New(legacy.Config{Table: "Orders", PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign,
		Actions: map[string]legacy.Action{"status": legacy.SignOnly}}, p)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func orderItem(i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":     &types.AttributeValueMemberS{Value: fmt.Sprintf("customer#%d", i%10)},
		"sk":     &types.AttributeValueMemberN{Value: fmt.Sprint(i)},
		"card":   &types.AttributeValueMemberS{Value: "4111111111111111"},
		"status": &types.AttributeValueMemberS{Value: "paid"},
	}
}

// Writing costs one GenerateDataKey per item with DDBEC's encryption
// context; reading with another encryptor costs one Decrypt per distinct
// data key, nothing when read again, and one call for concurrent readers
// of the same item.
func TestDirectKMSCalls(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	key := srv.CreateKey()
	writer := kmsEncryptor(t, srv, key)
	ctx := context.Background()
	const n = 50
	var items []map[string]types.AttributeValue
	for i := range n {
		ct, err := writer.EncryptItem(ctx, orderItem(i))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, ct)
	}
	if got := srv.Calls(kmstest.OpGenerateDataKey); got != n {
		t.Errorf("%d items written: %d GenerateDataKey calls, want %d", n, got, n)
	}
	for _, r := range srv.Requests() {
		want := map[string]string{"*aws-kms-table*": "Orders", "pk": "customer#3", "sk": "3",
			"*amzn-ddb-env-alg*": "AES/256", "*amzn-ddb-sig-alg*": "HmacSHA256/256"}
		if r.EncryptionContext["sk"] == "3" && !maps.Equal(r.EncryptionContext, want) {
			t.Errorf("GenerateDataKey encryption context = %v, want %v", r.EncryptionContext, want)
		}
	}
	// The writer cached its keys: reading back costs nothing.
	for _, ct := range items[:5] {
		if _, err := writer.DecryptItem(ctx, ct); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Calls(kmstest.OpDecrypt); got != 0 {
		t.Errorf("reading back written items: %d Decrypt calls, want 0", got)
	}

	reader := kmsEncryptor(t, srv, key)
	for round := range 3 {
		for i, ct := range items {
			got, err := reader.DecryptItem(ctx, ct)
			if err != nil {
				t.Fatal(err)
			}
			if itemJSON(got) != itemJSON(orderItem(i)) {
				t.Fatalf("item %d decrypts to %s", i, itemJSON(got))
			}
		}
		if got := srv.Calls(kmstest.OpDecrypt); got != n {
			t.Errorf("read %d items %d times: %d Decrypt calls, want %d", n, round+1, got, n)
		}
	}

	// 32 readers of one item at once: one call.
	concurrent := kmsEncryptor(t, srv, key)
	srv.ResetCalls()
	srv.SetLatency(20 * time.Millisecond)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, err := concurrent.DecryptItem(ctx, items[0]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	srv.SetLatency(0)
	if got := srv.Calls(kmstest.OpDecrypt); got != 1 {
		t.Errorf("32 concurrent reads of one item: %d Decrypt calls, want 1", got)
	}

	// Without the cache, every read calls KMS, as DDBEC does.
	uncached := kmsEncryptor(t, srv, key, legacy.WithoutDataKeyCache())
	srv.ResetCalls()
	for range 3 {
		if _, err := uncached.DecryptItem(ctx, items[0]); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Calls(kmstest.OpDecrypt); got != 3 {
		t.Errorf("3 uncached reads: %d Decrypt calls, want 3", got)
	}

	// A cache of 10 keys read round-robin over 11 items misses every time.
	small := kmsEncryptor(t, srv, key, legacy.WithDataKeyCache(10, time.Hour))
	srv.ResetCalls()
	for range 2 {
		for _, ct := range items[:11] {
			if _, err := small.DecryptItem(ctx, ct); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := srv.Calls(kmstest.OpDecrypt); got != 22 {
		t.Errorf("cache of 10, 11 items read twice in turn: %d Decrypt calls, want 22", got)
	}
}

// KMS failures are ErrKMS with the AWS error reachable; a refused
// ciphertext (the item moved or its data key changed) is ErrDecrypt; a
// cancelled context is returned as it is.
func TestDirectKMSErrors(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	key, otherKey := srv.CreateKey(), srv.CreateKey()
	enc := kmsEncryptor(t, srv, key, legacy.WithoutDataKeyCache())
	ctx := context.Background()
	ct, err := enc.EncryptItem(ctx, orderItem(1))
	if err != nil {
		t.Fatal(err)
	}

	// Another key configured: KMS says the key is not the blob's.
	_, err = kmsEncryptor(t, srv, otherKey).DecryptItem(ctx, ct)
	var incorrect *kmstypes.IncorrectKeyException
	if !errors.Is(err, legacy.ErrKMS) || !errors.As(err, &incorrect) {
		t.Errorf("another key: DecryptItem() = %v, want ErrKMS with IncorrectKeyException", err)
	}

	// The item moved to another key value: the encryption context differs.
	moved := with(ct, "sk", &types.AttributeValueMemberN{Value: "2"})
	if _, err := enc.DecryptItem(ctx, moved); !errors.Is(err, legacy.ErrDecrypt) || errors.Is(err, legacy.ErrKMS) {
		t.Errorf("moved item: DecryptItem() = %v, want ErrDecrypt only", err)
	}

	if err := srv.DisableKey(key); err != nil {
		t.Fatal(err)
	}
	_, err = enc.EncryptItem(ctx, orderItem(2))
	var disabled *kmstypes.DisabledException
	var apiErr smithy.APIError
	if !errors.Is(err, legacy.ErrKMS) || !errors.As(err, &disabled) || !errors.As(err, &apiErr) || apiErr.ErrorCode() != "DisabledException" {
		t.Errorf("disabled key: EncryptItem() = %v, want ErrKMS with DisabledException", err)
	}
	if _, err := enc.DecryptItem(ctx, ct); !errors.Is(err, legacy.ErrKMS) || !errors.As(err, &disabled) {
		t.Errorf("disabled key: DecryptItem() = %v, want ErrKMS with DisabledException", err)
	}
	var ie *legacy.ItemError
	if !errors.As(err, &ie) || ie.Op != "encrypt" || ie.Key["sk"] != "2" {
		t.Errorf("EncryptItem error = %#v, want an ItemError naming the item", err)
	}
	if err := srv.EnableKey(key); err != nil {
		t.Fatal(err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := enc.DecryptItem(cancelled, ct); !errors.Is(err, context.Canceled) || errors.Is(err, legacy.ErrDecrypt) {
		t.Errorf("cancelled: DecryptItem() = %v, want context.Canceled", err)
	}
	srv.SetLatency(time.Second)
	short, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := enc.EncryptItem(short, orderItem(3)); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, legacy.ErrKMS) {
		t.Errorf("deadline during GenerateDataKey: EncryptItem() = %v, want context.DeadlineExceeded", err)
	}
	srv.SetLatency(0)
}

// A KMS answer for another key or with a short data key is refused.
func TestDirectKMSBadAnswers(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	key := srv.CreateKey()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(*kms.GenerateDataKeyOutput)
		want string
	}{
		{"other key", func(o *kms.GenerateDataKeyOutput) { o.KeyId = aws.String(key + "0") }, "another key"},
		{"short data key", func(o *kms.GenerateDataKeyOutput) { o.Plaintext = o.Plaintext[:16] }, "16-byte data key"},
	} {
		client := &editingClient{KMSClient: newKMSClient(srv), edit: tc.edit}
		p, err := legacy.NewDirectKMSProvider(client, key)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := legacy.New(legacy.Config{Table: "T", PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign}, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := enc.EncryptItem(ctx, orderItem(1)); !errors.Is(err, legacy.ErrKMS) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: EncryptItem() = %v, want ErrKMS containing %q", tc.name, err, tc.want)
		}
	}
}

type editingClient struct {
	legacy.KMSClient
	edit func(*kms.GenerateDataKeyOutput)
}

func (c *editingClient) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	out, err := c.KMSClient.GenerateDataKey(ctx, in, optFns...)
	if err == nil {
		c.edit(out)
	}
	return out, err
}

func TestNewDirectKMSProviderRefuses(t *testing.T) {
	t.Parallel()
	srv := kmstest.Start(t)
	client := newKMSClient(srv)
	key := srv.CreateKey()
	for _, tc := range []struct {
		name   string
		client legacy.KMSClient
		key    string
		opts   []legacy.DirectKMSOption
		want   string
	}{
		{"nil client", nil, key, nil, "nil KMS client"},
		{"key id", client, "1234abcd-12ab-34cd-56ef-1234567890ab", nil, "not a KMS key ARN"},
		{"alias", client, "arn:aws:kms:us-east-1:111122223333:alias/vault", nil, "aliases are refused"},
		{"other service", client, "arn:aws:s3:us-east-1:111122223333:key/x", nil, "not of service kms"},
		{"cache and no cache", client, key, []legacy.DirectKMSOption{legacy.WithDataKeyCache(1, time.Second), legacy.WithoutDataKeyCache()}, "conflict"},
		{"empty cache", client, key, []legacy.DirectKMSOption{legacy.WithDataKeyCache(0, time.Second)}, "at least 1"},
		{"no grant tokens", client, key, []legacy.DirectKMSOption{legacy.WithGrantTokens()}, "one or more"},
		{"option twice", client, key, []legacy.DirectKMSOption{legacy.WithGrantTokens("a"), legacy.WithGrantTokens("b")}, "twice"},
		{"nil option", client, key, []legacy.DirectKMSOption{nil}, "nil option"},
	} {
		if p, err := legacy.NewDirectKMSProvider(tc.client, tc.key, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewDirectKMSProvider() = %v, %v; want an error containing %q", tc.name, p, err, tc.want)
		}
	}
	p, err := legacy.NewDirectKMSProvider(client, key, legacy.WithGrantTokens("grant-1"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := legacy.New(legacy.Config{Table: "T", PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign}, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.EncryptItem(context.Background(), orderItem(1)); err != nil {
		t.Fatal(err)
	}
	if r := srv.Requests(); len(r) != 1 || len(r[0].GrantTokens) != 1 || r[0].GrantTokens[0] != "grant-1" {
		t.Errorf("requests = %+v, want one GenerateDataKey with grant-1", r)
	}
	// A key attribute named as an encryption context entry is refused.
	if _, err := legacy.New(legacy.Config{Table: "T", PartitionKey: "*aws-kms-table*", DefaultAction: legacy.EncryptAndSign}, p); err == nil {
		t.Error("New() with partition key *aws-kms-table* succeeded")
	}
}
