package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/dynamostore"
	"github.com/datamask/datamask/tokenvault/pgstore"
)

// The vault URLs of the servers' stores:
//
//	postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=...&vault-table=NAME]
//	dynamodb://TABLE
//	dynamodb://TABLE?layout=aws-sample&kms-key=ARN[&signed-table=NAME]
const (
	pgTableParam      = "vault-table"
	dynLayoutParam    = "layout"
	dynLayoutSample   = "aws-sample"
	dynKMSKeyParam    = "kms-key"
	dynSignedParam    = "signed-table"
	vaultURLsHint     = "vault URLs: file:PATH, postgres://USER:PASSWORD@HOST/DATABASE, dynamodb://TABLE (see 'datamask vault --help')"
	sampleReadOnlyMsg = "the AWS sample's table is only read by datamask: copy its tokens into a datamask vault with 'datamask vault copy --from %s --to URL'"
)

// pgURL returns the connection URL of a postgres:// vault URL, without
// the vault's own parameters, and the table of the records.
func pgURL(u *url.URL) (conn string, table string, err error) {
	if u.Host == "" {
		return "", "", usageErrorf("--vault %q has no host", u.Redacted()).
			withHint("write postgres://USER:PASSWORD@HOST:PORT/DATABASE (the password may come from PGPASSWORD or ~/.pgpass)")
	}
	c := *u
	q := c.Query()
	table = q.Get(pgTableParam)
	q.Del(pgTableParam)
	c.RawQuery = q.Encode()
	return c.String(), table, nil
}

func pgOptions(table string) []pgstore.Option {
	if table == "" {
		return nil
	}
	return []pgstore.Option{pgstore.WithTable(table)}
}

// openPostgresVault opens postgres://... (or postgresql://...).
func openPostgresVault(ctx context.Context, _ *env, u *url.URL, _ esdk.Keyring) (tokenvault.Store, func() error, error) {
	conn, table, err := pgURL(u)
	if err != nil {
		return nil, nil, err
	}
	s, err := pgstore.Open(ctx, conn, pgOptions(table)...)
	switch {
	case errors.Is(err, pgstore.ErrNotMigrated):
		return nil, nil, failure(err, "create it once with: datamask vault migrate --vault "+u.Redacted())
	case err != nil:
		return nil, nil, failure(err, "check the URL, that the server is up and that the user may connect (the password may come from PGPASSWORD)")
	}
	return s, s.Close, nil
}

// dynamoURL is a parsed dynamodb:// vault URL.
type dynamoURL struct {
	table       string
	sample      bool
	kmsKey      string // the sample's KMS key
	signedTable string // the name the sample signed into its items
}

func parseDynamoURL(u *url.URL) (*dynamoURL, error) {
	table := u.Host
	if u.Opaque != "" {
		table = u.Opaque
	}
	hint := "write dynamodb://TABLE, or for the AWS sample's table dynamodb://CreditCardTokenizerTable?layout=aws-sample&kms-key=ARN"
	if table == "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.Fragment != "" {
		return nil, usageErrorf("--vault %q does not name a table", u.Redacted()).withHint(hint)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, usageErrorf("--vault %q: %v", u.Redacted(), err).withHint(hint)
	}
	d := &dynamoURL{table: table}
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, usageErrorf("--vault: parameter %q given %d times", k, len(vs)).withHint(hint)
		}
		switch k {
		case dynLayoutParam:
			if vs[0] != dynLayoutSample {
				return nil, usageErrorf("--vault: layout %q is not a layout datamask reads", vs[0]).
					withHint("the only layout is aws-sample (AWS's serverless tokenization sample); leave it out for a datamask vault")
			}
			d.sample = true
		case dynKMSKeyParam:
			d.kmsKey = vs[0]
		case dynSignedParam:
			d.signedTable = vs[0]
		default:
			return nil, usageErrorf("--vault: unknown parameter %q of a dynamodb vault", k).
				withHint("parameters: layout=aws-sample, kms-key=ARN and signed-table=NAME (the sample's)")
		}
	}
	switch {
	case d.sample && d.kmsKey == "":
		return nil, usageErrorf("--vault: the AWS sample's layout needs the sample's KMS key: add &kms-key=ARN").withHint(hint)
	case !d.sample && (d.kmsKey != "" || d.signedTable != ""):
		return nil, usageErrorf("--vault: kms-key and signed-table are the AWS sample's: they need layout=aws-sample").
			withHint("a datamask vault on DynamoDB takes its keys from --aes-key or --kms-key")
	}
	return d, nil
}

// awsConfig loads the AWS config chain, which honours
// AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS.
func awsConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return cfg, failure(err, "configure AWS credentials and Region (aws configure, AWS_PROFILE, AWS_REGION)")
	}
	if cfg.Region == "" {
		return cfg, usageErrorf("no AWS Region configured for DynamoDB").
			withHint("set AWS_REGION (or a region in ~/.aws/config)")
	}
	return cfg, nil
}

// openDynamoVault opens dynamodb://TABLE, whose items keys signs.
func openDynamoVault(ctx context.Context, _ *env, u *url.URL, keys esdk.Keyring) (tokenvault.Store, func() error, error) {
	d, err := parseDynamoURL(u)
	if err != nil {
		return nil, nil, err
	}
	if d.sample {
		return nil, nil, usageErrorf(sampleReadOnlyMsg, u.String())
	}
	if keys == nil {
		return nil, nil, usageErrorf("a DynamoDB vault signs its items: give its keys (--aes-key FILE or --kms-key ARN)")
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := dynamostore.New(dynamodb.NewFromConfig(cfg), d.table, keys)
	if err != nil {
		return nil, nil, usageErrorf("--vault: %s", strings.TrimPrefix(err.Error(), "dynamostore: "))
	}
	return s, func() error { return nil }, nil
}

// openSample opens the AWS sample's table of a dynamodb URL with
// layout=aws-sample.
func openSample(ctx context.Context, u *url.URL) (*dynamostore.Sample, error) {
	d, err := parseDynamoURL(u)
	if err != nil {
		return nil, err
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	var opts []dynamostore.SampleOption
	if d.signedTable != "" {
		opts = append(opts, dynamostore.WithSampleSignedTableName(d.signedTable))
	}
	s, err := dynamostore.OpenSample(dynamodb.NewFromConfig(cfg), d.table, kms.NewFromConfig(cfg), d.kmsKey, opts...)
	if err != nil {
		return nil, usageErrorf("--from %q: %s", u.String(), strings.TrimPrefix(err.Error(), "dynamostore: "))
	}
	return s, nil
}

// parseVaultURL parses a vault URL and checks its kind.
func parseVaultURL(flagName, raw string) (*url.URL, error) {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range vaultSchemes() {
			if !yield(k + ":") {
				return
			}
		}
	})
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return nil, usageErrorf("%s is not a vault URL", flagName).
			withHint("write " + flagName + " file:PATH for a vault file (default " + defaultVault + "); known kinds: " + strings.Join(names, ", "))
	}
	if _, ok := vaultSchemes()[strings.ToLower(u.Scheme)]; !ok {
		return nil, usageErrorf("%s %q: unknown kind of vault %q", flagName, u.Redacted(), u.Scheme+":").
			withHint("known kinds: " + strings.Join(names, ", "))
	}
	return u, nil
}

func isSampleURL(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, "dynamodb") && u.Query().Get(dynLayoutParam) == dynLayoutSample
}

const vaultMigrateUsage = `usage: datamask vault migrate --vault URL

Create what a vault on a server needs, once, before its first use: for
postgres:// the table and its indexes, for dynamodb:// the table (on-demand
capacity) with DynamoDB's TTL on. Running it again changes nothing. A vault
file (file:PATH) needs none: it is created on first use. No key is needed.

  --vault URL          the vault:
                         postgres://USER:PASSWORD@HOST:PORT/DATABASE[?vault-table=NAME]
                           (the password may come from PGPASSWORD or ~/.pgpass)
                         dynamodb://TABLE (AWS config chain: AWS_REGION,
                           credentials; honours AWS_ENDPOINT_URL_DYNAMODB)

Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask vault migrate --vault postgres://vault@db.internal/datamask
  AWS_REGION=eu-west-1 datamask vault migrate --vault dynamodb://datamask-vault
`

func runVaultMigrate(e *env, v *vaultCmd) error {
	ctx, stop := signalContext()
	defer stop()
	u, err := parseVaultURL("--vault", v.vault)
	if err != nil {
		return err
	}
	switch strings.ToLower(u.Scheme) {
	case "postgres", "postgresql":
		conn, table, err := pgURL(u)
		if err != nil {
			return err
		}
		s, err := pgstore.OpenForMigrate(ctx, conn, pgOptions(table)...)
		if err != nil {
			return failure(err)
		}
		defer s.Close()
		if err := s.Migrate(ctx); err != nil {
			return failure(err, "the user needs the right to create tables in the database")
		}
		fmt.Fprintf(e.stdout, "vault table %q is ready in %s\n", s.Table(), u.Redacted())
	case "dynamodb":
		d, err := parseDynamoURL(u)
		if err != nil {
			return err
		}
		if d.sample {
			return usageErrorf("the AWS sample's table is the sample's: datamask does not create or change it").
				withHint("copy its tokens into a datamask vault with 'datamask vault copy --from " + u.String() + " --to URL'")
		}
		cfg, err := awsConfig(ctx)
		if err != nil {
			return err
		}
		if err := dynamostore.Migrate(ctx, dynamodb.NewFromConfig(cfg), d.table); err != nil {
			return failure(err, "the credentials need dynamodb:CreateTable, DescribeTable, DescribeTimeToLive and UpdateTimeToLive")
		}
		fmt.Fprintf(e.stdout, "vault table %q is ready in DynamoDB\n", d.table)
	default:
		s, closeStore, err := openStore(ctx, e, v.vault, nil)
		if err != nil {
			return err
		}
		closeStore()
		_ = s
		fmt.Fprintf(e.stdout, "vault %s is ready (a vault file needs no migration)\n", v.vault)
	}
	return nil
}

const vaultCopyUsage = `usage: datamask vault copy --from URL --to URL [KEYS] [--tenant T] [--policy NAME]

Copy every token of a vault into another, keeping every token.

From a datamask vault (file:, postgres://, dynamodb://), records are copied
as they are, still encrypted, with the vault's own key: the copy is the
same vault, opened with the same keys. No key is needed, except that a
dynamodb:// vault's items are signed: give its KEYS. The destination must
be empty or a copy of the same vault; copying again copies what is new.

From the AWS serverless tokenization sample's table
(dynamodb://TABLE?layout=aws-sample&kms-key=ARN, ARN the sample's KMS key),
each token's card number is decrypted with the sample's key and stored in
the destination vault, encrypted with KEYS, under the same token: tokens
the sample issued detokenize through datamask from then on. Each token's
tenant is its Account_Id unless --tenant says otherwise; its policy is
--policy, a policy of UUID tokens (default aws-sample, which every vault of
this command knows). Copying again is safe, also while the sample runs.

  --from URL           the vault to copy from
  --to URL             the vault to copy into (migrated already, for a server's)
  --tenant T           from the AWS sample: the tenant of every token
                       (default: each token's Account_Id)
  --policy NAME        from the AWS sample: the policy of the tokens
                       (default aws-sample: UUID tokens)
  --policies FILE      more policies, as for every vault command

` + keysUsage + `
Exit status: 0 on success, 1 on failure (some tokens could not be copied:
the others were), 2 on bad usage.

Examples:
  datamask vault copy --from file:datamask-vault.db --to postgres://vault@db/datamask
  datamask vault copy --from 'dynamodb://CreditCardTokenizerTable?layout=aws-sample&kms-key=arn:aws:kms:eu-west-1:111122223333:key/...' \
      --to dynamodb://datamask-vault --kms-key arn:aws:kms:eu-west-1:111122223333:key/...
`

func runVaultCopy(e *env, v *vaultCmd) error {
	ctx, stop := signalContext()
	defer stop()
	if v.from == "" || v.to == "" {
		return usageErrorf("vault copy: --from and --to are required").
			withHint("datamask vault copy --from file:datamask-vault.db --to postgres://USER@HOST/DATABASE")
	}
	from, err := parseVaultURL("--from", v.from)
	if err != nil {
		return err
	}
	to, err := parseVaultURL("--to", v.to)
	if err != nil {
		return err
	}
	if isSampleURL(to) {
		return usageErrorf("--to: the AWS sample's table is only read by datamask: copy into a datamask vault")
	}
	if isSampleURL(from) {
		return copyFromSample(ctx, e, v, from)
	}
	if v.set["tenant"] || v.set["policy"] {
		return usageErrorf("--tenant and --policy apply to copies from the AWS sample only: a datamask vault's records keep theirs")
	}
	if strings.EqualFold(from.Scheme, "file") {
		path := from.Opaque
		if path == "" {
			path = from.Path
		}
		if _, err := os.Stat(path); err != nil {
			return failure(fmt.Errorf("--from: cannot read the vault file: %v", err), "check the path: copy reads an existing vault")
		}
	}
	var keys esdk.Keyring
	if v.keysGiven() {
		if keys, err = buildKeyring(ctx, &v.keys, v.set); err != nil {
			return err
		}
	}
	src, closeSrc, err := openStore(ctx, e, v.from, keys)
	if err != nil {
		return err
	}
	defer closeSrc()
	dst, closeDst, err := openStore(ctx, e, v.to, keys)
	if err != nil {
		return err
	}
	defer closeDst()
	st, err := tokenvault.Copy(ctx, dst, src)
	if err != nil {
		hint := fmt.Sprintf("%d records were copied before it; copying again goes on from there", st.Copied)
		switch {
		case errors.Is(err, tokenvault.ErrOtherVault):
			hint = "copy into an empty vault (a new file, database table or DynamoDB table)"
		case notMigrated(err):
			hint = "create the destination first with: datamask vault migrate --vault URL"
		}
		return failure(err, hint)
	}
	fmt.Fprintf(e.stdout, "copied %d records (%d were there already)\n", st.Copied, st.Present)
	if st.Failed > 0 {
		return failure(fmt.Errorf("%d records could not be copied: %v", st.Failed, st.FirstErr),
			"the others were copied; a token the destination holds for another record is not overwritten")
	}
	return nil
}

// notMigrated reports whether err says a server's vault table is missing.
func notMigrated(err error) bool {
	return errors.Is(err, dynamostore.ErrNotMigrated) || errors.Is(err, pgstore.ErrNotMigrated)
}

func copyFromSample(ctx context.Context, e *env, v *vaultCmd, from *url.URL) error {
	smp, err := openSample(ctx, from)
	if err != nil {
		return err
	}
	vault, closeStore, err := v.openAt(ctx, e, v.to)
	if err != nil {
		return err
	}
	defer closeStore()
	st, err := smp.CopyTo(ctx, vault, v.tenant, v.policy)
	if err != nil {
		var upe *tokenvault.UnknownPolicyError
		if errors.As(err, &upe) {
			return usageErrorf("--policy %q is not a policy of the vault", v.policy).
				withHint("leave --policy out (aws-sample), or define it in --policies as {\"format\": \"uuid\"}")
		}
		return failure(err, fmt.Sprintf("%d tokens were copied before it; copying again goes on from there", st.Copied))
	}
	fmt.Fprintf(e.stdout, "copied %d tokens from the AWS sample's table %q\n", st.Copied, smp.Table())
	var hints []string
	if st.Tampered > 0 {
		hints = append(hints, fmt.Sprintf("%d items of the sample's table do not verify with its key: altered in the table (or written under another key), they are not copied", st.Tampered))
	}
	if st.Failed > 0 {
		switch {
		case errors.Is(st.FirstErr, tokenvault.ErrInvalidToken):
			hints = append(hints, "the sample's tokens are UUIDs: give a --policy of format uuid (or leave --policy out)")
		case errors.Is(st.FirstErr, tokenvault.ErrTokenTaken):
			hints = append(hints, "a token already stands for another value in the destination: it is not overwritten")
		}
	}
	switch {
	case st.Failed > 0:
		return failure(fmt.Errorf("%d tokens could not be copied (and %d items do not verify): %v", st.Failed, st.Tampered, st.FirstErr), hints...)
	case st.Tampered > 0:
		return failure(fmt.Errorf("%d tokens could not be copied: %w", st.Tampered, tokenvault.ErrTampered), hints...)
	}
	return nil
}
