package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/tokenvault"
)

// The attributes of the AWS serverless tokenization sample's items.
const (
	sampleToken   = "Hash_Key"        // the token, a UUID (partition key)
	sampleAccount = "Account_Id"      // the AWS account (sort key, DO_NOTHING)
	sampleValue   = "CandidateString" // the card number, ENCRYPT_AND_SIGN
)

// SamplePolicy is the name of the policy that tokens of the AWS sample
// are copied under by default (see [Sample.CopyTo]); the CLI's vaults know
// it. Its tokens are UUIDs (tokenvault.FormatUUID), as the sample's are.
const SamplePolicy = "aws-sample"

// NewSamplePolicy returns the policy [SamplePolicy]: random UUID tokens,
// as the sample issues, not convergent.
func NewSamplePolicy() *tokenvault.Policy {
	p, err := tokenvault.NewPolicy(SamplePolicy, tokenvault.PolicySpec{Format: tokenvault.FormatUUID})
	if err != nil {
		panic(err) // a valid spec
	}
	return p
}

// Sample reads the token vault of AWS's serverless tokenization sample
// (aws-samples/aws-serverless-tokenization): a DynamoDB table, by default
// CreditCardTokenizerTable, keyed by Hash_Key (the token, a UUID) and
// Account_Id (the account that tokenized), whose CandidateString (the
// card number) the DynamoDB Encryption Client encrypted and signed with
// its Direct KMS provider (package dbesdk/legacy). It detokenizes the
// sample's tokens, and copies them into a datamask vault keeping every
// token. It never writes the sample's table. Build it with [OpenSample];
// it is safe for concurrent use.
type Sample struct {
	client  Client
	table   string
	enc     *legacy.Encryptor
	workers int
}

// A SampleOption configures [OpenSample].
type SampleOption interface {
	applySample(*sampleConfig) error
}

type sampleConfig struct {
	signed    string
	signedSet bool
}

type sampleOption func(*sampleConfig) error

func (f sampleOption) applySample(c *sampleConfig) error { return f(c) }

// WithSampleSignedTableName sets the table name the sample signed into its
// items (default legacy.TokenizationSampleTable, CreditCardTokenizerTable,
// the sample's): set it when the table was created under another name
// from the start, not when it was restored or copied under one.
func WithSampleSignedTableName(name string) SampleOption {
	return sampleOption(func(c *sampleConfig) error {
		if c.signedSet {
			return errors.New("dynamostore: WithSampleSignedTableName given twice")
		}
		if name == "" {
			return errors.New("dynamostore: WithSampleSignedTableName: empty name")
		}
		c.signed, c.signedSet = name, true
		return nil
	})
}

// OpenSample returns a reader of the sample's vault in table, through
// client, decrypting with the sample's KMS key keyARN through kmsClient
// (its Region is the key's). It does not reach the network.
func OpenSample(client Client, table string, kmsClient legacy.KMSClient, keyARN string, opts ...SampleOption) (*Sample, error) {
	if client == nil || kmsClient == nil {
		return nil, errors.New("dynamostore: OpenSample: nil client")
	}
	if !tableNameRE(table) {
		return nil, fmt.Errorf("dynamostore: %q is not a DynamoDB table name (3 to 255 letters, digits, _, - and .)", table)
	}
	cfg := sampleConfig{signed: legacy.TokenizationSampleTable}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("dynamostore: OpenSample: nil SampleOption")
		}
		if err := o.applySample(&cfg); err != nil {
			return nil, err
		}
	}
	p, err := legacy.NewDirectKMSProvider(kmsClient, keyARN)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: the sample's KMS key: %w", err)
	}
	// The tokens are the items' keys: keep them out of errors.
	enc, err := legacy.New(legacy.TokenizationSampleConfig(cfg.signed), p, legacy.WithKeyValuesRedacted())
	if err != nil {
		return nil, fmt.Errorf("dynamostore: %w", err)
	}
	return &Sample{client: client, table: table, enc: enc, workers: 16}, nil
}

// String names the table.
func (s *Sample) String() string { return "dynamostore.Sample(" + strconv.Quote(s.table) + ")" }

// Table returns the sample's table.
func (s *Sample) Table() string { return s.table }

// Detokenize returns the card number of the sample's token issued for
// account. It fails with tokenvault.ErrNotFound, tokenvault.ErrTampered
// (the item does not verify or decrypt: altered, moved to another token
// or account, or its data key swapped), or the error of DynamoDB or KMS.
func (s *Sample) Detokenize(ctx context.Context, account, token string) (string, error) {
	values, errs, err := s.DetokenizeBatch(ctx, account, []string{token})
	if err != nil {
		return "", err
	}
	return values[0], errs[0]
}

// DetokenizeBatch detokenizes up to tokenvault.MaxBatch tokens of one
// account with BatchGetItem: errs[i] is as for [Sample.Detokenize]; err
// fails the whole call.
func (s *Sample) DetokenizeBatch(ctx context.Context, account string, tokens []string) (values []string, errs []error, err error) {
	if len(tokens) > tokenvault.MaxBatch {
		return nil, nil, tokenvault.ErrTooMany
	}
	if account == "" {
		return nil, nil, errors.New("dynamostore: the sample's account id is empty")
	}
	values, errs = make([]string, len(tokens)), make([]error, len(tokens))
	seen := map[string]bool{}
	var keys []map[string]types.AttributeValue
	for i, tok := range tokens {
		if tok == "" {
			errs[i] = tokenvault.ErrInvalidToken
			continue
		}
		if !seen[tok] {
			seen[tok] = true
			keys = append(keys, map[string]types.AttributeValue{
				sampleToken:   &types.AttributeValueMemberS{Value: tok},
				sampleAccount: &types.AttributeValueMemberS{Value: account},
			})
		}
	}
	found := map[string]map[string]types.AttributeValue{}
	var mu sync.Mutex
	err = inParallel(ctx, s.workers, (len(keys)+99)/100, func(ctx context.Context, c int) error {
		pending := keys[c*100 : min((c+1)*100, len(keys))]
		for attempt := 1; len(pending) > 0; attempt++ {
			if attempt > 1 {
				if attempt > maxAttempts {
					return fmt.Errorf("dynamostore: %d keys still unprocessed after %d BatchGetItem attempts", len(pending), maxAttempts)
				}
				if err := backoff(ctx, attempt-1); err != nil {
					return err
				}
			}
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				s.table: {Keys: pending, ConsistentRead: aws.Bool(true)},
			}})
			if err != nil {
				return err
			}
			mu.Lock()
			for _, it := range out.Responses[s.table] {
				if t, ok := it[sampleToken].(*types.AttributeValueMemberS); ok {
					found[t.Value] = it
				}
			}
			mu.Unlock()
			pending = out.UnprocessedKeys[s.table].Keys
		}
		return nil
	})
	if err != nil {
		return nil, nil, s.wrap(err)
	}
	err = inParallel(ctx, s.workers, len(tokens), func(ctx context.Context, i int) error {
		if errs[i] != nil {
			return nil
		}
		it := found[tokens[i]]
		if it == nil {
			errs[i] = tokenvault.ErrNotFound
			return nil
		}
		values[i], errs[i] = s.decrypt(ctx, it)
		if errs[i] != nil && !errors.Is(errs[i], tokenvault.ErrTampered) {
			return errs[i]
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return values, errs, nil
}

// decrypt returns an item's card number: tokenvault.ErrTampered for an
// item that does not verify, another error when KMS failed.
func (s *Sample) decrypt(ctx context.Context, it map[string]types.AttributeValue) (string, error) {
	pt, err := s.enc.DecryptItem(ctx, it)
	if errors.Is(err, legacy.ErrDecrypt) {
		return "", tokenvault.ErrTampered
	}
	if err != nil {
		return "", fmt.Errorf("dynamostore: the sample's item: %w", err)
	}
	v, ok := pt[sampleValue].(*types.AttributeValueMemberS)
	if !ok {
		return "", tokenvault.ErrTampered
	}
	return v.Value, nil
}

func (s *Sample) wrap(err error) error {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("dynamostore: the sample's table %q does not exist: %w", s.table, err)
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("dynamostore: %w", err)
}

// SampleToken is one token of the sample's vault, as [Sample.List] reads
// it.
type SampleToken struct {
	Account string
	Token   string
	Value   string // empty when Err is set
	// Err is tokenvault.ErrTampered when the item does not verify or
	// decrypt.
	Err error
}

// List reads up to limit (1 to tokenvault.MaxBatch) tokens of the sample's
// vault, decrypted, with a strongly consistent Scan, from cursor ("" for
// the first page), and returns the cursor of the next page ("" after the
// last). Items that are not the sample's tokens (without a string
// Hash_Key and Account_Id) are skipped.
func (s *Sample) List(ctx context.Context, cursor string, limit int) ([]SampleToken, string, error) {
	if limit < 1 || limit > tokenvault.MaxBatch {
		return nil, "", fmt.Errorf("dynamostore: List: limit %d is not 1 to %d", limit, tokenvault.MaxBatch)
	}
	var start map[string]types.AttributeValue
	if cursor != "" {
		k, err := parseCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		start = map[string]types.AttributeValue{sampleToken: k[attrPK], sampleAccount: k[attrSK]}
	}
	out, err := s.client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.table), ExclusiveStartKey: start,
		ConsistentRead: aws.Bool(true), Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, "", s.wrap(err)
	}
	page := make([]SampleToken, len(out.Items))
	keep := make([]bool, len(out.Items))
	err = inParallel(ctx, s.workers, len(out.Items), func(ctx context.Context, i int) error {
		it := out.Items[i]
		tok, ok1 := it[sampleToken].(*types.AttributeValueMemberS)
		acct, ok2 := it[sampleAccount].(*types.AttributeValueMemberS)
		if !ok1 || !ok2 {
			return nil
		}
		keep[i] = true
		page[i] = SampleToken{Account: acct.Value, Token: tok.Value}
		page[i].Value, page[i].Err = s.decrypt(ctx, it)
		if page[i].Err != nil && !errors.Is(page[i].Err, tokenvault.ErrTampered) {
			return page[i].Err
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	var res []SampleToken
	for i := range page {
		if keep[i] {
			res = append(res, page[i])
		}
	}
	next := ""
	if lek := out.LastEvaluatedKey; lek != nil {
		tok, _ := lek[sampleToken].(*types.AttributeValueMemberS)
		acct, _ := lek[sampleAccount].(*types.AttributeValueMemberS)
		if tok == nil || acct == nil {
			return nil, "", errors.New("dynamostore: the sample's table is not keyed by Hash_Key and Account_Id")
		}
		next = makeCursor(map[string]types.AttributeValue{attrPK: tok, attrSK: acct})
	}
	return res, next, nil
}

// CopyStats says what [Sample.CopyTo] did.
type CopyStats struct {
	// Copied counts the tokens stored in the vault (or found there
	// already, with the same value).
	Copied int
	// Tampered counts the sample's items that do not verify or decrypt
	// with its key (altered in the table): not copied.
	Tampered int
	// Failed counts the tokens the vault refused: tokens the policy
	// refuses (not of its format), tokens that stand for another value in
	// the vault. FirstErr is the first of their errors.
	Failed   int
	FirstErr error
}

// CopyTo copies every token of the sample's vault into v, under policy
// (for example [SamplePolicy], with [NewSamplePolicy] among the vault's
// policies: a policy of UUID tokens), keeping every token, in batches of
// tokenvault.MaxBatch through tokenvault.Vault.Import. Each token's tenant
// is its Account_Id, or tenant if it is not empty. It is safe to run again
// (tokens already copied count as copied), also while the sample still
// issues tokens. A token that cannot be copied is counted (Tampered or
// Failed), and the copy goes on; err stops it (DynamoDB, KMS or the vault
// failing).
func (s *Sample) CopyTo(ctx context.Context, v *tokenvault.Vault, tenant, policy string) (CopyStats, error) {
	var st CopyStats
	fail := func(err error) {
		st.Failed++
		if st.FirstErr == nil {
			st.FirstErr = err
		}
	}
	cursor := ""
	for {
		page, next, err := s.List(ctx, cursor, tokenvault.MaxBatch)
		if err != nil {
			return st, err
		}
		byTenant := map[string][]tokenvault.Imported{}
		var order []string
		for _, t := range page {
			if t.Err != nil {
				st.Tampered++
				continue
			}
			ten := tenant
			if ten == "" {
				ten = t.Account
			}
			if _, ok := byTenant[ten]; !ok {
				order = append(order, ten)
			}
			byTenant[ten] = append(byTenant[ten], tokenvault.Imported{Token: t.Token, Value: t.Value})
		}
		for _, ten := range order {
			errs, err := v.Import(ctx, ten, policy, byTenant[ten])
			if err != nil {
				return st, err
			}
			for _, e := range errs {
				if e != nil {
					fail(e)
				} else {
					st.Copied++
				}
			}
		}
		if next == "" {
			return st, nil
		}
		cursor = next
	}
}
