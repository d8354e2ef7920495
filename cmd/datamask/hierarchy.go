package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/hierarchy"
)

// hierarchyKeysUsage documents the flags of item encrypt and decrypt that
// choose the AWS KMS Hierarchical keyring.
const hierarchyKeysUsage = `Or branch keys (the AWS KMS Hierarchical keyring: one KMS call per process for
any number of items, instead of one per item; see 'datamask branch-key --help'):
  --branch-key-store TABLE   the DynamoDB table holding the branch keys, with
                             --kms-key ARN the KMS key that protects them (one key);
                             permissions: kms:Decrypt on it and dynamodb:GetItem on
                             TABLE (AWS_ENDPOINT_URL_DYNAMODB is honoured)
  --branch-key-id ID         the branch key to encrypt under (and to decrypt with)
  --logical-key-store NAME   the key store's logical name (default: TABLE)
`

const branchKeyUsage = `usage: datamask branch-key create --branch-key-store TABLE --kms-key ARN [--create-table]
                               [--logical-key-store NAME] [--branch-key-id ID -c KEY=VALUE...]
       datamask branch-key version --branch-key-store TABLE --kms-key ARN --branch-key-id ID
                               [--logical-key-store NAME]

Create and rotate branch keys in a branch key store: a DynamoDB table whose
keys AWS KMS generates and protects, in the format of the AWS Cryptographic
Material Providers Library (what the AWS Database Encryption SDK's and the
AWS Encryption SDK's hierarchical keyrings read and write). 'datamask item'
then uses one with --branch-key-store TABLE --branch-key-id ID --kms-key ARN.

create writes a new branch key (its first version and its beacon key) and
prints its id; version adds a new version and makes it active: items
encrypted under older versions keep decrypting.

  --branch-key-store TABLE   the DynamoDB table of the key store
  --kms-key ARN              the AWS KMS key that protects the branch keys (a key ARN)
  --logical-key-store NAME   the logical key store name, bound to every branch key
                             (default: TABLE); every reader must use the same
  --create-table             create TABLE first (on-demand; key "branch-key-id" and
                             "type") if it does not exist
  --branch-key-id ID         create: the id of the new key (default: a random UUID;
                             needs -c); version: the key to rotate
  -c KEY=VALUE               create: a custom encryption context pair bound to every
                             version through AWS KMS (a key policy can require it);
                             repeat for several

Credentials and settings come from the AWS config chain (AWS_PROFILE,
AWS_REGION, AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_DYNAMODB, ...). Permissions:
kms:GenerateDataKeyWithoutPlaintext and kms:ReEncrypt* on the key;
dynamodb:PutItem and dynamodb:ConditionCheckItem on the table (version also
dynamodb:GetItem); --create-table dynamodb:DescribeTable and CreateTable.

Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask branch-key create --branch-key-store branch-keys --create-table \
      --kms-key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
  datamask branch-key version --branch-key-store branch-keys --branch-key-id "$ID" \
      --kms-key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
`

// hierarchyFlags are the item and branch-key flags of the key store.
type hierarchyFlags struct {
	store, id, logical string
}

func (h *hierarchyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.store, "branch-key-store", "", "")
	fs.StringVar(&h.id, "branch-key-id", "", "")
	fs.StringVar(&h.logical, "logical-key-store", "", "")
}

// keyStore builds the key store of the flags, with clients from the AWS
// config chain; kmsKeys are the --kms-key values.
func (h *hierarchyFlags) keyStore(ctx context.Context, kmsKeys []string) (*hierarchy.KeyStore, error) {
	if len(kmsKeys) != 1 {
		return nil, usageErrorf("--branch-key-store needs exactly one --kms-key: the KMS key that protects the branch keys")
	}
	logical := h.logical
	if logical == "" {
		logical = h.store
	}
	cfg := hierarchy.KeyStoreConfig{TableName: h.store, LogicalName: logical, KMSKeyARN: kmsKeys[0]}
	// Checked before the AWS configuration is loaded.
	if _, err := hierarchy.NewKeyStore(cfg, &dynamodb.Client{}, &kms.Client{}); err != nil {
		return nil, usageErrorf("%s", strings.TrimPrefix(err.Error(), "hierarchy: NewKeyStore: "))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, failure(err, "configure AWS credentials (aws configure, AWS_PROFILE or the AWS_ACCESS_KEY_ID variables)")
	}
	ks, err := hierarchy.NewKeyStore(cfg, dynamodb.NewFromConfig(awsCfg), kms.NewFromConfig(awsCfg))
	if err != nil {
		return nil, failure(err)
	}
	return ks, nil
}

// itemKeyring builds the keyring of item encrypt or decrypt: the
// hierarchical keyring when --branch-key-store is given, else that of the
// KEYS flags; and the item encryptor's options for it.
func itemKeyring(ctx context.Context, f *cryptFlags, h *hierarchyFlags, set map[string]bool) (esdk.Keyring, []dbesdk.Option, error) {
	switch {
	case !set["branch-key-store"] && (set["branch-key-id"] || set["logical-key-store"]):
		return nil, nil, usageErrorf("--branch-key-id and --logical-key-store need --branch-key-store TABLE")
	case !set["branch-key-store"]:
		kr, err := buildKeyring(ctx, f, set)
		return kr, nil, err
	case set["aes-key"] || set["key-namespace"] || set["key-name"]:
		return nil, nil, usageErrorf("--branch-key-store cannot be combined with a local key (--aes-key): branch keys are protected by --kms-key")
	case h.id == "":
		return nil, nil, usageErrorf("--branch-key-store needs --branch-key-id ID: the branch key to use").
			withHint("create one with 'datamask branch-key create --branch-key-store " + h.store + " --kms-key ARN'")
	}
	ks, err := h.keyStore(ctx, f.kmsKeys)
	if err != nil {
		return nil, nil, err
	}
	kr, err := hierarchy.NewKeyring(ks, h.id, 5*time.Minute)
	if err != nil {
		return nil, nil, usageErrorf("--branch-key-id: %s", strings.TrimPrefix(err.Error(), "hierarchy: NewKeyring: "))
	}
	// Items of distinct keys never share a data key: the keyring's branch
	// key cache is what saves the KMS calls, and a data key cache in front
	// would only cost time.
	return kr, []dbesdk.Option{dbesdk.WithoutDataKeyCache()}, nil
}

// hierarchyHint returns the hint for an error of the key store, or "".
// h, if not nil, names the table in the hint.
func hierarchyHint(err error, h *hierarchyFlags) string {
	table := "the key store's table"
	if h != nil {
		table = "the table " + h.store
	}
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.Is(err, hierarchy.ErrBranchKeyNotFound):
		return "check --branch-key-id and --branch-key-store; create a branch key with 'datamask branch-key create'"
	case errors.As(err, &notFound):
		return table + " does not exist: create it with 'datamask branch-key create --create-table'"
	case errors.Is(err, hierarchy.ErrInvalidBranchKeyItem):
		return "the branch key's item is not one this key store reads: check --kms-key (the key store's KMS key) and --branch-key-store"
	case errors.Is(err, hierarchy.ErrBranchKeyExists):
		return "choose another --branch-key-id, or leave it out for a random one"
	}
	return ""
}

func runBranchKey(e *env, args []string) error {
	if len(args) == 0 {
		ue := usageErrorf("branch-key needs a subcommand: create or version")
		ue.usage = branchKeyUsage
		return ue
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, branchKeyUsage)
		return nil
	case "create", "version":
	default:
		ue := usageErrorf("unknown branch-key subcommand %q: use create or version", args[0])
		ue.usage = branchKeyUsage
		return ue
	}
	op := args[0]
	fs := newFlagSet("branch-key " + op)
	var h hierarchyFlags
	h.register(fs)
	var kmsKeys, pairs listFlag
	fs.Var(&kmsKeys, "kms-key", "")
	createTable := false
	if op == "create" {
		fs.BoolVar(&createTable, "create-table", false, "")
		fs.Var(&pairs, "c", "")
	}
	pos, err := parseArgs(e, fs, branchKeyUsage, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		ue := usageErrorf("branch-key %s takes no arguments", op)
		ue.usage = branchKeyUsage
		return ue
	}
	if h.store == "" {
		return usageErrorf("--branch-key-store TABLE is required: the DynamoDB table of the key store")
	}
	ec := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageErrorf("-c %q is not KEY=VALUE", p)
		}
		if _, dup := ec[k]; dup {
			return usageErrorf("-c: key %q is given twice", k)
		}
		ec[k] = v
	}
	switch {
	case op == "version" && h.id == "":
		return usageErrorf("branch-key version needs --branch-key-id ID: the branch key to rotate")
	case op == "create" && h.id != "" && len(ec) == 0:
		return usageErrorf("--branch-key-id needs at least one -c KEY=VALUE: a chosen branch key id carries an encryption context, as in the AWS key store").
			withHint("leave --branch-key-id out for a random id")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ks, err := h.keyStore(ctx, kmsKeys)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		if hint := hierarchyHint(err, &h); hint != "" {
			return failure(unprefixedHierarchy{err}, hint)
		}
		return failure(unprefixedHierarchy{err}, "check --kms-key, the AWS credentials and Region, and the permissions 'datamask branch-key --help' lists")
	}
	if op == "version" {
		if err := ks.VersionKey(ctx, h.id); err != nil {
			return fail(err)
		}
		return nil
	}
	if createTable {
		if _, err := ks.CreateTable(ctx); err != nil {
			return fail(err)
		}
	}
	id, err := ks.CreateKey(ctx, h.id, ec)
	if err != nil {
		return fail(err)
	}
	return writeDoc(e, []byte(id))
}

// unprefixedHierarchy shows a key store error without its package prefix.
type unprefixedHierarchy struct{ err error }

func (u unprefixedHierarchy) Error() string { return strings.TrimPrefix(u.err.Error(), "hierarchy: ") }

func (u unprefixedHierarchy) Unwrap() error { return u.err }
