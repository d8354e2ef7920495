package esdk

import (
	"context"
)

// Keyring wraps and unwraps data keys. [NewRawAESKeyring],
// [NewRawRSAKeyring] and [NewMultiKeyring] build the keyrings of this
// package; the AWS KMS keyrings live in their own package. Implementations
// must be safe for concurrent use.
type Keyring interface {
	// OnEncrypt generates a data key if m has none (or fails if the keyring
	// cannot generate one), then appends its encrypted copy (or copies) of
	// m's data key to m.EncryptedDataKeys. It binds m.EncryptionContext
	// where its key format allows.
	OnEncrypt(ctx context.Context, m *EncryptionMaterials) error

	// OnDecrypt sets m's data key from the first of edks it can decrypt. If
	// it cannot, it returns a [*NoDecryptKeyError] listing the cause of each
	// attempt (or another error, such as a cancelled ctx, when it had to
	// stop). If m already has a data key it does nothing and returns nil.
	// The byte slices of edks are read-only and valid only during the call.
	OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []EncryptedDataKey) error
}

// MaterialsManager (a cryptographic materials manager, CMM) gives Encrypt
// and Decrypt their materials. [NewDefaultCMM] builds the usual one on a
// [Keyring]; [NewCachingCMM] caches the materials of any MaterialsManager.
// Implementations must be safe for concurrent use.
type MaterialsManager interface {
	// EncryptionMaterials returns materials with the suite, context, a data
	// key and at least one encrypted data key, and a signing key for signed
	// suites. The returned materials belong to the caller.
	EncryptionMaterials(ctx context.Context, req EncryptionMaterialsRequest) (*EncryptionMaterials, error)

	// DecryptionMaterials returns materials with the data key of one of
	// req.EncryptedDataKeys and, for signed suites, the verification key.
	// The returned materials belong to the caller.
	DecryptionMaterials(ctx context.Context, req DecryptionMaterialsRequest) (*DecryptionMaterials, error)
}
