package interop

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	mpl "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygenerated"
	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	esdk "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygenerated"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
)

// Commitment policies of the official Go ESDK, as NewOfficial takes them.
const (
	OfficialRequireEncryptRequireDecrypt = mpltypes.ESDKCommitmentPolicyRequireEncryptRequireDecrypt
	OfficialRequireEncryptAllowDecrypt   = mpltypes.ESDKCommitmentPolicyRequireEncryptAllowDecrypt
)

// Official is the official Go ESDK (v0.4.0) with its material providers
// library, used as a test oracle and as the benchmark baseline. It is safe
// for concurrent use: every call into the SDK holds one process-wide lock,
// because the SDK itself is not (see officialMu).
type Official struct {
	client *esdk.Client
	mpl    *mpl.Client
}

// OfficialKeyring is a keyring of the official material providers library.
type OfficialKeyring = mpltypes.IKeyring

// OfficialCMM is a materials manager of the official material providers
// library.
type OfficialCMM = mpltypes.ICryptographicMaterialsManager

// NewOfficial builds an official ESDK client with the given commitment
// policy (the SDK's default, OfficialRequireEncryptRequireDecrypt, when
// empty).
func NewOfficial(policy mpltypes.ESDKCommitmentPolicy) (o *Official, err error) {
	defer guard("new client", &err)()
	if policy == "" {
		policy = OfficialRequireEncryptRequireDecrypt
	}
	c, err := esdk.NewClient(esdktypes.AwsEncryptionSdkConfig{CommitmentPolicy: &policy})
	if err != nil {
		return nil, fmt.Errorf("interop: official esdk client: %v", err)
	}
	m, err := mpl.NewClient(mpltypes.MaterialProvidersConfig{})
	if err != nil {
		return nil, fmt.Errorf("interop: official material providers client: %v", err)
	}
	return &Official{client: c, mpl: m}, nil
}

// RawAESKeyring builds the official raw AES keyring for a 16-, 24- or
// 32-byte wrapping key.
func (o *Official) RawAESKeyring(ctx context.Context, namespace, name string, key []byte) (k OfficialKeyring, err error) {
	defer guard("raw AES keyring", &err)()
	var alg mpltypes.AesWrappingAlg
	switch len(key) {
	case 16:
		alg = mpltypes.AesWrappingAlgAlgAes128GcmIv12Tag16
	case 24:
		alg = mpltypes.AesWrappingAlgAlgAes192GcmIv12Tag16
	case 32:
		alg = mpltypes.AesWrappingAlgAlgAes256GcmIv12Tag16
	default:
		return nil, fmt.Errorf("interop: raw AES wrapping key must be 16, 24 or 32 bytes, got %d", len(key))
	}
	k, err = o.mpl.CreateRawAesKeyring(ctx, mpltypes.CreateRawAesKeyringInput{
		KeyNamespace: namespace, KeyName: name, WrappingAlg: alg, WrappingKey: key,
	})
	if err != nil {
		return nil, fmt.Errorf("interop: official raw AES keyring: %v", err)
	}
	return k, nil
}

// RawRSAKeyring builds the official raw RSA keyring from PEM keys (SPKI
// public, PKCS #8 private); either may be nil.
func (o *Official) RawRSAKeyring(ctx context.Context, namespace, name string, padding mpltypes.PaddingScheme, publicPEM, privatePEM []byte) (k OfficialKeyring, err error) {
	defer guard("raw RSA keyring", &err)()
	k, err = o.mpl.CreateRawRsaKeyring(ctx, mpltypes.CreateRawRsaKeyringInput{
		KeyNamespace: namespace, KeyName: name, PaddingScheme: padding,
		PublicKey: publicPEM, PrivateKey: privatePEM,
	})
	if err != nil {
		return nil, fmt.Errorf("interop: official raw RSA keyring: %v", err)
	}
	return k, nil
}

// RequiredContextCMM builds the official RequiredEncryptionContext CMM over
// keyring: the pairs under keys are authenticated but not stored in the
// message, and decrypt must be given them again.
func (o *Official) RequiredContextCMM(ctx context.Context, keyring OfficialKeyring, keys []string) (c OfficialCMM, err error) {
	defer guard("required encryption context CMM", &err)()
	// v0.4.0 takes only an underlying CMM here, not a keyring.
	def, err := o.mpl.CreateDefaultCryptographicMaterialsManager(ctx, mpltypes.CreateDefaultCryptographicMaterialsManagerInput{Keyring: keyring})
	if err != nil {
		return nil, fmt.Errorf("interop: official default CMM: %v", err)
	}
	c, err = o.mpl.CreateRequiredEncryptionContextCMM(ctx, mpltypes.CreateRequiredEncryptionContextCMMInput{
		UnderlyingCMM: def, RequiredEncryptionContextKeys: keys,
	})
	if err != nil {
		return nil, fmt.Errorf("interop: official required encryption context CMM: %v", err)
	}
	return c, nil
}

// OfficialEncryptOptions are the official encrypt call's options; zero values
// leave the SDK's defaults (suite 0x0578, frame length 4096, empty context).
type OfficialEncryptOptions struct {
	Suite             uint16
	FrameLength       int64
	EncryptionContext map[string]string
}

// Encrypt encrypts plaintext with the official ESDK under keyring.
func (o *Official) Encrypt(ctx context.Context, keyring OfficialKeyring, plaintext []byte, opts OfficialEncryptOptions) (msg []byte, err error) {
	defer guard("encrypt", &err)()
	in := esdktypes.EncryptInput{Plaintext: plaintext, Keyring: keyring, EncryptionContext: opts.EncryptionContext}
	if opts.Suite != 0 {
		id := OfficialSuiteID(opts.Suite)
		in.AlgorithmSuiteId = &id
	}
	if opts.FrameLength != 0 {
		in.FrameLength = &opts.FrameLength
	}
	out, err := o.client.Encrypt(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("interop: official esdk encrypt: %v", err)
	}
	return out.Ciphertext, nil
}

// OfficialDecrypted is what the official ESDK's decrypt exposes.
type OfficialDecrypted struct {
	Plaintext         []byte
	Suite             uint16
	EncryptionContext map[string]string // includes aws-crypto-public-key for signing suites
}

// Decrypt decrypts message with the official ESDK under keyring. reproduced
// is the encryption context to check (and, for RequiredEncryptionContext
// messages, to supply); it may be nil.
func (o *Official) Decrypt(ctx context.Context, keyring OfficialKeyring, message []byte, reproduced map[string]string) (*OfficialDecrypted, error) {
	return o.decrypt(ctx, esdktypes.DecryptInput{Ciphertext: message, Keyring: keyring, EncryptionContext: reproduced})
}

// DecryptWithCMM is Decrypt through a materials manager instead of a keyring.
func (o *Official) DecryptWithCMM(ctx context.Context, cmm OfficialCMM, message []byte, reproduced map[string]string) (*OfficialDecrypted, error) {
	return o.decrypt(ctx, esdktypes.DecryptInput{Ciphertext: message, MaterialsManager: cmm, EncryptionContext: reproduced})
}

func (o *Official) decrypt(ctx context.Context, in esdktypes.DecryptInput) (d *OfficialDecrypted, err error) {
	defer guard("decrypt", &err)()
	out, err := o.client.Decrypt(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("interop: official esdk decrypt: %v", err)
	}
	suite, err := ParseOfficialSuiteID(out.AlgorithmSuiteId)
	if err != nil {
		return nil, err
	}
	pt := out.Plaintext
	if pt == nil {
		pt = []byte{}
	}
	return &OfficialDecrypted{Plaintext: pt, Suite: suite, EncryptionContext: out.EncryptionContext}, nil
}

// OfficialSuiteID converts a suite ID to the official SDK's enum ("0x0478").
func OfficialSuiteID(suite uint16) mpltypes.ESDKAlgorithmSuiteId {
	return mpltypes.ESDKAlgorithmSuiteId(fmt.Sprintf("0x%04X", suite))
}

// ParseOfficialSuiteID converts the official SDK's suite enum to its ID.
func ParseOfficialSuiteID(id mpltypes.ESDKAlgorithmSuiteId) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(string(id), "0x"), 16, 16)
	if err != nil {
		return 0, fmt.Errorf("interop: official esdk returned suite %q: %v", id, err)
	}
	return uint16(n), nil
}

// officialMu serializes every call into the official SDK. Its Dafny
// runtime writes to shared sequence values (a cached "is a string" flag) on
// every encrypt, so concurrent calls, even through separate clients, are a
// data race that go test -race reports.
var officialMu sync.Mutex

// guard locks officialMu and returns the function that unlocks it and turns
// a panic inside the generated SDK into an error, so a bad message fails one
// subtest rather than the whole test binary. Use as defer guard(op, &err)().
func guard(op string, err *error) func() {
	officialMu.Lock()
	return func() {
		defer officialMu.Unlock()
		if r := recover(); r != nil {
			*err = fmt.Errorf("interop: official esdk %s panicked: %v", op, r)
		}
	}
}
