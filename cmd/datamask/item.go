package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/ddbjson"
)

const itemUsage = `usage: datamask item encrypt --config FILE KEYS [--ndjson] [FILE]
       datamask item decrypt --config FILE KEYS [--ndjson] [FILE]

Encrypt and sign DynamoDB items in the format of the AWS Database Encryption
SDK for DynamoDB, or verify and decrypt them. Items are DynamoDB JSON, as the
AWS CLI prints them: {"pk": {"S": "user#1"}, "n": {"N": "2.50"}}. Items
'item encrypt' writes decrypt in the DB-ESDK (Java, .NET, Rust, Python) given
the same configuration and keys, and the other way round. Decrypt reads
suites 0x6700 and 0x6701, format versions 1 and 2.

  --config FILE     the table's configuration, a JSON object:
                      "table"            the logical table name (bound to every item)
                      "partition_key"    the partition key attribute
                      "sort_key"         the sort key attribute, if the table has one
                      "actions"          attribute name -> ENCRYPT_AND_SIGN | SIGN_ONLY |
                                         SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT | DO_NOTHING;
                                         the keys are SIGN_ONLY, or all three are
                                         SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT
                      "unsigned_prefix"  attributes starting with it are neither
                                         encrypted nor signed (DO_NOTHING)
                      "unsigned_attributes"  more such attribute names (a list)
                      "suite"            "6701" (ECDSA P-384 signed, the default) or
                                         "6700" (no ECDSA signature, much faster)
  --ndjson          read one item per line and write one per line, in order,
                    using every CPU core

` + keysUsage + hierarchyKeysUsage + `
Every attribute of an item to encrypt needs an action or the unsigned prefix.
Keys are signed, never encrypted: errors name the table and the item's key
values, never another value. A changed, added or removed signed attribute
makes decrypt fail.

Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask keygen -o datamask.key
  datamask item encrypt --config users.json --aes-key datamask.key user.json > user.enc.json
  datamask item decrypt --config users.json --aes-key datamask.key user.enc.json
  datamask item encrypt --config users.json --branch-key-store branch-keys --branch-key-id "$ID" \
      --kms-key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --ndjson users.ndjson
  aws dynamodb scan --table-name users --output json | jq -c '.Items[]' |
      datamask item decrypt --config users.json --kms-key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --ndjson
`

// itemConfig is the --config file.
type itemConfig struct {
	Table              string            `json:"table"`
	PartitionKey       string            `json:"partition_key"`
	SortKey            string            `json:"sort_key"`
	Actions            map[string]string `json:"actions"`
	UnsignedPrefix     string            `json:"unsigned_prefix"`
	UnsignedAttributes []string          `json:"unsigned_attributes"`
	Suite              string            `json:"suite"`
}

// maxConfigSize bounds the --config file read.
const maxConfigSize = 1 << 20

// readItemConfig reads and checks the --config file; every problem is a
// usage error.
func readItemConfig(path string) (dbesdk.TableConfig, error) {
	var tc dbesdk.TableConfig
	if path == "" {
		return tc, usageErrorf("--config FILE is required: the table's configuration").
			withHint(`write {"table": "users", "partition_key": "pk", "actions": {"pk": "SIGN_ONLY", "email": "ENCRYPT_AND_SIGN"}}`)
	}
	f, err := os.Open(path)
	if err != nil {
		return tc, usageErrorf("--config: %v", err)
	}
	defer f.Close()
	var raw map[string]json.RawMessage
	d := json.NewDecoder(&limitedReader{r: f, n: maxConfigSize})
	if err := d.Decode(&raw); err != nil {
		return tc, usageErrorf("--config %s: not a JSON object: %v", path, err)
	}
	if _, ok := raw["legacy"]; ok {
		return tc, usageErrorf(`--config %s: "legacy" is not supported by this version: items of the legacy DynamoDB Encryption Client cannot be read or written by the command yet`, path)
	}
	known := []string{"table", "partition_key", "sort_key", "actions", "unsigned_prefix", "unsigned_attributes", "suite"}
	for k := range raw {
		if !slices.Contains(known, k) {
			return tc, usageErrorf("--config %s: unknown key %q", path, k).withHint("the keys are " + strings.Join(known, ", "))
		}
	}
	var c itemConfig
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &c); err != nil {
		return tc, usageErrorf("--config %s: %v", path, err)
	}
	tc = dbesdk.TableConfig{
		LogicalTableName:   c.Table,
		PartitionKey:       c.PartitionKey,
		SortKey:            c.SortKey,
		Actions:            map[string]dbesdk.Action{},
		UnsignedPrefix:     c.UnsignedPrefix,
		UnsignedAttributes: c.UnsignedAttributes,
	}
	for name, a := range c.Actions {
		act, err := dbesdk.ParseAction(a)
		if err != nil {
			return tc, usageErrorf("--config %s: attribute %q: %s", path, name, strings.TrimPrefix(err.Error(), "dbesdk: "))
		}
		tc.Actions[name] = act
	}
	switch strings.TrimPrefix(strings.ToLower(c.Suite), "0x") {
	case "", "6701":
		tc.Suite = esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384
	case "6700":
		tc.Suite = esdk.DBEAES256GCMCommitKeyHMACSHA384
	default:
		return tc, usageErrorf("--config %s: suite %q is not a DB-ESDK suite", path, c.Suite).
			withHint(`use "suite": "6701" (signed, the default) or "6700" (unsigned, faster)`)
	}
	return tc, nil
}

// limitedReader fails once more than n bytes were read.
type limitedReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("the file is larger than 1 MiB")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= n
	return n, err
}

func runItem(e *env, args []string) error {
	if len(args) == 0 {
		ue := usageErrorf("item needs a subcommand: encrypt or decrypt")
		ue.usage = itemUsage
		return ue
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, itemUsage)
		return nil
	case "encrypt", "decrypt":
	default:
		ue := usageErrorf("unknown item subcommand %q: use encrypt or decrypt", args[0])
		ue.usage = itemUsage
		return ue
	}
	op := args[0]
	fs := newFlagSet("item " + op)
	var f cryptFlags
	var configPath string
	fs.StringVar(&configPath, "config", "", "")
	fs.Var(&f.kmsKeys, "kms-key", "")
	fs.StringVar(&f.aesKey, "aes-key", "", "")
	fs.StringVar(&f.keyNamespace, "key-namespace", "", "")
	fs.StringVar(&f.keyName, "key-name", "", "")
	fs.BoolVar(&f.ndjson, "ndjson", false, "")
	var h hierarchyFlags
	h.register(fs)
	pos, err := parseArgs(e, fs, itemUsage, args[1:])
	if err != nil {
		return err
	}
	input, err := inputArg(pos, itemUsage)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	tc, err := readItemConfig(configPath)
	if err != nil {
		return err
	}
	// The configuration rules, checked before any key is read.
	if _, err := dbesdk.New(tc, probeKeyring{}); err != nil {
		return usageErrorf("--config %s: %s", configPath, strings.TrimPrefix(err.Error(), "dbesdk: "))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	keyring, itemOpts, err := itemKeyring(ctx, &f, &h, set)
	if err != nil {
		return err
	}
	enc, err := dbesdk.New(tc, keyring, itemOpts...)
	if err != nil {
		return failure(err)
	}
	call := enc.EncryptItem
	if op == "decrypt" {
		call = enc.DecryptItem
	}
	process := func(doc []byte) ([]byte, error) {
		item, err := ddbjson.Unmarshal(doc)
		if err != nil {
			return nil, unprefixed{err}
		}
		out, err := call(ctx, item)
		if err != nil {
			return nil, unprefixed{err}
		}
		return ddbjson.Marshal(out)
	}
	if f.ndjson {
		r, err := openInput(e, input)
		if err != nil {
			return err
		}
		defer r.Close()
		err = streamNDJSON(r, e.stdout, process)
		if err != nil {
			return itemError(op, err, true, &f)
		}
		return nil
	}
	doc, err := readInput(e, input)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return failure(errors.New("the input is empty: give one item in DynamoDB JSON"))
	}
	out, err := process(doc)
	if err != nil {
		return itemError(op, err, false, &f)
	}
	return writeDoc(e, out)
}

// probeKeyring lets dbesdk.New check a configuration before the real keys
// are read; it is never called.
type probeKeyring struct{}

func (probeKeyring) OnEncrypt(context.Context, *esdk.EncryptionMaterials) error {
	return errors.New("probe keyring")
}

func (probeKeyring) OnDecrypt(context.Context, *esdk.DecryptionMaterials, []esdk.EncryptedDataKey) error {
	return errors.New("probe keyring")
}

// itemError adds hints to an error of item encrypt or decrypt.
func itemError(op string, err error, ndjson bool, f *cryptFlags) error {
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	var je *ddbjson.Error
	var ie *dbesdk.ItemError
	if hint := hierarchyHint(err, nil); hint != "" {
		return failure(err, hint)
	}
	keyHint := "check --aes-key (and --key-namespace, --key-name): they must be those used to encrypt"
	if len(f.kmsKeys) > 0 {
		keyHint = "check --kms-key: one of the keys used to encrypt is needed, with kms:Decrypt allowed, in the right account and Region"
	}
	switch {
	case errors.As(err, &je) && !ndjson:
		return failure(err, `the input must be one item in DynamoDB JSON, such as {"pk": {"S": "user#1"}}; use --ndjson for one item per line`)
	case errors.As(err, &je):
		return failure(err, `each line must be one item in DynamoDB JSON, such as {"pk": {"S": "user#1"}}`)
	case errors.Is(err, dbesdk.ErrInvalidItem):
		return failure(err, "the item was changed after it was encrypted, or --config differs from the one used to encrypt (table, keys, unsigned attributes)")
	case errors.Is(err, esdk.ErrNoDecryptKey):
		return failure(err, "no configured key decrypts the item's data key: "+keyHint+"; --config's table and keys must be those used to encrypt too")
	case errors.Is(err, dbesdk.ErrPlaintextItem):
		return failure(err, "decrypt reads what 'datamask item encrypt' (or the DB-ESDK) wrote")
	case errors.Is(err, dbesdk.ErrLegacyItem):
		return failure(err, "the command cannot read legacy DynamoDB Encryption Client items yet")
	case errors.Is(err, esdk.ErrEncryptKey) && len(f.kmsKeys) > 0:
		return failure(err, "check --kms-key, the AWS credentials and Region, and that kms:GenerateDataKey is allowed on every key")
	case errors.As(err, &ie) && op == "encrypt" && strings.Contains(err.Error(), "has no action"):
		return failure(err, `add the attribute to "actions" in --config, or give it a name starting with "unsigned_prefix"`)
	}
	return failure(err)
}

// unprefixed shows an error of a library package without its package
// prefix ("dbesdk: ", "ddbjson: "), as the command's own diagnostics read.
type unprefixed struct{ err error }

func (u unprefixed) Error() string {
	msg := u.err.Error()
	for _, p := range []string{"dbesdk: ", "ddbjson: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

func (u unprefixed) Unwrap() error { return u.err }
