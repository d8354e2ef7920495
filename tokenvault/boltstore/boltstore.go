// Package boltstore is the embedded [tokenvault.Store]: one file on local
// disk, no server, written through go.etcd.io/bbolt (a copy-on-write B+tree
// with a single writer, fsynced on every commit). It is the vault's
// default, for one process and for trying things; where several processes
// or machines share a vault, use a server's store.
//
// Start with [Open]; pass the store to tokenvault.Open and [Store.Close]
// it after the last use. One process at a time opens a file: a second Open
// waits for the lock, then fails (see [WithLockTimeout]).
//
// # Durability
//
// Every call that writes commits and fsyncs before it returns, so a token
// returned by the vault survives a crash of the process or the machine;
// the file needs no repair after one (bbolt keeps two meta pages and
// switches between them atomically). Concurrent writers are committed
// together, in one transaction and one fsync, as soon as the one before
// them finishes: a lone caller waits for nothing, many callers share the
// cost of the sync.
//
// # Layout
//
// Bucket "records" maps (tenant, policy, token), each length-prefixed, to
// the record (fingerprint, expiry, ciphertext); "fingerprints" maps
// (tenant, policy, fingerprint) to the token; "expiry" orders records by
// expiry time for the sweep. The file holds no value or key in clear.
package boltstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/datamask/datamask/tokenvault"
)

// Store is a token vault in one bbolt file. Build it with [Open]; it is
// safe for concurrent use.
type Store struct {
	db     *bolt.DB
	path   string
	writes chan *write
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
}

var _ tokenvault.Store = (*Store)(nil)

var (
	bucketRecords      = []byte("records")
	bucketFingerprints = []byte("fingerprints")
	bucketExpiry       = []byte("expiry")
	bucketMeta         = []byte("meta")
	metaFormat         = []byte("format")
	formatV1           = []byte("datamask tokenvault bolt v1")
)

// pageSize is the page size of new vault files.
const pageSize = 8 << 10

// An Option configures [Open].
type Option interface {
	apply(*config) error
}

type config struct {
	lockTimeout time.Duration
	set         bool
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

// WithLockTimeout sets how long Open waits for another process to release
// the file (default 1 s); it must be positive.
func WithLockTimeout(d time.Duration) Option {
	return option(func(c *config) error {
		if c.set {
			return errors.New("boltstore: WithLockTimeout given twice")
		}
		if d <= 0 {
			return fmt.Errorf("boltstore: WithLockTimeout: %v is not positive", d)
		}
		c.lockTimeout, c.set = d, true
		return nil
	})
}

// Open opens the vault file at path, creating it (mode 0600) if it does
// not exist. It fails if the file is not a vault file or another process
// holds it.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := config{lockTimeout: time.Second}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("boltstore: Open: nil Option")
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	q := strconv.Quote(path)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("boltstore: %s is a directory, not a vault file", q)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      cfg.lockTimeout,
		FreelistType: bolt.FreelistMapType,
		// The free list is rebuilt on open instead of written at every
		// commit (etcd's setting): fewer pages to write and sync per
		// commit, and nothing a crash can leave inconsistent.
		NoFreelistSync: true,
		// Pages of 8 KiB for a new file (a file keeps the page size it
		// was created with). Tokens are random keys, so a batch of 1,000
		// dirties about 1,000 leaves, each written by one pwrite: twice
		// the records per page means fewer pages per batch, and about
		// 10% more tokens per second than 4 KiB pages on the reference
		// machine (BenchmarkCommitCost says where the time goes).
		PageSize: pageSize,
	})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("boltstore: %s is in use by another process (one process at a time opens a vault file)", q)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
		return nil, fmt.Errorf("boltstore: %s is not a vault file (%v)", q, err)
	case err != nil:
		return nil, fmt.Errorf("boltstore: cannot open %s: %w", q, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta); b != nil {
			if !bytes.Equal(b.Get(metaFormat), formatV1) {
				return errors.New("not a vault file of this version")
			}
		} else {
			n := 0
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { n++; return nil })
			if n > 0 {
				return errors.New("a bbolt file of another program")
			}
			b, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			if err := b.Put(metaFormat, formatV1); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bucketRecords, bucketFingerprints, bucketExpiry} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: %s is not a vault file: %v", q, err)
	}
	s := &Store{db: db, path: path, writes: make(chan *write, 64), quit: make(chan struct{}), done: make(chan struct{})}
	go s.writer()
	return s, nil
}

// Close waits for writes under way, then closes the file. Calls after
// Close fail.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.quit)
		<-s.done
		err = s.db.Close()
	})
	return err
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// String names the file.
func (s *Store) String() string { return "boltstore.Store(" + strconv.Quote(s.path) + ")" }

var errClosed = errors.New("boltstore: the store is closed")

// write is one caller's part of a group commit.
type write struct {
	fn   func(tx *bolt.Tx) error
	done chan error
}

// maxGroup bounds the writes committed together.
const maxGroup = 64

// writer commits writes one transaction at a time, each with every write
// that queued while the one before it ran.
func (s *Store) writer() {
	defer close(s.done)
	for {
		var group []*write
		select {
		case w := <-s.writes:
			group = append(group, w)
		case <-s.quit:
			for {
				select {
				case w := <-s.writes:
					w.done <- errClosed
				default:
					return
				}
			}
		}
	more:
		for len(group) < maxGroup {
			select {
			case w := <-s.writes:
				group = append(group, w)
			default:
				break more
			}
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, w := range group {
				if err := w.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && len(group) > 1 {
			// One write's failure must not fail the others: run each
			// alone.
			for _, w := range group {
				w.done <- s.db.Update(w.fn)
			}
			continue
		}
		for _, w := range group {
			w.done <- err
		}
	}
}

// update runs fn in a write transaction, committed (and fsynced) when it
// returns nil. fn may run twice (alone after a failed group) and must set
// its results afresh each time.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- w:
	case <-s.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the write is waited for: returning early would leave
	// the caller unsure of what was written, for a wait of one commit.
	if err := <-w.done; err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	return nil
}

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.quit:
		return errClosed
	default:
	}
	if err := s.db.View(fn); err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	return nil
}

// appendString appends a uvarint length and s.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func scopePrefix(tenant, policy string) []byte {
	return appendString(appendString(make([]byte, 0, 4+len(tenant)+len(policy)), tenant), policy)
}

func recordKey(k tokenvault.Key) []byte {
	return append(scopePrefix(k.Tenant, k.Policy), k.Token...)
}

func fingerprintKey(tenant, policy string, fp []byte) []byte {
	return append(scopePrefix(tenant, policy), fp...)
}

func expiryKey(t time.Time, rk []byte) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(rk)), uint64(t.UnixNano()))
	return append(b, rk...)
}

// parseRecordKey splits a key of the records bucket.
func parseRecordKey(b []byte) (tokenvault.Key, bool) {
	var parts [2]string
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return tokenvault.Key{}, false
		}
		parts[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	return tokenvault.Key{Tenant: parts[0], Policy: parts[1], Token: string(b)}, true
}

// encodeRecord is the value of a records entry: uvarint length and
// fingerprint, expiry (8 bytes, Unix nanoseconds, 0 for never),
// ciphertext.
func encodeRecord(r *tokenvault.Record) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(r.Fingerprint)+8+len(r.Ciphertext))
	b = binary.AppendUvarint(b, uint64(len(r.Fingerprint)))
	b = append(b, r.Fingerprint...)
	var exp uint64
	if !r.Expires.IsZero() {
		exp = uint64(r.Expires.UnixNano())
	}
	b = binary.BigEndian.AppendUint64(b, exp)
	return append(b, r.Ciphertext...)
}

var errCorrupt = errors.New("boltstore: a record of the file is malformed")

// decodeRecord copies a records entry out of bolt's memory.
func decodeRecord(key tokenvault.Key, v []byte) (*tokenvault.Record, error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)-k) || len(v)-k-int(n) < 8 {
		return nil, errCorrupt
	}
	r := &tokenvault.Record{Key: key}
	if n > 0 {
		r.Fingerprint = bytes.Clone(v[k : k+int(n)])
	}
	v = v[k+int(n):]
	if exp := binary.BigEndian.Uint64(v); exp != 0 {
		r.Expires = time.Unix(0, int64(exp)).UTC()
	}
	r.Ciphertext = bytes.Clone(v[8:])
	return r, nil
}

type buckets struct {
	records, fps, expiry *bolt.Bucket
}

func bucketsOf(tx *bolt.Tx) buckets {
	return buckets{tx.Bucket(bucketRecords), tx.Bucket(bucketFingerprints), tx.Bucket(bucketExpiry)}
}

// put writes r with its fingerprint and expiry entries.
func (b buckets) put(r *tokenvault.Record) error {
	rk := recordKey(r.Key)
	if err := b.records.Put(rk, encodeRecord(r)); err != nil {
		return err
	}
	if r.Fingerprint != nil {
		if err := b.fps.Put(fingerprintKey(r.Tenant, r.Policy, r.Fingerprint), []byte(r.Token)); err != nil {
			return err
		}
	}
	if !r.Expires.IsZero() {
		return b.expiry.Put(expiryKey(r.Expires, rk), nil)
	}
	return nil
}

// remove deletes the stored record r (as decoded) and its entries.
func (b buckets) remove(r *tokenvault.Record) error {
	rk := recordKey(r.Key)
	if err := b.records.Delete(rk); err != nil {
		return err
	}
	if r.Fingerprint != nil {
		fk := fingerprintKey(r.Tenant, r.Policy, r.Fingerprint)
		if t := b.fps.Get(fk); t != nil && string(t) == r.Token {
			if err := b.fps.Delete(fk); err != nil {
				return err
			}
		}
	}
	if !r.Expires.IsZero() {
		return b.expiry.Delete(expiryKey(r.Expires, rk))
	}
	return nil
}

func (b buckets) get(k tokenvault.Key) (*tokenvault.Record, error) {
	v := b.records.Get(recordKey(k))
	if v == nil {
		return nil, nil
	}
	return decodeRecord(k, v)
}

func checkBatch(n int) error {
	if n > tokenvault.MaxBatch {
		return fmt.Errorf("boltstore: %d items in one call, more than %d", n, tokenvault.MaxBatch)
	}
	return nil
}

// Create implements [tokenvault.Store].
func (s *Store) Create(ctx context.Context, recs []tokenvault.Record) ([]tokenvault.CreateResult, error) {
	if err := checkBatch(len(recs)); err != nil {
		return nil, err
	}
	res := make([]tokenvault.CreateResult, len(recs))
	// Insert in key order, which keeps bbolt's cursor on neighbouring
	// pages; records with equal keys keep their order (the first wins).
	order := make([]int, len(recs))
	keys := make([][]byte, len(recs))
	for i := range recs {
		order[i], keys[i] = i, recordKey(recs[i].Key)
	}
	slices.SortStableFunc(order, func(a, b int) int { return bytes.Compare(keys[a], keys[b]) })
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := bucketsOf(tx)
		for _, i := range order {
			r := &recs[i]
			res[i] = tokenvault.CreateResult{}
			if b.records.Get(keys[i]) != nil {
				res[i].Outcome = tokenvault.TokenTaken
				continue
			}
			if r.Fingerprint != nil {
				if t := b.fps.Get(fingerprintKey(r.Tenant, r.Policy, r.Fingerprint)); t != nil {
					ek := tokenvault.Key{Tenant: r.Tenant, Policy: r.Policy, Token: string(t)}
					existing, err := b.get(ek)
					if err != nil {
						return err
					}
					if existing != nil {
						res[i] = tokenvault.CreateResult{Outcome: tokenvault.FingerprintTaken, Existing: existing}
						continue
					}
					// An index entry without its record cannot happen
					// (both change in one transaction); it is overwritten.
				}
			}
			if err := b.put(r); err != nil {
				return err
			}
			res[i].Outcome = tokenvault.Created
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Get implements [tokenvault.Store].
func (s *Store) Get(ctx context.Context, keys []tokenvault.Key) ([]*tokenvault.Record, error) {
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	out := make([]*tokenvault.Record, len(keys))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := bucketsOf(tx)
		for i, k := range keys {
			r, err := b.get(k)
			if err != nil {
				return err
			}
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetByFingerprint implements [tokenvault.Store].
func (s *Store) GetByFingerprint(ctx context.Context, tenant, policy string, fps [][]byte) ([]*tokenvault.Record, error) {
	if err := checkBatch(len(fps)); err != nil {
		return nil, err
	}
	out := make([]*tokenvault.Record, len(fps))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := bucketsOf(tx)
		for i, fp := range fps {
			t := b.fps.Get(fingerprintKey(tenant, policy, fp))
			if t == nil {
				continue
			}
			r, err := b.get(tokenvault.Key{Tenant: tenant, Policy: policy, Token: string(t)})
			if err != nil {
				return err
			}
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Swap implements [tokenvault.Store].
func (s *Store) Swap(ctx context.Context, key tokenvault.Key, prev []byte, next *tokenvault.Record) (bool, error) {
	if next != nil && next.Key != key {
		return false, errors.New("boltstore: Swap: the next record has another key")
	}
	var swapped bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		swapped = false
		b := bucketsOf(tx)
		cur, err := b.get(key)
		if err != nil || cur == nil || !bytes.Equal(cur.Ciphertext, prev) {
			return err
		}
		if err := b.remove(cur); err != nil {
			return err
		}
		if next != nil {
			if err := b.put(next); err != nil {
				return err
			}
		}
		swapped = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return swapped, nil
}

// Delete implements [tokenvault.Store].
func (s *Store) Delete(ctx context.Context, keys []tokenvault.Key) ([]bool, error) {
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	out := make([]bool, len(keys))
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := bucketsOf(tx)
		for i, k := range keys {
			out[i] = false
			cur, err := b.get(k)
			if err != nil {
				return err
			}
			if cur == nil {
				continue
			}
			if err := b.remove(cur); err != nil {
				return err
			}
			out[i] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteExpired implements [tokenvault.Store].
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit < 1 || limit > tokenvault.MaxBatch {
		return 0, fmt.Errorf("boltstore: DeleteExpired: limit %d is not between 1 and %d", limit, tokenvault.MaxBatch)
	}
	n := 0
	bound := uint64(now.UnixNano())
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		b := bucketsOf(tx)
		var due [][]byte
		c := b.expiry.Cursor()
		for k, _ := c.First(); k != nil && len(due) < limit; k, _ = c.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k) > bound {
				break
			}
			due = append(due, bytes.Clone(k))
		}
		for _, ek := range due {
			if err := b.expiry.Delete(ek); err != nil {
				return err
			}
			key, ok := parseRecordKey(ek[8:])
			if !ok {
				return errCorrupt
			}
			cur, err := b.get(key)
			if err != nil {
				return err
			}
			if cur == nil || cur.Expires.IsZero() || uint64(cur.Expires.UnixNano()) > bound {
				continue // a stale entry
			}
			if err := b.remove(cur); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// List implements [tokenvault.Store]. Records come in key order; the
// cursor is the last key of the page.
func (s *Store) List(ctx context.Context, req tokenvault.ListRequest) ([]tokenvault.Record, string, error) {
	if req.Limit < 1 || req.Limit > tokenvault.MaxBatch {
		return nil, "", fmt.Errorf("boltstore: List: limit %d is not between 1 and %d", req.Limit, tokenvault.MaxBatch)
	}
	if req.Policy != "" && req.Tenant == "" {
		return nil, "", errors.New("boltstore: List: a policy needs a tenant")
	}
	var prefix []byte
	switch {
	case req.Policy != "":
		prefix = scopePrefix(req.Tenant, req.Policy)
	case req.Tenant != "":
		prefix = appendString(nil, req.Tenant)
	}
	var after []byte
	if req.Cursor != "" {
		var err error
		if after, err = base64.RawURLEncoding.DecodeString(req.Cursor); err != nil || !bytes.HasPrefix(after, prefix) {
			return nil, "", errors.New("boltstore: List: invalid cursor (pass the one the previous page returned)")
		}
	}
	var out []tokenvault.Record
	next := ""
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		var k, v []byte
		if after != nil {
			k, v = c.Seek(after)
			if bytes.Equal(k, after) {
				k, v = c.Next()
			}
		} else {
			k, v = c.Seek(prefix)
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			key, ok := parseRecordKey(k)
			if !ok {
				return errCorrupt
			}
			if req.Policy == "" && req.Tenant != "" && key.Tenant != req.Tenant {
				continue
			}
			r, err := decodeRecord(key, v)
			if err != nil {
				return err
			}
			out = append(out, *r)
			if len(out) == req.Limit {
				if k2, _ := c.Next(); k2 != nil && bytes.HasPrefix(k2, prefix) {
					next = base64.RawURLEncoding.EncodeToString(k)
				}
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
