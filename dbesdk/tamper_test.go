package dbesdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/dbesdk/internal/structure"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/benchdata"
)

// tamperBase is an encrypted item to tamper with, the item encryptor that
// reads it, and its plaintext (whose values no error may show).
type tamperBase struct {
	name      string
	enc       *dbesdk.ItemEncryptor
	item      map[string]types.AttributeValue
	plaintext map[string]types.AttributeValue
	other     map[string]types.AttributeValue // another item of the same configuration
	keys      []string
	// bound lists the attributes whose values are in the encryption
	// context: the keys, and in version 2 the
	// SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT ones. Keyrings bind the
	// context, so changing them may make the data key undecryptable (a key
	// error) before the item is found invalid.
	bound []string
}

func boundAttributes(cfg dbesdk.TableConfig) []string {
	bound := []string{cfg.PartitionKey}
	if cfg.SortKey != "" {
		bound = append(bound, cfg.SortKey)
	}
	for name, a := range cfg.Actions {
		if a == dbesdk.SignAndIncludeInEncryptionContext {
			bound = append(bound, name)
		}
	}
	return bound
}

func clone(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(item))
	for k, v := range item {
		out[k] = v
	}
	return out
}

// tamperBases returns items datamask wrote (both suites, versions 1 and 2)
// and items the Go DB-ESDK wrote (the shared vectors' tamper bases).
func tamperBases(t *testing.T, opts ...dbesdk.Option) []tamperBase {
	t.Helper()
	var bases []tamperBase
	for _, cfg := range []dbesdk.TableConfig{baseConfig(), v2Config()} {
		for _, suite := range []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384} {
			cfg.Suite = suite
			enc := mustNew(t, cfg, testKeyring(t), opts...)
			item, err := enc.EncryptItem(context.Background(), userItem())
			if err != nil {
				t.Fatal(err)
			}
			other, err := enc.EncryptItem(context.Background(), userItem())
			if err != nil {
				t.Fatal(err)
			}
			bases = append(bases, tamperBase{fmt.Sprintf("datamask-v%d-%04x", map[bool]int{false: 1, true: 2}[cfg.Actions["tier"] == dbesdk.SignAndIncludeInEncryptionContext], uint16(suite)),
				enc, item, userItem(), other, []string{"pk", "sk"}, boundAttributes(cfg)})
		}
	}
	b, err := os.ReadFile(filepath.Join(benchdata.SharedDir(), "ddb_vectors", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m ddbManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"dbesdk-negbase-v1-6700", "dbesdk-negbase-v1-6701", "dbesdk-negbase-v2-6700", "dbesdk-negbase-v2-6701"} {
		v, twin := m.Tests[id], m.Tests[id+"-twin"]
		keys := []string{v.PartitionKey}
		if v.SortKey != nil {
			keys = append(keys, *v.SortKey)
		}
		bases = append(bases, tamperBase{"peer-" + id, mustNew(t, v.config(t), v.Keyring.keyring(t), opts...),
			mustItem(t, v.Ciphertext), mustItem(t, v.Plaintext), mustItem(t, twin.Ciphertext), keys, boundAttributes(v.config(t))})
	}
	return bases
}

// checkRefused asserts that DecryptItem refuses item with the one opaque
// ErrInvalidItem (or, if keyErrOK, a key error), naming the table and keys
// and no other value.
func (b *tamperBase) checkRefused(t *testing.T, item map[string]types.AttributeValue, keyErrOK bool, what string) {
	t.Helper()
	out, err := b.enc.DecryptItem(context.Background(), item)
	if err == nil || out != nil {
		t.Fatalf("%s: %s: DecryptItem() = %v, want an error", b.name, what, err)
	}
	var ie *dbesdk.ItemError
	if !errors.As(err, &ie) || ie.Op != "decrypt" || len(ie.Key) != len(b.keys) {
		t.Fatalf("%s: %s: DecryptItem() = %v, want an *ItemError naming the keys", b.name, what, err)
	}
	if !errors.Is(err, dbesdk.ErrInvalidItem) && !(keyErrOK && errors.Is(err, esdk.ErrNoDecryptKey)) {
		t.Fatalf("%s: %s: DecryptItem() = %v, want ErrInvalidItem", b.name, what, err)
	}
	if errors.Is(err, dbesdk.ErrInvalidItem) && !strings.HasSuffix(err.Error(), "): invalid or tampered item") {
		t.Fatalf("%s: %s: DecryptItem() = %q, want the one opaque text", b.name, what, err)
	}
	for _, s := range secretTexts(b.plaintext, b.keys...) {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("%s: %s: error %q shows %q", b.name, what, err, s)
		}
	}
}

// keyRegion returns the byte range of a header from its encryption context
// to its commitment: a change there may make the data key undecryptable (a
// key error) rather than the item invalid.
func keyRegion(t *testing.T, head []byte) (start, end int) {
	t.Helper()
	h, n, _, err := structure.ParseHeader(head)
	if err != nil {
		t.Fatal(err)
	}
	return 2 + structure.MessageIDLen + 2 + len(h.Legend), n
}

func binaryValue(t *testing.T, item map[string]types.AttributeValue, name string) []byte {
	t.Helper()
	b, ok := item[name].(*types.AttributeValueMemberB)
	if !ok {
		t.Fatalf("%s is %T, want B", name, item[name])
	}
	return b.Value
}

// TestTamperSweep changes every byte of the header, the footer and each
// encrypted attribute, truncates and extends each, changes, removes and
// adds signed attributes, and swaps header and footer with another item's:
// every change is refused with one opaque error.
func TestTamperSweep(t *testing.T) {
	for _, cache := range []bool{false, true} {
		var opts []dbesdk.Option
		if !cache {
			opts = append(opts, dbesdk.WithoutDataKeyCache())
		}
		for _, b := range tamperBases(t, opts...) {
			t.Run(fmt.Sprintf("%s/cache=%v", b.name, cache), func(t *testing.T) {
				if _, err := b.enc.DecryptItem(context.Background(), b.item); err != nil {
					t.Fatalf("DecryptItem(untouched) = %v", err)
				}
				head := binaryValue(t, b.item, dbesdk.HeaderName)
				kStart, kEnd := keyRegion(t, head)
				var encrypted []string
				for name, av := range b.item {
					if _, ok := av.(*types.AttributeValueMemberB); ok && !strings.HasPrefix(name, "aws_dbe_") {
						if _, wasB := b.plaintext[name].(*types.AttributeValueMemberB); !wasB {
							encrypted = append(encrypted, name)
						}
					}
				}
				if len(encrypted) == 0 {
					t.Fatal("no encrypted attribute")
				}
				for _, name := range append([]string{dbesdk.HeaderName, dbesdk.FooterName}, encrypted...) {
					value := binaryValue(t, b.item, name)
					for i := range value {
						mutated := bytes.Clone(value)
						mutated[i] ^= 0x01
						item := clone(b.item)
						item[name] = &types.AttributeValueMemberB{Value: mutated}
						b.checkRefused(t, item, name == dbesdk.HeaderName && i >= kStart && i < kEnd, fmt.Sprintf("%s byte %d", name, i))
					}
					for _, v := range [][]byte{value[:len(value)-1], append(bytes.Clone(value), 0), nil} {
						item := clone(b.item)
						item[name] = &types.AttributeValueMemberB{Value: v}
						b.checkRefused(t, item, false, fmt.Sprintf("%s of %d bytes", name, len(v)))
					}
				}
				// Signed attributes changed, removed; one added.
				for name, av := range b.item {
					if strings.HasPrefix(name, "aws_dbe_") || strings.HasPrefix(name, ":") || name == "plain" || name == "also_plain" {
						continue
					}
					item := clone(b.item)
					delete(item, name)
					if slices.Contains(b.keys, name) {
						// A missing key is refused before any check, for
						// what it is.
						if _, err := b.enc.DecryptItem(context.Background(), item); err == nil || !strings.Contains(err.Error(), "the item has no") {
							t.Fatalf("%s: without key %s: DecryptItem() = %v", b.name, name, err)
						}
					} else {
						b.checkRefused(t, item, false, "without "+name)
					}
					item = clone(b.item)
					switch v := av.(type) {
					case *types.AttributeValueMemberS:
						item[name] = sAV(v.Value + "x")
					case *types.AttributeValueMemberN:
						item[name] = nAV(v.Value + "1")
					case *types.AttributeValueMemberB:
						item[name] = &types.AttributeValueMemberB{Value: append(bytes.Clone(v.Value), 1)}
					default:
						item[name] = &types.AttributeValueMemberNULL{Value: true}
					}
					b.checkRefused(t, item, slices.Contains(b.bound, name), "changed "+name)
				}
				item := clone(b.item)
				item["added"] = sAV("x")
				b.checkRefused(t, item, false, "with an added signed attribute")
				// Header and footer of another item of the same
				// configuration (its encrypted data keys may be bound to
				// other key values).
				for _, name := range []string{dbesdk.HeaderName, dbesdk.FooterName} {
					item := clone(b.item)
					item[name] = b.other[name]
					b.checkRefused(t, item, name == dbesdk.HeaderName, "with the other item's "+name)
				}
				item = clone(b.item)
				item[dbesdk.HeaderName], item[dbesdk.FooterName] = b.item[dbesdk.FooterName], b.item[dbesdk.HeaderName]
				b.checkRefused(t, item, false, "with header and footer swapped")
			})
		}
	}
}
