package interop

import (
	"context"
	"fmt"

	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// KMSKeyring builds the official strict AWS KMS keyring for one key ARN,
// calling KMS through client (for tests, a *kms.Client whose BaseEndpoint
// is a kmstest server).
func (o *Official) KMSKeyring(ctx context.Context, client *kms.Client, keyARN string) (k OfficialKeyring, err error) {
	defer guard("KMS keyring", &err)()
	k, err = o.mpl.CreateAwsKmsKeyring(ctx, mpltypes.CreateAwsKmsKeyringInput{KmsClient: client, KmsKeyId: keyARN})
	if err != nil {
		return nil, fmt.Errorf("interop: official KMS keyring: %v", err)
	}
	return k, nil
}

// MultiKeyring builds the official multi-keyring: generator makes the data
// key, and every child wraps it too.
func (o *Official) MultiKeyring(ctx context.Context, generator OfficialKeyring, children ...OfficialKeyring) (k OfficialKeyring, err error) {
	defer guard("multi-keyring", &err)()
	k, err = o.mpl.CreateMultiKeyring(ctx, mpltypes.CreateMultiKeyringInput{Generator: generator, ChildKeyrings: children})
	if err != nil {
		return nil, fmt.Errorf("interop: official multi-keyring: %v", err)
	}
	return k, nil
}
