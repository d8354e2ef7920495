// Package pgstore keeps a token vault's records in PostgreSQL: a
// [tokenvault.Store] for vaults that several processes or machines share,
// on a database their operators already run.
//
// Start with [Open] (a database URL; the store owns its connection pool)
// or [New] (a *pgxpool.Pool you configure and close yourself). Create the
// table once with [Store.Migrate] (or "datamask vault migrate"): Open and
// New never change the schema, and fail with [ErrNotMigrated] before it
// exists. Then pass the store to tokenvault.Open.
//
// # Schema
//
// One table (default "tokenvault_records", see [WithTable]):
//
//	tenant, policy, token  bytea, the primary key: a token is unique per tenant and policy
//	fingerprint            bytea, NULL or unique per tenant and policy (a partial unique index, fingerprint first)
//	ciphertext             bytea, the record's encrypted message
//	expires                bigint, Unix nanoseconds, NULL for never (a partial index for the sweep)
//
// Names are bytea because the store takes any bytes; the table holds no
// value or key in clear.
//
// # Round trips and transactions
//
// Every method is one SQL statement over arrays (unnest), so a batch of
// 1,000 records is one round trip and one implicit transaction, durable
// once it returns (synchronous_commit as the server has it). Create is an
// INSERT ... ON CONFLICT DO NOTHING, which both unique constraints serve:
// concurrent creators of one token or one fingerprint wait for each other
// in the index and exactly one wins; only the records refused that way
// cost a second statement, to say why and return the holder. Swap is a
// compare-and-swap in one UPDATE or DELETE, and the sweep deletes through
// the expiry index with FOR UPDATE SKIP LOCKED, so sweepers never wait for
// each other. No explicit transaction is needed but [Store.Migrate]'s.
//
// # Retries
//
// A call is retried (up to four attempts, 50 ms apart and doubling, while
// ctx allows) when that cannot change its result: an error raised before
// the statement was sent (no connection, a refused connection, a closed
// pooled connection), a serialization failure or deadlock (the statement
// was rolled back), and connection errors of statements that are safe to
// run twice: reads, Create (a record found with its own ciphertext is one
// an earlier attempt created) and Swap to a new record (found already
// swapped). Delete, Swap to nil and DeleteExpired are not retried once
// sent: the caller learns that the outcome is unknown. A server that is
// down makes calls fail after the retries; the pool reconnects when it is
// back, without restarting the process.
package pgstore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datamask/datamask/tokenvault"
)

// DefaultTable is the table of the records unless [WithTable] says
// otherwise.
const DefaultTable = "tokenvault_records"

// ErrNotMigrated is returned by [Open] and [New] when the vault's table
// does not exist: run [Store.Migrate] (or "datamask vault migrate") once.
var ErrNotMigrated = errors.New("pgstore: the vault's table does not exist (run Migrate, or datamask vault migrate, once)")

// Store is a token vault on PostgreSQL. Build it with [Open] or [New]; it
// is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	owned bool // Open made the pool; Close closes it
	table string
	sql   statements
	once  sync.Once
}

var _ tokenvault.Store = (*Store)(nil)

// statements are the SQL of the store's table.
type statements struct {
	create, resolve, get, byFingerprint, delete, deleteExpired, swapUpdate, swapDelete string
}

// An Option configures [Open] and [New].
type Option interface {
	apply(*config) error
}

type config struct {
	table    string
	tableSet bool
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}(\.[a-z_][a-z0-9_]{0,47})?$`)

// WithTable sets the table of the records (default [DefaultTable]): a
// lowercase SQL identifier, optionally schema-qualified ("vault.records").
// Several vaults can share a database in tables of their own.
func WithTable(name string) Option {
	return option(func(c *config) error {
		if c.tableSet {
			return errors.New("pgstore: WithTable given twice")
		}
		if !tableName.MatchString(name) {
			return fmt.Errorf("pgstore: WithTable: %q is not a lowercase SQL identifier (letters, digits and _, optionally schema.table, at most 48 characters each)", name)
		}
		c.table, c.tableSet = name, true
		return nil
	})
}

func newConfig(opts []Option) (*config, error) {
	cfg := &config{table: DefaultTable}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("pgstore: nil Option")
		}
		if err := o.apply(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// string, as pgx takes it) with a pool of its own, and checks the vault's
// table ([ErrNotMigrated] if it is missing; [Open] without the check is
// [OpenForMigrate]). [Store.Close] closes the pool. Errors never hold the
// password.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	s, err := OpenForMigrate(ctx, url, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenForMigrate is [Open] without the check that the table exists: for
// calling [Store.Migrate] on a new database.
func OpenForMigrate(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the URL, password included.
		return nil, errors.New("pgstore: not a PostgreSQL URL or connection string (want postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %v", err)
	}
	return newStore(pool, true, cfg), nil
}

// New returns a store over pool, which the caller configures, and closes
// after the last use of the store. It checks the vault's table
// ([ErrNotMigrated] if it is missing).
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: New: pool is nil")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := newStore(pool, false, cfg)
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func newStore(pool *pgxpool.Pool, owned bool, cfg *config) *Store {
	t := pgx.Identifier(strings.Split(cfg.table, ".")).Sanitize()
	keys := `unnest($1::bytea[], $2::bytea[], $3::bytea[]) WITH ORDINALITY AS k(tenant, policy, token, ord)`
	return &Store{pool: pool, owned: owned, table: cfg.table, sql: statements{
		create: `INSERT INTO ` + t + ` (tenant, policy, token, fingerprint, ciphertext, expires)
SELECT tenant, policy, token, fingerprint, ciphertext, NULLIF(expires, 0)
FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[], $6::int8[])
  WITH ORDINALITY AS r(tenant, policy, token, fingerprint, ciphertext, expires, ord)
ORDER BY ord
ON CONFLICT DO NOTHING
RETURNING tenant, policy, token`,
		// For each record Create refused: the record holding its key
		// (kind 1) and the one holding its fingerprint (kind 2).
		resolve: `SELECT k.ord, 1, t.token, t.fingerprint, t.ciphertext, t.expires
FROM ` + keys + ` JOIN ` + t + ` t ON t.tenant = k.tenant AND t.policy = k.policy AND t.token = k.token
UNION ALL
SELECT f.ord, 2, t.token, t.fingerprint, t.ciphertext, t.expires
FROM unnest($1::bytea[], $2::bytea[], $4::bytea[]) WITH ORDINALITY AS f(tenant, policy, fingerprint, ord)
  JOIN ` + t + ` t ON t.tenant = f.tenant AND t.policy = f.policy AND t.fingerprint = f.fingerprint
WHERE t.fingerprint IS NOT NULL`,
		get: `SELECT k.ord, t.fingerprint, t.ciphertext, t.expires
FROM ` + keys + ` JOIN ` + t + ` t ON t.tenant = k.tenant AND t.policy = k.policy AND t.token = k.token`,
		// Tenant and policy come as arrays too: compared with
		// parameters, a plan made before the table has statistics
		// scans every record of the tenant and policy per fingerprint.
		byFingerprint: `SELECT f.ord, t.token, t.fingerprint, t.ciphertext, t.expires
FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) WITH ORDINALITY AS f(tenant, policy, fingerprint, ord)
  JOIN ` + t + ` t ON t.fingerprint = f.fingerprint AND t.tenant = f.tenant AND t.policy = f.policy
WHERE t.fingerprint IS NOT NULL -- lets the planner use the partial index`,
		delete: `DELETE FROM ` + t + ` t USING ` + keys + `
WHERE t.tenant = k.tenant AND t.policy = k.policy AND t.token = k.token
RETURNING k.ord`,
		// By ctid: a TID scan of the rows the expiry index found and
		// locked, whatever plan the statement cache chose.
		deleteExpired: `DELETE FROM ` + t + ` WHERE ctid = ANY(ARRAY(
  SELECT ctid FROM ` + t + ` WHERE expires <= $1
  ORDER BY expires LIMIT $2 FOR UPDATE SKIP LOCKED))`,
		swapUpdate: `UPDATE ` + t + ` SET ciphertext = $5::bytea, expires = NULLIF($6::int8, 0)
WHERE tenant = $1 AND policy = $2 AND token = $3 AND ciphertext = $4`,
		swapDelete: `DELETE FROM ` + t + ` WHERE tenant = $1 AND policy = $2 AND token = $3 AND ciphertext = $4`,
	}}
}

// check fails with ErrNotMigrated if the table is missing or not the
// vault's.
func (s *Store) check(ctx context.Context) error {
	err := s.retry(ctx, true, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT tenant, policy, token, fingerprint, ciphertext, expires FROM `+s.ident()+` LIMIT 0`)
		if err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") { // undefined_table, invalid_schema_name
		return fmt.Errorf("%w: table %q", ErrNotMigrated, s.table)
	}
	if errors.As(err, &pe) && pe.Code == "42703" { // undefined_column
		return fmt.Errorf("pgstore: table %q exists but is not a token vault's (its columns differ): choose another with WithTable", s.table)
	}
	return s.wrap(err)
}

func (s *Store) ident() string { return pgx.Identifier(strings.Split(s.table, ".")).Sanitize() }

// migrateLock is the advisory lock key Migrate holds, so that processes
// migrating at once do not race on CREATE ... IF NOT EXISTS.
const migrateLock = 0x646d5f7476_01 // "dm_tv" 1

// Migrate creates the vault's table and indexes if they do not exist, in
// one transaction; it is safe to run again and from several processes at
// once. It needs the rights to create tables (and the schema of a
// schema-qualified [WithTable], which must exist).
func (s *Store) Migrate(ctx context.Context) error {
	t := s.ident()
	base := strings.ReplaceAll(s.table, ".", "_")
	stmts := []string{
		`SELECT pg_advisory_xact_lock(` + strconv.FormatInt(migrateLock, 10) + `)`,
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
	tenant      bytea NOT NULL,
	policy      bytea NOT NULL,
	token       bytea NOT NULL,
	fingerprint bytea,
	ciphertext  bytea NOT NULL,
	expires     bigint,
	PRIMARY KEY (tenant, policy, token)
)`,
		// The fingerprint first: a plan made before the table has
		// statistics cannot scan a whole tenant and policy for one.
		`CREATE UNIQUE INDEX IF NOT EXISTS ` + pgx.Identifier{base + "_fingerprint"}.Sanitize() + ` ON ` + t +
			` (fingerprint, tenant, policy) WHERE fingerprint IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS ` + pgx.Identifier{base + "_expires"}.Sanitize() + ` ON ` + t +
			` (expires) WHERE expires IS NOT NULL`,
		`COMMENT ON TABLE ` + t + ` IS 'datamask token vault records (tokenvault/pgstore v1): values only encrypted'`,
	}
	err := s.retry(ctx, true, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			for _, q := range stmts {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("pgstore: Migrate: %w", s.wrap(err))
	}
	return s.check(ctx)
}

// Close closes the pool if [Open] made it; a pool given to [New] is the
// caller's to close.
func (s *Store) Close() error {
	s.once.Do(func() {
		if s.owned {
			s.pool.Close()
		}
	})
	return nil
}

// Table returns the table of the records.
func (s *Store) Table() string { return s.table }

// String names the table, never the connection's password.
func (s *Store) String() string { return "pgstore.Store(" + strconv.Quote(s.table) + ")" }

func checkBatch(n int) error {
	if n > tokenvault.MaxBatch {
		return tokenvault.ErrTooMany
	}
	return nil
}

func nanos(t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	if t.Year() < 1678 || t.Year() > 2261 {
		return 0, fmt.Errorf("pgstore: expiry %v is outside the years 1678 to 2261", t.UTC().Format(time.RFC3339))
	}
	n := t.UnixNano()
	if n == 0 {
		n = 1 // 0 means never
	}
	return n, nil
}

func fromNanos(n *int64) time.Time {
	if n == nil || *n == 0 {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// Create implements [tokenvault.Store]. Records whose key occurs earlier
// in recs are inserted in later statements, so that the first one wins.
func (s *Store) Create(ctx context.Context, recs []tokenvault.Record) ([]tokenvault.CreateResult, error) {
	if err := checkBatch(len(recs)); err != nil {
		return nil, err
	}
	res := make([]tokenvault.CreateResult, len(recs))
	if len(recs) == 0 {
		return res, nil
	}
	exps := make([]int64, len(recs))
	for i := range recs {
		var err error
		if exps[i], err = nanos(recs[i].Expires); err != nil {
			return nil, err
		}
	}
	// Waves: each holds at most one record per key, in call order.
	seen := map[tokenvault.Key]int{}
	var waves [][]int
	for i := range recs {
		w := seen[recs[i].Key]
		seen[recs[i].Key] = w + 1
		if w == len(waves) {
			waves = append(waves, nil)
		}
		waves[w] = append(waves[w], i)
	}
	for _, wave := range waves {
		if err := s.createWave(ctx, recs, exps, wave, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// maxResolveRounds bounds the rounds of a record whose conflicting record
// is deleted each time before it is found.
const maxResolveRounds = 8

// createWave inserts recs[idx] (distinct keys) and sets their results.
func (s *Store) createWave(ctx context.Context, recs []tokenvault.Record, exps []int64, idx []int, res []tokenvault.CreateResult) error {
	for round := 0; len(idx) > 0; round++ {
		if round == maxResolveRounds {
			return errors.New("pgstore: Create: records kept conflicting with records deleted before they could be read")
		}
		n := len(idx)
		tenants, policies, tokens := make([][]byte, n), make([][]byte, n), make([][]byte, n)
		fps, cts, ex := make([][]byte, n), make([][]byte, n), make([]int64, n)
		for j, i := range idx {
			r := &recs[i]
			tenants[j], policies[j], tokens[j] = []byte(r.Tenant), []byte(r.Policy), []byte(r.Token)
			fps[j], cts[j], ex[j] = r.Fingerprint, r.Ciphertext, exps[i]
			if fps[j] != nil && len(fps[j]) == 0 {
				fps[j] = []byte{} // an empty fingerprint is a fingerprint, not NULL
			}
		}
		created := map[tokenvault.Key]bool{}
		attempts := 0
		err := s.retry(ctx, true, func(ctx context.Context) error {
			attempts++
			clear(created)
			rows, err := s.pool.Query(ctx, s.sql.create, tenants, policies, tokens, fps, cts, ex)
			if err != nil {
				return err
			}
			var t, p, k []byte
			_, err = pgx.ForEachRow(rows, []any{&t, &p, &k}, func() error {
				created[tokenvault.Key{Tenant: string(t), Policy: string(p), Token: string(k)}] = true
				return nil
			})
			return err
		})
		if err != nil {
			return s.wrap(err)
		}
		var refused []int // positions in idx
		for j, i := range idx {
			if created[recs[i].Key] {
				res[i] = tokenvault.CreateResult{Outcome: tokenvault.Created}
			} else {
				refused = append(refused, j)
			}
		}
		if len(refused) == 0 {
			return nil
		}
		// Why each was refused, and by which record.
		m := len(refused)
		rt, rp, rk, rf := make([][]byte, m), make([][]byte, m), make([][]byte, m), make([][]byte, m)
		for q, j := range refused {
			rt[q], rp[q], rk[q], rf[q] = tenants[j], policies[j], tokens[j], fps[j]
		}
		byKey := make([]*tokenvault.Record, m)
		byFP := make([]*tokenvault.Record, m)
		err = s.retry(ctx, true, func(ctx context.Context) error {
			clear(byKey)
			clear(byFP)
			rows, err := s.pool.Query(ctx, s.sql.resolve, rt, rp, rk, rf)
			if err != nil {
				return err
			}
			var ord int64
			var kind int32
			var tok, fp, ct []byte
			var exp *int64
			_, err = pgx.ForEachRow(rows, []any{&ord, &kind, &tok, &fp, &ct, &exp}, func() error {
				q := int(ord - 1)
				if q < 0 || q >= m {
					return errInternal{fmt.Errorf("pgstore: the server returned row %d of %d", ord, m)}
				}
				r := &tokenvault.Record{Key: tokenvault.Key{Tenant: string(rt[q]), Policy: string(rp[q]), Token: string(tok)},
					Fingerprint: fp, Ciphertext: ct, Expires: fromNanos(exp)}
				if kind == 1 {
					byKey[q] = r
				} else {
					byFP[q] = r
				}
				return nil
			})
			return err
		})
		if err != nil {
			return s.wrap(err)
		}
		var again []int
		for q, j := range refused {
			i := idx[j]
			switch {
			case attempts > 1 && byKey[q] != nil && string(byKey[q].Ciphertext) == string(recs[i].Ciphertext):
				// An earlier attempt of this call created it (its
				// acknowledgement was lost with the connection).
				res[i] = tokenvault.CreateResult{Outcome: tokenvault.Created}
			case byKey[q] != nil:
				res[i] = tokenvault.CreateResult{Outcome: tokenvault.TokenTaken}
			case byFP[q] != nil:
				res[i] = tokenvault.CreateResult{Outcome: tokenvault.FingerprintTaken, Existing: byFP[q]}
			default:
				again = append(again, i) // the holder is gone: try again
			}
		}
		idx = again
	}
	return nil
}

// Get implements [tokenvault.Store].
func (s *Store) Get(ctx context.Context, keys []tokenvault.Key) ([]*tokenvault.Record, error) {
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	out := make([]*tokenvault.Record, len(keys))
	if len(keys) == 0 {
		return out, ctx.Err()
	}
	tenants, policies, tokens := keyArrays(keys)
	err := s.retry(ctx, true, func(ctx context.Context) error {
		clear(out)
		rows, err := s.pool.Query(ctx, s.sql.get, tenants, policies, tokens)
		if err != nil {
			return err
		}
		var ord int64
		var fp, ct []byte
		var exp *int64
		_, err = pgx.ForEachRow(rows, []any{&ord, &fp, &ct, &exp}, func() error {
			i := int(ord - 1)
			if i < 0 || i >= len(keys) {
				return errInternal{fmt.Errorf("pgstore: the server returned row %d of %d", ord, len(keys))}
			}
			out[i] = &tokenvault.Record{Key: keys[i], Fingerprint: fp, Ciphertext: ct, Expires: fromNanos(exp)}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.wrap(err)
	}
	return out, nil
}

func keyArrays(keys []tokenvault.Key) (tenants, policies, tokens [][]byte) {
	tenants, policies, tokens = make([][]byte, len(keys)), make([][]byte, len(keys)), make([][]byte, len(keys))
	for i, k := range keys {
		tenants[i], policies[i], tokens[i] = []byte(k.Tenant), []byte(k.Policy), []byte(k.Token)
	}
	return tenants, policies, tokens
}

// GetByFingerprint implements [tokenvault.Store].
func (s *Store) GetByFingerprint(ctx context.Context, tenant, policy string, fingerprints [][]byte) ([]*tokenvault.Record, error) {
	if err := checkBatch(len(fingerprints)); err != nil {
		return nil, err
	}
	out := make([]*tokenvault.Record, len(fingerprints))
	if len(fingerprints) == 0 {
		return out, ctx.Err()
	}
	fps := fingerprints // a nil one is NULL, which matches nothing
	tenants, policies := make([][]byte, len(fps)), make([][]byte, len(fps))
	for i := range fps {
		tenants[i], policies[i] = []byte(tenant), []byte(policy)
	}
	err := s.retry(ctx, true, func(ctx context.Context) error {
		clear(out)
		rows, err := s.pool.Query(ctx, s.sql.byFingerprint, tenants, policies, fps)
		if err != nil {
			return err
		}
		var ord int64
		var tok, fp, ct []byte
		var exp *int64
		_, err = pgx.ForEachRow(rows, []any{&ord, &tok, &fp, &ct, &exp}, func() error {
			i := int(ord - 1)
			if i < 0 || i >= len(out) {
				return errInternal{fmt.Errorf("pgstore: the server returned row %d of %d", ord, len(out))}
			}
			out[i] = &tokenvault.Record{Key: tokenvault.Key{Tenant: tenant, Policy: policy, Token: string(tok)},
				Fingerprint: fp, Ciphertext: ct, Expires: fromNanos(exp)}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.wrap(err)
	}
	return out, nil
}

// Swap implements [tokenvault.Store].
func (s *Store) Swap(ctx context.Context, key tokenvault.Key, prev []byte, next *tokenvault.Record) (bool, error) {
	if next != nil && next.Key != key {
		return false, errors.New("pgstore: Swap: next has another key")
	}
	if prev == nil {
		prev = []byte{}
	}
	args := []any{[]byte(key.Tenant), []byte(key.Policy), []byte(key.Token), prev}
	if next == nil {
		var n int64
		err := s.retry(ctx, false, func(ctx context.Context) error {
			tag, err := s.pool.Exec(ctx, s.sql.swapDelete, args...)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return false, s.wrap(err)
		}
		return n == 1, nil
	}
	exp, err := nanos(next.Expires)
	if err != nil {
		return false, err
	}
	ct := next.Ciphertext
	if ct == nil {
		ct = []byte{}
	}
	args = append(args, ct, exp)
	var n int64
	attempt := 0
	err = s.retry(ctx, true, func(ctx context.Context) error {
		attempt++
		if attempt > 1 {
			// The attempt before may have swapped already.
			recs, err := s.getOnce(ctx, key)
			if err != nil {
				return err
			}
			if recs != nil && string(recs.Ciphertext) == string(ct) && recs.Expires.Equal(fromNanos(&exp)) {
				n = 1
				return nil
			}
		}
		tag, err := s.pool.Exec(ctx, s.sql.swapUpdate, args...)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return false, s.wrap(err)
	}
	return n == 1, nil
}

func (s *Store) getOnce(ctx context.Context, key tokenvault.Key) (*tokenvault.Record, error) {
	t, p, k := keyArrays([]tokenvault.Key{key})
	var ord int64
	var fp, ct []byte
	var exp *int64
	err := s.pool.QueryRow(ctx, s.sql.get, t, p, k).Scan(&ord, &fp, &ct, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &tokenvault.Record{Key: key, Fingerprint: fp, Ciphertext: ct, Expires: fromNanos(exp)}, nil
}

// Delete implements [tokenvault.Store].
func (s *Store) Delete(ctx context.Context, keys []tokenvault.Key) ([]bool, error) {
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	out := make([]bool, len(keys))
	if len(keys) == 0 {
		return out, ctx.Err()
	}
	// A key given twice is deleted once: the first reports it.
	var uniq []tokenvault.Key
	var pos []int
	seen := map[tokenvault.Key]bool{}
	for i, k := range keys {
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
			pos = append(pos, i)
		}
	}
	tenants, policies, tokens := keyArrays(uniq)
	err := s.retry(ctx, false, func(ctx context.Context) error {
		clear(out)
		rows, err := s.pool.Query(ctx, s.sql.delete, tenants, policies, tokens)
		if err != nil {
			return err
		}
		var ord int64
		_, err = pgx.ForEachRow(rows, []any{&ord}, func() error {
			q := int(ord - 1)
			if q < 0 || q >= len(uniq) {
				return errInternal{fmt.Errorf("pgstore: the server returned row %d of %d", ord, len(uniq))}
			}
			out[pos[q]] = true
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.wrap(err)
	}
	return out, nil
}

// DeleteExpired implements [tokenvault.Store].
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit < 1 || limit > tokenvault.MaxBatch {
		return 0, fmt.Errorf("pgstore: DeleteExpired: limit %d is not 1 to %d", limit, tokenvault.MaxBatch)
	}
	n, err := nanos(now)
	if err != nil {
		return 0, err
	}
	var deleted int64
	err = s.retry(ctx, false, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, s.sql.deleteExpired, n, limit)
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, s.wrap(err)
	}
	return int(deleted), nil
}

// List implements [tokenvault.Store]: records in the order of their keys
// (bytewise), the cursor being the last key listed.
func (s *Store) List(ctx context.Context, req tokenvault.ListRequest) ([]tokenvault.Record, string, error) {
	if req.Limit < 1 || req.Limit > tokenvault.MaxBatch {
		return nil, "", fmt.Errorf("pgstore: List: limit %d is not 1 to %d", req.Limit, tokenvault.MaxBatch)
	}
	if req.Policy != "" && req.Tenant == "" {
		return nil, "", errors.New("pgstore: List: a policy is only given with a tenant")
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if req.Tenant != "" {
		where = append(where, "tenant = "+arg([]byte(req.Tenant)))
	}
	if req.Policy != "" {
		where = append(where, "policy = "+arg([]byte(req.Policy)))
	}
	if req.Cursor != "" {
		after, err := parseCursor(req.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "(tenant, policy, token) > ("+arg([]byte(after.Tenant))+", "+arg([]byte(after.Policy))+", "+arg([]byte(after.Token))+")")
	}
	q := `SELECT tenant, policy, token, fingerprint, ciphertext, expires FROM ` + s.ident()
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY tenant, policy, token LIMIT " + arg(req.Limit)
	var page []tokenvault.Record
	err := s.retry(ctx, true, func(ctx context.Context) error {
		page = page[:0]
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		var t, p, k, fp, ct []byte
		var exp *int64
		_, err = pgx.ForEachRow(rows, []any{&t, &p, &k, &fp, &ct, &exp}, func() error {
			page = append(page, tokenvault.Record{Key: tokenvault.Key{Tenant: string(t), Policy: string(p), Token: string(k)},
				Fingerprint: fp, Ciphertext: ct, Expires: fromNanos(exp)})
			return nil
		})
		return err
	})
	if err != nil {
		return nil, "", s.wrap(err)
	}
	next := ""
	if len(page) == req.Limit {
		next = cursor(page[len(page)-1].Key)
	}
	return page, next, nil
}

// cursor encodes a key: uvarint lengths of tenant and policy, then the
// three, in unpadded base64url.
func cursor(k tokenvault.Key) string {
	b := binary.AppendUvarint(nil, uint64(len(k.Tenant)))
	b = binary.AppendUvarint(b, uint64(len(k.Policy)))
	b = append(append(append(b, k.Tenant...), k.Policy...), k.Token...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errors.New("pgstore: List: the cursor is not one List returned")

func parseCursor(c string) (tokenvault.Key, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return tokenvault.Key{}, errCursor
	}
	lt, n := binary.Uvarint(b)
	if n <= 0 {
		return tokenvault.Key{}, errCursor
	}
	b = b[n:]
	lp, n := binary.Uvarint(b)
	if n <= 0 || lt > uint64(len(b)-n) || lp > uint64(len(b)-n)-lt {
		return tokenvault.Key{}, errCursor
	}
	b = b[n:]
	k := tokenvault.Key{Tenant: string(b[:lt]), Policy: string(b[lt : lt+lp]), Token: string(b[lt+lp:])}
	if cursor(k) != c {
		return tokenvault.Key{}, errCursor // one spelling per cursor
	}
	return k, nil
}
