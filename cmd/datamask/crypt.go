package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
)

const keysUsage = `Keys (exactly one kind):
  --kms-key ARN        an AWS KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID); repeat for
                       several keys: the first generates each data key, every other one
                       encrypts it again, and any one of them decrypts. Credentials and
                       settings come from the AWS config chain (AWS_PROFILE, AWS_REGION,
                       AWS_ENDPOINT_URL_KMS, ...); permissions: kms:GenerateDataKey and
                       kms:Encrypt to encrypt, kms:Decrypt to decrypt
  --aes-key FILE       a local AES key file (standard base64 of 16, 24 or 32 bytes, as
                       'datamask keygen' writes, mode 0600); no AWS account needed. A
                       file that group or others may read is refused (chmod 600 FILE),
                       as ssh refuses such private keys
  --key-namespace NS   the local key's namespace (default "datamask")
  --key-name NAME      the local key's name (default "default"); namespace and name are
                       written in each value and must be the same to decrypt
`

// cryptKeysUsage is keysUsage with --kms-direct, which only encrypt and
// decrypt take.
const cryptKeysUsage = keysUsage + `  --kms-direct         with one --kms-key: values encrypted with KMS directly, each
                       string the Plaintext of one KMS Encrypt call and stored as the
                       base64 of its CiphertextBlob (AWS's guidance for Lambda, many
                       tables of personal data). Reads what such services wrote; one KMS
                       call per value and at most 4,096 bytes each, so for new data
                       prefer --kms-key alone (envelope encryption). Permissions:
                       kms:Encrypt to encrypt, kms:Decrypt to decrypt
`

const encryptUsage = `usage: datamask encrypt [-f PATH]... KEYS [-c KEY=VALUE]... [--suite 0478|0578]
                        [--bind-fields] [--context-from NAME=PATH]... [--ndjson] [FILE]
       KEYS: --kms-key ARN... [--kms-direct] | --aes-key FILE [--key-namespace NS] [--key-name NAME]

Encrypt the JSON document read from FILE, or from standard input, and write
the result to standard output. Without -f the whole document becomes one
AWS Encryption SDK message, written as a base64 JSON string. With -f each
selected value (string, number, boolean, null, object or array) becomes its
own message, in place; everything else keeps its exact bytes.

  -f PATH           a JSONPath expression: RFC 9535 ('$.customers[*].ssn') or the
                    Powertools dialect ('customers[*].ssn'); repeat for several
  -c KEY=VALUE      an encryption context pair, bound to every message; repeat for
                    several. Decrypt needs exactly the same pairs. Keys starting with
                    "aws-crypto-" are reserved
  --suite 0578      ECDSA P-384 signed, committing (the default, as Powertools)
  --suite 0478      committing, unsigned: 20 to 80 times faster per value, for
                    field-level work where everyone who can encrypt is trusted
` + bindUsage + `  --ndjson          read one JSON document per line and write one per line, in
                    order, using every CPU core

` + cryptKeysUsage + `
Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask keygen -o datamask.key
  datamask encrypt -f '$.ssn' -f '$.card_number' --aes-key datamask.key customer.json
  datamask encrypt -f 'customers[*].ssn' --aes-key datamask.key -c tenant=acme --suite 0478 < batch.json
  datamask encrypt -f '$.ssn' -f '$.role' --bind-fields --context-from id='$.id' --aes-key datamask.key user.json
  datamask encrypt --kms-key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab \
      -f '$..email' --ndjson events.ndjson > encrypted.ndjson
  # values another service encrypted with KMS directly, into envelope encryption:
  datamask decrypt --kms-direct --kms-key "$ARN" -f '$..ssn' rows.json |
      datamask encrypt --kms-key "$ARN" -f '$..ssn' > rows.enc.json
`

const decryptUsage = `usage: datamask decrypt [-f PATH]... KEYS [-c KEY=VALUE]... [--bind-fields]
                        [--context-from NAME=PATH]... [--ndjson] [FILE]
       KEYS: --kms-key ARN... [--kms-direct] | --aes-key FILE [--key-namespace NS] [--key-name NAME]

Decrypt what 'datamask encrypt' (or Powertools for AWS Lambda, or any AWS
Encryption SDK writing JSON text) wrote: without -f the input is one base64
JSON string and the output is the JSON document it holds; with -f each
selected value must be such a string and becomes the original JSON value
again. Give the -f expressions, -c pairs, --bind-fields and --context-from
used to encrypt. The suite is read from each message.

Expressions select in the input as it is. A filter ('$.a[?(@.city == "X")]')
also selects, among its candidates, the encrypted values: those it selected
whole on encrypt are now base64 strings its condition cannot see into, so
the encrypt expressions work for decrypt, filters included. A filter whose
condition tests a field that another -f encrypted sees that field's base64
text: decrypt that field first, in a run of its own. (With --kms-direct,
filters cannot tell encrypted values apart: select the strings without one.)

  -f PATH           a JSONPath expression, as given to encrypt; repeat for several
  -c KEY=VALUE      an encryption context pair; the pairs must be exactly those
                    used to encrypt, or nothing is decrypted (no key is used)
` + bindUsage + `  --ndjson          read one JSON document per line and write one per line, in
                    order, using every CPU core

` + cryptKeysUsage + `
Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask decrypt -f '$.ssn' -f '$.card_number' --aes-key datamask.key encrypted.json
  datamask decrypt -f 'customers[*].ssn' --aes-key datamask.key -c tenant=acme < batch.enc.json
  datamask decrypt --aes-key datamask.key whole.json
  datamask decrypt -f '$.ssn' -f '$.role' --bind-fields --context-from id='$.id' --aes-key datamask.key user.enc.json
  datamask decrypt --kms-direct --kms-key "$ARN" -c LambdaFunctionName=orders -f '$..ssn' rows.json
`

const bindUsage = `  --bind-fields     bind each value to the -f expression that selected it (in its
                    encryption context, as "datamask-field"), so that a value moved
                    to another field does not decrypt; needs -f, and must be given
                    to decrypt too. Costs one data key per expression
  --context-from NAME=PATH
                    bind each value to its record: the context pair NAME = the
                    one string, number or boolean that PATH selects in the document
                    (not encrypted), so that a value copied into another record does
                    not decrypt; needs -f, repeat for several, give the same to
                    decrypt. Costs one data key, so one KMS call, per record
`

// cryptFlags are the flags encrypt and decrypt share.
type cryptFlags struct {
	fields       listFlag
	pairs        listFlag
	kmsKeys      listFlag
	aesKey       string
	keyNamespace string
	keyName      string
	suite        string
	ndjson       bool
	bindFields   bool
	contextFrom  listFlag
	kmsDirect    bool
	// item only: the legacy wrapped provider's key files
	legacyWrapping string
	legacySigning  string
}

func runEncrypt(e *env, args []string) error { return runCrypt(e, "encrypt", encryptUsage, args) }
func runDecrypt(e *env, args []string) error { return runCrypt(e, "decrypt", decryptUsage, args) }

func runCrypt(e *env, op, usage string, args []string) error {
	fs := newFlagSet(op)
	var f cryptFlags
	fs.Var(&f.fields, "f", "")
	fs.Var(&f.pairs, "c", "")
	fs.Var(&f.kmsKeys, "kms-key", "")
	fs.StringVar(&f.aesKey, "aes-key", "", "")
	fs.StringVar(&f.keyNamespace, "key-namespace", "", "")
	fs.StringVar(&f.keyName, "key-name", "", "")
	if op == "encrypt" {
		fs.StringVar(&f.suite, "suite", "0578", "")
	}
	fs.BoolVar(&f.ndjson, "ndjson", false, "")
	fs.BoolVar(&f.bindFields, "bind-fields", false, "")
	fs.Var(&f.contextFrom, "context-from", "")
	fs.BoolVar(&f.kmsDirect, "kms-direct", false, "")
	pos, err := parseArgs(e, fs, usage, args)
	if err != nil {
		return err
	}
	input, err := inputArg(pos, usage)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	ec, err := parseContext(f.pairs)
	if err != nil {
		return err
	}
	binding, err := parseBinding(&f)
	if err != nil {
		return err
	}
	var popts []datamask.ProviderOption
	if op == "encrypt" {
		switch strings.TrimPrefix(strings.ToLower(f.suite), "0x") {
		case "0578":
			popts = append(popts, datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384))
		case "0478":
			popts = append(popts, datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
		default:
			return usageErrorf("--suite %q is not a suite datamask encrypts with", f.suite).
				withHint("use --suite 0578 (signed, the default) or --suite 0478 (unsigned, faster)")
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	provider, err := buildProvider(ctx, &f, set, popts)
	if err != nil {
		return err
	}
	m, err := datamask.New(datamask.WithProvider(provider))
	if err != nil {
		return failure(err)
	}
	var opts []datamask.CallOption
	if len(f.fields) > 0 {
		opts = append(opts, datamask.Fields(f.fields...))
	}
	if ec != nil {
		opts = append(opts, datamask.EncryptionContext(ec))
	}
	opts = append(opts, binding...)
	// Check the expressions and the context once, on an empty object, so
	// that mistakes are usage errors reported before any input or key use.
	if err := dryRun(op, m, opts, ec, len(f.fields) > 0); err != nil {
		return err
	}

	call := m.Encrypt
	if op == "decrypt" {
		call = m.Decrypt
	}
	if f.ndjson {
		r, err := openInput(e, input)
		if err != nil {
			return err
		}
		defer r.Close()
		err = streamNDJSON(r, e.stdout, func(line []byte) ([]byte, error) { return call(ctx, line, opts...) })
		if err != nil {
			var le *lineError
			if errors.As(err, &le) {
				return cryptError(op, err, true, &f)
			}
			var ce *cliError
			if errors.As(err, &ce) {
				return err
			}
			return failure(err)
		}
		return nil
	}
	doc, err := readInput(e, input)
	if err != nil {
		return err
	}
	// The result is written a chunk of values at a time, never whole in
	// memory.
	limitMemory(len(doc), 2.25)
	callTo := m.EncryptTo
	if op == "decrypt" {
		callTo = m.DecryptTo
	}
	out := &docWriter{w: e.stdout}
	if err := callTo(ctx, out, doc, opts...); err != nil {
		if out.err != nil {
			return failure(fmt.Errorf("cannot write output: %v", out.err))
		}
		ce := cryptError(op, err, false, &f)
		if out.n > 0 {
			ce.withHint("the output written before the error is incomplete: discard it")
		}
		return ce
	}
	return out.end()
}

// parseContext turns -c KEY=VALUE pairs into an encryption context, nil
// when none is given.
func parseContext(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	ec := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		switch {
		case !ok:
			return nil, usageErrorf("-c %q is not KEY=VALUE", p).withHint("write -c tenant=acme; repeat -c for several pairs")
		case k == "":
			return nil, usageErrorf("-c %q has an empty key", p).withHint("write -c tenant=acme")
		case strings.HasPrefix(k, "aws-crypto-"):
			return nil, usageErrorf("-c key %q is reserved: keys starting with \"aws-crypto-\" belong to the AWS Encryption SDK", k)
		}
		if _, dup := ec[k]; dup {
			return nil, usageErrorf("-c key %q given twice", k)
		}
		ec[k] = v
	}
	return ec, nil
}

// parseBinding turns --bind-fields and --context-from NAME=PATH into call
// options; both need -f.
func parseBinding(f *cryptFlags) ([]datamask.CallOption, error) {
	var opts []datamask.CallOption
	if f.bindFields {
		opts = append(opts, datamask.BindFields())
	}
	for _, p := range f.contextFrom {
		name, path, ok := strings.Cut(p, "=")
		switch {
		case !ok:
			return nil, usageErrorf("--context-from %q is not NAME=PATH", p).withHint("write --context-from id='$.id'; repeat it for several pairs")
		case name == "":
			return nil, usageErrorf("--context-from %q has an empty name", p).withHint("write --context-from id='$.id'")
		}
		opts = append(opts, datamask.ContextFrom(name, path))
	}
	if len(opts) > 0 && len(f.fields) == 0 {
		return nil, usageErrorf("--bind-fields and --context-from need -f: without it the whole document is one message").
			withHint("give the -f expressions of the values to encrypt")
	}
	return opts, nil
}

// buildProvider builds the provider of the KEYS flags: the AWS Encryption
// SDK over the keyring of --aes-key or --kms-key, or with --kms-direct the
// provider of values KMS encrypted directly.
func buildProvider(ctx context.Context, f *cryptFlags, set map[string]bool, popts []datamask.ProviderOption) (datamask.Provider, error) {
	if f.kmsDirect {
		switch {
		case len(f.kmsKeys) != 1:
			return nil, usageErrorf("--kms-direct needs exactly one --kms-key ARN (%d given)", len(f.kmsKeys)).
				withHint("each value is encrypted by one KMS Encrypt call, under one key")
		case set["aes-key"] || set["key-namespace"] || set["key-name"]:
			return nil, usageErrorf("--kms-direct uses an AWS KMS key: it cannot be combined with --aes-key, --key-namespace or --key-name")
		case set["suite"]:
			return nil, usageErrorf("--suite chooses an AWS Encryption SDK suite: values encrypted with --kms-direct are KMS ciphertexts, which have none")
		}
		return kmsDirectProvider(ctx, f.kmsKeys[0])
	}
	keyring, err := buildKeyring(ctx, f, set)
	if err != nil {
		return nil, err
	}
	p, err := datamask.NewESDKProvider(keyring, popts...)
	if err != nil {
		return nil, failure(err)
	}
	return p, nil
}

// buildKeyring builds the keyring of the KEYS flags.
func buildKeyring(ctx context.Context, f *cryptFlags, set map[string]bool) (esdk.Keyring, error) {
	local := set["aes-key"]
	switch {
	case len(f.kmsKeys) > 0 && local:
		return nil, usageErrorf("--kms-key and --aes-key cannot be combined: choose AWS KMS keys or a local key")
	case len(f.kmsKeys) == 0 && !local:
		return nil, usageErrorf("no key given: use --aes-key FILE or --kms-key ARN").
			withHint("create a local key with 'datamask keygen -o datamask.key', then pass --aes-key datamask.key")
	case !local && (set["key-namespace"] || set["key-name"]):
		return nil, usageErrorf("--key-namespace and --key-name name a local key: they need --aes-key")
	case len(f.kmsKeys) > 0:
		return kmsKeyring(ctx, f.kmsKeys)
	}
	var opts []datamask.LocalKeyOption
	if set["key-namespace"] {
		opts = append(opts, datamask.WithKeyNamespace(f.keyNamespace))
	}
	if set["key-name"] {
		opts = append(opts, datamask.WithKeyName(f.keyName))
	}
	if err := checkKeyFile(f.aesKey); err != nil {
		return nil, err
	}
	k, err := datamask.ReadLocalKeyring(f.aesKey, opts...)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			// Missing or unreadable: a failure, as for the input file.
			return nil, failure(err)
		}
		return nil, usageErrorf("%s", strings.TrimPrefix(err.Error(), "datamask: "))
	}
	return k, nil
}

// checkKeyFile refuses a local key file that group or others may read, as
// ssh refuses such private keys: whoever reads it decrypts everything.
// (Windows has no such mode bits.)
func checkKeyFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		// Missing or unreadable: a failure, as for the input file.
		return failure(fmt.Errorf("cannot read the local key file: %w", err))
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return failure(fmt.Errorf("cannot read the local key file: %w", err))
	}
	if mode := fi.Mode().Perm(); runtime.GOOS != "windows" && fi.Mode().IsRegular() && mode&0o077 != 0 {
		return failure(fmt.Errorf("local key file %q may be read by group or others (mode %04o): refusing to use it", path, mode),
			"whoever can read the key can decrypt everything encrypted under it: run chmod 600 "+shellQuote(path))
	}
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+=:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dryRun runs op on an empty object with the expressions (a probe one
// without -f) allowed to select nothing, through a provider that uses no
// key: bad expressions and contexts become usage errors before any input
// is read or any key is used. The context is also checked by m, whose
// provider knows what it adds to it (a signed suite's public key), with
// an expression that selects nothing, so that no key is used either.
func dryRun(op string, m *datamask.DataMasker, opts []datamask.CallOption, ec map[string]string, fields bool) error {
	probeM, err := datamask.New(datamask.WithProvider(probeProvider{}))
	if err != nil {
		return failure(err)
	}
	probe := append(opts[:len(opts):len(opts)], datamask.AllowMissingFields(nil))
	if !fields {
		probe = append(probe, datamask.Fields("$.probe"))
	}
	call := probeM.Encrypt
	if op == "decrypt" {
		call = probeM.Decrypt
	}
	if op == "encrypt" && ec != nil {
		_, err = m.Encrypt(context.Background(), []byte("{}"), datamask.EncryptionContext(ec),
			datamask.Fields("$.probe"), datamask.AllowMissingFields(nil))
	}
	if err == nil {
		_, err = call(context.Background(), []byte("{}"), probe...)
	}
	var (
		ipe *datamask.InvalidPathError
		cfe *datamask.ContextFromError
	)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, datamask.ErrDecryptValue), errors.As(err, &cfe):
		// An expression selecting the whole document ('$') selects the
		// probe object, which is no message, and --context-from selects
		// nothing in it: that says nothing about the input.
		return nil
	case errors.As(err, &ipe):
		return configError(err)
	}
	return usageErrorf("%s", strings.TrimPrefix(err.Error(), "datamask: "))
}

// probeProvider stands in for the keys in the dry run: it never fails and
// never uses a key (no KMS call).
type probeProvider struct{}

func (probeProvider) Encrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	return []byte{0}, nil
}

func (probeProvider) Decrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	return []byte("null"), nil
}

// cryptError adds hints to an error of Encrypt or Decrypt on the input.
func cryptError(op string, err error, ndjson bool, f *cryptFlags) *cliError {
	var (
		se  *datamask.SyntaxError
		fnf *datamask.FieldNotFoundError
		cme *datamask.ContextMismatchError
		cfe *datamask.ContextFromError
		dke *datamask.DecryptKeyError
		eke *datamask.EncryptKeyError
	)
	keyHint := "check --aes-key (and --key-namespace, --key-name): they must be those used to encrypt"
	if len(f.kmsKeys) > 0 {
		keyHint = "check --kms-key: one of the keys used to encrypt is needed, with kms:Decrypt allowed, in the right account and Region"
	}
	switch {
	case errors.As(err, &se) && isBOM(se):
		return failure(err, bomHint)
	case errors.As(err, &se) && !ndjson:
		return failure(err, "the input must be one JSON document (UTF-8); use --ndjson for one document per line")
	case errors.As(err, &fnf) && op == "decrypt":
		return failure(err,
			"decrypt selects what each -f selects in this input, and a filter also the encrypted values among its candidates: is this what 'datamask encrypt' wrote with it?",
			"a filter whose condition tests a field another -f encrypted sees that field's base64 text: decrypt that field first, in a run of its own")
	case errors.As(err, &fnf):
		return failure(err, "check the expression: it must select at least one value of every document")
	case errors.Is(err, awskms.ErrPlaintextTooLarge):
		return failure(err, "KMS encrypts at most 4,096 bytes per call: encrypt such values with --kms-key alone (envelope encryption), without --kms-direct")
	case errors.Is(err, datamask.ErrUnsupportedType) && f.kmsDirect:
		return failure(err, "--kms-direct encrypts strings, as the services that encrypt with KMS directly do: select string values, or drop --kms-direct for envelope encryption")
	case errors.Is(err, datamask.ErrUnsupportedType) && len(f.fields) > 0:
		return failure(err, "omit -f to "+op+" a scalar document as a whole")
	case errors.As(err, &cfe):
		return failure(err, "--context-from NAME=PATH must select exactly one string, number or boolean of every document, outside the -f values")
	case errors.As(err, &cme):
		return failure(err, mismatchHints(cme.Keys, f)...)
	case errors.As(err, &dke):
		return failure(err, "no configured key could decrypt the value's data key: it was encrypted under other keys, or it was altered since; "+keyHint)
	case errors.As(err, &eke):
		if len(f.kmsKeys) > 0 {
			return failure(err, "check --kms-key, the AWS credentials and Region, and that kms:GenerateDataKey (first key) and kms:Encrypt (other keys) are allowed")
		}
		return failure(err)
	case errors.Is(err, datamask.ErrDecryptValue) && f.kmsDirect:
		return failure(err, "with --kms-direct each selected value must be the base64 of a KMS ciphertext of --kms-key, encrypted with the -c pairs given (KMS reports a wrong context as an altered ciphertext)")
	case errors.Is(err, datamask.ErrDecryptValue) && len(f.fields) == 0:
		return failure(err, "without -f the input must be one base64 JSON string written by 'datamask encrypt'; give -f to decrypt values inside a document")
	case errors.Is(err, datamask.ErrDecryptValue):
		return failure(err, "each -f expression must select a base64 string written by 'datamask encrypt -f' (or Powertools), unchanged since")
	}
	return failure(err)
}

// mismatchHints explains a context mismatch by the keys that differ: the
// binding of --bind-fields, the pairs of --context-from, the -c pairs.
func mismatchHints(keys []string, f *cryptFlags) []string {
	var hints []string
	rest := false
	for _, k := range keys {
		switch {
		case k == datamask.FieldContextKey:
			hints = append(hints, "the value was moved from a place another -f expression selects, or encrypt and decrypt "+
				"differ in --bind-fields or in the -f expressions (give both the same -f and --bind-fields)")
		case slices.ContainsFunc(f.contextFrom, func(p string) bool { return strings.HasPrefix(p, k+"=") }):
			hints = append(hints, "the value was copied from another record, or encrypt and decrypt differ in --context-from "+strconv.Quote(k))
		default:
			rest = true
		}
	}
	if rest || len(hints) == 0 {
		return append(hints, "give exactly the -c pairs used to encrypt, and the same --context-from (the keys named differ); nothing was decrypted")
	}
	hints[len(hints)-1] += "; nothing was decrypted"
	return hints
}

// bomHint is the hint for a document that starts with a byte order mark.
const bomHint = "the input starts with a UTF-8 byte order mark, which JSON text must not have: save it as UTF-8 without BOM, or strip it with sed '1s/^\\xEF\\xBB\\xBF//' FILE"

// isBOM reports whether se is the error of a document starting with a
// byte order mark.
func isBOM(se *datamask.SyntaxError) bool { return strings.Contains(se.Msg, "byte order mark") }
