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
	"strings"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/ddbjson"
)

const itemUsage = `usage: datamask item encrypt --config FILE KEYS [LEGACY KEYS] [--ndjson] [FILE]
       datamask item decrypt --config FILE KEYS [LEGACY KEYS] [--ndjson] [FILE]

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
                      "legacy"           {"mode": "read" | "write"}: legacy DDBEC items (below)
  --ndjson          read one item per line and write one per line, in order,
                    using every CPU core

` + keysUsage + hierarchyKeysUsage + `
` + itemLegacyUsage + `
Every attribute of an item to encrypt needs an action or the unsigned prefix.
Keys are signed, never encrypted: errors name the table and the item's key
values, never another value. A changed, added or removed signed attribute
makes decrypt fail.

Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask keygen -o datamask.key
  datamask item encrypt --config users.json --aes-key datamask.key user.json > user.enc.json
  datamask item decrypt --config users.json --aes-key datamask.key user.enc.json
  datamask item decrypt --config users-legacy.json --aes-key datamask.key \
      --legacy-wrapping-key ddbec-wrap.key --legacy-signing-key ddbec-sign.key old-user.json
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
func readItemConfig(path string) (dbesdk.TableConfig, *legacySpec, error) {
	var tc dbesdk.TableConfig
	if path == "" {
		return tc, nil, usageErrorf("--config FILE is required: the table's configuration").
			withHint(`write {"table": "users", "partition_key": "pk", "actions": {"pk": "SIGN_ONLY", "email": "ENCRYPT_AND_SIGN"}}`)
	}
	f, err := os.Open(path)
	if err != nil {
		return tc, nil, usageErrorf("--config: %v", err)
	}
	defer f.Close()
	var raw map[string]json.RawMessage
	d := json.NewDecoder(&limitedReader{r: f, n: maxConfigSize})
	if err := d.Decode(&raw); err != nil {
		return tc, nil, usageErrorf("--config %s: not a JSON object: %v", path, err)
	}
	for k := range raw {
		if !isItemConfigKey(k) {
			return tc, nil, usageErrorf("--config %s: unknown key %q", path, k).withHint("the keys are " + strings.Join(knownItemConfigKeys, ", "))
		}
	}
	var c itemConfig
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &c); err != nil {
		return tc, nil, usageErrorf("--config %s: %v", path, err)
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
			return tc, nil, usageErrorf("--config %s: attribute %q: %s", path, name, strings.TrimPrefix(err.Error(), "dbesdk: "))
		}
		tc.Actions[name] = act
	}
	switch strings.TrimPrefix(strings.ToLower(c.Suite), "0x") {
	case "", "6701":
		tc.Suite = esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384
	case "6700":
		tc.Suite = esdk.DBEAES256GCMCommitKeyHMACSHA384
	default:
		return tc, nil, usageErrorf("--config %s: suite %q is not a DB-ESDK suite", path, c.Suite).
			withHint(`use "suite": "6701" (signed, the default) or "6700" (unsigned, faster)`)
	}
	if raw["legacy"] == nil {
		return tc, nil, nil
	}
	if tc.UnsignedPrefix != "" {
		return tc, nil, usageErrorf(`--config %s: "unsigned_prefix" cannot be used with "legacy": legacy items have no unsigned prefix`, path).
			withHint(`list those attributes in "unsigned_attributes" (DO_NOTHING in legacy items too)`)
	}
	spec, err := readLegacyConfig(path, raw["legacy"], tc)
	return tc, spec, err
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
	fs.StringVar(&f.legacyWrapping, "legacy-wrapping-key", "", "")
	fs.StringVar(&f.legacySigning, "legacy-signing-key", "", "")
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
	tc, legacySpec, err := readItemConfig(configPath)
	if err != nil {
		return err
	}
	if legacySpec == nil && (set["legacy-wrapping-key"] || set["legacy-signing-key"]) {
		return usageErrorf(`--legacy-wrapping-key and --legacy-signing-key are keys of legacy items: they need "legacy" in --config`)
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
	if legacySpec != nil {
		lenc, err := legacyEncryptor(ctx, legacySpec, &f, set)
		if err != nil {
			return err
		}
		tc.Legacy = &dbesdk.LegacyOverride{Policy: legacySpec.policy, Encryptor: lenc}
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
		return failure(err, `add "legacy": {"mode": "read"} to --config, with the legacy items' keys (see 'datamask item --help')`)
	case errors.Is(err, legacy.ErrDecrypt):
		return failure(err, "the legacy item was changed, or its keys (--kms-key, or --legacy-wrapping-key and --legacy-signing-key), table, key names or attribute actions differ from those it was written with")
	case errors.Is(err, legacy.ErrKMS):
		return failure(err, "check --kms-key, the AWS credentials and Region, and that kms:Decrypt (to read) or kms:GenerateDataKey (to write) is allowed")
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
	for _, p := range []string{"dbesdk: ", "ddbjson: ", "legacy: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

func (u unprefixed) Unwrap() error { return u.err }
