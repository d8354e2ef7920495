package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/datamask/datamask/dbesdk"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/parallel"
	"github.com/datamask/datamask/tokenvault"
)

// Client is the part of *dynamodb.Client the store uses.
type Client interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
}

var _ Client = (*dynamodb.Client)(nil)

// Attribute names of the table.
const (
	attrPK          = "pk"  // record: the token; fingerprint item: "#f" and the fingerprint
	attrSK          = "sk"  // "r" or "f", then the tenant's length, ":", the tenant and the policy
	attrCiphertext  = "ct"  // the record's encrypted message (B)
	attrFingerprint = "fp"  // the record's fingerprint (B)
	attrExpires     = "exp" // expiry, Unix nanoseconds (N)
	attrTTL         = "ttl" // expiry, Unix seconds rounded up (N): DynamoDB's TTL attribute
	attrToken       = "tok" // the token, where pk is not the token itself (S)
)

// ErrNotMigrated is returned (wrapped) by calls on a table that does not
// exist: run [Store.Migrate] (or "datamask vault migrate") once.
var ErrNotMigrated = errors.New("dynamostore: the vault's table does not exist (run Migrate, or datamask vault migrate, once)")

// Store is a token vault on a DynamoDB table. Build it with [New]; it is
// safe for concurrent use.
type Store struct {
	client  Client
	table   string
	items   *dbesdk.ItemEncryptor
	workers int
}

var _ tokenvault.Store = (*Store)(nil)

// An Option configures [New].
type Option interface {
	apply(*config) error
}

type config struct {
	suite       esdk.Suite
	logical     string
	concurrency int
	cache       []dbesdk.Option
	set         map[string]bool
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

func (c *config) once(name string) error {
	if c.set[name] {
		return fmt.Errorf("dynamostore: %s given twice", name)
	}
	c.set[name] = true
	return nil
}

// WithSignedItems makes the store sign every item with ECDSA P-384 as
// well (DB-ESDK suite 0x6701) rather than with HMAC-SHA384 alone (0x6700,
// the default). Only use it if processes that read the vault's table must
// not be able to write items that verify; it costs about 1 ms of CPU per
// item each way. The vault's own records are committing AES-GCM messages
// (suite 0x0478) either way.
func WithSignedItems() Option {
	return option(func(c *config) error {
		if err := c.once("WithSignedItems"); err != nil {
			return err
		}
		c.suite = esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384
		return nil
	})
}

// WithLogicalTableName sets the table name bound to every item (default:
// the table's name). Set it to the original name when a table is
// restored or copied under another name.
func WithLogicalTableName(name string) Option {
	return option(func(c *config) error {
		if err := c.once("WithLogicalTableName"); err != nil {
			return err
		}
		if name == "" {
			return errors.New("dynamostore: WithLogicalTableName: empty name")
		}
		c.logical = name
		return nil
	})
}

// WithConcurrency sets how many requests one call of the store sends at
// once (default 16): the conditional writes of a batch are one request per
// record (DynamoDB has no conditional batch write).
func WithConcurrency(n int) Option {
	return option(func(c *config) error {
		if err := c.once("WithConcurrency"); err != nil {
			return err
		}
		if n < 1 || n > 256 {
			return fmt.Errorf("dynamostore: WithConcurrency: %d is not 1 to 256", n)
		}
		c.concurrency = n
		return nil
	})
}

// WithItemOptions passes options to the item encryptor (dbesdk.New), such
// as dbesdk.WithDataKeyCache.
func WithItemOptions(opts ...dbesdk.Option) Option {
	return option(func(c *config) error {
		if err := c.once("WithItemOptions"); err != nil {
			return err
		}
		c.cache = opts
		return nil
	})
}

var tableNameRE = func(s string) bool {
	if len(s) < 3 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// New returns a store on table through client, whose items keyring signs
// (a local key, AWS KMS keys of package awskms, or any esdk.Keyring: see
// the package doc for what each costs in KMS calls). It does not reach
// the network; create the table with [Store.Migrate].
func New(client Client, table string, keyring esdk.Keyring, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("dynamostore: New: client is nil")
	}
	if keyring == nil {
		return nil, errors.New("dynamostore: New: keyring is nil")
	}
	if !tableNameRE(table) {
		return nil, fmt.Errorf("dynamostore: %q is not a DynamoDB table name (3 to 255 letters, digits, _, - and .)", table)
	}
	cfg := &config{suite: esdk.DBEAES256GCMCommitKeyHMACSHA384, logical: table, concurrency: 16, set: map[string]bool{}}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("dynamostore: New: nil Option")
		}
		if err := o.apply(cfg); err != nil {
			return nil, err
		}
	}
	items, err := dbesdk.New(dbesdk.TableConfig{
		LogicalTableName: cfg.logical,
		PartitionKey:     attrPK,
		SortKey:          attrSK,
		// Everything signed, nothing encrypted: the ciphertext is already
		// an encrypted message; see the package doc.
		Actions: map[string]dbesdk.Action{
			attrPK: dbesdk.SignOnly, attrSK: dbesdk.SignOnly, attrCiphertext: dbesdk.SignOnly,
			attrFingerprint: dbesdk.SignOnly, attrExpires: dbesdk.SignOnly, attrTTL: dbesdk.SignOnly,
			attrToken: dbesdk.SignOnly,
		},
		Suite: cfg.suite,
	}, keyring, cfg.cache...)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: %w", err)
	}
	return &Store{client: client, table: table, items: items, workers: cfg.concurrency}, nil
}

// Table returns the table's name.
func (s *Store) Table() string { return s.table }

// String names the table.
func (s *Store) String() string { return "dynamostore.Store(" + strconv.Quote(s.table) + ")" }

// Migrate creates the table if it does not exist (keys pk and sk,
// strings; on-demand capacity), waits until it is active, and turns on
// DynamoDB's TTL on attribute "ttl". It is safe to run again. A table of
// that name with other keys is an error.
func (s *Store) Migrate(ctx context.Context) error { return Migrate(ctx, s.client, s.table) }

// Migrate is [Store.Migrate] without a store: it needs no keyring.
func Migrate(ctx context.Context, client Client, table string) error {
	if client == nil {
		return errors.New("dynamostore: Migrate: client is nil")
	}
	if !tableNameRE(table) {
		return fmt.Errorf("dynamostore: %q is not a DynamoDB table name (3 to 255 letters, digits, _, - and .)", table)
	}
	s := &Store{client: client, table: table}
	_, err := s.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(s.table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamostore: Migrate: creating table %q: %w", s.table, err)
	}
	w := dynamodb.NewTableExistsWaiter(s.client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 2*time.Second
	})
	out, err := w.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)}, 5*time.Minute)
	if err != nil {
		return fmt.Errorf("dynamostore: Migrate: table %q did not become active: %w", s.table, err)
	}
	if err := checkSchema(out.Table); err != nil {
		return fmt.Errorf("dynamostore: Migrate: table %q %v: choose another table", s.table, err)
	}
	ttl, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.table)})
	if err != nil {
		return fmt.Errorf("dynamostore: Migrate: %w", err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attrTTL &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(s.table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: Migrate: turning on TTL: %w", err)
	}
	return nil
}

func checkSchema(t *types.TableDescription) error {
	if t == nil {
		return errors.New("has no description")
	}
	keys := map[string]types.KeyType{}
	for _, k := range t.KeySchema {
		keys[aws.ToString(k.AttributeName)] = k.KeyType
	}
	if len(keys) != 2 || keys[attrPK] != types.KeyTypeHash || keys[attrSK] != types.KeyTypeRange {
		return errors.New("exists with other keys than pk (partition) and sk (sort)")
	}
	return nil
}

// The encoding of keys. A record's partition key is its token, unless the
// token is empty, longer than maxTokenPK bytes, not UTF-8 or starts with
// "#": then "#h" and its SHA-256, and the token itself is in "tok".
const maxTokenPK = 1024

func recordPK(token string) string {
	if token == "" || len(token) > maxTokenPK || token[0] == '#' || !utf8.ValidString(token) {
		h := sha256.Sum256([]byte(token))
		return "#h" + base64.RawURLEncoding.EncodeToString(h[:])
	}
	return token
}

func fingerprintPK(fp []byte) string {
	if len(fp) > 512 {
		h := sha256.Sum256(fp)
		return "#g" + base64.RawURLEncoding.EncodeToString(h[:])
	}
	return "#f" + base64.RawURLEncoding.EncodeToString(fp)
}

func scope(tenant, policy string) string {
	return strconv.Itoa(len(tenant)) + ":" + tenant + policy
}

func recordSK(tenant, policy string) string      { return "r" + scope(tenant, policy) }
func fingerprintSK(tenant, policy string) string { return "f" + scope(tenant, policy) }

// parseSK returns the tenant and policy of a record's sort key.
func parseSK(sk string) (tenant, policy string, ok bool) {
	rest, ok := strings.CutPrefix(sk, "r")
	if !ok {
		return "", "", false
	}
	n, rest, ok := strings.Cut(rest, ":")
	l, err := strconv.Atoi(n)
	if !ok || err != nil || l < 0 || l > len(rest) || strconv.Itoa(l) != n {
		return "", "", false
	}
	return rest[:l], rest[l:], true
}

func checkKey(k tokenvault.Key) error {
	if !utf8.ValidString(k.Tenant) || !utf8.ValidString(k.Policy) {
		return errors.New("dynamostore: tenant and policy must be valid UTF-8")
	}
	if len(recordSK(k.Tenant, k.Policy)) > 1024 {
		return errors.New("dynamostore: tenant and policy are longer than a sort key holds (about 1,000 bytes)")
	}
	return nil
}

func keyOf(k tokenvault.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: recordPK(k.Token)},
		attrSK: &types.AttributeValueMemberS{Value: recordSK(k.Tenant, k.Policy)},
	}
}

func fingerprintKeyOf(tenant, policy string, fp []byte) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: fingerprintPK(fp)},
		attrSK: &types.AttributeValueMemberS{Value: fingerprintSK(tenant, policy)},
	}
}

// ttlDelay is how long after its expiry DynamoDB's TTL may delete a
// record: until then an expired token says so (tokenvault.ErrExpired)
// rather than that there is none, and the store's own sweep deletes it.
// DynamoDB takes up to a few days anyway.
const ttlDelay = 24 * time.Hour

func ttlSeconds(t time.Time) string {
	t = t.Add(ttlDelay)
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++ // DynamoDB's TTL never deletes before the expiry
	}
	return strconv.FormatInt(sec, 10)
}

// plainItem is a record as an item, before signing.
func plainItem(r *tokenvault.Record) (map[string]types.AttributeValue, error) {
	if err := checkKey(r.Key); err != nil {
		return nil, err
	}
	item := keyOf(r.Key)
	ct := r.Ciphertext
	if ct == nil {
		ct = []byte{}
	}
	item[attrCiphertext] = &types.AttributeValueMemberB{Value: ct}
	if r.Fingerprint != nil {
		item[attrFingerprint] = &types.AttributeValueMemberB{Value: r.Fingerprint}
	}
	if !r.Expires.IsZero() {
		if y := r.Expires.Year(); y < 1678 || y > 2261 {
			return nil, fmt.Errorf("dynamostore: expiry %v is outside the years 1678 to 2261", r.Expires.UTC().Format(time.RFC3339))
		}
		item[attrExpires] = &types.AttributeValueMemberN{Value: strconv.FormatInt(r.Expires.UnixNano(), 10)}
		item[attrTTL] = &types.AttributeValueMemberN{Value: ttlSeconds(r.Expires)}
	}
	if recordPK(r.Token) != r.Token {
		item[attrToken] = &types.AttributeValueMemberS{Value: r.Token}
	}
	return item, nil
}

// fingerprintItem is the index entry of a record's fingerprint: unsigned,
// since it only points at the record, which is verified, and whose signed
// fingerprint must match.
func fingerprintItem(r *tokenvault.Record) map[string]types.AttributeValue {
	item := fingerprintKeyOf(r.Tenant, r.Policy, r.Fingerprint)
	item[attrToken] = &types.AttributeValueMemberS{Value: r.Token}
	if !r.Expires.IsZero() {
		item[attrTTL] = &types.AttributeValueMemberN{Value: ttlSeconds(r.Expires)}
	}
	return item
}

// errTampered marks an item that fails verification or decoding: it is
// returned as a record without ciphertext, which the vault refuses
// (tokenvault.ErrTampered), so that one bad item does not fail a batch.
var errTampered = errors.New("dynamostore: item fails verification")

// record verifies a record item and decodes it.
func (s *Store) record(ctx context.Context, item map[string]types.AttributeValue) (*tokenvault.Record, error) {
	key, ok := itemKey(item)
	if !ok {
		return nil, errTampered
	}
	plain, err := s.items.DecryptItem(ctx, item)
	if err != nil {
		// The vault's own records (the empty tenant) are read first, by
		// tokenvault.Open: a key that cannot read them is the wrong key,
		// and says so. A record the right key cannot read was altered.
		if unreadable(err) && (key.Tenant != "" || !errors.Is(err, esdk.ErrNoDecryptKey)) {
			return &tokenvault.Record{Key: key}, nil
		}
		return nil, itemError(err)
	}
	r := &tokenvault.Record{Key: key}
	if b, ok := plain[attrCiphertext].(*types.AttributeValueMemberB); ok {
		r.Ciphertext = b.Value
		if r.Ciphertext == nil {
			r.Ciphertext = []byte{} // nil marks a record that fails verification
		}
	} else {
		return &tokenvault.Record{Key: key}, nil
	}
	if b, ok := plain[attrFingerprint].(*types.AttributeValueMemberB); ok {
		r.Fingerprint = b.Value
	}
	if n, ok := plain[attrExpires].(*types.AttributeValueMemberN); ok {
		ns, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return &tokenvault.Record{Key: key}, nil
		}
		r.Expires = time.Unix(0, ns).UTC()
	}
	return r, nil
}

// itemKey reads the key of a record item (unverified).
func itemKey(item map[string]types.AttributeValue) (tokenvault.Key, bool) {
	pk, ok1 := item[attrPK].(*types.AttributeValueMemberS)
	sk, ok2 := item[attrSK].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 {
		return tokenvault.Key{}, false
	}
	tenant, policy, ok := parseSK(sk.Value)
	if !ok {
		return tokenvault.Key{}, false
	}
	token := pk.Value
	if t, ok := item[attrToken].(*types.AttributeValueMemberS); ok {
		token = t.Value
	}
	if recordPK(token) != pk.Value {
		return tokenvault.Key{}, false
	}
	return tokenvault.Key{Tenant: tenant, Policy: policy, Token: token}, true
}

// unreadable reports whether an item fails to decrypt for what it holds
// (altered, or its data key sealed for another item) rather than for a
// failure of the keyring's service.
func unreadable(err error) bool {
	if errors.Is(err, dbesdk.ErrInvalidItem) || errors.Is(err, dbesdk.ErrPlaintextItem) || errors.Is(err, dbesdk.ErrLegacyItem) {
		return true
	}
	if !errors.Is(err, esdk.ErrNoDecryptKey) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		// KMS refuses a ciphertext under another encryption context
		// (another item's) as it refuses an altered one.
		return api.ErrorCode() == "InvalidCiphertextException" || api.ErrorCode() == "IncorrectKeyException"
	}
	var op *smithy.OperationError
	var ne net.Error
	return !errors.As(err, &op) && !errors.As(err, &ne) // a local keyring refused it
}

// itemError is an error of the item encryptor without the item's key
// values, which dbesdk shows and which are tokens here.
func itemError(err error) error {
	var ie *dbesdk.ItemError
	if errors.As(err, &ie) {
		return fmt.Errorf("dynamostore: cannot %s a record's item: %w", ie.Op, ie.Err)
	}
	return fmt.Errorf("dynamostore: %w", err)
}

func checkBatch(n int) error {
	if n > tokenvault.MaxBatch {
		return tokenvault.ErrTooMany
	}
	return nil
}

// wrap prefixes an error of DynamoDB, keeping it reachable (smithy
// APIError, the SDK's types), and says so when the table is missing.
func (s *Store) wrap(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: table %q", ErrNotMigrated, s.table)
	}
	if strings.HasPrefix(err.Error(), "dynamostore: ") {
		return err
	}
	return fmt.Errorf("dynamostore: %w", err)
}

// parallel runs fn(0..n-1) on up to s.workers goroutines through the
// module's worker pool: the first error, or ctx's once it is done, stops
// the others and is returned, and a panic of fn is raised again in the
// caller's goroutine.
func (s *Store) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	return inParallel(ctx, s.workers, n, fn)
}

// inParallel runs fn(0..n-1) on up to workers goroutines, as Store.parallel.
func inParallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	return parallel.Do(ctx, n, workers, func(ctx context.Context, _, i int) error { return fn(ctx, i) })
}

// backoff sleeps before attempt (1, 2, ...) of a retry: 20 ms doubling to
// 1 s, with full jitter.
func backoff(ctx context.Context, attempt int) error {
	d := min(20*time.Millisecond<<min(attempt-1, 6), time.Second)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(d)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxAttempts bounds the retries of unprocessed batch items and of
// transactions that conflict.
const maxAttempts = 12

// Create implements [tokenvault.Store]: a conditional PutItem per record
// (attribute_not_exists), or for a record with a fingerprint a
// transaction writing the record and its fingerprint item, each
// conditional. Records are written in parallel, in waves when keys or
// fingerprints repeat in the call so that the first one wins.
func (s *Store) Create(ctx context.Context, recs []tokenvault.Record) ([]tokenvault.CreateResult, error) {
	if err := checkBatch(len(recs)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := make([]tokenvault.CreateResult, len(recs))
	items := make([]map[string]types.AttributeValue, len(recs))
	if err := s.parallel(ctx, len(recs), func(ctx context.Context, i int) error {
		plain, err := plainItem(&recs[i])
		if err != nil {
			return err
		}
		if items[i], err = s.items.EncryptItem(ctx, plain); err != nil {
			return itemError(err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	keyWave := map[tokenvault.Key]int{}
	fpWave := map[string]int{}
	var waves [][]int
	for i := range recs {
		w := keyWave[recs[i].Key]
		fk := ""
		if recs[i].Fingerprint != nil {
			fk = scope(recs[i].Tenant, recs[i].Policy) + "\x00" + string(recs[i].Fingerprint)
			w = max(w, fpWave[fk])
		}
		keyWave[recs[i].Key] = w + 1
		if fk != "" {
			fpWave[fk] = w + 1
		}
		for len(waves) <= w {
			waves = append(waves, nil)
		}
		waves[w] = append(waves[w], i)
	}
	for _, wave := range waves {
		err := s.parallel(ctx, len(wave), func(ctx context.Context, j int) error {
			i := wave[j]
			var err error
			if recs[i].Fingerprint == nil {
				res[i], err = s.createPlain(ctx, &recs[i], items[i])
			} else {
				res[i], err = s.createWithFingerprint(ctx, &recs[i], items[i])
			}
			return err
		})
		if err != nil {
			return nil, s.wrap(err)
		}
	}
	return res, nil
}

var notExists = aws.String("attribute_not_exists(" + attrPK + ")")

func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

// createPlain writes a record without fingerprint.
func (s *Store) createPlain(ctx context.Context, r *tokenvault.Record, item map[string]types.AttributeValue) (tokenvault.CreateResult, error) {
	for attempt := 1; ; attempt++ {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item, ConditionExpression: notExists})
		if err == nil {
			return tokenvault.CreateResult{Outcome: tokenvault.Created}, nil
		}
		if !isConditionFailed(err) {
			return tokenvault.CreateResult{}, err
		}
		// Taken, unless by this very record (the SDK retried a PutItem
		// whose answer was lost).
		mine, gone, err := s.holds(ctx, r)
		switch {
		case err != nil:
			return tokenvault.CreateResult{}, err
		case mine:
			return tokenvault.CreateResult{Outcome: tokenvault.Created}, nil
		case !gone || attempt == maxAttempts:
			return tokenvault.CreateResult{Outcome: tokenvault.TokenTaken}, nil
		}
	}
}

// holds reads the item at r's key: mine if it is r, gone if there is none.
func (s *Store) holds(ctx context.Context, r *tokenvault.Record) (mine, gone bool, err error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyOf(r.Key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, false, err
	}
	if out.Item == nil {
		return false, true, nil
	}
	b, ok := out.Item[attrCiphertext].(*types.AttributeValueMemberB)
	return ok && string(b.Value) == string(r.Ciphertext), false, nil
}

// createWithFingerprint writes a record and its fingerprint item in one
// transaction.
func (s *Store) createWithFingerprint(ctx context.Context, r *tokenvault.Record, item map[string]types.AttributeValue) (tokenvault.CreateResult, error) {
	for attempt := 1; ; attempt++ {
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(s.table), Item: fingerprintItem(r), ConditionExpression: notExists}},
			{Put: &types.Put{TableName: aws.String(s.table), Item: item, ConditionExpression: notExists}},
		}})
		if err == nil {
			return tokenvault.CreateResult{Outcome: tokenvault.Created}, nil
		}
		var tc *types.TransactionCanceledException
		if !errors.As(err, &tc) {
			return tokenvault.CreateResult{}, err
		}
		code := func(i int) string {
			if i < len(tc.CancellationReasons) {
				return aws.ToString(tc.CancellationReasons[i].Code)
			}
			return ""
		}
		switch {
		case code(1) == "ConditionalCheckFailed":
			mine, gone, err := s.holds(ctx, r)
			switch {
			case err != nil:
				return tokenvault.CreateResult{}, err
			case mine:
				return tokenvault.CreateResult{Outcome: tokenvault.Created}, nil
			case !gone:
				return tokenvault.CreateResult{Outcome: tokenvault.TokenTaken}, nil
			}
		case code(0) == "ConditionalCheckFailed":
			existing, err := s.fingerprintHolder(ctx, r.Tenant, r.Policy, r.Fingerprint, true)
			if err != nil {
				return tokenvault.CreateResult{}, err
			}
			if existing != nil {
				if existing.Token == r.Token && string(existing.Ciphertext) == string(r.Ciphertext) {
					return tokenvault.CreateResult{Outcome: tokenvault.Created}, nil
				}
				return tokenvault.CreateResult{Outcome: tokenvault.FingerprintTaken, Existing: existing}, nil
			}
			// An orphan fingerprint item was removed: try again.
		default:
			// A conflict with another transaction on these items, or
			// throttling: back off and try again.
		}
		if attempt == maxAttempts {
			return tokenvault.CreateResult{}, fmt.Errorf("dynamostore: Create: the transaction was cancelled %d times (%v)", attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return tokenvault.CreateResult{}, err
		}
	}
}

// fingerprintHolder returns the record a fingerprint item points at, if
// that record exists and holds the fingerprint. Otherwise the item is an
// orphan (its record deleted by DynamoDB's TTL, or by a process that
// stopped between two deletes), and with clean it is deleted, on
// condition that it still points at the same token.
func (s *Store) fingerprintHolder(ctx context.Context, tenant, policy string, fp []byte, clean bool) (*tokenvault.Record, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: fingerprintKeyOf(tenant, policy, fp), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, nil
	}
	tok, ok := out.Item[attrToken].(*types.AttributeValueMemberS)
	if ok {
		// GetItem, serializable with the transaction that wrote both.
		r, _, err := s.current(ctx, tokenvault.Key{Tenant: tenant, Policy: policy, Token: tok.Value})
		if err != nil {
			return nil, err
		}
		switch {
		case r != nil && r.Ciphertext == nil:
			// Altered: the vault refuses it, and the value keeps no new
			// token until the record is fixed or deleted.
			return &tokenvault.Record{Key: r.Key, Fingerprint: fp}, nil
		case r != nil && string(r.Fingerprint) == string(fp) && r.Fingerprint != nil:
			return r, nil
		}
	}
	if clean {
		in := &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: fingerprintKeyOf(tenant, policy, fp)}
		if ok {
			in.ConditionExpression = aws.String(attrToken + " = :t")
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":t": tok}
		}
		if _, err := s.client.DeleteItem(ctx, in); err != nil && !isConditionFailed(err) {
			return nil, err
		}
	}
	return nil, nil
}

// Get implements [tokenvault.Store] with BatchGetItem (100 keys a
// request, unprocessed keys retried with backoff) and strongly consistent
// reads. An item that fails verification comes back as a record without
// ciphertext, which the vault refuses as tampered.
func (s *Store) Get(ctx context.Context, keys []tokenvault.Key) ([]*tokenvault.Record, error) {
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	recs, err := s.getRecords(ctx, keys)
	return recs, s.wrap(err)
}

func (s *Store) getRecords(ctx context.Context, keys []tokenvault.Key) ([]*tokenvault.Record, error) {
	out := make([]*tokenvault.Record, len(keys))
	var valid []tokenvault.Key
	for _, k := range keys {
		if checkKey(k) == nil {
			valid = append(valid, k)
		}
	}
	items, err := s.batchGet(ctx, valid, keyOf)
	if err != nil {
		return nil, err
	}
	recs := make(map[tokenvault.Key]*tokenvault.Record, len(items))
	var mu sync.Mutex
	list := make([]map[string]types.AttributeValue, 0, len(items))
	for _, it := range items {
		list = append(list, it)
	}
	err = s.parallel(ctx, len(list), func(ctx context.Context, i int) error {
		r, err := s.record(ctx, list[i])
		if errors.Is(err, errTampered) {
			return nil // a key the store cannot read back is no record of these keys
		}
		if err != nil {
			return err
		}
		mu.Lock()
		recs[r.Key] = r
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		if r := recs[k]; r != nil {
			c := *r
			out[i] = &c
		}
	}
	return out, nil
}

// batchGet reads the items of keys (duplicates read once) with
// BatchGetItem, and returns them by the string of their key.
func (s *Store) batchGet(ctx context.Context, keys []tokenvault.Key, keyFn func(tokenvault.Key) map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	seen := map[string]bool{}
	var reqKeys []map[string]types.AttributeValue
	for _, k := range keys {
		m := keyFn(k)
		id := itemID(m)
		if !seen[id] {
			seen[id] = true
			reqKeys = append(reqKeys, m)
		}
	}
	found := make(map[string]map[string]types.AttributeValue, len(reqKeys))
	var mu sync.Mutex
	chunks := (len(reqKeys) + 99) / 100
	err := s.parallel(ctx, chunks, func(ctx context.Context, c int) error {
		pending := reqKeys[c*100 : min((c+1)*100, len(reqKeys))]
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
				found[itemID(it)] = it
			}
			mu.Unlock()
			pending = out.UnprocessedKeys[s.table].Keys
		}
		return nil
	})
	return found, err
}

// itemID is the string of an item's key.
func itemID(item map[string]types.AttributeValue) string {
	pk, _ := item[attrPK].(*types.AttributeValueMemberS)
	sk, _ := item[attrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return strconv.Itoa(len(pk.Value)) + ":" + pk.Value + sk.Value
}

// GetByFingerprint implements [tokenvault.Store]: the fingerprint items,
// then their records, each in BatchGetItem requests.
func (s *Store) GetByFingerprint(ctx context.Context, tenant, policy string, fingerprints [][]byte) ([]*tokenvault.Record, error) {
	if err := checkBatch(len(fingerprints)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]*tokenvault.Record, len(fingerprints))
	if checkKey(tokenvault.Key{Tenant: tenant, Policy: policy}) != nil {
		return out, nil
	}
	fpKeys := make([]tokenvault.Key, 0, len(fingerprints))
	for _, fp := range fingerprints {
		if fp != nil {
			fpKeys = append(fpKeys, tokenvault.Key{Tenant: tenant, Policy: policy, Token: string(fp)})
		}
	}
	fpItems, err := s.batchGet(ctx, fpKeys, func(k tokenvault.Key) map[string]types.AttributeValue {
		return fingerprintKeyOf(k.Tenant, k.Policy, []byte(k.Token))
	})
	if err != nil {
		return nil, s.wrap(err)
	}
	tokens := make([]string, len(fingerprints))
	var keys []tokenvault.Key
	for i, fp := range fingerprints {
		if fp == nil {
			continue
		}
		it := fpItems[itemID(fingerprintKeyOf(tenant, policy, fp))]
		if tok, ok := it[attrToken].(*types.AttributeValueMemberS); ok {
			tokens[i] = tok.Value
			keys = append(keys, tokenvault.Key{Tenant: tenant, Policy: policy, Token: tok.Value})
		}
	}
	var recs []*tokenvault.Record
	for lo := 0; lo < len(keys); lo += tokenvault.MaxBatch {
		page, err := s.getRecords(ctx, keys[lo:min(lo+tokenvault.MaxBatch, len(keys))])
		if err != nil {
			return nil, s.wrap(err)
		}
		recs = append(recs, page...)
	}
	byToken := map[string]*tokenvault.Record{}
	for _, r := range recs {
		if r != nil {
			byToken[r.Token] = r
		}
	}
	for i, fp := range fingerprints {
		r := byToken[tokens[i]]
		switch {
		case fp == nil || r == nil:
		case r.Ciphertext == nil: // fails verification: the vault refuses it
			out[i] = &tokenvault.Record{Key: r.Key, Fingerprint: fp}
		case r.Fingerprint != nil && string(r.Fingerprint) == string(fp):
			c := *r
			out[i] = &c
		}
	}
	return out, nil
}

// current reads the record at key, verified, with its raw item.
func (s *Store) current(ctx context.Context, key tokenvault.Key) (*tokenvault.Record, map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyOf(key), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return nil, nil, err
	}
	r, err := s.record(ctx, out.Item)
	if errors.Is(err, errTampered) {
		return &tokenvault.Record{Key: key}, out.Item, nil
	}
	return r, out.Item, err
}

// Swap implements [tokenvault.Store]: a PutItem or DeleteItem on
// condition that the ciphertext is still prev, in a transaction with the
// fingerprint item when there is one.
func (s *Store) Swap(ctx context.Context, key tokenvault.Key, prev []byte, next *tokenvault.Record) (bool, error) {
	if next != nil && next.Key != key {
		return false, errors.New("dynamostore: Swap: next has another key")
	}
	if err := checkKey(key); err != nil {
		return false, err
	}
	cur, _, err := s.current(ctx, key)
	if err != nil {
		return false, s.wrap(err)
	}
	if cur == nil || cur.Ciphertext == nil || string(cur.Ciphertext) != string(prev) {
		return false, nil
	}
	cond := aws.String(attrCiphertext + " = :prev")
	vals := map[string]types.AttributeValue{":prev": &types.AttributeValueMemberB{Value: prev}}
	var tx []types.TransactWriteItem
	if next == nil {
		tx = append(tx, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: keyOf(key),
			ConditionExpression: cond, ExpressionAttributeValues: vals}})
		if cur.Fingerprint != nil {
			tx = append(tx, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table),
				Key: fingerprintKeyOf(key.Tenant, key.Policy, cur.Fingerprint)}})
		}
	} else {
		plain, err := plainItem(next)
		if err != nil {
			return false, err
		}
		item, err := s.items.EncryptItem(ctx, plain)
		if err != nil {
			return false, itemError(err)
		}
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: item,
			ConditionExpression: cond, ExpressionAttributeValues: vals}})
		if next.Fingerprint != nil && !next.Expires.Equal(cur.Expires) {
			nr := *next
			tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: fingerprintItem(&nr)}})
		}
	}
	// The fingerprint item, when there is one, must still point here.
	if len(tx) == 2 {
		w := &tx[1]
		c := aws.String("attribute_not_exists(" + attrPK + ") OR " + attrToken + " = :t")
		v := map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: key.Token}}
		if w.Delete != nil {
			w.Delete.ConditionExpression, w.Delete.ExpressionAttributeValues = c, v
		} else {
			w.Put.ConditionExpression, w.Put.ExpressionAttributeValues = c, v
		}
	}
	for attempt := 1; ; attempt++ {
		if len(tx) == 1 {
			var err error
			if tx[0].Delete != nil {
				d := tx[0].Delete
				_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: d.TableName, Key: d.Key, ConditionExpression: d.ConditionExpression, ExpressionAttributeValues: d.ExpressionAttributeValues})
			} else {
				p := tx[0].Put
				_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: p.TableName, Item: p.Item, ConditionExpression: p.ConditionExpression, ExpressionAttributeValues: p.ExpressionAttributeValues})
			}
			if isConditionFailed(err) {
				return false, nil
			}
			return err == nil, s.wrap(err)
		}
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if err == nil {
			return true, nil
		}
		var tc *types.TransactionCanceledException
		if !errors.As(err, &tc) {
			return false, s.wrap(err)
		}
		if len(tc.CancellationReasons) > 0 && aws.ToString(tc.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
			return false, nil
		}
		if len(tc.CancellationReasons) > 1 && aws.ToString(tc.CancellationReasons[1].Code) == "ConditionalCheckFailed" {
			tx = tx[:1] // the fingerprint item belongs to another record now: leave it
			continue
		}
		if attempt == maxAttempts {
			return false, fmt.Errorf("dynamostore: Swap: the transaction was cancelled %d times (%v)", attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return false, err
		}
	}
}

// Delete implements [tokenvault.Store]: a DeleteItem per key returning
// the old item (so that it says whether there was one), then its
// fingerprint item, on condition that it points at the deleted record.
func (s *Store) Delete(ctx context.Context, keys []tokenvault.Key) ([]bool, error) {
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]bool, len(keys))
	first := map[tokenvault.Key]int{}
	var uniq []int
	for i, k := range keys {
		if _, dup := first[k]; !dup && checkKey(k) == nil {
			first[k] = i
			uniq = append(uniq, i)
		}
	}
	err := s.parallel(ctx, len(uniq), func(ctx context.Context, j int) error {
		i := uniq[j]
		k := keys[i]
		old, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: keyOf(k), ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			return err
		}
		if old.Attributes == nil {
			return nil
		}
		out[i] = true
		if fp, ok := old.Attributes[attrFingerprint].(*types.AttributeValueMemberB); ok {
			return s.deleteFingerprint(ctx, k, fp.Value)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(err)
	}
	return out, nil
}

func (s *Store) deleteFingerprint(ctx context.Context, k tokenvault.Key, fp []byte) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: fingerprintKeyOf(k.Tenant, k.Policy, fp),
		ConditionExpression:       aws.String(attrToken + " = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: k.Token}},
	})
	if isConditionFailed(err) {
		return nil // gone, or another record's now
	}
	return err
}

// DeleteExpired implements [tokenvault.Store]. DynamoDB's TTL deletes
// expired records by itself, within days of their expiry; DeleteExpired
// deletes them at once: a Scan for records whose "exp" is past, then
// BatchWriteItem (25 deletes a request, unprocessed ones retried with
// backoff) for records without fingerprint and a transaction for each
// record with one. It reads the whole table: run it rarely.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit < 1 || limit > tokenvault.MaxBatch {
		return 0, fmt.Errorf("dynamostore: DeleteExpired: limit %d is not 1 to %d", limit, tokenvault.MaxBatch)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	filter := "begins_with(" + attrSK + ", :r) AND " + attrExpires + " <= :now"
	vals := map[string]types.AttributeValue{
		":r":   &types.AttributeValueMemberS{Value: "r"},
		":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixNano(), 10)},
	}
	deleted := 0
	var start map[string]types.AttributeValue
	for {
		out, err := s.client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.table), FilterExpression: aws.String(filter),
			ExpressionAttributeValues: vals, ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return deleted, s.wrap(err)
		}
		var plain []map[string]types.AttributeValue
		var withFP []map[string]types.AttributeValue
		for _, it := range out.Items {
			if deleted+len(plain)+len(withFP) == limit {
				break
			}
			if _, ok := it[attrFingerprint]; ok {
				withFP = append(withFP, it)
			} else {
				plain = append(plain, it)
			}
		}
		if err := s.batchDelete(ctx, plain); err != nil {
			return deleted, s.wrap(err)
		}
		deleted += len(plain)
		var mu sync.Mutex
		err = s.parallel(ctx, len(withFP), func(ctx context.Context, i int) error {
			it := withFP[i]
			k, ok := itemKey(it)
			fp, isB := it[attrFingerprint].(*types.AttributeValueMemberB)
			if !ok || !isB {
				return nil // not a record of the vault's encoding
			}
			tx := []types.TransactWriteItem{
				{Delete: &types.Delete{TableName: aws.String(s.table), Key: keyOf(k),
					// Unchanged since the scan, so still expired (a number
					// condition on exp is unreliable on DynamoDB Local).
					ConditionExpression:       aws.String(attrCiphertext + " = :ct"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":ct": it[attrCiphertext]}}},
				{Delete: &types.Delete{TableName: aws.String(s.table),
					Key:                       fingerprintKeyOf(k.Tenant, k.Policy, fp.Value),
					ConditionExpression:       aws.String("attribute_not_exists(" + attrPK + ") OR " + attrToken + " = :t"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: k.Token}}}},
			}
			for attempt := 1; ; attempt++ {
				_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
				if err == nil {
					mu.Lock()
					deleted++
					mu.Unlock()
					return nil
				}
				var tc *types.TransactionCanceledException
				if !errors.As(err, &tc) {
					return err
				}
				if len(tc.CancellationReasons) > 0 && aws.ToString(tc.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
					return nil // deleted or renewed meanwhile
				}
				if len(tc.CancellationReasons) > 1 && aws.ToString(tc.CancellationReasons[1].Code) == "ConditionalCheckFailed" {
					tx = tx[:1]
					continue
				}
				if attempt == maxAttempts {
					return fmt.Errorf("dynamostore: DeleteExpired: the transaction was cancelled %d times (%v)", attempt, err)
				}
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
			}
		})
		if err != nil {
			return deleted, s.wrap(err)
		}
		if deleted >= limit || out.LastEvaluatedKey == nil {
			return deleted, nil
		}
		start = out.LastEvaluatedKey
	}
}

// batchDelete deletes items by key with BatchWriteItem, retrying the
// unprocessed ones with backoff.
func (s *Store) batchDelete(ctx context.Context, items []map[string]types.AttributeValue) error {
	chunks := (len(items) + 24) / 25
	return s.parallel(ctx, chunks, func(ctx context.Context, c int) error {
		var reqs []types.WriteRequest
		for _, it := range items[c*25 : min((c+1)*25, len(items))] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{attrPK: it[attrPK], attrSK: it[attrSK]}}})
		}
		for attempt := 1; len(reqs) > 0; attempt++ {
			if attempt > 1 {
				if attempt > maxAttempts {
					return fmt.Errorf("dynamostore: %d deletes still unprocessed after %d BatchWriteItem attempts", len(reqs), maxAttempts)
				}
				if err := backoff(ctx, attempt-1); err != nil {
					return err
				}
			}
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: reqs}})
			if err != nil {
				return err
			}
			reqs = out.UnprocessedItems[s.table]
		}
		return nil
	})
}

// List implements [tokenvault.Store] with a strongly consistent Scan
// filtered on the sort key, in the table's order; the cursor is the key of
// the last record listed. It reads the whole table whatever the tenant:
// listing serves Forget, Rewrap and copying, which are rare, and an index
// by tenant would make every tenant one hot partition and double the cost
// of every write.
func (s *Store) List(ctx context.Context, req tokenvault.ListRequest) ([]tokenvault.Record, string, error) {
	if req.Limit < 1 || req.Limit > tokenvault.MaxBatch {
		return nil, "", fmt.Errorf("dynamostore: List: limit %d is not 1 to %d", req.Limit, tokenvault.MaxBatch)
	}
	if req.Policy != "" && req.Tenant == "" {
		return nil, "", errors.New("dynamostore: List: a policy is only given with a tenant")
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var filter string
	vals := map[string]types.AttributeValue{}
	switch {
	case req.Policy != "":
		filter = attrSK + " = :p"
		vals[":p"] = &types.AttributeValueMemberS{Value: recordSK(req.Tenant, req.Policy)}
	case req.Tenant != "":
		filter = "begins_with(" + attrSK + ", :p)"
		vals[":p"] = &types.AttributeValueMemberS{Value: "r" + strconv.Itoa(len(req.Tenant)) + ":" + req.Tenant}
	default:
		filter = "begins_with(" + attrSK + ", :p)"
		vals[":p"] = &types.AttributeValueMemberS{Value: "r"}
	}
	var start map[string]types.AttributeValue
	if req.Cursor != "" {
		var err error
		if start, err = parseCursor(req.Cursor); err != nil {
			return nil, "", err
		}
	}
	var items []map[string]types.AttributeValue
	next := ""
	for {
		out, err := s.client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.table), FilterExpression: aws.String(filter),
			ExpressionAttributeValues: vals, ExclusiveStartKey: start, ConsistentRead: aws.Bool(true), Limit: aws.Int32(int32(max(req.Limit, 100)))})
		if err != nil {
			return nil, "", s.wrap(err)
		}
		room := req.Limit - len(items)
		if len(out.Items) >= room {
			items = append(items, out.Items[:room]...)
			if len(out.Items) > room || out.LastEvaluatedKey != nil {
				next = makeCursor(items[len(items)-1])
			}
			break
		}
		items = append(items, out.Items...)
		if out.LastEvaluatedKey == nil {
			break
		}
		start = out.LastEvaluatedKey
	}
	page := make([]tokenvault.Record, len(items))
	keep := make([]bool, len(items))
	err := s.parallel(ctx, len(items), func(ctx context.Context, i int) error {
		r, err := s.record(ctx, items[i])
		if errors.Is(err, errTampered) {
			return nil // not a record of the vault's encoding: skipped
		}
		if err != nil {
			return err
		}
		page[i], keep[i] = *r, true
		return nil
	})
	if err != nil {
		return nil, "", s.wrap(err)
	}
	out := page[:0]
	for i := range page {
		if keep[i] {
			out = append(out, page[i])
		}
	}
	if len(out) == 0 && next != "" {
		// Every item of the page was skipped; go on from its end rather
		// than return an empty page with a cursor.
		req.Cursor = next
		return s.List(ctx, req)
	}
	return out, next, nil
}

func makeCursor(item map[string]types.AttributeValue) string {
	pk, _ := item[attrPK].(*types.AttributeValueMemberS)
	sk, _ := item[attrSK].(*types.AttributeValueMemberS)
	b, _ := json.Marshal([2]string{pk.Value, sk.Value})
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errors.New("dynamostore: List: the cursor is not one List returned")

func parseCursor(c string) (map[string]types.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, errCursor
	}
	var k [2]string
	if err := json.Unmarshal(b, &k); err != nil || k[0] == "" || k[1] == "" {
		return nil, errCursor
	}
	m := map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: k[0]},
		attrSK: &types.AttributeValueMemberS{Value: k[1]},
	}
	if makeCursor(m) != c {
		return nil, errCursor // one spelling per cursor
	}
	return m, nil
}
