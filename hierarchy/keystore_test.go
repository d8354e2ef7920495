package hierarchy_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/hierarchy"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestKeyStore runs the key store's operations on DynamoDB Local with the
// fake KMS and on moto_server: create, read every kind of item, version,
// custom encryption context, and the refusals.
func TestKeyStore(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			ks := newStore(t, b)
			arn, err := ks.CreateTable(ctx) // again: the table exists
			if err != nil || !strings.HasSuffix(arn, ":table/"+ks.TableName()) {
				t.Errorf("CreateTable() of an existing table = %q, %v; want its ARN", arn, err)
			}

			id, err := ks.CreateKey(ctx, "", nil)
			if err != nil {
				t.Fatalf("CreateKey() = %v", err)
			}
			if !uuidRE.MatchString(id) {
				t.Errorf("CreateKey() = %q, want a random UUID", id)
			}
			active, err := ks.GetActiveBranchKey(ctx, id)
			if err != nil {
				t.Fatalf("GetActiveBranchKey() = %v", err)
			}
			if active.BranchKeyID != id || !uuidRE.MatchString(active.Version) || len(active.Key()) != 32 || active.EncryptionContext != nil {
				t.Fatalf("GetActiveBranchKey() = %v with a %d-byte key, want version 4 UUID, 32 bytes, no context", active, len(active.Key()))
			}
			v1, err := ks.GetBranchKeyVersion(ctx, id, active.Version)
			if err != nil {
				t.Fatalf("GetBranchKeyVersion() = %v", err)
			}
			if v1.Version != active.Version || !bytes.Equal(v1.Key(), active.Key()) {
				t.Errorf("GetBranchKeyVersion(active version) = %v, want the active key", v1)
			}
			beacon, err := ks.GetBeaconKey(ctx, id)
			if err != nil {
				t.Fatalf("GetBeaconKey() = %v", err)
			}
			if beacon.BeaconKeyID != id || len(beacon.Key()) != 32 || bytes.Equal(beacon.Key(), active.Key()) {
				t.Errorf("GetBeaconKey() = %v, want a 32-byte key other than the branch key", beacon)
			}

			// Rotation: a new active version; the old one still reads.
			if err := ks.VersionKey(ctx, id); err != nil {
				t.Fatalf("VersionKey() = %v", err)
			}
			rotated, err := ks.GetActiveBranchKey(ctx, id)
			if err != nil {
				t.Fatalf("GetActiveBranchKey() after VersionKey = %v", err)
			}
			if rotated.Version == active.Version || bytes.Equal(rotated.Key(), active.Key()) {
				t.Errorf("VersionKey() left the active version %s in place", active.Version)
			}
			if old, err := ks.GetBranchKeyVersion(ctx, id, active.Version); err != nil || !bytes.Equal(old.Key(), active.Key()) {
				t.Errorf("GetBranchKeyVersion(old version) after VersionKey = %v, %v; want the old key", old, err)
			}
			if b2, err := ks.GetBeaconKey(ctx, id); err != nil || !bytes.Equal(b2.Key(), beacon.Key()) {
				t.Errorf("GetBeaconKey() after VersionKey = %v, %v; want the same beacon key", b2, err)
			}

			// A chosen id with a custom context, kept across versions.
			ec := map[string]string{"tenant": "acme", "région": "eu-west-3"}
			if got, err := ks.CreateKey(ctx, "tenant-acme", ec); err != nil || got != "tenant-acme" {
				t.Fatalf("CreateKey(tenant-acme) = %q, %v", got, err)
			}
			if err := ks.VersionKey(ctx, "tenant-acme"); err != nil {
				t.Fatalf("VersionKey(tenant-acme) = %v", err)
			}
			m, err := ks.GetActiveBranchKey(ctx, "tenant-acme")
			if err != nil || !maps.Equal(m.EncryptionContext, ec) {
				t.Errorf("GetActiveBranchKey(tenant-acme) = %v, %v; want the custom context %v", m, err, ec)
			}
			if bk, err := ks.GetBeaconKey(ctx, "tenant-acme"); err != nil || !maps.Equal(bk.EncryptionContext, ec) {
				t.Errorf("GetBeaconKey(tenant-acme) = %v, %v; want the custom context", bk, err)
			}

			// A keyring over this store wraps and unwraps a data key under
			// the active (second) version.
			kr, err := hierarchy.NewKeyring(ks, id, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			em := encryptMaterials(t, kr, esdk.AES256GCMHKDFSHA512CommitKey, ec)
			if dm, err := decryptMaterials(kr, esdk.AES256GCMHKDFSHA512CommitKey, ec, em.EncryptedDataKeys); err != nil || !bytes.Equal(dm.DataKey(), em.DataKey()) {
				t.Errorf("keyring over the store: OnDecrypt() = %v", err)
			}

			// Refusals.
			if _, err := ks.CreateKey(ctx, "tenant-acme", ec); !errors.Is(err, hierarchy.ErrBranchKeyExists) {
				t.Errorf("CreateKey(existing id) = %v, want ErrBranchKeyExists", err)
			}
			var tc *types.TransactionCanceledException
			if _, err := ks.CreateKey(ctx, "tenant-acme", ec); !errors.As(err, &tc) {
				t.Errorf("CreateKey(existing id) = %v, want the DynamoDB error reachable", err)
			}
			if _, err := ks.CreateKey(ctx, "chosen", nil); err == nil || !strings.Contains(err.Error(), "encryption context") {
				t.Errorf("CreateKey(chosen id, no context) = %v, want an error asking for a context", err)
			}
			if _, err := ks.GetActiveBranchKey(ctx, "no-such-key"); !errors.Is(err, hierarchy.ErrBranchKeyNotFound) {
				t.Errorf("GetActiveBranchKey(no-such-key) = %v, want ErrBranchKeyNotFound", err)
			}
			if _, err := ks.GetBeaconKey(ctx, "no-such-key"); !errors.Is(err, hierarchy.ErrBranchKeyNotFound) {
				t.Errorf("GetBeaconKey(no-such-key) = %v, want ErrBranchKeyNotFound", err)
			}
			if err := ks.VersionKey(ctx, "no-such-key"); !errors.Is(err, hierarchy.ErrBranchKeyNotFound) {
				t.Errorf("VersionKey(no-such-key) = %v, want ErrBranchKeyNotFound", err)
			}
			if _, err := ks.GetBranchKeyVersion(ctx, id, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, hierarchy.ErrBranchKeyNotFound) {
				t.Errorf("GetBranchKeyVersion(unknown version) = %v, want ErrBranchKeyNotFound", err)
			}
			for _, v := range []string{"", "ACTIVE", "not-a-uuid", strings.ToUpper(active.Version) + "0"} {
				if _, err := ks.GetBranchKeyVersion(ctx, id, v); err == nil || !strings.Contains(err.Error(), "not a UUID") {
					t.Errorf("GetBranchKeyVersion(%q) = %v, want an error: not a UUID", v, err)
				}
			}
			for name, err := range map[string]error{
				"GetActiveBranchKey": func() error { _, err := ks.GetActiveBranchKey(ctx, ""); return err }(),
				"VersionKey":         ks.VersionKey(ctx, ""),
				"GetBeaconKey":       func() error { _, err := ks.GetBeaconKey(ctx, ""); return err }(),
			} {
				if err == nil || !strings.Contains(err.Error(), "empty") {
					t.Errorf("%s(\"\") = %v, want an error: the id is empty", name, err)
				}
			}
		})
	}
}

// TestKeyStoreItems pins the items CreateKey and VersionKey write and the
// KMS calls they make: the AWS key store's record format and encryption
// contexts, attribute by attribute.
func TestKeyStoreItems(t *testing.T) {
	b := localBackend(t)
	ks := newStore(t, b, hierarchy.WithGrantTokens("grant-a"))
	ctx := t.Context()
	b.fake.ResetCalls()
	id, err := ks.CreateKey(ctx, "pinned", map[string]string{"tenant": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[kmstest.Op]int{kmstest.OpGenerateDataKeyWithoutPlaintext: 2, kmstest.OpReEncrypt: 1}
	if got := b.fake.CallCounts(); !maps.Equal(got, want) {
		t.Errorf("CreateKey() made KMS calls %v, want %v", got, want)
	}
	items := scan(t, b, ks.TableName())
	if len(items) != 3 {
		t.Fatalf("the table holds %d items after CreateKey, want 3", len(items))
	}
	active := items["branch:ACTIVE"]
	if active == nil || items["beacon:ACTIVE"] == nil {
		t.Fatalf("the table's items are %v, want branch:ACTIVE, beacon:ACTIVE and a branch:version:", slices.Collect(maps.Keys(items)))
	}
	versionAttr, _ := active["version"].(*types.AttributeValueMemberS)
	if versionAttr == nil || !strings.HasPrefix(versionAttr.Value, "branch:version:") || items[versionAttr.Value] == nil {
		t.Fatalf("the active item's version attribute is %v, want the type of the version item", active["version"])
	}
	createTime := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	for typ, item := range items {
		names := slices.Sorted(maps.Keys(item))
		wantNames := []string{"aws-crypto-ec:tenant", "branch-key-id", "create-time", "enc", "hierarchy-version", "kms-arn", "type"}
		if typ == "branch:ACTIVE" {
			wantNames = append(wantNames, "version")
			slices.Sort(wantNames)
		}
		if !slices.Equal(names, wantNames) {
			t.Errorf("item %s has attributes %v, want %v", typ, names, wantNames)
		}
		for name, av := range item {
			switch name {
			case "enc":
				if b, ok := av.(*types.AttributeValueMemberB); !ok || len(b.Value) == 0 {
					t.Errorf("item %s: enc is %T, want a non-empty B", typ, av)
				}
			case "hierarchy-version":
				if n, ok := av.(*types.AttributeValueMemberN); !ok || n.Value != "1" {
					t.Errorf("item %s: hierarchy-version is %#v, want N 1", typ, av)
				}
			default:
				if _, ok := av.(*types.AttributeValueMemberS); !ok {
					t.Errorf("item %s: %s is %T, want S", typ, name, av)
				}
			}
		}
		s := func(name string) string { v, _ := item[name].(*types.AttributeValueMemberS); return v.Value }
		if s("branch-key-id") != id || s("kms-arn") != b.key || s("aws-crypto-ec:tenant") != "acme" || !createTime.MatchString(s("create-time")) {
			t.Errorf("item %s = id %q, kms-arn %q, tenant %q, create-time %q", typ, s("branch-key-id"), s("kms-arn"), s("aws-crypto-ec:tenant"), s("create-time"))
		}
	}
	// The KMS encryption context of each item is its attributes but enc,
	// plus tablename; grant tokens go with every call.
	reqs := b.fake.Requests()
	contextOf := func(item map[string]types.AttributeValue) map[string]string {
		ec := map[string]string{"tablename": ks.LogicalName()}
		for name, av := range item {
			switch v := av.(type) {
			case *types.AttributeValueMemberS:
				ec[name] = v.Value
			case *types.AttributeValueMemberN:
				ec[name] = v.Value
			}
		}
		return ec
	}
	if len(reqs) != 3 {
		t.Fatalf("Requests() = %d, want 3", len(reqs))
	}
	version := items[versionAttr.Value]
	checks := []struct {
		op      kmstest.Op
		ec, src map[string]string
	}{
		{kmstest.OpGenerateDataKeyWithoutPlaintext, contextOf(version), nil},
		{kmstest.OpReEncrypt, contextOf(active), contextOf(version)},
		{kmstest.OpGenerateDataKeyWithoutPlaintext, contextOf(items["beacon:ACTIVE"]), nil},
	}
	for i, c := range checks {
		r := reqs[i]
		if r.Op != c.op || r.KeyID != b.key || !maps.Equal(r.EncryptionContext, c.ec) || !maps.Equal(r.SourceEncryptionContext, c.src) ||
			!slices.Equal(r.GrantTokens, []string{"grant-a"}) {
			t.Errorf("KMS request %d = %+v, want %s with key %s, context %v, source context %v and the grant token", i, r, c.op, b.key, c.ec, c.src)
		}
	}
	// Create times are equal across the three items of CreateKey.
	if t1, t2 := active["create-time"], items["beacon:ACTIVE"]["create-time"]; t1.(*types.AttributeValueMemberS).Value != t2.(*types.AttributeValueMemberS).Value {
		t.Errorf("create-time differs between the items of one CreateKey")
	}

	// VersionKey: ReEncrypt of the active item to itself, then a new
	// version; two items written, the beacon key untouched.
	b.fake.ResetCalls()
	if err := ks.VersionKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	want = map[kmstest.Op]int{kmstest.OpGenerateDataKeyWithoutPlaintext: 1, kmstest.OpReEncrypt: 2}
	if got := b.fake.CallCounts(); !maps.Equal(got, want) {
		t.Errorf("VersionKey() made KMS calls %v, want %v", got, want)
	}
	if r := b.fake.Requests()[0]; r.Op != kmstest.OpReEncrypt || !maps.Equal(r.SourceEncryptionContext, contextOf(active)) || !maps.Equal(r.EncryptionContext, contextOf(active)) {
		t.Errorf("VersionKey's first KMS request = %+v, want a ReEncrypt of the active item to itself", r)
	}
	after := scan(t, b, ks.TableName())
	if len(after) != 4 || !maps.EqualFunc(after["beacon:ACTIVE"], items["beacon:ACTIVE"], sameAV) || !maps.EqualFunc(after[versionAttr.Value], version, sameAV) {
		t.Errorf("after VersionKey the table holds %d items (want 4), or the beacon or old version item changed", len(after))
	}
	newActive := after["branch:ACTIVE"]
	nv := newActive["version"].(*types.AttributeValueMemberS).Value
	if nv == versionAttr.Value || after[nv] == nil {
		t.Errorf("after VersionKey the active item names version %q, want a new version with its own item", nv)
	}
}

func sameAV(a, b types.AttributeValue) bool {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberB:
		y, ok := b.(*types.AttributeValueMemberB)
		return ok && bytes.Equal(x.Value, y.Value)
	}
	return false
}

// scan returns the items of table by their type attribute.
func scan(t testing.TB, b backend, table string) map[string]map[string]types.AttributeValue {
	t.Helper()
	out, err := b.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]map[string]types.AttributeValue{}
	for _, item := range out.Items {
		items[item["type"].(*types.AttributeValueMemberS).Value] = item
	}
	return items
}

func getItem(t testing.TB, b backend, table, id, typ string) map[string]types.AttributeValue {
	t.Helper()
	out, err := b.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"branch-key-id": &types.AttributeValueMemberS{Value: id}, "type": &types.AttributeValueMemberS{Value: typ}}})
	if err != nil || out.Item == nil {
		t.Fatalf("GetItem(%s, %s) = %v, %v", id, typ, out, err)
	}
	return out.Item
}

func putItem(t testing.TB, b backend, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := b.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

// TestKeyStoreTampered changes the items of a branch key as anyone who can
// write the table can: every change is refused, by the key store's checks
// or by AWS KMS (every attribute is in the encryption context), and no
// error shows the key.
func TestKeyStoreTampered(t *testing.T) {
	b := localBackend(t)
	ks := newStore(t, b)
	ctx := t.Context()
	id, err := ks.CreateKey(ctx, "victim", map[string]string{"tenant": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ks.CreateKey(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	otherActive := getItem(t, b, ks.TableName(), other, "branch:ACTIVE")
	original := getItem(t, b, ks.TableName(), id, "branch:ACTIVE")
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	tests := []struct {
		name   string
		change func(map[string]types.AttributeValue)
		kms    bool // refused by AWS KMS (InvalidCiphertextException) rather than by the key store
	}{
		{"CreateTimeChanged", func(m map[string]types.AttributeValue) { m["create-time"] = s("2020-01-01T00:00:00.000000Z") }, true},
		{"CustomContextChanged", func(m map[string]types.AttributeValue) { m["aws-crypto-ec:tenant"] = s("evil") }, true},
		{"CustomContextRemoved", func(m map[string]types.AttributeValue) { delete(m, "aws-crypto-ec:tenant") }, true},
		{"AttributeAdded", func(m map[string]types.AttributeValue) { m["extra"] = s("x") }, true},
		{"VersionChanged", func(m map[string]types.AttributeValue) {
			m["version"] = s("branch:version:00000000-0000-4000-8000-000000000000")
		}, true},
		{"EncOfOtherKey", func(m map[string]types.AttributeValue) { m["enc"] = otherActive["enc"] }, true},
		{"EncFlipped", func(m map[string]types.AttributeValue) {
			enc := bytes.Clone(m["enc"].(*types.AttributeValueMemberB).Value)
			enc[len(enc)-1] ^= 1
			m["enc"] = &types.AttributeValueMemberB{Value: enc}
		}, true},
		{"KMSARNOfOtherKey", func(m map[string]types.AttributeValue) { m["kms-arn"] = s(b.key2) }, false},
		{"KMSARNAlias", func(m map[string]types.AttributeValue) {
			m["kms-arn"] = s("arn:aws:kms:us-east-1:111122223333:alias/x")
		}, false},
		{"HierarchyVersionString", func(m map[string]types.AttributeValue) { m["hierarchy-version"] = s("1") }, false},
		{"HierarchyVersion2", func(m map[string]types.AttributeValue) {
			m["hierarchy-version"] = &types.AttributeValueMemberN{Value: "2"}
		}, false},
		{"EncRemoved", func(m map[string]types.AttributeValue) { delete(m, "enc") }, false},
		{"EncAString", func(m map[string]types.AttributeValue) { m["enc"] = s("x") }, false},
		{"VersionRemoved", func(m map[string]types.AttributeValue) { delete(m, "version") }, false},
		{"VersionNotAUUID", func(m map[string]types.AttributeValue) { m["version"] = s("branch:version:1") }, false},
		{"CreateTimeRemoved", func(m map[string]types.AttributeValue) { delete(m, "create-time") }, false},
		{"TablenameStored", func(m map[string]types.AttributeValue) { m["tablename"] = s(ks.LogicalName()) }, false},
		{"ANumberAttribute", func(m map[string]types.AttributeValue) { m["extra"] = &types.AttributeValueMemberN{Value: "1"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item := maps.Clone(original)
			tt.change(item)
			putItem(t, b, ks.TableName(), item)
			defer putItem(t, b, ks.TableName(), original)
			b.fake.ResetCalls()
			m, err := ks.GetActiveBranchKey(ctx, id)
			if err == nil {
				t.Fatalf("GetActiveBranchKey(tampered) = %v, want an error", m)
			}
			var bad *kmstypes.InvalidCiphertextException
			if tt.kms != errors.As(err, &bad) || tt.kms == errors.Is(err, hierarchy.ErrInvalidBranchKeyItem) {
				t.Errorf("GetActiveBranchKey(tampered) = %v; want InvalidCiphertextException: %v, ErrInvalidBranchKeyItem: %v", err, tt.kms, !tt.kms)
			}
			if calls := b.fake.Calls(kmstest.OpDecrypt); tt.kms != (calls == 1) {
				t.Errorf("GetActiveBranchKey(tampered) made %d KMS calls, want them only when the item is well formed", calls)
			}
			if err := ks.VersionKey(ctx, id); err == nil {
				t.Errorf("VersionKey(tampered) succeeded")
			}
		})
	}
	// A reader with another logical name: every item fails in KMS.
	wrongName := otherStore(t, ks, b, hierarchy.KeyStoreConfig{LogicalName: "another-name", KMSKeyARN: b.key})
	var bad *kmstypes.InvalidCiphertextException
	if _, err := wrongName.GetActiveBranchKey(ctx, id); !errors.As(err, &bad) {
		t.Errorf("GetActiveBranchKey(another logical name) = %v, want InvalidCiphertextException", err)
	}
	// A reader configured with another KMS key refuses before calling KMS.
	b.fake.ResetCalls()
	wrongKey := otherStore(t, ks, b, hierarchy.KeyStoreConfig{KMSKeyARN: b.key2})
	if _, err := wrongKey.GetActiveBranchKey(ctx, id); !errors.Is(err, hierarchy.ErrInvalidBranchKeyItem) || !strings.Contains(err.Error(), b.key) {
		t.Errorf("GetActiveBranchKey(other KMS key configured) = %v, want ErrInvalidBranchKeyItem naming the item's key", err)
	}
	if err := wrongKey.VersionKey(ctx, id); !errors.Is(err, hierarchy.ErrInvalidBranchKeyItem) {
		t.Errorf("VersionKey(other KMS key configured) = %v, want ErrInvalidBranchKeyItem", err)
	}
	if n := len(b.fake.Requests()); n != 0 {
		t.Errorf("a key store of another KMS key made %d KMS calls, want none", n)
	}
}

// TestKeyStoreDiscovery reads with a discovery key store, which decrypts
// with the KMS key each item names, and cannot create or version keys.
func TestKeyStoreDiscovery(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			ks := newStore(t, b)
			id, err := ks.CreateKey(ctx, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ks.GetActiveBranchKey(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			d := otherStore(t, ks, b, hierarchy.KeyStoreConfig{Discovery: true})
			got, err := d.GetActiveBranchKey(ctx, id)
			if err != nil || !bytes.Equal(got.Key(), want.Key()) {
				t.Errorf("discovery GetActiveBranchKey() = %v, %v; want the branch key", got, err)
			}
			if got, err := d.GetBranchKeyVersion(ctx, id, want.Version); err != nil || !bytes.Equal(got.Key(), want.Key()) {
				t.Errorf("discovery GetBranchKeyVersion() = %v, %v; want the branch key", got, err)
			}
			if _, err := d.CreateKey(ctx, "", nil); err == nil || !strings.Contains(err.Error(), "discovery") {
				t.Errorf("discovery CreateKey() = %v, want an error", err)
			}
			if err := d.VersionKey(ctx, id); err == nil || !strings.Contains(err.Error(), "discovery") {
				t.Errorf("discovery VersionKey() = %v, want an error", err)
			}
		})
	}
}

// racingDynamoDB runs hook before the first TransactWriteItems it passes
// on, as a concurrent writer would.
type racingDynamoDB struct {
	*dynamodb.Client
	once sync.Once
	hook func()
}

func (r *racingDynamoDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	r.once.Do(r.hook)
	return r.Client.TransactWriteItems(ctx, in, optFns...)
}

// TestVersionKeyRace: a VersionKey that another VersionKey overtakes
// between reading the active item and writing fails with
// ErrActiveKeyChanged and writes nothing; the table stays consistent.
func TestVersionKeyRace(t *testing.T) {
	b := localBackend(t)
	ks := newStore(t, b)
	ctx := t.Context()
	id, err := ks.CreateKey(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	racing := &racingDynamoDB{Client: b.ddb}
	slow, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: ks.TableName(), LogicalName: ks.LogicalName(), KMSKeyARN: b.key}, racing, b.kms)
	if err != nil {
		t.Fatal(err)
	}
	racing.hook = func() {
		if err := ks.VersionKey(ctx, id); err != nil {
			t.Errorf("the overtaking VersionKey() = %v", err)
		}
	}
	if err := slow.VersionKey(ctx, id); !errors.Is(err, hierarchy.ErrActiveKeyChanged) {
		t.Fatalf("overtaken VersionKey() = %v, want ErrActiveKeyChanged", err)
	}
	items := scan(t, b, ks.TableName())
	if len(items) != 4 {
		t.Errorf("after the race the table holds %d items, want 4 (one version each for CreateKey and the winner)", len(items))
	}
	active, err := ks.GetActiveBranchKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := items["branch:version:"+active.Version]; !ok {
		t.Errorf("the active version %s has no version item", active.Version)
	}
}

// TestCreateTable: a table of another key schema is refused; CreateTable
// creates the table on moto_server too.
func TestCreateTable(t *testing.T) {
	b := localBackend(t)
	table := dynamolocal.CreateTable(t, b.ddb, nil) // keys pk and sk
	ks, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: table, LogicalName: table, KMSKeyARN: b.key}, b.ddb, b.kms)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.CreateTable(t.Context()); err == nil || !strings.Contains(err.Error(), "not a branch key store") {
		t.Errorf("CreateTable(table of keys pk, sk) = %v, want an error", err)
	}
	m := motoBackend(t)
	mks := newStore(t, m)
	if out, err := m.ddb.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(mks.TableName())}); err != nil ||
		out.Table.BillingModeSummary == nil || out.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("DescribeTable(created table) = %v, want an on-demand table", err)
	}
}

// TestNewKeyStore checks the configuration rules.
func TestNewKeyStore(t *testing.T) {
	b := backend{ddb: dynamolocal.NewClient("http://127.0.0.1:1"), kms: kmsClient("http://127.0.0.1:1", "us-east-1")}
	arn := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	tests := []struct {
		name string
		cfg  hierarchy.KeyStoreConfig
		opts []hierarchy.KeyStoreOption
		want string // in the error; "" for success
	}{
		{"OK", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: arn}, nil, ""},
		{"Discovery", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", Discovery: true}, nil, ""},
		{"GrantTokens", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: arn}, []hierarchy.KeyStoreOption{hierarchy.WithGrantTokens("a", "b")}, ""},
		{"NoTable", hierarchy.KeyStoreConfig{LogicalName: "keys", KMSKeyARN: arn}, nil, "table name"},
		{"BadTable", hierarchy.KeyStoreConfig{TableName: "a b", LogicalName: "keys", KMSKeyARN: arn}, nil, "table name"},
		{"ShortTable", hierarchy.KeyStoreConfig{TableName: "ab", LogicalName: "keys", KMSKeyARN: arn}, nil, "table name"},
		{"NoLogicalName", hierarchy.KeyStoreConfig{TableName: "keys", KMSKeyARN: arn}, nil, "LogicalName"},
		{"NoKey", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys"}, nil, "KMSKeyARN is empty"},
		{"KeyAndDiscovery", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: arn, Discovery: true}, nil, "both"},
		{"Alias", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: "arn:aws:kms:us-east-1:111122223333:alias/keys"}, nil, "not a KMS key ARN"},
		{"AliasName", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: "alias/keys"}, nil, "not a KMS key ARN"},
		{"KeyID", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: "1234abcd-12ab-34cd-56ef-1234567890ab"}, nil, "not a KMS key ARN"},
		{"BadRegion", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: "arn:aws:kms:x.evil.com/:111122223333:key/1"}, nil, "not a KMS key ARN"},
		{"NoGrantTokens", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: arn}, []hierarchy.KeyStoreOption{hierarchy.WithGrantTokens()}, "WithGrantTokens"},
		{"GrantTokensTwice", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: arn},
			[]hierarchy.KeyStoreOption{hierarchy.WithGrantTokens("a"), hierarchy.WithGrantTokens("b")}, "twice"},
		{"EmptyGrantToken", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: arn}, []hierarchy.KeyStoreOption{hierarchy.WithGrantTokens("")}, "empty"},
		{"NilOption", hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: arn}, []hierarchy.KeyStoreOption{nil}, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := hierarchy.NewKeyStore(tt.cfg, b.ddb, b.kms, tt.opts...)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewKeyStore() = %v, want success", err)
				}
				if s := ks.String(); !strings.Contains(s, "keys") || strings.Contains(s, `"a"`) {
					t.Errorf("String() = %q, want the table and no grant token", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "hierarchy: NewKeyStore: ") {
				t.Errorf("NewKeyStore() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: arn}, nil, b.kms); err == nil {
		t.Error("NewKeyStore(nil DynamoDB client) succeeded")
	}
	if _, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: "keys", LogicalName: "keys", KMSKeyARN: arn}, b.ddb, nil); err == nil {
		t.Error("NewKeyStore(nil KMS client) succeeded")
	}
}
