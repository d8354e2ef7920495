package hierarchy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// KMSClient is the part of the AWS KMS API the key store uses, with the
// method signatures of *kms.Client (github.com/aws/aws-sdk-go-v2/service/kms),
// which implements it. Reading branch keys needs only Decrypt (IAM
// kms:Decrypt); CreateKey and VersionKey also call
// GenerateDataKeyWithoutPlaintext and ReEncrypt. Each call is made in the
// Region of the key's ARN.
type KMSClient interface {
	Decrypt(ctx context.Context, params *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
	GenerateDataKeyWithoutPlaintext(ctx context.Context, params *kms.GenerateDataKeyWithoutPlaintextInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error)
	ReEncrypt(ctx context.Context, params *kms.ReEncryptInput, optFns ...func(*kms.Options)) (*kms.ReEncryptOutput, error)
}

// DynamoDBClient is the part of the DynamoDB API the key store uses, with
// the method signatures of *dynamodb.Client
// (github.com/aws/aws-sdk-go-v2/service/dynamodb), which implements it.
// Reading branch keys needs only GetItem (IAM dynamodb:GetItem); CreateKey
// and VersionKey also call TransactWriteItems (dynamodb:PutItem,
// dynamodb:ConditionCheckItem), and CreateTable calls DescribeTable and
// CreateTable.
type DynamoDBClient interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	TransactWriteItems(ctx context.Context, params *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	DescribeTable(ctx context.Context, params *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, params *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

var (
	_ KMSClient      = (*kms.Client)(nil)
	_ DynamoDBClient = (*dynamodb.Client)(nil)
)

// KeyStoreConfig names a branch key store: its DynamoDB table, its logical
// name and the AWS KMS key that protects its branch keys.
type KeyStoreConfig struct {
	// TableName is the DynamoDB table holding the branch keys (partition
	// key "branch-key-id", sort key "type", both strings; see
	// [KeyStore.CreateTable]). Required.
	TableName string
	// LogicalName is the logical key store name, bound to every branch key
	// through its KMS encryption context ("tablename"): every reader and
	// writer of the table must use the same one. It is often the table
	// name; keep it when the table is restored under another name.
	// Required.
	LogicalName string
	// KMSKeyARN is the key ARN of the AWS KMS key that protects the branch
	// keys: CreateKey and VersionKey generate them under it, and reads
	// refuse items that name another key. An alias is refused. Required
	// unless Discovery is set.
	KMSKeyARN string
	// Discovery, instead of KMSKeyARN, makes a read-only key store that
	// decrypts each branch key with the KMS key its item names (the
	// "kms-arn" attribute), so that whoever can write the table chooses
	// which KMS key is called: only use it if you cannot name the key, and
	// restrict the KMS keys the caller's IAM role may use. CreateKey and
	// VersionKey fail.
	Discovery bool
}

// KeyStore is a branch key store in DynamoDB, protected by AWS KMS, in the
// format of the AWS Cryptographic Material Providers Library's key store:
// branch keys it creates are read by the AWS Database Encryption SDK and
// the AWS Encryption SDK's hierarchical keyrings (Java, .NET, Python, Rust,
// Go), and it reads theirs. Build it with [NewKeyStore]; it is safe for
// concurrent use. A [Keyring] reads through it.
type KeyStore struct {
	table, logicalName string
	kmsARN             string // "" with discovery
	kmsKey             keyARN
	discovery          bool
	ddb                DynamoDBClient
	kms                KMSClient
	grantTokens        []string
	now                func() time.Time
}

var _ BranchKeyStore = (*KeyStore)(nil)

// A KeyStoreOption configures [NewKeyStore].
type KeyStoreOption interface {
	applyKeyStore(*KeyStore) error
}

type keyStoreOption func(*KeyStore) error

func (f keyStoreOption) applyKeyStore(k *KeyStore) error { return f(k) }

// WithGrantTokens sends the AWS KMS grant tokens with every KMS call of
// the key store (at most 10).
func WithGrantTokens(tokens ...string) KeyStoreOption {
	return keyStoreOption(func(k *KeyStore) error {
		if k.grantTokens != nil {
			return errors.New("WithGrantTokens given twice")
		}
		if len(tokens) == 0 || len(tokens) > 10 {
			return fmt.Errorf("WithGrantTokens: %d grant tokens, want 1 to 10", len(tokens))
		}
		for i, t := range tokens {
			if t == "" || len(t) > 8192 {
				return fmt.Errorf("WithGrantTokens: grant token %d is empty or longer than 8192 characters", i+1)
			}
		}
		k.grantTokens = slices.Clone(tokens)
		return nil
	})
}

// NewKeyStore returns the branch key store cfg names, reached through ddb
// and kmsClient (a *dynamodb.Client and a *kms.Client, or anything with
// their methods). It checks cfg (a table name DynamoDB accepts, a logical
// name, exactly one of KMSKeyARN and Discovery, a key ARN rather than an
// alias) and calls nothing.
func NewKeyStore(cfg KeyStoreConfig, ddb DynamoDBClient, kmsClient KMSClient, opts ...KeyStoreOption) (*KeyStore, error) {
	const fn = "hierarchy: NewKeyStore: "
	switch {
	case ddb == nil:
		return nil, errors.New(fn + "the DynamoDB client is nil")
	case kmsClient == nil:
		return nil, errors.New(fn + "the KMS client is nil")
	case !validTableName(cfg.TableName):
		return nil, fmt.Errorf(fn+"table name %q is not a DynamoDB table name (3 to 255 letters, digits, '_', '-' and '.')", cfg.TableName)
	case cfg.LogicalName == "" || !utf8.ValidString(cfg.LogicalName):
		return nil, errors.New(fn + "LogicalName is empty or not UTF-8: give the logical key store name every reader and writer of the table uses (often the table name)")
	case cfg.Discovery && cfg.KMSKeyARN != "":
		return nil, errors.New(fn + "KMSKeyARN and Discovery are both set: give one")
	case !cfg.Discovery && cfg.KMSKeyARN == "":
		return nil, fmt.Errorf(fn+"KMSKeyARN is empty: give the key ARN of the KMS key protecting the branch keys, such as %q", exampleKeyARN)
	}
	k := &KeyStore{
		table: cfg.TableName, logicalName: cfg.LogicalName, discovery: cfg.Discovery,
		ddb: ddb, kms: kmsClient, now: time.Now,
	}
	if !cfg.Discovery {
		arn, ok := parseKeyARN(cfg.KMSKeyARN)
		if !ok {
			return nil, fmt.Errorf(fn+"KMSKeyARN %q is not a KMS key ARN such as %q (an alias is not allowed)", cfg.KMSKeyARN, exampleKeyARN)
		}
		k.kmsARN, k.kmsKey = cfg.KMSKeyARN, arn
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New(fn + "nil KeyStoreOption")
		}
		if err := o.applyKeyStore(k); err != nil {
			return nil, errors.New(fn + err.Error())
		}
	}
	return k, nil
}

// validTableName reports whether DynamoDB accepts name as a table name.
func validTableName(name string) bool {
	if len(name) < 3 || len(name) > 255 {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// TableName returns the key store's DynamoDB table name.
func (k *KeyStore) TableName() string { return k.table }

// LogicalName returns the logical key store name.
func (k *KeyStore) LogicalName() string { return k.logicalName }

// KMSKeyARN returns the KMS key ARN of the key store, or "" for a
// discovery key store.
func (k *KeyStore) KMSKeyARN() string { return k.kmsARN }

// kmsOptions sets the Region of a KMS call to that of the key's ARN and
// adds "aws-kms-hierarchy" to the user agent, as the AWS key store does.
func kmsOptions(a keyARN) func(*kms.Options) {
	return func(o *kms.Options) {
		o.Region = a.region
		o.APIOptions = append(o.APIOptions, awsmiddleware.AddUserAgentKey("aws-kms-hierarchy"))
	}
}

// The key schema of a branch key store table.
var (
	keySchema = []types.KeySchemaElement{
		{AttributeName: aws.String(fieldBranchKeyID), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String(fieldType), KeyType: types.KeyTypeRange},
	}
	attributeDefinitions = []types.AttributeDefinition{
		{AttributeName: aws.String(fieldBranchKeyID), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(fieldType), AttributeType: types.ScalarAttributeTypeS},
	}
)

// CreateTable creates the key store's DynamoDB table (on-demand capacity;
// partition key "branch-key-id" and sort key "type", both strings) unless
// it exists, waits until it is active, and returns its ARN. An existing
// table must have that key schema; other settings (indexes, capacity,
// backups) are left to you. It is the AWS key store's CreateKeyStore.
func (k *KeyStore) CreateTable(ctx context.Context) (string, error) {
	const fn = "hierarchy: CreateTable: "
	in := &dynamodb.DescribeTableInput{TableName: aws.String(k.table)}
	out, err := k.ddb.DescribeTable(ctx, in)
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		created, err := k.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(k.table),
			KeySchema:            keySchema,
			AttributeDefinitions: attributeDefinitions,
			BillingMode:          types.BillingModePayPerRequest,
		})
		if err != nil {
			return "", fmt.Errorf(fn+"DynamoDB CreateTable %q: %w", k.table, err)
		}
		if created.TableDescription == nil || created.TableDescription.TableStatus != types.TableStatusActive {
			w := dynamodb.NewTableExistsWaiter(k.ddb)
			out, err = w.WaitForOutput(ctx, in, 5*time.Minute)
			if err != nil {
				return "", fmt.Errorf(fn+"table %q did not become active: %w", k.table, err)
			}
		} else {
			out = &dynamodb.DescribeTableOutput{Table: created.TableDescription}
		}
	case err != nil:
		return "", fmt.Errorf(fn+"DynamoDB DescribeTable %q: %w", k.table, err)
	}
	if out == nil || out.Table == nil || !isKeyStoreTable(out.Table) {
		return "", fmt.Errorf(fn+"table %q exists but is not a branch key store: its key must be %q (partition, string) and %q (sort, string)",
			k.table, fieldBranchKeyID, fieldType)
	}
	return aws.ToString(out.Table.TableArn), nil
}

// isKeyStoreTable reports whether t has the key store's key schema.
func isKeyStoreTable(t *types.TableDescription) bool {
	for _, want := range keySchema {
		if !slices.ContainsFunc(t.KeySchema, func(e types.KeySchemaElement) bool {
			return aws.ToString(e.AttributeName) == aws.ToString(want.AttributeName) && e.KeyType == want.KeyType
		}) {
			return false
		}
	}
	for _, want := range attributeDefinitions {
		if !slices.ContainsFunc(t.AttributeDefinitions, func(d types.AttributeDefinition) bool {
			return aws.ToString(d.AttributeName) == aws.ToString(want.AttributeName) && d.AttributeType == want.AttributeType
		}) {
			return false
		}
	}
	return true
}

// CreateKey creates a branch key: its first version (an ACTIVE item and a
// DECRYPT_ONLY item of that version) and its beacon key, each generated by
// AWS KMS under the key store's KMS key with GenerateDataKeyWithoutPlaintext
// (the ACTIVE copy by ReEncrypt), and writes the three items in one
// DynamoDB transaction that fails if the branch key exists. It returns the
// branch key id: branchKeyID, or if it is empty a new random UUID.
//
// encryptionContext, optional with a generated id and required with one of
// yours (as in the AWS key store, so that a chosen id carries a context),
// is bound to every version of the branch key through AWS KMS, which a
// key policy can then require (kms:EncryptionContext:aws-crypto-ec:KEY); it
// is stored in the table in the clear. A branch key id that exists fails
// with [ErrBranchKeyExists]. A discovery key store cannot create keys.
func (k *KeyStore) CreateKey(ctx context.Context, branchKeyID string, encryptionContext map[string]string) (string, error) {
	const fn = "hierarchy: CreateKey: "
	if k.discovery {
		return "", errors.New(fn + "a discovery key store cannot create branch keys: configure KMSKeyARN")
	}
	if branchKeyID == "" {
		branchKeyID = newUUID()
	} else {
		if !utf8.ValidString(branchKeyID) {
			return "", errors.New(fn + "the branch key id is not UTF-8")
		}
		if len(encryptionContext) == 0 {
			return "", fmt.Errorf(fn+"branch key id %q is given without an encryption context: a chosen branch key id needs one, as in the AWS key store", branchKeyID)
		}
	}
	for name, v := range encryptionContext {
		if !utf8.ValidString(name) || !utf8.ValidString(v) {
			return "", errors.New(fn + "an encryption context key or value is not UTF-8")
		}
		if len(customContextPrefix)+len(name) > 65535 {
			return "", errors.New(fn + "an encryption context key is too long for a DynamoDB attribute name")
		}
	}
	decryptOnly := decryptOnlyContext(branchKeyID, newUUID(), k.now().UTC().Format(timeFormat), k.logicalName, k.kmsARN, encryptionContext)
	active := activeContext(decryptOnly)
	beacon := beaconContext(decryptOnly)

	versionEnc, err := k.generate(ctx, decryptOnly)
	if err != nil {
		return "", fmt.Errorf(fn+"branch key %q: %w", branchKeyID, err)
	}
	activeEnc, err := k.reEncrypt(ctx, versionEnc, decryptOnly, active)
	if err != nil {
		return "", fmt.Errorf(fn+"branch key %q: %w", branchKeyID, err)
	}
	beaconEnc, err := k.generate(ctx, beacon)
	if err != nil {
		return "", fmt.Errorf(fn+"branch key %q: beacon key: %w", branchKeyID, err)
	}
	_, err = k.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		k.put(toItem(decryptOnly, versionEnc), false, nil),
		k.put(toItem(active, activeEnc), false, nil),
		k.put(toItem(beacon, beaconEnc), false, nil),
	}})
	if err != nil {
		if conditionFailed(err) {
			return "", fmt.Errorf(fn+"%w: %q (%w)", inner(ErrBranchKeyExists), branchKeyID, err)
		}
		return "", fmt.Errorf(fn+"branch key %q: DynamoDB TransactWriteItems: %w", branchKeyID, err)
	}
	return branchKeyID, nil
}

// VersionKey rotates branch key branchKeyID: it authenticates the ACTIVE
// item with AWS KMS (ReEncrypt to itself), generates a new version under
// the key store's KMS key, and writes its DECRYPT_ONLY item and the new
// ACTIVE item in one transaction, on condition that the ACTIVE item is
// still the one read ([ErrActiveKeyChanged] otherwise). Items encrypted
// under older versions keep decrypting; new ones use the new version once
// keyrings' cached active branch key expires. The branch key's KMS key and
// custom encryption context stay as they are. A discovery key store cannot
// version keys.
func (k *KeyStore) VersionKey(ctx context.Context, branchKeyID string) error {
	const fn = "hierarchy: VersionKey: "
	if k.discovery {
		return errors.New(fn + "a discovery key store cannot version branch keys: configure KMSKeyARN")
	}
	if branchKeyID == "" {
		return errors.New(fn + "the branch key id is empty")
	}
	item, err := k.getItem(ctx, branchKeyID, typeActive)
	if err != nil {
		return fmt.Errorf(fn+"%w", inner(err))
	}
	p, err := parseItem(item, branchKeyID, "", kindActive, k.logicalName)
	if err != nil {
		return fmt.Errorf(fn+"%w", inner(err))
	}
	if p.context[fieldKMSARN] != k.kmsARN {
		return fmt.Errorf(fn+"%w: the active branch key %q is protected by KMS key %q, not by the key store's %q",
			inner(ErrInvalidBranchKeyItem), branchKeyID, p.context[fieldKMSARN], k.kmsARN)
	}
	if _, err := k.reEncrypt(ctx, p.enc, p.context, p.context); err != nil {
		return fmt.Errorf(fn+"authenticating the active branch key %q: %w", branchKeyID, err)
	}
	decryptOnly := newVersionContext(p.context, newUUID(), k.now().UTC().Format(timeFormat))
	active := activeContext(decryptOnly)
	versionEnc, err := k.generate(ctx, decryptOnly)
	if err != nil {
		return fmt.Errorf(fn+"branch key %q: %w", branchKeyID, err)
	}
	activeEnc, err := k.reEncrypt(ctx, versionEnc, decryptOnly, active)
	if err != nil {
		return fmt.Errorf(fn+"branch key %q: %w", branchKeyID, err)
	}
	_, err = k.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		k.put(toItem(decryptOnly, versionEnc), false, nil),
		k.put(toItem(active, activeEnc), true, p.enc),
	}})
	if err != nil {
		if conditionFailed(err) {
			return fmt.Errorf(fn+"%w: branch key %q (%w)", inner(ErrActiveKeyChanged), branchKeyID, err)
		}
		return fmt.Errorf(fn+"branch key %q: DynamoDB TransactWriteItems: %w", branchKeyID, err)
	}
	return nil
}

// put is one Put of a key store transaction, with the AWS key store's
// condition: the branch key must not exist yet, or (exists) must exist and,
// for VersionKey's ACTIVE item, still hold oldEnc.
func (k *KeyStore) put(item map[string]types.AttributeValue, exists bool, oldEnc []byte) types.TransactWriteItem {
	p := &types.Put{
		TableName:                aws.String(k.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#BranchKeyIdentifierField)"),
		ExpressionAttributeNames: map[string]string{"#BranchKeyIdentifierField": fieldBranchKeyID},
	}
	if exists {
		p.ConditionExpression = aws.String("attribute_exists(#BranchKeyIdentifierField) AND #Enc = :encOld")
		p.ExpressionAttributeNames["#Enc"] = fieldEnc
		p.ExpressionAttributeValues = map[string]types.AttributeValue{":encOld": &types.AttributeValueMemberB{Value: oldEnc}}
	}
	return types.TransactWriteItem{Put: p}
}

// conditionFailed reports whether err is a transaction cancelled by a
// failed condition.
func conditionFailed(err error) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	return slices.ContainsFunc(tc.CancellationReasons, func(r types.CancellationReason) bool {
		return aws.ToString(r.Code) == "ConditionalCheckFailed"
	}) || strings.Contains(tc.ErrorMessage(), "ConditionalCheckFailed")
}

// generate asks AWS KMS for a new 32-byte key under the key store's KMS key
// and context ec, without its plaintext.
func (k *KeyStore) generate(ctx context.Context, ec map[string]string) ([]byte, error) {
	out, err := k.kms.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId:             aws.String(k.kmsARN),
		NumberOfBytes:     aws.Int32(BranchKeyLen),
		EncryptionContext: ec,
		GrantTokens:       k.grantTokens,
	}, kmsOptions(k.kmsKey))
	if err != nil {
		return nil, fmt.Errorf("AWS KMS GenerateDataKeyWithoutPlaintext with key %s: %w", k.kmsARN, err)
	}
	if got := aws.ToString(out.KeyId); got != k.kmsARN {
		return nil, fmt.Errorf("AWS KMS GenerateDataKeyWithoutPlaintext with key %s answered for key %q", k.kmsARN, got)
	}
	if len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > maxCiphertextLen {
		return nil, fmt.Errorf("AWS KMS GenerateDataKeyWithoutPlaintext with key %s returned a %d-byte ciphertext", k.kmsARN, len(out.CiphertextBlob))
	}
	return out.CiphertextBlob, nil
}

// reEncrypt re-encrypts blob from context src to context dst under the key
// store's KMS key (checking that blob is of that key and context).
func (k *KeyStore) reEncrypt(ctx context.Context, blob []byte, src, dst map[string]string) ([]byte, error) {
	out, err := k.kms.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob:               blob,
		SourceKeyId:                  aws.String(k.kmsARN),
		SourceEncryptionContext:      src,
		DestinationKeyId:             aws.String(k.kmsARN),
		DestinationEncryptionContext: dst,
		GrantTokens:                  k.grantTokens,
	}, kmsOptions(k.kmsKey))
	if err != nil {
		return nil, fmt.Errorf("AWS KMS ReEncrypt with key %s: %w", k.kmsARN, err)
	}
	if got := aws.ToString(out.KeyId); got != k.kmsARN {
		return nil, fmt.Errorf("AWS KMS ReEncrypt with key %s answered for key %q", k.kmsARN, got)
	}
	if len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > maxCiphertextLen {
		return nil, fmt.Errorf("AWS KMS ReEncrypt with key %s returned a %d-byte ciphertext", k.kmsARN, len(out.CiphertextBlob))
	}
	return out.CiphertextBlob, nil
}

// getItem reads the item of branch key id with sort key typ.
func (k *KeyStore) getItem(ctx context.Context, id, typ string) (map[string]types.AttributeValue, error) {
	out, err := k.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(k.table),
		Key: map[string]types.AttributeValue{
			fieldBranchKeyID: &types.AttributeValueMemberS{Value: id},
			fieldType:        &types.AttributeValueMemberS{Value: typ},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("branch key %q: DynamoDB GetItem from table %q: %w", id, k.table, err)
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("%w: table %q has no item %q for branch key %q", ErrBranchKeyNotFound, k.table, typ, id)
	}
	return out.Item, nil
}

// unwrap decrypts the key of item p with AWS KMS.
func (k *KeyStore) unwrap(ctx context.Context, id string, kind itemKind, p *parsedItem) ([]byte, error) {
	keyID, arn := k.kmsARN, k.kmsKey
	if k.discovery {
		keyID, arn = p.context[fieldKMSARN], p.kmsARN
	} else if p.context[fieldKMSARN] != k.kmsARN {
		return nil, fmt.Errorf("%w: the %v item of branch key %q is protected by KMS key %q, not by the key store's %q",
			ErrInvalidBranchKeyItem, kind, id, p.context[fieldKMSARN], k.kmsARN)
	}
	out, err := k.kms.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(keyID),
		CiphertextBlob:    p.enc,
		EncryptionContext: p.context,
		GrantTokens:       k.grantTokens,
	}, kmsOptions(arn))
	if err != nil {
		return nil, fmt.Errorf("%v of branch key %q: AWS KMS Decrypt with key %s: %w", kind, id, keyID, err)
	}
	if got := aws.ToString(out.KeyId); got != keyID {
		clear(out.Plaintext)
		return nil, fmt.Errorf("%v of branch key %q: AWS KMS Decrypt with key %s answered for key %q", kind, id, keyID, got)
	}
	if len(out.Plaintext) != BranchKeyLen {
		clear(out.Plaintext)
		return nil, fmt.Errorf("%v of branch key %q: AWS KMS Decrypt with key %s returned a %d-byte key, want %d", kind, id, keyID, len(out.Plaintext), BranchKeyLen)
	}
	return out.Plaintext, nil
}

// GetActiveBranchKey returns the active version of branch key branchKeyID:
// one DynamoDB GetItem and one AWS KMS Decrypt. It fails with
// [ErrBranchKeyNotFound] if there is no such key and with
// [ErrInvalidBranchKeyItem] if its item is not one (see the error).
func (k *KeyStore) GetActiveBranchKey(ctx context.Context, branchKeyID string) (*BranchKeyMaterials, error) {
	const fn = "hierarchy: GetActiveBranchKey: "
	if branchKeyID == "" {
		return nil, errors.New(fn + "the branch key id is empty")
	}
	m, err := k.getBranchKey(ctx, branchKeyID, "", kindActive)
	if err != nil {
		return nil, fmt.Errorf(fn+"%w", inner(err))
	}
	return m, nil
}

// GetBranchKeyVersion returns version (a UUID) of branch key branchKeyID:
// one DynamoDB GetItem and one AWS KMS Decrypt. Errors are those of
// [KeyStore.GetActiveBranchKey].
func (k *KeyStore) GetBranchKeyVersion(ctx context.Context, branchKeyID, version string) (*BranchKeyMaterials, error) {
	const fn = "hierarchy: GetBranchKeyVersion: "
	if branchKeyID == "" {
		return nil, errors.New(fn + "the branch key id is empty")
	}
	if _, ok := parseUUID(version); !ok {
		return nil, fmt.Errorf(fn+"version %q is not a UUID", version)
	}
	m, err := k.getBranchKey(ctx, branchKeyID, version, kindVersion)
	if err != nil {
		return nil, fmt.Errorf(fn+"%w", inner(err))
	}
	return m, nil
}

func (k *KeyStore) getBranchKey(ctx context.Context, id, version string, kind itemKind) (*BranchKeyMaterials, error) {
	typ := typeActive
	if kind == kindVersion {
		typ = typeVersionPrefix + version
	}
	item, err := k.getItem(ctx, id, typ)
	if err != nil {
		return nil, err
	}
	p, err := parseItem(item, id, version, kind, k.logicalName)
	if err != nil {
		return nil, err
	}
	key, err := k.unwrap(ctx, id, kind, p)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return NewBranchKeyMaterials(id, p.version, key, customContext(p.context))
}

// GetBeaconKey returns the beacon key of branch key branchKeyID, from which
// the AWS Database Encryption SDK derives the keys of its beacons: one
// DynamoDB GetItem and one AWS KMS Decrypt. Errors are those of
// [KeyStore.GetActiveBranchKey].
func (k *KeyStore) GetBeaconKey(ctx context.Context, branchKeyID string) (*BeaconKeyMaterials, error) {
	const fn = "hierarchy: GetBeaconKey: "
	if branchKeyID == "" {
		return nil, errors.New(fn + "the branch key id is empty")
	}
	item, err := k.getItem(ctx, branchKeyID, typeBeacon)
	if err != nil {
		return nil, fmt.Errorf(fn+"%w", inner(err))
	}
	p, err := parseItem(item, branchKeyID, "", kindBeacon, k.logicalName)
	if err != nil {
		return nil, fmt.Errorf(fn+"%w", inner(err))
	}
	key, err := k.unwrap(ctx, branchKeyID, kindBeacon, p)
	if err != nil {
		return nil, fmt.Errorf(fn+"%w", inner(err))
	}
	return &BeaconKeyMaterials{BeaconKeyID: branchKeyID, EncryptionContext: customContext(p.context), key: newSecret(key)}, nil
}

// String describes the key store: table, logical name, KMS key and the
// number of grant tokens (never the tokens).
func (k *KeyStore) String() string {
	key := strconv.Quote(k.kmsARN)
	if k.discovery {
		key = "discovery"
	}
	return "hierarchy.KeyStore{Table: " + strconv.Quote(k.table) + ", LogicalName: " + strconv.Quote(k.logicalName) +
		", KMSKey: " + key + ", GrantTokens: " + strconv.Itoa(len(k.grantTokens)) + "}"
}

// GoString is String.
func (k *KeyStore) GoString() string { return k.String() }

// Format prints String for every verb, so no verb prints a grant token.
func (k *KeyStore) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue logs what String shows.
func (k *KeyStore) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("table", k.table),
		slog.String("logical_name", k.logicalName),
		slog.String("kms_key_arn", k.kmsARN),
		slog.Bool("discovery", k.discovery),
		slog.Int("grant_tokens", len(k.grantTokens)),
	)
}
