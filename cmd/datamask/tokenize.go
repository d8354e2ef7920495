package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/dynamostore"
)

const tokenizeUsage = `usage: datamask tokenize -f PATH[=POLICY]... [--policy NAME] [--tenant T] [--vault URL]
                         [--policies FILE] KEYS [--allow-missing] [--ndjson] [FILE]
       KEYS: --kms-key ARN... | --aes-key FILE [--key-namespace NS] [--key-name NAME]

Replace the values that JSONPath expressions select in the JSON document
read from FILE, or from standard input, with tokens of a token vault, and
write the result to standard output. Everything else keeps its exact bytes.
The values live encrypted in the vault; 'datamask detokenize' with the same
-f, --tenant and --vault gives them back.

  -f PATH=POLICY    a JSONPath expression (RFC 9535 '$.customers[*].ssn' or the
                    Powertools dialect 'customers[*].ssn') and the policy of its
                    tokens; repeat for several. The policy is what follows the last
                    '=' when it is a policy name (letters, digits, '_', '-', '.')
  -f PATH           an expression whose policy is --policy
  --policy NAME     the policy of every -f that names none
  --tenant T        the tenant the tokens belong to (default "default"): a token of
                    one tenant does not detokenize in another
  --allow-missing   let expressions select nothing (a warning on standard error)
                    instead of failing
  --ndjson          read one JSON document per line and write one per line, in order

Strings become string tokens; numbers become number tokens, so a policy
whose tokens of numbers are numbers is needed for them (digits with the
first one kept: {"acct": {"format": "preserve", "charset": "digits",
"keep_first": 1}}), otherwise the run fails rather than change the type.
null is kept. Booleans are refused (erase or encrypt them). Selected
objects and arrays are tokenized leaf by leaf. Built-in policies: card
(digits, last 4 kept, Luhn-invalid), ssn (digits, last 4 kept), email
(domain kept) and opaque (tok_ and 128 random bits).

` + vaultFlagsUsage + `
Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask keygen -o datamask.key
  datamask tokenize -f '$.ssn=ssn' -f '$.card_number=card' --aes-key datamask.key customer.json
  datamask tokenize --policy opaque -f 'customers[*].name' -f '$..email' --tenant acme \
      --vault file:/var/lib/datamask/vault.db --aes-key datamask.key < batch.json
  datamask tokenize --ndjson -f '$.account=acct' --policies policies.json \
      --kms-key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab events.ndjson
`

const detokenizeUsage = `usage: datamask detokenize -f PATH[=POLICY]... [--policy NAME] [--tenant T] [--vault URL]
                           [--policies FILE] KEYS [--allow-missing] [--ndjson] [FILE]
       KEYS: --kms-key ARN... | --aes-key FILE [--key-namespace NS] [--key-name NAME]

Give back the values of the tokens that 'datamask tokenize' wrote: each value
an expression selects in the JSON document read from FILE, or from standard
input, must be a token of its policy in the tenant, and becomes the value
it stands for (a string token a string, a number token a number); nulls
are kept. Give the -f expressions and policies, --tenant and --vault used to
tokenize. Write the result to standard output.

  -f PATH=POLICY    a JSONPath expression and the policy of its tokens, as given
                    to tokenize; repeat for several
  -f PATH           an expression whose policy is --policy
  --policy NAME     the policy of every -f that names none
  --tenant T        the tenant the tokens belong to (default "default")
  --allow-missing   let expressions select nothing (a warning on standard error)
                    instead of failing
  --ndjson          read one JSON document per line and write one per line, in order

A filter whose condition tests a tokenized value ('$.a[?(@.ssn == "...")]')
sees its token: filter on values left in clear.

The tokens of AWS's serverless tokenization sample detokenize in place, with
--vault 'dynamodb://TABLE?layout=aws-sample&kms-key=ARN' (the sample's table
and KMS key, read only, no KEYS), --tenant its Account_Id and the policy
aws-sample; 'datamask vault copy' moves them into a datamask vault.

` + vaultFlagsUsage + `
Exit status: 0 on success, 1 on failure (a token not in the vault, expired,
or a wrong key), 2 on bad usage.

Examples:
  datamask detokenize -f '$.ssn=ssn' -f '$.card_number=card' --aes-key datamask.key tokenized.json
  datamask detokenize --policy opaque -f 'customers[*].name' -f '$..email' --tenant acme \
      --vault file:/var/lib/datamask/vault.db --aes-key datamask.key < batch.tok.json
`

// tokenField is one -f: an expression and its policy.
type tokenField struct {
	expr, policy string
}

// splitTokenField splits -f PATH=POLICY. The policy is what follows the
// last '=' when that is a policy name and what precedes it can end an
// expression: in valid JSONPath an '=' only appears inside a filter, which
// ends with ']' or ')', so a name after it can only be a policy. Without
// one, policy is "".
func splitTokenField(s string) tokenField {
	i := strings.LastIndexByte(s, '=')
	if i <= 0 || !isPolicyName(s[i+1:]) || strings.ContainsRune("=!<>", rune(s[i-1])) {
		return tokenField{expr: s}
	}
	return tokenField{expr: s[:i], policy: s[i+1:]}
}

// isPolicyName reports whether s has the characters of a policy name (see
// tokenvault.NewPolicy).
func isPolicyName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func runTokenize(e *env, args []string) error { return runTokenOp(e, "tokenize", tokenizeUsage, args) }
func runDetokenize(e *env, args []string) error {
	return runTokenOp(e, "detokenize", detokenizeUsage, args)
}

func runTokenOp(e *env, op, usage string, args []string) error {
	fs := newFlagSet(op)
	var (
		raw          listFlag
		policy       = fs.String("policy", "", "")
		allowMissing = fs.Bool("allow-missing", false, "")
		ndjson       = fs.Bool("ndjson", false, "")
		v            = &vaultCmd{usage: usage}
	)
	fs.Var(&raw, "f", "")
	fs.StringVar(&v.tenant, "tenant", defaultTenant, "")
	fs.Var(&v.keys.kmsKeys, "kms-key", "")
	fs.StringVar(&v.keys.aesKey, "aes-key", "", "")
	fs.StringVar(&v.keys.keyNamespace, "key-namespace", "", "")
	fs.StringVar(&v.keys.keyName, "key-name", "", "")
	fs.StringVar(&v.vault, "vault", defaultVault, "")
	fs.StringVar(&v.policies, "policies", "", "")
	pos, err := parseArgs(e, fs, usage, args)
	if err != nil {
		return err
	}
	input, err := inputArg(pos, usage)
	if err != nil {
		return err
	}
	v.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { v.set[f.Name] = true })

	fields, err := tokenFields(op, raw, *policy, v.set["policy"])
	if err != nil {
		return err
	}
	if v.tenant == "" {
		return usageErrorf("--tenant is empty: tokens belong to a tenant").withHint(`omit --tenant for the tenant "default"`)
	}
	opts := []datamask.CallOption{datamask.Tenant(v.tenant)}
	for _, f := range fields {
		opts = append(opts, datamask.TokenFields(f.policy, f.expr))
	}
	// Mistakes in the expressions are usage errors, found before any key
	// is read or any vault opened.
	if err := tokenDryRun(op, opts); err != nil {
		return err
	}

	ctx, stop := signalContext()
	defer stop()
	var tv datamask.TokenVault
	if u, err := url.Parse(v.vault); err == nil && isSampleURL(u) {
		// The AWS sample's table detokenizes in place: it is only read.
		sample, err := openSampleForDetokenize(ctx, op, u, fields, v)
		if err != nil {
			return err
		}
		tv = sampleVault{sample}
	} else {
		vault, closeStore, err := v.open(ctx, e)
		if err != nil {
			return err
		}
		defer closeStore()
		if err := checkPolicies(vault, fields); err != nil {
			return err
		}
		tv = vault
	}
	m, err := datamask.New(datamask.WithTokenVault(tv))
	if err != nil {
		return failure(err)
	}
	if *ndjson {
		return tokenNDJSON(ctx, e, op, m, opts, input, *allowMissing, v)
	}
	doc, err := readInput(e, input)
	if err != nil {
		return err
	}
	var missing []string
	if *allowMissing {
		opts = append(opts, datamask.AllowMissingFields(&missing))
	}
	// Written a chunk of values at a time, never whole in memory.
	limitMemory(len(doc), 2.25)
	call := m.TokenizeTo
	if op == "detokenize" {
		call = m.DetokenizeTo
	}
	out := &docWriter{w: e.stdout}
	if err := call(ctx, out, doc, opts...); err != nil {
		if out.err != nil {
			return failure(fmt.Errorf("cannot write output: %v", out.err))
		}
		ce := tokenError(op, err, false, v)
		if out.n > 0 {
			ce.withHint("the output written before the error is incomplete: discard it")
		}
		return ce
	}
	for _, f := range missing {
		warnf(e, "field %q matched nothing in the document", f)
	}
	return out.end()
}

// tokenFields reads the -f flags: each an expression with its policy, or
// the --policy for those that name none.
func tokenFields(op string, raw []string, policy string, policySet bool) ([]tokenField, error) {
	builtin := `the built-in policies are card, ssn, email and opaque; --policies FILE adds yours`
	if len(raw) == 0 {
		return nil, usageErrorf("%s: no -f given: give the values to %s and their policy, such as -f '$.ssn=ssn'", op, op).withHint(builtin)
	}
	if policySet && !isPolicyName(policy) {
		return nil, usageErrorf("--policy %q is not a policy name (1 to 64 letters, digits, '_', '-' and '.')", policy).withHint(builtin)
	}
	var fields []tokenField
	used := false
	for _, r := range raw {
		f := splitTokenField(r)
		switch {
		case f.policy == "" && !policySet:
			return nil, usageErrorf("-f %q names no policy, and no --policy is given", r).
				withHint("write -f 'PATH=POLICY', such as -f '$.ssn=ssn', or give --policy NAME for every -f without one").
				withHint(builtin)
		case f.policy == "":
			f.policy, used = policy, true
		}
		if i := slices.IndexFunc(fields, func(o tokenField) bool { return o.expr == f.expr }); i >= 0 && fields[i].policy != f.policy {
			return nil, usageErrorf("-f %q is given with the policies %q and %q: choose one", f.expr, fields[i].policy, f.policy)
		}
		fields = append(fields, f)
	}
	if policySet && !used {
		return nil, usageErrorf("--policy %q applies to no -f: every -f names its policy", policy).
			withHint("drop --policy, or drop '=POLICY' from the -f it should apply to")
	}
	return fields, nil
}

// checkPolicies makes sure the vault knows the policy of every field.
func checkPolicies(v *tokenvault.Vault, fields []tokenField) error {
	var names []string
	for _, p := range v.Policies() {
		names = append(names, p.Name())
	}
	for _, f := range fields {
		if !slices.Contains(names, f.policy) {
			return usageErrorf("-f %q: %q is not a policy of the vault", f.expr, f.policy).
				withHint("the policies are " + strings.Join(names, ", ") + "; --policies FILE adds yours")
		}
	}
	return nil
}

// tokenDryRun runs op on an empty object with every expression allowed to
// select nothing, through a vault that is never called: invalid
// expressions and options become usage errors before any key is read.
func tokenDryRun(op string, opts []datamask.CallOption) error {
	m, err := datamask.New(datamask.WithTokenVault(probeVault{}))
	if err != nil {
		return failure(err)
	}
	call := m.Tokenize
	if op == "detokenize" {
		call = m.Detokenize
	}
	_, err = call(context.Background(), []byte("{}"), append(opts[:len(opts):len(opts)], datamask.AllowMissingFields(nil))...)
	var ipe *datamask.InvalidPathError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ipe):
		return configError(err)
	case errors.Is(err, datamask.ErrUnsupportedType):
		// '$' selects the probe object, which holds no value: that says
		// nothing about the input.
		return nil
	}
	return usageErrorf("%s", strings.TrimPrefix(err.Error(), "datamask: "))
}

// probeVault stands in for the vault in the dry run, which selects no
// value: it is never called.
type probeVault struct{}

func (probeVault) TokenizeBatch(context.Context, string, string, []string) ([]string, []error, error) {
	return nil, nil, errors.New("probe vault called")
}

func (probeVault) DetokenizeBatch(context.Context, string, string, []string) ([]string, []error, error) {
	return nil, nil, errors.New("probe vault called")
}

// tokenNDJSON tokenizes or detokenizes each line of the input as its own
// document. Lines are processed many at a time, since each waits for the
// vault (a commit of the vault file, fsynced): the embedded store commits
// the lines in flight together.
func tokenNDJSON(ctx context.Context, e *env, op string, m *datamask.DataMasker, opts []datamask.CallOption, input string, allowMissing bool, v *vaultCmd) error {
	r, err := openInput(e, input)
	if err != nil {
		return err
	}
	defer r.Close()
	call := m.Tokenize
	if op == "detokenize" {
		call = m.Detokenize
	}
	var (
		mu      sync.Mutex
		missing = map[string]int{} // expression → documents where it matched nothing
		order   []string
	)
	err = streamNDJSONWorkers(r, e.stdout, ndjsonVaultWorkers, ndjsonVaultLines, func(line []byte) ([]byte, error) {
		if !allowMissing {
			return call(ctx, line, opts...)
		}
		var miss []string
		out, err := call(ctx, line, append(opts[:len(opts):len(opts)], datamask.AllowMissingFields(&miss))...)
		if len(miss) > 0 {
			mu.Lock()
			for _, f := range miss {
				if missing[f] == 0 {
					order = append(order, f)
				}
				missing[f]++
			}
			mu.Unlock()
		}
		return out, err
	})
	for _, f := range order {
		warnf(e, "field %q matched nothing in %d document(s)", f, missing[f])
	}
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return tokenError(op, err, true, v)
		}
		var ce *cliError
		if errors.As(err, &ce) {
			return err
		}
		return failure(err)
	}
	return nil
}

// With --ndjson, tokenize and detokenize keep ndjsonVaultWorkers runs of
// ndjsonVaultLines lines in flight: each line waits for the vault, and the
// embedded store commits the lines in flight together (one fsync).
const (
	ndjsonVaultWorkers = 32
	ndjsonVaultLines   = 8
)

// tokenError adds hints to an error of Tokenize or Detokenize on the input.
func tokenError(op string, err error, ndjson bool, v *vaultCmd) *cliError {
	var (
		se  *datamask.SyntaxError
		fnf *datamask.FieldNotFoundError
		ve  *tokenvault.ValueError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return failure(err, "interrupted: tokens issued before the interruption stay in the vault, unused")
	case errors.As(err, &se) && isBOM(se):
		return failure(err, bomHint)
	case errors.As(err, &se) && !ndjson:
		return failure(err, "the input must be one JSON document (UTF-8); use --ndjson for one document per line")
	case errors.As(err, &fnf):
		return failure(err, "check the expression: it must select at least one value of every document, or use --allow-missing")
	case errors.As(err, &ve):
		return failure(err, "the policy's format cannot serve this value: choose a policy that can (opaque takes any value up to 64 KiB); see the README's table of formats")
	case errors.Is(err, datamask.ErrUnsupportedType) && strings.Contains(err.Error(), "is not a JSON number"):
		return failure(err, `a number keeps its type only with a policy whose tokens of numbers are numbers, such as {"acct": {"format": "preserve", "charset": "digits", "keep_first": 1}} in --policies; or store it as a string`)
	case errors.Is(err, datamask.ErrUnsupportedType) && strings.Contains(err.Error(), "boolean"):
		return failure(err, "erase or encrypt booleans ('datamask erase', 'datamask encrypt'), and select the strings and numbers beside them with -f")
	case errors.Is(err, datamask.ErrUnsupportedType):
		return failure(err, "omit the expressions that select the whole scalar document, or select '$'")
	case errors.Is(err, tokenvault.ErrNotFound):
		return failure(err, "the token is not in this vault for this tenant and policy: check --vault, --tenant and the -f policies (those given to tokenize); deleted, forgotten and swept tokens are gone")
	case errors.Is(err, tokenvault.ErrExpired):
		return failure(err, "the token's time to live has passed: its value is no longer given back")
	case errors.Is(err, tokenvault.ErrInvalidToken):
		return failure(err, "the selected value is not a token of the -f policy: is this what 'datamask tokenize' wrote with the same -f?")
	case errors.Is(err, tokenvault.ErrWrongKey):
		return failure(err, v.keyHint())
	case errors.Is(err, tokenvault.ErrTampered):
		return failure(err, "the vault's record was altered, or the token was moved from another tenant or policy")
	case errors.Is(err, tokenvault.ErrExhausted):
		return failure(err, "the policy's token space is nearly full in this tenant: use a policy with more possible tokens")
	}
	return failure(err)
}

// openSampleForDetokenize opens the table of AWS's serverless tokenization
// sample (--vault dynamodb://TABLE?layout=aws-sample&kms-key=ARN) for
// detokenize: its tokens detokenize in place, in the tenant of their
// Account_Id, under the aws-sample policy. The sample's items are read with
// the KMS key of the URL; nothing is written to its table, so tokenize is
// refused.
func openSampleForDetokenize(ctx context.Context, op string, u *url.URL, fields []tokenField, v *vaultCmd) (*dynamostore.Sample, error) {
	switch {
	case op != "detokenize":
		return nil, usageErrorf(sampleReadOnlyMsg, u.String())
	case !v.set["tenant"]:
		return nil, usageErrorf("--tenant is needed with the AWS sample's table: its tokens belong to the account that tokenized them").
			withHint("give --tenant ACCOUNT_ID, the Account_Id of the tokens")
	case v.set["aes-key"] || v.set["kms-key"] || v.set["key-namespace"] || v.set["key-name"] || v.set["policies"]:
		return nil, usageErrorf("the AWS sample's table is read with the KMS key of its URL (kms-key=ARN): leave out --aes-key, --kms-key, --key-namespace, --key-name and --policies")
	}
	for _, f := range fields {
		if f.policy != dynamostore.SamplePolicy {
			return nil, usageErrorf("-f %q: the AWS sample's tokens detokenize under the policy %q, not %q", f.expr, dynamostore.SamplePolicy, f.policy).
				withHint("write -f 'PATH=" + dynamostore.SamplePolicy + "'")
		}
	}
	return openSample(ctx, u)
}

// sampleVault is the datamask.TokenVault of the AWS sample's table: it
// detokenizes, and refuses to tokenize (the table is only read).
type sampleVault struct{ s *dynamostore.Sample }

func (sv sampleVault) TokenizeBatch(context.Context, string, string, []string) ([]string, []error, error) {
	return nil, nil, errors.New("the AWS sample's table is only read by datamask")
}

func (sv sampleVault) DetokenizeBatch(ctx context.Context, tenant, policy string, tokens []string) ([]string, []error, error) {
	if policy != dynamostore.SamplePolicy {
		return nil, nil, &tokenvault.UnknownPolicyError{Name: policy}
	}
	return sv.s.DetokenizeBatch(ctx, tenant, tokens)
}
