package dbesdk_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/ddbjson"
)

func sAV(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func nAV(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

func mustNew(t testing.TB, cfg dbesdk.TableConfig, kr esdk.Keyring, opts ...dbesdk.Option) *dbesdk.ItemEncryptor {
	t.Helper()
	e, err := dbesdk.New(cfg, kr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func userItem() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":    sAV("user#1"),
		"sk":    nAV("7"),
		"email": sAV("ana@example.com"),
		"name":  &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"first": sAV("Ana"), "n": nAV("2.50")}},
		"tier":  nAV("3.0"),
		":note": sAV("free text"),
	}
}

func v2Config() dbesdk.TableConfig {
	cfg := baseConfig()
	cfg.Actions["pk"], cfg.Actions["sk"] = dbesdk.SignAndIncludeInEncryptionContext, dbesdk.SignAndIncludeInEncryptionContext
	cfg.Actions["tier"] = dbesdk.SignAndIncludeInEncryptionContext
	return cfg
}

func TestEncryptDecryptItem(t *testing.T) {
	for _, cfg := range []dbesdk.TableConfig{baseConfig(), v2Config()} {
		for _, suite := range []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384} {
			cfg.Suite = suite
			enc := mustNew(t, cfg, testKeyring(t))
			item := userItem()
			before := itemJSON(t, item)
			out, err := enc.EncryptItem(context.Background(), item)
			if err != nil {
				t.Fatalf("EncryptItem() = %v", err)
			}
			if itemJSON(t, item) != before {
				t.Errorf("EncryptItem() modified its input")
			}
			for _, name := range []string{"email", "name", "aws_dbe_head", "aws_dbe_foot"} {
				if _, ok := out[name].(*types.AttributeValueMemberB); !ok {
					t.Errorf("encrypted item: %s is %T, want B", name, out[name])
				}
			}
			for _, name := range []string{"pk", "sk", "tier", ":note"} {
				if itemJSON(t, map[string]types.AttributeValue{name: out[name]}) != itemJSON(t, map[string]types.AttributeValue{name: item[name]}) {
					t.Errorf("encrypted item: %s changed", name)
				}
			}
			head := out["aws_dbe_head"].(*types.AttributeValueMemberB).Value
			wantVersion := byte(1)
			if cfg.Actions["tier"] == dbesdk.SignAndIncludeInEncryptionContext {
				wantVersion = 2
			}
			if head[0] != wantVersion || head[1] != byte(suite) {
				t.Errorf("header version %d flavor %d, want %d and %d", head[0], head[1], wantVersion, byte(suite))
			}
			foot := out["aws_dbe_foot"].(*types.AttributeValueMemberB).Value
			if want := 48 + map[bool]int{true: 103}[suite.Signing()]; len(foot) != want {
				t.Errorf("footer is %d bytes, want %d", len(foot), want)
			}
			got, err := enc.DecryptItem(context.Background(), out)
			if err != nil {
				t.Fatalf("DecryptItem() = %v", err)
			}
			want := userItem()
			want["name"].(*types.AttributeValueMemberM).Value["n"] = nAV("2.5") // encrypted: normalized
			if g, w := itemJSON(t, got), itemJSON(t, want); g != w {
				t.Errorf("DecryptItem() = %s, want %s", g, w)
			}
		}
	}
}

func errorFor(t *testing.T, err error, op string) *dbesdk.ItemError {
	t.Helper()
	var ie *dbesdk.ItemError
	if !errors.As(err, &ie) || ie.Op != op || !strings.HasPrefix(ie.Table, "users") {
		t.Fatalf("error %v is not an *ItemError of %s on table users", err, op)
	}
	return ie
}

func TestEncryptItemErrors(t *testing.T) {
	enc := mustNew(t, baseConfig(), testKeyring(t))
	v2 := mustNew(t, v2Config(), testKeyring(t))
	with := func(change func(map[string]types.AttributeValue)) map[string]types.AttributeValue {
		item := userItem()
		change(item)
		return item
	}
	tests := []struct {
		name string
		enc  *dbesdk.ItemEncryptor
		item map[string]types.AttributeValue
		want string
	}{
		{"no partition key", enc, with(func(i map[string]types.AttributeValue) { delete(i, "pk") }), `the item has no partition key "pk"`},
		{"no keys", enc, with(func(i map[string]types.AttributeValue) { delete(i, "pk"); delete(i, "sk") }), `no partition key "pk" and no sort key "sk"`},
		{"no context attribute", v2, with(func(i map[string]types.AttributeValue) { delete(i, "tier") }), `attribute "tier" is configured as SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT but the item does not have it`},
		{"attribute without action", enc, with(func(i map[string]types.AttributeValue) { i["phone"] = sAV("555-0100") }), `attribute "phone" has no action`},
		{"reserved attribute", enc, with(func(i map[string]types.AttributeValue) { i["aws_dbe_head"] = sAV("x") }), `names starting with "aws_dbe_" are reserved`},
		{"invalid number", enc, with(func(i map[string]types.AttributeValue) { i["email"] = nAV("12,345.67") }), `attribute "email": not a number`},
		{"too precise number", enc, with(func(i map[string]types.AttributeValue) { i["tier"] = nAV("1.0000000000000000000000000000000000000001") }), "more than 38 significant digits"},
		{"duplicate set member", enc, with(func(i map[string]types.AttributeValue) {
			i["email"] = &types.AttributeValueMemberSS{Value: []string{"secret-member", "secret-member"}}
		}), "duplicate members"},
		{"nil value", enc, with(func(i map[string]types.AttributeValue) { i["email"] = nil }), "nil attribute value"},
	}
	for _, tt := range tests {
		out, err := tt.enc.EncryptItem(context.Background(), tt.item)
		if out != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: EncryptItem() = %v, want an error saying %q", tt.name, err, tt.want)
			continue
		}
		errorFor(t, err, "encrypt")
		for _, secret := range []string{"ana@example.com", "12,345.67", "secret-member", "555-0100", "1.00000000000"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q shows a value", tt.name, err)
			}
		}
	}
}

func TestDecryptItemErrors(t *testing.T) {
	kr := testKeyring(t)
	enc := mustNew(t, baseConfig(), kr, dbesdk.WithoutDataKeyCache())
	good, err := enc.EncryptItem(context.Background(), userItem())
	if err != nil {
		t.Fatal(err)
	}
	with := func(change func(map[string]types.AttributeValue)) map[string]types.AttributeValue {
		item := map[string]types.AttributeValue{}
		for k, v := range good {
			item[k] = v
		}
		change(item)
		return item
	}
	other, _ := esdk.NewRawAESKeyring("datamask-test", "dbesdk", bytes.Repeat([]byte{0x43}, 32))
	otherName, _ := esdk.NewRawAESKeyring("datamask-test", "other", bytes.Repeat([]byte{0x42}, 32))
	otherTable := baseConfig()
	otherTable.LogicalTableName = "users-restored"
	tests := []struct {
		name string
		enc  *dbesdk.ItemEncryptor
		item map[string]types.AttributeValue
		want error
	}{
		{"plaintext item", enc, userItem(), dbesdk.ErrPlaintextItem},
		{"no footer", enc, with(func(i map[string]types.AttributeValue) { delete(i, "aws_dbe_foot") }), dbesdk.ErrInvalidItem},
		{"no header", enc, with(func(i map[string]types.AttributeValue) { delete(i, "aws_dbe_head") }), dbesdk.ErrInvalidItem},
		{"header not binary", enc, with(func(i map[string]types.AttributeValue) { i["aws_dbe_head"] = sAV("x") }), dbesdk.ErrInvalidItem},
		{"empty header", enc, with(func(i map[string]types.AttributeValue) { i["aws_dbe_head"] = &types.AttributeValueMemberB{} }), dbesdk.ErrInvalidItem},
		{"legacy item", enc, with(func(i map[string]types.AttributeValue) {
			i[dbesdk.LegacyMaterialDescriptionName] = &types.AttributeValueMemberM{}
			i[dbesdk.LegacySignatureName] = &types.AttributeValueMemberB{}
		}), dbesdk.ErrLegacyItem},
		{"wrong wrapping key", mustNew(t, baseConfig(), other), good, esdk.ErrNoDecryptKey},
		{"wrong key name", mustNew(t, baseConfig(), otherName), good, esdk.ErrNoDecryptKey},
		// The table name is in the encryption context, which the raw AES
		// keyring binds.
		{"other logical table", mustNew(t, otherTable, kr), good, esdk.ErrNoDecryptKey},
		{"encrypted attribute as a string", enc, with(func(i map[string]types.AttributeValue) { i["email"] = sAV("x") }), dbesdk.ErrInvalidItem},
		{"number key rewritten", enc, with(func(i map[string]types.AttributeValue) { i["sk"] = nAV("7.0") }), nil},
	}
	for _, tt := range tests {
		out, err := tt.enc.DecryptItem(context.Background(), tt.item)
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: DecryptItem() = %v, want success", tt.name, err)
			}
			continue
		}
		if out != nil || !errors.Is(err, tt.want) {
			t.Errorf("%s: DecryptItem() = %v, want %v", tt.name, err, tt.want)
			continue
		}
		errorFor(t, err, "decrypt")
	}
	// Too many encrypted data keys: refused before any keyring is called.
	aes2, _ := esdk.NewRawAESKeyring("datamask-test", "second", bytes.Repeat([]byte{0x44}, 32))
	multi, _ := esdk.NewMultiKeyring(kr, aes2)
	two, err := mustNew(t, baseConfig(), multi).EncryptItem(context.Background(), userItem())
	if err != nil {
		t.Fatal(err)
	}
	counting := &countKeyring{Keyring: kr}
	_, err = mustNew(t, baseConfig(), counting, dbesdk.WithMaxEncryptedDataKeys(1)).DecryptItem(context.Background(), two)
	if err == nil || !strings.Contains(err.Error(), "2 encrypted data keys") || counting.calls != 0 {
		t.Errorf("DecryptItem(2 keys, limit 1) = %v after %d keyring calls, want a refusal before any", err, counting.calls)
	}
	if _, err := mustNew(t, baseConfig(), aes2).DecryptItem(context.Background(), two); err != nil {
		t.Errorf("DecryptItem(second keyring of two) = %v", err)
	}
	if _, err := mustNew(t, baseConfig(), multi, dbesdk.WithMaxEncryptedDataKeys(1)).EncryptItem(context.Background(), userItem()); err == nil {
		t.Errorf("EncryptItem(2 keys, limit 1) = nil error")
	}
}

type countKeyring struct {
	esdk.Keyring
	mu    sync.Mutex
	calls int
}

func (k *countKeyring) OnEncrypt(ctx context.Context, m *esdk.EncryptionMaterials) error {
	k.mu.Lock()
	k.calls++
	k.mu.Unlock()
	return k.Keyring.OnEncrypt(ctx, m)
}

func (k *countKeyring) OnDecrypt(ctx context.Context, m *esdk.DecryptionMaterials, edks []esdk.EncryptedDataKey) error {
	k.mu.Lock()
	k.calls++
	k.mu.Unlock()
	return k.Keyring.OnDecrypt(ctx, m, edks)
}

func TestItemErrorNamesKeys(t *testing.T) {
	cfg := baseConfig()
	enc := mustNew(t, cfg, testKeyring(t))
	long := strings.Repeat("é", 100)
	tests := []struct {
		item map[string]types.AttributeValue
		want string
	}{
		{map[string]types.AttributeValue{"pk": sAV("user#1"), "sk": nAV("7")}, `dbesdk: cannot decrypt item (table "users", "pk"=S:"user#1", "sk"=N:"7"): the item is not encrypted`},
		{map[string]types.AttributeValue{"pk": &types.AttributeValueMemberB{Value: []byte{1, 2}}, "sk": nAV("7")}, `"pk"=B:AQI=`},
		{map[string]types.AttributeValue{"pk": sAV(long), "sk": nAV("7")}, `"pk"=S:"` + strings.Repeat("é", 32) + `..."`},
		{map[string]types.AttributeValue{"pk": &types.AttributeValueMemberB{Value: make([]byte, 100)}, "sk": nAV("7")}, `..., "sk"`},
		{map[string]types.AttributeValue{"pk": &types.AttributeValueMemberBOOL{Value: true}, "sk": nAV("7")}, `"pk"=?:(not a key type)`},
		{map[string]types.AttributeValue{"sk": nAV("7")}, `(table "users", pk missing, "sk"=N:"7"): the item has no partition key "pk"`},
	}
	for _, tt := range tests {
		_, err := enc.DecryptItem(context.Background(), tt.item)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DecryptItem() = %v, want it to contain %s", err, tt.want)
		}
	}
}

// sealLegacy is a small but real implementation of a legacy-style item
// format for the dispatch tests: every attribute but the keys is sealed
// with AES-GCM, and an HMAC-SHA256 over the item's DynamoDB JSON signs it,
// under the attributes *amzn-ddb-map-desc* and *amzn-ddb-map-sig*.
type sealLegacy struct {
	aead    cipher.AEAD
	macKey  []byte
	encrypt int // EncryptItem calls
	decrypt int // DecryptItem calls
	mu      sync.Mutex
}

func newSealLegacy(t testing.TB) *sealLegacy {
	block, err := aes.NewCipher(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := cipher.NewGCM(block)
	return &sealLegacy{aead: aead, macKey: bytes.Repeat([]byte{8}, 32)}
}

func (l *sealLegacy) sign(item map[string]types.AttributeValue) ([]byte, error) {
	rest := map[string]types.AttributeValue{}
	for k, v := range item {
		if k != dbesdk.LegacySignatureName {
			rest[k] = v
		}
	}
	b, err := ddbjson.Marshal(rest)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, l.macKey)
	m.Write(b)
	return m.Sum(nil), nil
}

func (l *sealLegacy) EncryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	l.mu.Lock()
	l.encrypt++
	l.mu.Unlock()
	out := map[string]types.AttributeValue{dbesdk.LegacyMaterialDescriptionName: &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"amzn-ddb-env-alg": sAV("AES/GCM")}}}
	for k, v := range item {
		if k == "pk" || k == "sk" {
			out[k] = v
			continue
		}
		pt, err := ddbjson.Marshal(map[string]types.AttributeValue{"v": v})
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, 12)
		rand.Read(nonce)
		out[k] = &types.AttributeValueMemberB{Value: l.aead.Seal(nonce, nonce, pt, []byte(k))}
	}
	sig, err := l.sign(out)
	if err != nil {
		return nil, err
	}
	out[dbesdk.LegacySignatureName] = &types.AttributeValueMemberB{Value: sig}
	return out, nil
}

func (l *sealLegacy) DecryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	l.mu.Lock()
	l.decrypt++
	l.mu.Unlock()
	sig, ok := item[dbesdk.LegacySignatureName].(*types.AttributeValueMemberB)
	want, err := l.sign(item)
	if !ok || err != nil || !hmac.Equal(sig.Value, want) {
		return nil, errors.New("seallegacy: bad signature")
	}
	out := map[string]types.AttributeValue{}
	for k, v := range item {
		switch {
		case k == dbesdk.LegacySignatureName || k == dbesdk.LegacyMaterialDescriptionName:
		case k == "pk" || k == "sk":
			out[k] = v
		default:
			b, ok := v.(*types.AttributeValueMemberB)
			if !ok || len(b.Value) < 12 {
				return nil, errors.New("seallegacy: bad attribute")
			}
			pt, err := l.aead.Open(nil, b.Value[:12], b.Value[12:], []byte(k))
			if err != nil {
				return nil, errors.New("seallegacy: bad attribute")
			}
			m, err := ddbjson.Unmarshal(pt)
			if err != nil {
				return nil, err
			}
			out[k] = m["v"]
		}
	}
	return out, nil
}

// TestLegacyDispatch: DecryptItem hands items of the legacy format to the
// LegacyEncryptor as the policy allows, EncryptItem writes legacy items only
// under ForceLegacyEncryptAllowLegacyDecrypt, and DB-ESDK items are read
// under every policy.
func TestLegacyDispatch(t *testing.T) {
	legacy := newSealLegacy(t)
	kr := testKeyring(t)
	legacyItem, err := legacy.EncryptItem(context.Background(), userItem())
	if err != nil {
		t.Fatal(err)
	}
	dbItem, err := mustNew(t, baseConfig(), kr).EncryptItem(context.Background(), userItem())
	if err != nil {
		t.Fatal(err)
	}
	want := userItem()
	want["name"].(*types.AttributeValueMemberM).Value["n"] = nAV("2.5")
	wantDB := itemJSON(t, want)
	wantLegacy := itemJSON(t, userItem())
	for _, tt := range []struct {
		policy      dbesdk.LegacyPolicy
		writeLegacy bool
		readLegacy  bool
	}{
		{dbesdk.ForbidLegacyEncryptAllowLegacyDecrypt, false, true},
		{dbesdk.ForceLegacyEncryptAllowLegacyDecrypt, true, true},
		{dbesdk.ForbidLegacyEncryptForbidLegacyDecrypt, false, false},
	} {
		t.Run(tt.policy.String(), func(t *testing.T) {
			cfg := baseConfig()
			cfg.Legacy = &dbesdk.LegacyOverride{Policy: tt.policy, Encryptor: legacy}
			enc := mustNew(t, cfg, kr)
			out, err := enc.EncryptItem(context.Background(), userItem())
			if err != nil {
				t.Fatalf("EncryptItem() = %v", err)
			}
			_, isLegacy := out[dbesdk.LegacySignatureName]
			_, isDB := out[dbesdk.HeaderName]
			if isLegacy != tt.writeLegacy || isDB == tt.writeLegacy {
				t.Errorf("EncryptItem() wrote legacy %v, DB-ESDK %v; want legacy %v", isLegacy, isDB, tt.writeLegacy)
			}
			got, err := enc.DecryptItem(context.Background(), legacyItem)
			switch {
			case tt.readLegacy && (err != nil || itemJSON(t, got) != wantLegacy):
				t.Errorf("DecryptItem(legacy) = %v, want the legacy item decrypted", err)
			case !tt.readLegacy && !errors.Is(err, dbesdk.ErrLegacyItem):
				t.Errorf("DecryptItem(legacy) = %v, want ErrLegacyItem", err)
			}
			if got, err := enc.DecryptItem(context.Background(), dbItem); err != nil || itemJSON(t, got) != wantDB {
				t.Errorf("DecryptItem(DB-ESDK item) = %v", err)
			}
			// A legacy item whose signature no longer verifies: the legacy
			// encryptor's error, as it is.
			if tt.readLegacy {
				bad := map[string]types.AttributeValue{}
				for k, v := range legacyItem {
					bad[k] = v
				}
				bad["tier"] = nAV("4")
				if _, err := enc.DecryptItem(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "seallegacy: bad signature") {
					t.Errorf("DecryptItem(tampered legacy) = %v, want the legacy encryptor's error", err)
				}
			}
			// The keys are checked first, for both formats.
			noKey := map[string]types.AttributeValue{}
			for k, v := range legacyItem {
				if k != "pk" {
					noKey[k] = v
				}
			}
			if _, err := enc.DecryptItem(context.Background(), noKey); err == nil || !strings.Contains(err.Error(), "no partition key") {
				t.Errorf("DecryptItem(legacy without key) = %v", err)
			}
		})
	}
	// Only items with both legacy attributes are legacy items.
	half := map[string]types.AttributeValue{"pk": sAV("a"), "sk": nAV("1"), dbesdk.LegacySignatureName: &types.AttributeValueMemberB{}}
	cfg := baseConfig()
	cfg.Legacy = &dbesdk.LegacyOverride{Policy: dbesdk.ForbidLegacyEncryptAllowLegacyDecrypt, Encryptor: legacy}
	before := legacy.decrypt
	if _, err := mustNew(t, cfg, kr).DecryptItem(context.Background(), half); !errors.Is(err, dbesdk.ErrPlaintextItem) || legacy.decrypt != before {
		t.Errorf("DecryptItem(one legacy attribute) = %v, %d legacy calls, want ErrPlaintextItem and none", err, legacy.decrypt-before)
	}
}

// customNames is a legacy encryptor whose items use other attribute names,
// which it recognizes itself (dbesdk.LegacyItemDetector).
type customNames struct{ *sealLegacy }

func (customNames) IsLegacyItem(item map[string]types.AttributeValue) bool {
	_, ok := item["#sig"]
	return ok
}

func TestLegacyItemDetector(t *testing.T) {
	legacy := customNames{newSealLegacy(t)}
	cfg := baseConfig()
	cfg.Legacy = &dbesdk.LegacyOverride{Policy: dbesdk.ForbidLegacyEncryptAllowLegacyDecrypt, Encryptor: legacy}
	enc := mustNew(t, cfg, testKeyring(t))
	item := map[string]types.AttributeValue{"pk": sAV("a"), "sk": nAV("1"), "#sig": &types.AttributeValueMemberB{}}
	if _, err := enc.DecryptItem(context.Background(), item); err == nil || legacy.decrypt != 1 {
		t.Errorf("DecryptItem(custom legacy item) = %v after %d legacy calls, want the legacy encryptor's error", err, legacy.decrypt)
	}
	// The default names no longer mean legacy for it.
	item = map[string]types.AttributeValue{"pk": sAV("a"), "sk": nAV("1"),
		dbesdk.LegacySignatureName: &types.AttributeValueMemberB{}, dbesdk.LegacyMaterialDescriptionName: &types.AttributeValueMemberB{}}
	if _, err := enc.DecryptItem(context.Background(), item); !errors.Is(err, dbesdk.ErrPlaintextItem) {
		t.Errorf("DecryptItem(default legacy names) = %v, want ErrPlaintextItem", err)
	}
}

// TestConcurrentItems runs encryptions and decryptions of many items on one
// ItemEncryptor at once (go test -race checks the sharing).
func TestConcurrentItems(t *testing.T) {
	enc := mustNew(t, v2Config(), testKeyring(t))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				item := userItem()
				item["pk"] = sAV(fmt.Sprintf("user#%d", i%3))
				item["sk"] = nAV(fmt.Sprint(g))
				out, err := enc.EncryptItem(context.Background(), item)
				if err == nil {
					_, err = enc.DecryptItem(context.Background(), out)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestStringHidesKeys(t *testing.T) {
	cfg := baseConfig()
	cfg.Legacy = &dbesdk.LegacyOverride{Policy: dbesdk.ForbidLegacyEncryptAllowLegacyDecrypt, Encryptor: newSealLegacy(t)}
	enc := mustNew(t, cfg, testKeyring(t))
	want := `dbesdk.ItemEncryptor{Table: "users", PartitionKey: "pk", SortKey: "sk", Suite: AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384, Actions: 6, Legacy: FORBID_LEGACY_ENCRYPT_ALLOW_LEGACY_DECRYPT}`
	if got := enc.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, enc); strings.Contains(out, "0x42") || strings.Contains(out, "BBBB") || strings.Contains(out, string(bytes.Repeat([]byte{0x42}, 8))) {
			t.Errorf("Sprintf(%s) = %s shows key material", verb, out)
		}
	}
}
