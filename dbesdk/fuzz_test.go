package dbesdk_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
)

func heapAllocBytes() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// FuzzDecryptItem decrypts an item whose header, footer and one encrypted
// attribute the fuzzer chooses: no input panics or allocates more than a
// constant multiple of its size, and every failure is an *ItemError of a
// documented cause.
func FuzzDecryptItem(f *testing.F) {
	cfg := baseConfig()
	for _, suite := range []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384} {
		cfg.Suite = suite
		item, err := mustNew(f, cfg, testKeyring(f)).EncryptItem(context.Background(), userItem())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(item["aws_dbe_head"].(*types.AttributeValueMemberB).Value, item["aws_dbe_foot"].(*types.AttributeValueMemberB).Value,
			item["email"].(*types.AttributeValueMemberB).Value)
	}
	enc := mustNew(f, baseConfig(), testKeyring(f), dbesdk.WithoutDataKeyCache())
	f.Fuzz(func(t *testing.T, head, foot, email []byte) {
		item := userItem()
		item["aws_dbe_head"] = &types.AttributeValueMemberB{Value: head}
		item["aws_dbe_foot"] = &types.AttributeValueMemberB{Value: foot}
		item["email"] = &types.AttributeValueMemberB{Value: email}
		delete(item, "name")
		before := heapAllocBytes()
		out, err := enc.DecryptItem(context.Background(), item)
		n := uint64(len(head) + len(foot) + len(email))
		if used := heapAllocBytes() - before; used > 16*n+256<<10 {
			t.Fatalf("DecryptItem(%d input bytes) allocated %d bytes", n, used)
		}
		if err == nil {
			// Only a real item verifies; the fuzzer cannot forge one.
			t.Fatalf("DecryptItem(fuzzed) = %v, want an error", out)
		}
		var ie *dbesdk.ItemError
		if !errors.As(err, &ie) || out != nil {
			t.Fatalf("DecryptItem() = %v, %v, want an *ItemError", out, err)
		}
		if !errors.Is(err, dbesdk.ErrInvalidItem) && !errors.Is(err, esdk.ErrNoDecryptKey) &&
			!strings.Contains(err.Error(), "encrypted data keys; the item encryptor allows at most") {
			t.Fatalf("DecryptItem() = %v, want a documented cause", err)
		}
	})
}
