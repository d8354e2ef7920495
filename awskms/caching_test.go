package awskms_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/datamask/datamask/esdk"
)

// cachingStack is a KMS keyring under a default and a caching manager.
func cachingStack(t testing.TB, c *countingClient, arns []string, opts ...esdk.CachingOption) *esdk.CachingCMM {
	t.Helper()
	cmm, err := esdk.NewCachingCMM(mustCMM(t, mustKeyring(t, c, arns)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cmm
}

func encryptN(t testing.TB, cmm esdk.MaterialsManager, n, size int) [][]byte {
	t.Helper()
	client := mustClient(t)
	msgs := make([][]byte, n)
	for i := range msgs {
		pt := bytes.Repeat([]byte{byte(i)}, size)
		var err error
		if msgs[i], err = client.Encrypt(context.Background(), pt, cmm, esdk.WithEncryptionContext(testContext),
			esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey)); err != nil {
			t.Fatalf("Encrypt(%d) = %v", i, err)
		}
	}
	return msgs
}

// cachingCases run against every backend: each counts the KMS calls that
// the caching manager lets through.
var cachingCases = []struct {
	name string
	run  func(t *testing.T, b *backend)
}{
	{"1000-messages", func(t *testing.T, b *backend) {
		k1 := b.createKey(t)
		c := b.newClient()
		msgs := encryptN(t, cachingStack(t, c, []string{k1}), 1000, 16)
		if n := c.count("GenerateDataKey"); n != 1 {
			t.Errorf("1000 encrypts under one context made %d GenerateDataKey calls, want 1", n)
		}
		reader := cachingStack(t, c, []string{k1})
		client := mustClient(t)
		for i, msg := range msgs {
			pt, _, err := client.Decrypt(context.Background(), msg, reader, esdk.WithExpectedContext(testContext))
			if err != nil || !bytes.Equal(pt, bytes.Repeat([]byte{byte(i)}, 16)) {
				t.Fatalf("Decrypt(message %d) = %v", i, err)
			}
		}
		if n := c.count("Decrypt"); n != 1 {
			t.Errorf("1000 decrypts of those messages made %d Decrypt calls, want 1", n)
		}
		if n := len(c.take()); n != 2 {
			t.Errorf("%d KMS calls in all, want 2", n)
		}
	}},

	{"max-age", func(t *testing.T, b *backend) {
		// Real time: the KMS calls must finish within the max age for the
		// cache to be observed, so a slow machine retries with a longer one.
		for _, maxAge := range []time.Duration{2 * time.Second, 5 * time.Second, 15 * time.Second} {
			if maxAgeExpires(t, b, maxAge) {
				return
			}
			t.Logf("two encrypts and decrypts took longer than a max age of %v; retrying with a longer one", maxAge)
		}
		t.Fatal("two encrypts and decrypts never finished within the max age (15s)")
	}},

	{"max-messages", func(t *testing.T, b *backend) {
		k1 := b.createKey(t)
		c := b.newClient()
		encryptN(t, cachingStack(t, c, []string{k1}, esdk.WithCacheMaxMessages(10)), 25, 16)
		if n := c.count("GenerateDataKey"); n != 3 {
			t.Errorf("25 encrypts, 10 messages per data key: %d GenerateDataKey calls, want 3", n)
		}
	}},

	{"max-bytes", func(t *testing.T, b *backend) {
		k1 := b.createKey(t)
		c := b.newClient()
		cmm := cachingStack(t, c, []string{k1}, esdk.WithCacheMaxBytes(1000))
		encryptN(t, cmm, 25, 100)
		if n := c.count("GenerateDataKey"); n != 3 {
			t.Errorf("25 encrypts of 100 bytes, 1000 bytes per data key: %d GenerateDataKey calls, want 3", n)
		}
		encryptN(t, cmm, 2, 1001) // each alone over the limit: never cached
		if n := c.count("GenerateDataKey"); n != 5 {
			t.Errorf("2 encrypts over the byte limit: %d GenerateDataKey calls, want 5", n)
		}
	}},

	{"several-keys", func(t *testing.T, b *backend) {
		k1, k2 := b.createKey(t), b.createKey(t)
		c := b.newClient()
		msgs := encryptN(t, cachingStack(t, c, []string{k1, k2}), 50, 16)
		if g, e := c.count("GenerateDataKey"), c.count("Encrypt"); g != 1 || e != 1 {
			t.Errorf("50 encrypts under two keys: %d GenerateDataKey and %d Encrypt calls, want 1 and 1", g, e)
		}
		reader := cachingStack(t, c, []string{k2})
		for _, msg := range msgs {
			if _, _, err := mustClient(t).Decrypt(context.Background(), msg, reader); err != nil {
				t.Fatal(err)
			}
		}
		if d := c.count("Decrypt"); d != 1 {
			t.Errorf("50 decrypts with the second key: %d Decrypt calls, want 1", d)
		}
	}},

	{"100-goroutines", func(t *testing.T, b *backend) {
		const goroutines = 100
		k1 := b.createKey(t)
		c := b.newClient()
		// Every KMS call takes 200 ms more, so all goroutines miss the
		// empty cache while the first call is under way.
		c.delay = 200 * time.Millisecond
		enc := cachingStack(t, c, []string{k1})
		dec := cachingStack(t, c, []string{k1})
		client := mustClient(t)
		msgs := make([][]byte, goroutines)
		var wg sync.WaitGroup
		for i := range goroutines {
			wg.Go(func() {
				var err error
				msgs[i], err = client.Encrypt(context.Background(), []byte(fmt.Sprint(i)), enc, esdk.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
				if err != nil {
					t.Errorf("Encrypt(%d) = %v", i, err)
				}
			})
		}
		wg.Wait()
		if n := c.count("GenerateDataKey"); n != 1 {
			t.Errorf("%d concurrent encrypts: %d GenerateDataKey calls, want 1", goroutines, n)
		}
		if t.Failed() {
			return
		}
		for i := range goroutines {
			wg.Go(func() {
				pt, _, err := client.Decrypt(context.Background(), msgs[i], dec)
				if err != nil || string(pt) != fmt.Sprint(i) {
					t.Errorf("Decrypt(%d) = %q, %v", i, pt, err)
				}
			})
		}
		wg.Wait()
		if n := c.count("Decrypt"); n != 1 {
			t.Errorf("%d concurrent decrypts: %d Decrypt calls, want 1", goroutines, n)
		}
	}},
}

// TestCaching runs the caching cases against the fake KMS and moto_server.
func TestCaching(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cachingCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, b)
				})
			}
		})
	}
}

// maxAgeExpires checks that entries live for maxAge and no longer, through
// KMS. It returns false, having checked nothing, when the calls made within
// maxAge took too long to tell.
func maxAgeExpires(t *testing.T, b *backend, maxAge time.Duration) bool {
	t.Helper()
	k1 := b.createKey(t)
	c := b.newClient()
	enc := cachingStack(t, c, []string{k1}, esdk.WithCacheMaxAge(maxAge))
	dec := cachingStack(t, c, []string{k1}, esdk.WithCacheMaxAge(maxAge))
	client := mustClient(t)
	start := time.Now()
	msgs := encryptN(t, enc, 2, 16)
	for _, msg := range msgs {
		if _, _, err := client.Decrypt(context.Background(), msg, dec); err != nil {
			t.Fatal(err)
		}
	}
	if time.Since(start) >= maxAge {
		return false
	}
	if g, d := c.count("GenerateDataKey"), c.count("Decrypt"); g != 1 || d != 1 {
		t.Fatalf("within the max age: %d GenerateDataKey and %d Decrypt calls, want 1 and 1", g, d)
	}
	time.Sleep(maxAge + 100*time.Millisecond)
	more := encryptN(t, enc, 1, 16)
	if _, _, err := client.Decrypt(context.Background(), msgs[0], dec); err != nil {
		t.Fatal(err)
	}
	if g, d := c.count("GenerateDataKey"), c.count("Decrypt"); g != 2 || d != 2 {
		t.Errorf("after the max age: %d GenerateDataKey and %d Decrypt calls, want 2 and 2", g, d)
	}
	if _, _, err := client.Decrypt(context.Background(), more[0], dec); err != nil {
		t.Fatal(err)
	}
	if d := c.count("Decrypt"); d != 3 {
		t.Errorf("a message under the new data key: %d Decrypt calls, want 3", d)
	}
	return true
}
