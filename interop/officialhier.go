package interop

import (
	"context"
	"fmt"

	keystore "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographykeystoresmithygenerated"
	kstypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographykeystoresmithygeneratedtypes"
	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// OfficialKeyStore is the material providers library's branch key store
// (v0.4.0), the AWS implementation datamask's package hierarchy must agree
// with.
type OfficialKeyStore struct {
	ks *keystore.Client
}

// OfficialBranchKey is a branch key (or beacon key) as the official key
// store returns it.
type OfficialBranchKey struct {
	ID, Version       string
	Key               []byte
	EncryptionContext map[string]string
}

// KeyStore builds the official key store over table, with logical name
// logical, protected by the KMS key kmsKeyARN ("" for a discovery key
// store), calling DynamoDB and KMS through the given clients.
func (o *Official) KeyStore(table, logical, kmsKeyARN string, ddb *dynamodb.Client, kmsClient *kms.Client) (k *OfficialKeyStore, err error) {
	defer guard("key store", &err)()
	var kc kstypes.KMSConfiguration = &kstypes.KMSConfigurationMemberkmsKeyArn{Value: kmsKeyARN}
	if kmsKeyARN == "" {
		kc = &kstypes.KMSConfigurationMemberdiscovery{Value: kstypes.Discovery{}}
	}
	ks, err := keystore.NewClient(kstypes.KeyStoreConfig{
		DdbTableName: table, LogicalKeyStoreName: logical, KmsConfiguration: kc, DdbClient: ddb, KmsClient: kmsClient,
	})
	if err != nil {
		return nil, fmt.Errorf("interop: official key store: %v", err)
	}
	return &OfficialKeyStore{ks: ks}, nil
}

// CreateKeyStore creates the key store's table and returns its ARN.
func (k *OfficialKeyStore) CreateKeyStore(ctx context.Context) (arn string, err error) {
	defer guard("CreateKeyStore", &err)()
	out, err := k.ks.CreateKeyStore(ctx, kstypes.CreateKeyStoreInput{})
	if err != nil {
		return "", fmt.Errorf("interop: official CreateKeyStore: %v", err)
	}
	return out.TableArn, nil
}

// CreateKey creates a branch key (id "" for a generated one) and returns
// its id.
func (k *OfficialKeyStore) CreateKey(ctx context.Context, id string, ec map[string]string) (out string, err error) {
	defer guard("CreateKey", &err)()
	in := kstypes.CreateKeyInput{EncryptionContext: ec}
	if id != "" {
		in.BranchKeyIdentifier = &id
	}
	o, err := k.ks.CreateKey(ctx, in)
	if err != nil {
		return "", fmt.Errorf("interop: official CreateKey: %v", err)
	}
	return o.BranchKeyIdentifier, nil
}

// VersionKey rotates branch key id.
func (k *OfficialKeyStore) VersionKey(ctx context.Context, id string) (err error) {
	defer guard("VersionKey", &err)()
	if _, err := k.ks.VersionKey(ctx, kstypes.VersionKeyInput{BranchKeyIdentifier: id}); err != nil {
		return fmt.Errorf("interop: official VersionKey: %v", err)
	}
	return nil
}

// GetActiveBranchKey returns the active version of branch key id.
func (k *OfficialKeyStore) GetActiveBranchKey(ctx context.Context, id string) (b *OfficialBranchKey, err error) {
	defer guard("GetActiveBranchKey", &err)()
	out, err := k.ks.GetActiveBranchKey(ctx, kstypes.GetActiveBranchKeyInput{BranchKeyIdentifier: id})
	if err != nil {
		return nil, fmt.Errorf("interop: official GetActiveBranchKey: %v", err)
	}
	return branchKey(out.BranchKeyMaterials), nil
}

// GetBranchKeyVersion returns version of branch key id.
func (k *OfficialKeyStore) GetBranchKeyVersion(ctx context.Context, id, version string) (b *OfficialBranchKey, err error) {
	defer guard("GetBranchKeyVersion", &err)()
	out, err := k.ks.GetBranchKeyVersion(ctx, kstypes.GetBranchKeyVersionInput{BranchKeyIdentifier: id, BranchKeyVersion: version})
	if err != nil {
		return nil, fmt.Errorf("interop: official GetBranchKeyVersion: %v", err)
	}
	return branchKey(out.BranchKeyMaterials), nil
}

// GetBeaconKey returns the beacon key of branch key id.
func (k *OfficialKeyStore) GetBeaconKey(ctx context.Context, id string) (b *OfficialBranchKey, err error) {
	defer guard("GetBeaconKey", &err)()
	out, err := k.ks.GetBeaconKey(ctx, kstypes.GetBeaconKeyInput{BranchKeyIdentifier: id})
	if err != nil {
		return nil, fmt.Errorf("interop: official GetBeaconKey: %v", err)
	}
	m := out.BeaconKeyMaterials
	return &OfficialBranchKey{ID: m.BeaconKeyIdentifier, Key: m.BeaconKey, EncryptionContext: m.EncryptionContext}, nil
}

func branchKey(m kstypes.BranchKeyMaterials) *OfficialBranchKey {
	return &OfficialBranchKey{ID: m.BranchKeyIdentifier, Version: m.BranchKeyVersion, Key: m.BranchKey, EncryptionContext: m.EncryptionContext}
}

// HierarchicalKeyring builds the official AWS KMS Hierarchical keyring over
// ks for branch key id, caching branch keys for ttlSeconds.
func (o *Official) HierarchicalKeyring(ctx context.Context, ks *OfficialKeyStore, id string, ttlSeconds int64) (k OfficialKeyring, err error) {
	defer guard("hierarchical keyring", &err)()
	k, err = o.mpl.CreateAwsKmsHierarchicalKeyring(ctx, mpltypes.CreateAwsKmsHierarchicalKeyringInput{
		KeyStore: ks.ks, BranchKeyId: &id, TtlSeconds: ttlSeconds,
	})
	if err != nil {
		return nil, fmt.Errorf("interop: official hierarchical keyring: %v", err)
	}
	return k, nil
}
