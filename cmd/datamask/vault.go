package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
	"github.com/datamask/datamask/tokenvault/dynamostore"
)

// defaultVault is the vault of --vault's default: a file in the working
// directory.
const defaultVault = "file:datamask-vault.db"

// defaultTenant is the tenant of --tenant's default.
const defaultTenant = "default"

// storeOpener opens the store of a --vault URL; close releases it. keys,
// nil when the command line gives none, are the vault's keys, for the
// stores that sign what they write (dynamodb://). It may print notes (such
// as a new vault being created) to e's standard error.
type storeOpener func(ctx context.Context, e *env, u *url.URL, keys esdk.Keyring) (store tokenvault.Store, close func() error, err error)

// vaultSchemes returns the stores --vault knows, by URL scheme (see
// vault_stores.go for the servers'); there is no registration at init
// time.
func vaultSchemes() map[string]storeOpener {
	return map[string]storeOpener{
		"file":       openFileVault,
		"postgres":   openPostgresVault,
		"postgresql": openPostgresVault,
		"dynamodb":   openDynamoVault,
	}
}

// openFileVault opens file:PATH (relative, file:data/vault.db, or absolute,
// file:/var/lib/vault.db or file:///var/lib/vault.db).
func openFileVault(_ context.Context, e *env, u *url.URL, _ esdk.Keyring) (tokenvault.Store, func() error, error) {
	path := u.Opaque
	if path == "" {
		path = u.Path
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, nil, usageErrorf("--vault %q names a host: a vault file is local", u.String()).
			withHint("write --vault file:PATH, such as file:datamask-vault.db or file:///var/lib/datamask/vault.db")
	}
	if path == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, nil, usageErrorf("--vault %q has no file path (or has a query)", u.String()).
			withHint("write --vault file:PATH, such as file:datamask-vault.db")
	}
	_, statErr := os.Stat(path)
	s, err := boltstore.Open(path)
	if err != nil {
		return nil, nil, failure(err, "check the path, and that no other datamask process has the vault open")
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// A mistyped path must not pass unnoticed.
		warnf(e, "created a new, empty vault file %s", path)
	}
	return s, s.Close, nil
}

// openStore opens the store a --vault value names; keys are the vault's
// keys, or nil.
func openStore(ctx context.Context, e *env, raw string, keys esdk.Keyring) (tokenvault.Store, func() error, error) {
	u, err := parseVaultURL("--vault", raw)
	if err != nil {
		return nil, nil, err
	}
	return vaultSchemes()[strings.ToLower(u.Scheme)](ctx, e, u, keys)
}

const vaultUsage = `usage: datamask vault <command> [flags] [FILE]

Manage a token vault: the store of tokenized values, which 'datamask
tokenize' fills and 'datamask detokenize' reads.

commands:
  delete   delete tokens (one per line of FILE or standard input) of one policy
  forget   delete every token of each value (one per line), in every policy of a tenant
  rewrap   re-encrypt every record under the current keys, keeping every token
  sweep    delete expired tokens
  migrate  create a server vault's table (postgres://, dynamodb://), once
  copy     copy a vault into another keeping every token, or the AWS
           serverless tokenization sample's tokens into a datamask vault

Vault URLs (--vault):
  file:PATH                       a local vault file (the default,
                                  file:datamask-vault.db)
  postgres://USER:PASSWORD@HOST:PORT/DATABASE[?vault-table=NAME]
                                  PostgreSQL (run 'vault migrate' once)
  dynamodb://TABLE                a DynamoDB table (AWS config chain; honours
                                  AWS_ENDPOINT_URL_DYNAMODB; 'vault migrate' once)
  dynamodb://TABLE?layout=aws-sample&kms-key=ARN
                                  the AWS sample's table, read by 'vault copy'

Run 'datamask vault <command> --help' for a command's flags and examples.
`

const vaultFlagsUsage = `Vault (every command):
  --vault URL          the vault: file:PATH for a local vault file, created if
                       missing (default file:datamask-vault.db, in the working
                       directory; one process at a time opens it);
                       postgres://USER:PASSWORD@HOST:PORT/DATABASE (the password
                       may come from PGPASSWORD); dynamodb://TABLE (AWS config
                       chain; its items are signed with KEYS too)
  --policies FILE      a JSON object of policy name to format and options, added
                       to the built-in policies card, ssn, email and opaque:
                       {"customer": {"format": "random", "prefix": "cus_",
                        "convergent": true, "ttl": "8760h"}}
                       formats: random, uuid, preserve, ff1 (see the README)

` + keysUsage

const vaultDeleteUsage = `usage: datamask vault delete --policy NAME [--tenant T] [--vault URL] KEYS [FILE]

Delete the records of the tokens read from FILE or standard input, one per
line, in one tenant and policy: their values are gone from the vault, not
flagged. A token that is not in the vault is counted, not an error.

  --policy NAME        the policy the tokens belong to (required)
  --tenant T           the tenant (default "default")

` + vaultFlagsUsage + `
Exit status: 0 on success, 1 on failure (a line that is not a token of the
policy, a wrong key), 2 on bad usage.

Examples:
  echo tok_3q2-7wEAAAAAAAAAAAAAAA | datamask vault delete --policy opaque --aes-key datamask.key
  datamask vault delete --policy card --tenant acme --vault file:/var/lib/datamask/vault.db \
      --aes-key datamask.key tokens.txt
`

const vaultForgetUsage = `usage: datamask vault forget [--tenant T] [--vault URL] KEYS [FILE]

Delete every record of each value read from FILE or standard input, one
per line, in one tenant and under every policy: the answer to an erasure
request. The records are gone, not flagged. Values are read from a file or
a pipe, never from the command line, so that they stay out of shell
history and process lists. Every record of the tenant is decrypted to find
them (about a second per 100,000 records).

  --tenant T           the tenant (default "default")

` + vaultFlagsUsage + `
Exit status: 0 on success, 1 on failure (a record that no key decrypts:
forgetting may be incomplete), 2 on bad usage.

Examples:
  printf '%s\n' 'ana@example.com' | datamask vault forget --tenant acme --aes-key datamask.key
  datamask vault forget --aes-key datamask.key erasure-requests.txt
`

const vaultRewrapUsage = `usage: datamask vault rewrap [--vault URL] KEYS [OLD KEYS]

Re-encrypt the vault's key and every record under the current KEYS,
keeping every token. To rotate keys, give the new keys as KEYS and the old
ones as OLD KEYS; afterwards the old keys are no longer needed. Without OLD
KEYS every record gets a new data key under the same keys.

Old keys (at most one kind):
  --old-aes-key FILE        the previous local key file
  --old-key-namespace NS    its namespace (default "datamask")
  --old-key-name NAME       its name (default "default")
  --old-kms-key ARN         a previous AWS KMS key (repeatable)

` + vaultFlagsUsage + `
Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask keygen -o new.key
  datamask vault rewrap --aes-key new.key --old-aes-key datamask.key
`

const vaultSweepUsage = `usage: datamask vault sweep [--vault URL] KEYS

Delete every expired token's record. Expired tokens never detokenize;
sweeping frees their space. Run it now and then, from cron or a scheduler.

` + vaultFlagsUsage + `
Exit status: 0 on success, 1 on failure, 2 on bad usage.

Example:
  datamask vault sweep --vault file:/var/lib/datamask/vault.db --aes-key datamask.key
`

// vaultCommands are the subcommands of "datamask vault".
var vaultCommands = []struct {
	name, usage string
	run         func(e *env, v *vaultCmd) error
}{
	{"delete", vaultDeleteUsage, runVaultDelete},
	{"forget", vaultForgetUsage, runVaultForget},
	{"rewrap", vaultRewrapUsage, runVaultRewrap},
	{"sweep", vaultSweepUsage, runVaultSweep},
	{"migrate", vaultMigrateUsage, runVaultMigrate},
	{"copy", vaultCopyUsage, runVaultCopy},
}

func runVault(e *env, args []string) error {
	if len(args) == 0 {
		return &cliError{msg: "vault: no command given", code: 2, usage: vaultUsage}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, vaultUsage)
		return nil
	}
	for _, c := range vaultCommands {
		if c.name == args[0] {
			v, err := parseVaultFlags(e, c.name, c.usage, args[1:])
			if err != nil {
				return err
			}
			return c.run(e, v)
		}
	}
	return usageErrorf("vault: unknown command %q", args[0]).withHint("run 'datamask vault --help' for the list of commands")
}

// vaultCmd is a parsed vault command line.
type vaultCmd struct {
	keys      cryptFlags
	set       map[string]bool
	vault     string
	policies  string
	tenant    string
	policy    string
	input     string
	oldAESKey string
	oldNS     string
	oldName   string
	oldKMS    listFlag
	from, to  string
	usage     string
}

func parseVaultFlags(e *env, name, usage string, args []string) (*vaultCmd, error) {
	fs := newFlagSet("vault " + name)
	v := &vaultCmd{usage: usage}
	fs.Var(&v.keys.kmsKeys, "kms-key", "")
	fs.StringVar(&v.keys.aesKey, "aes-key", "", "")
	fs.StringVar(&v.keys.keyNamespace, "key-namespace", "", "")
	fs.StringVar(&v.keys.keyName, "key-name", "", "")
	if name != "copy" {
		fs.StringVar(&v.vault, "vault", defaultVault, "")
	}
	fs.StringVar(&v.policies, "policies", "", "")
	switch name {
	case "copy":
		fs.StringVar(&v.from, "from", "", "")
		fs.StringVar(&v.to, "to", "", "")
		fs.StringVar(&v.tenant, "tenant", "", "")
		fs.StringVar(&v.policy, "policy", dynamostore.SamplePolicy, "")
	case "delete":
		fs.StringVar(&v.tenant, "tenant", defaultTenant, "")
		fs.StringVar(&v.policy, "policy", "", "")
	case "forget":
		fs.StringVar(&v.tenant, "tenant", defaultTenant, "")
	case "rewrap":
		fs.StringVar(&v.oldAESKey, "old-aes-key", "", "")
		fs.StringVar(&v.oldNS, "old-key-namespace", "", "")
		fs.StringVar(&v.oldName, "old-key-name", "", "")
		fs.Var(&v.oldKMS, "old-kms-key", "")
	}
	pos, err := parseArgs(e, fs, usage, args)
	if err != nil {
		return nil, err
	}
	v.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { v.set[fl.Name] = true })
	switch name {
	case "delete", "forget":
		if v.input, err = inputArg(pos, usage); err != nil {
			return nil, err
		}
	default:
		if len(pos) > 0 {
			ue := usageErrorf("vault %s takes no FILE argument (%d given)", name, len(pos))
			ue.usage = usage
			return nil, ue
		}
	}
	if name == "delete" && v.policy == "" {
		return nil, usageErrorf("vault delete: --policy is required: tokens are unique within a tenant and policy").
			withHint("the built-in policies are card, ssn, email and opaque; --policies FILE adds yours")
	}
	return v, nil
}

// keysGiven reports whether the command line gives keys.
func (v *vaultCmd) keysGiven() bool { return v.set["aes-key"] || len(v.keys.kmsKeys) > 0 }

// open opens the vault of the command line; close releases its store.
func (v *vaultCmd) open(ctx context.Context, e *env) (*tokenvault.Vault, func() error, error) {
	return v.openAt(ctx, e, v.vault)
}

// cliPolicies are the policies every vault of the command line knows:
// the built-in ones and the AWS sample's (UUID tokens, for vault copy).
func cliPolicies() []*tokenvault.Policy {
	return append(tokenvault.BuiltinPolicies(), dynamostore.NewSamplePolicy())
}

// openAt opens the vault at URL raw with the command line's keys and
// policies; close releases its store.
func (v *vaultCmd) openAt(ctx context.Context, e *env, raw string) (*tokenvault.Vault, func() error, error) {
	policies := cliPolicies()
	if v.set["policies"] {
		data, err := os.ReadFile(v.policies)
		if err != nil {
			return nil, nil, usageErrorf("--policies: cannot read the file: %v", err)
		}
		ps, err := tokenvault.ParsePolicies(data)
		if err != nil {
			return nil, nil, usageErrorf("--policies %s: %s", v.policies, strings.TrimPrefix(err.Error(), "tokenvault: policies file: ")).
				withHint("the file is a JSON object of policy name to {\"format\": \"random\"|\"uuid\"|\"preserve\"|\"ff1\", options...}; see the README")
		}
		policies = append(policies, ps...)
	}
	keyring, err := buildKeyring(ctx, &v.keys, v.set)
	if err != nil {
		return nil, nil, err
	}
	provider, err := tokenvault.NewProvider(keyring)
	if err != nil {
		return nil, nil, failure(err)
	}
	var opts []tokenvault.Option
	old, err := v.oldProvider(ctx)
	if err != nil {
		return nil, nil, err
	}
	if old != nil {
		opts = append(opts, tokenvault.WithPreviousProviders(old))
	}
	store, closeStore, err := openStore(ctx, e, raw, keyring)
	if err != nil {
		return nil, nil, err
	}
	vault, err := tokenvault.Open(ctx, store, provider, policies, opts...)
	if err != nil {
		closeStore()
		switch {
		case errors.Is(err, tokenvault.ErrWrongKey), errors.Is(err, esdk.ErrNoDecryptKey):
			return nil, nil, failure(err, v.keyHint())
		case notMigrated(err):
			return nil, nil, failure(err, "create it once with: datamask vault migrate --vault URL")
		}
		return nil, nil, failure(err)
	}
	return vault, closeStore, nil
}

func (v *vaultCmd) keyHint() string {
	if len(v.keys.kmsKeys) > 0 {
		return "give the --kms-key the vault was created with (kms:Decrypt allowed); after a key rotation, rewrap with --old-kms-key"
	}
	return "give the --aes-key (and --key-namespace, --key-name) the vault was created with; after a key rotation, rewrap with --old-aes-key"
}

// oldProvider builds the provider of --old-aes-key or --old-kms-key, or
// nil.
func (v *vaultCmd) oldProvider(ctx context.Context) (datamask.Provider, error) {
	local := v.set["old-aes-key"]
	switch {
	case local && len(v.oldKMS) > 0:
		return nil, usageErrorf("--old-aes-key and --old-kms-key cannot be combined: give the old keys of one kind")
	case !local && (v.set["old-key-namespace"] || v.set["old-key-name"]):
		return nil, usageErrorf("--old-key-namespace and --old-key-name name an old local key: they need --old-aes-key")
	case !local && len(v.oldKMS) == 0:
		return nil, nil
	}
	var k esdk.Keyring
	if local {
		var opts []datamask.LocalKeyOption
		if v.set["old-key-namespace"] {
			opts = append(opts, datamask.WithKeyNamespace(v.oldNS))
		}
		if v.set["old-key-name"] {
			opts = append(opts, datamask.WithKeyName(v.oldName))
		}
		kr, err := datamask.ReadLocalKeyring(v.oldAESKey, opts...)
		if err != nil {
			return nil, usageErrorf("--old-aes-key: %s", strings.TrimPrefix(err.Error(), "datamask: "))
		}
		k = kr
	} else {
		kr, err := kmsKeyring(ctx, v.oldKMS)
		if err != nil {
			return nil, err
		}
		k = kr
	}
	p, err := tokenvault.NewProvider(k)
	if err != nil {
		return nil, failure(err)
	}
	return p, nil
}

// readLines reads the non-empty lines of FILE or standard input, without
// their line ends.
func readLines(e *env, path string) ([]string, error) {
	r, err := openInput(e, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), tokenvault.MaxValueLength+2)
	for sc.Scan() {
		if line := strings.TrimSuffix(sc.Text(), "\r"); line != "" {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, failure(fmt.Errorf("cannot read input: line %d is longer than %d bytes", len(lines)+1, tokenvault.MaxValueLength))
		}
		return nil, failure(fmt.Errorf("cannot read input: %v", err))
	}
	return lines, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

func runVaultDelete(e *env, v *vaultCmd) error {
	ctx, stop := signalContext()
	defer stop()
	tokens, err := readLines(e, v.input)
	if err != nil {
		return err
	}
	vault, closeStore, err := v.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeStore()
	deleted, missing := 0, 0
	for lo := 0; lo < len(tokens); lo += tokenvault.MaxBatch {
		chunk := tokens[lo:min(lo+tokenvault.MaxBatch, len(tokens))]
		errs, err := vault.DeleteBatch(ctx, v.tenant, v.policy, chunk)
		if err != nil {
			return v.deleteError(err, deleted)
		}
		bad := -1
		for i, err := range errs {
			switch {
			case err == nil:
				deleted++
			case errors.Is(err, tokenvault.ErrNotFound):
				missing++
			case bad < 0:
				bad = i
			}
		}
		if bad >= 0 {
			// The other lines of the chunk were processed.
			return failure(fmt.Errorf("line %d: %v", lo+bad+1, errs[bad]),
				fmt.Sprintf("give one token of policy %q per line", v.policy),
				fmt.Sprintf("the valid lines up to line %d were processed: %d tokens deleted, %d not in the vault", lo+len(chunk), deleted, missing))
		}
	}
	fmt.Fprintf(e.stdout, "deleted %d tokens (%d not in the vault)\n", deleted, missing)
	return nil
}

// deleteError explains an error that failed a whole delete call.
func (v *vaultCmd) deleteError(err error, deleted int) error {
	var upe *tokenvault.UnknownPolicyError
	if errors.As(err, &upe) {
		return usageErrorf("--policy %q is not a policy of the vault", v.policy).
			withHint("the built-in policies are card, ssn, email and opaque; --policies FILE adds yours")
	}
	return failure(err, fmt.Sprintf("%d tokens were deleted before it", deleted))
}

func runVaultForget(e *env, v *vaultCmd) error {
	ctx, stop := signalContext()
	defer stop()
	values, err := readLines(e, v.input)
	if err != nil {
		return err
	}
	vault, closeStore, err := v.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeStore()
	total := 0
	for lo := 0; lo < len(values); lo += tokenvault.MaxBatch {
		n, err := vault.Forget(ctx, v.tenant, values[lo:min(lo+tokenvault.MaxBatch, len(values))])
		total += n
		if err != nil {
			hint := fmt.Sprintf("%d records were deleted before it; the others may still hold a value", total)
			if errors.Is(err, tokenvault.ErrWrongKey) {
				return failure(err, hint, v.keyHint())
			}
			return failure(err, hint)
		}
	}
	fmt.Fprintf(e.stdout, "forgot %d values: %d records deleted in tenant %q\n", len(values), total, v.tenant)
	return nil
}

func runVaultRewrap(e *env, v *vaultCmd) error {
	ctx, stop := signalContext()
	defer stop()
	vault, closeStore, err := v.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeStore()
	n, err := vault.Rewrap(ctx)
	if err != nil {
		hint := fmt.Sprintf("%d records were rewrapped before it (that work is kept); run rewrap again once the keys are right", n)
		if errors.Is(err, tokenvault.ErrWrongKey) {
			return failure(err, hint, "give the keys the records were written with as --old-aes-key or --old-kms-key")
		}
		return failure(err, hint)
	}
	fmt.Fprintf(e.stdout, "rewrapped %d records\n", n)
	return nil
}

func runVaultSweep(e *env, v *vaultCmd) error {
	ctx, stop := signalContext()
	defer stop()
	vault, closeStore, err := v.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeStore()
	n, err := vault.Sweep(ctx)
	if err != nil {
		return failure(err, fmt.Sprintf("%d expired tokens were deleted before it", n))
	}
	fmt.Fprintf(e.stdout, "swept %d expired tokens\n", n)
	return nil
}
