package interop

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/hierarchy"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
)

// hierarchyEnv is a branch key store table in DynamoDB Local under a key
// of a fake KMS, reached by the official key store (the material providers
// library v0.4.0) and by datamask's.
type hierarchyEnv struct {
	srv      *kmstest.Server
	ddb      *dynamodb.Client
	official *OfficialKeyStore
	ours     *hierarchy.KeyStore
	off      *Official
}

// newHierarchyEnv creates the table with the official CreateKeyStore and
// checks that datamask's CreateTable accepts it as it is.
func newHierarchyEnv(t *testing.T) *hierarchyEnv {
	t.Helper()
	ctx := t.Context()
	srv := kmstest.Start(t)
	key := srv.CreateKey()
	ddb := dynamolocal.Client(t)
	kmsClient := newKMSClient(srv)
	table := dynamolocal.TableName("interop-branch-keys")
	const logical = "interop-logical-name"
	off := newOfficial(t)
	official, err := off.KeyStore(table, logical, key, ddb, kmsClient)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := official.CreateKeyStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Errorf("DeleteTable(%q) = %v", table, err)
		}
	})
	ours, err := hierarchy.NewKeyStore(hierarchy.KeyStoreConfig{TableName: table, LogicalName: logical, KMSKeyARN: key}, ddb, kmsClient)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ours.CreateTable(ctx); err != nil || got != arn {
		t.Fatalf("datamask CreateTable(table the official CreateKeyStore made) = %q, %v; want %q", got, err, arn)
	}
	return &hierarchyEnv{srv: srv, ddb: ddb, official: official, ours: ours, off: off}
}

// sameKey fails t unless the two stores returned the same branch key.
func sameKey(t *testing.T, who string, ours *hierarchy.BranchKeyMaterials, official *OfficialBranchKey) {
	t.Helper()
	if ours.BranchKeyID != official.ID || ours.Version != official.Version || !bytes.Equal(ours.Key(), official.Key) ||
		!maps.Equal(ours.EncryptionContext, official.EncryptionContext) {
		t.Errorf("%s: datamask read %v, the official key store %q version %q with context %v and another or the same key (equal: %v)",
			who, ours, official.ID, official.Version, official.EncryptionContext, bytes.Equal(ours.Key(), official.Key))
	}
}

// TestHierarchyKeyStoreInterop crosses branch keys between the official key
// store and datamask's on one table: each reads the active version, a
// given version and the beacon key of what the other created, and versions
// what the other created, with and without a custom encryption context.
func TestHierarchyKeyStoreInterop(t *testing.T) {
	env := newHierarchyEnv(t)
	ctx := t.Context()
	type store struct {
		name    string
		create  func(id string, ec map[string]string) (string, error)
		version func(id string) error
	}
	stores := []store{
		{"official", func(id string, ec map[string]string) (string, error) { return env.official.CreateKey(ctx, id, ec) },
			func(id string) error { return env.official.VersionKey(ctx, id) }},
		{"datamask", func(id string, ec map[string]string) (string, error) { return env.ours.CreateKey(ctx, id, ec) },
			func(id string) error { return env.ours.VersionKey(ctx, id) }},
	}
	for i, creator := range stores {
		versioner := stores[1-i]
		for _, c := range []struct {
			name, id string
			ec       map[string]string
		}{
			{"generated-id", "", nil},
			{"custom-context", "tenant-" + creator.name, map[string]string{"tenant": "acme", "région": "東京", "Z": ""}},
		} {
			t.Run(creator.name+"-creates/"+c.name, func(t *testing.T) {
				id, err := creator.create(c.id, c.ec)
				if err != nil {
					t.Fatalf("%s CreateKey() = %v", creator.name, err)
				}
				offActive, err := env.official.GetActiveBranchKey(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				ourActive, err := env.ours.GetActiveBranchKey(ctx, id)
				if err != nil {
					t.Fatalf("datamask GetActiveBranchKey(%s's key) = %v", creator.name, err)
				}
				sameKey(t, "active", ourActive, offActive)
				if ourVersion, err := env.ours.GetBranchKeyVersion(ctx, id, offActive.Version); err != nil {
					t.Errorf("datamask GetBranchKeyVersion() = %v", err)
				} else {
					sameKey(t, "version", ourVersion, offActive)
				}
				offBeacon, err := env.official.GetBeaconKey(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				ourBeacon, err := env.ours.GetBeaconKey(ctx, id)
				if err != nil || !bytes.Equal(ourBeacon.Key(), offBeacon.Key) || !maps.Equal(ourBeacon.EncryptionContext, offBeacon.EncryptionContext) {
					t.Errorf("datamask GetBeaconKey() = %v, %v; want the official's beacon key", ourBeacon, err)
				}

				// The other one versions it; both read the new and the old
				// version alike.
				if err := versioner.version(id); err != nil {
					t.Fatalf("%s VersionKey(%s's key) = %v", versioner.name, creator.name, err)
				}
				offNew, err := env.official.GetActiveBranchKey(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				ourNew, err := env.ours.GetActiveBranchKey(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if ourNew.Version == ourActive.Version {
					t.Fatalf("%s VersionKey() left the active version as it was", versioner.name)
				}
				sameKey(t, "active after VersionKey", ourNew, offNew)
				offOld, err := env.official.GetBranchKeyVersion(ctx, id, ourActive.Version)
				if err != nil {
					t.Fatal(err)
				}
				sameKey(t, "old version after VersionKey", ourActive, offOld)
			})
		}
	}
}

// TestHierarchyKeyringInterop carries AWS Encryption SDK messages between
// datamask's hierarchical keyring and the official Go ESDK's, over one
// branch key the official key store created, both suites, empty and
// non-ASCII contexts; datamask's keyring calls KMS once each way for all
// of them.
func TestHierarchyKeyringInterop(t *testing.T) {
	env := newHierarchyEnv(t)
	ctx := t.Context()
	id, err := env.official.CreateKey(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	offKR, err := env.off.HierarchicalKeyring(ctx, env.official, id, 600)
	if err != nil {
		t.Fatal(err)
	}
	newKeyring := func() *ours {
		kr, err := hierarchy.NewKeyring(env.ours, id, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return newOurs(t, kr)
	}
	writer, reader := newKeyring(), newKeyring()
	cases := kmsCases()
	for _, c := range interopCases() {
		if c.frame == 512 && len(c.plaintext) < 1<<20 {
			cases = append(cases, c)
		}
	}
	env.srv.ResetCalls()
	for _, c := range cases {
		t.Run("datamask-to-official/"+c.name, func(t *testing.T) {
			msg, err := writer.encrypt(ctx, c)
			if err != nil {
				t.Fatalf("datamask Encrypt() = %v", err)
			}
			got, err := env.off.Decrypt(ctx, offKR, msg, c.ec)
			if err != nil {
				t.Fatalf("official Decrypt(datamask message) = %v", err)
			}
			checkOfficial(t, got, c)
		})
	}
	if got := env.srv.CallCounts(); got[kmstest.OpDecrypt] != 2 || len(got) != 1 {
		t.Errorf("%d messages by datamask, read by the official keyring: KMS calls %v, want 2 Decrypt (one each)", len(cases), got)
	}
	env.srv.ResetCalls()
	for _, c := range cases {
		t.Run("official-to-datamask/"+c.name, func(t *testing.T) {
			msg, err := env.off.Encrypt(ctx, offKR, c.plaintext, OfficialEncryptOptions{Suite: c.suite, FrameLength: int64(c.frame), EncryptionContext: c.ec})
			if err != nil {
				t.Fatalf("official Encrypt() = %v", err)
			}
			reader.decryptAndCheck(t, ctx, msg, c)
		})
	}
	if got := env.srv.CallCounts(); got[kmstest.OpDecrypt] != 2 || len(got) != 1 {
		t.Errorf("%d messages by the official keyring, read by datamask: KMS calls %v, want 2 Decrypt (one each)", len(cases), got)
	}
}
