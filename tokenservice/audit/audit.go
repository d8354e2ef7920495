// Package audit writes and verifies the audit trail of the tokenization
// service (package tokenservice): one JSON line per audited call, each
// holding the SHA-256 of the line before it, so that a removed or edited
// line breaks the chain and [Verify] (the command "datamask audit verify
// FILE") finds it.
//
// Start with [OpenFile] (a file, fsynced before each call is answered) or
// [New] (a stream such as standard output, which AWS Lambda ships to
// CloudWatch Logs), then give the [Log] to tokenservice.WithAudit.
//
// # What a line holds
//
// Time, caller, tenant, policy, operation, purpose, outcome, HTTP status,
// counts, and a keyed hash of each token (HMAC-SHA256 under the log's
// audit key, truncated to 128 bits): never a value, never a token. The
// hash lets an investigator holding the keys find the lines of a token
// ([Log.TokenHash]) while a reader of the file learns nothing of it,
// format-preserving tokens included.
//
// The audit key is 32 random bytes made when a log starts, written into
// the log's first line as a message of the vault's provider (so the same
// KMS key or local key protects it) and read back when a file log is
// reopened. A file whose key no longer decrypts (the keys were rotated)
// goes on under a new key line.
//
// # The chain, and what it detects
//
// Each line ends with "prev": the SHA-256 (hex) of the line before it, ""
// for the first. Editing, removing, reordering or inserting a line breaks
// the chain at the line after it. Cutting lines off the end, or rewriting
// the whole file from some line on, does not: the log reports its head
// (the hash of its last line) in the service's structured log at every
// start and stop, and [Verify] checks a file against a head recorded
// elsewhere ("datamask audit verify --head HASH FILE").
//
// # Durability
//
// [Log.Write] returns once the line is written and, for a file, fsynced:
// the service answers a call only after its audit line is on disk, so no
// answered call is missing from the trail. One goroutine writes the lines
// of concurrent calls together with one fsync (group commit).
package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/datamask/datamask"
)

// keyContext is the encryption context of the wrapped audit key.
var keyContext = map[string]string{"datamask:audit": "token-hash-key"}

// Outcomes of a call.
const (
	// OutcomeOK: the call was served (some of its values may have failed;
	// see Errors).
	OutcomeOK = "ok"
	// OutcomeDenied: the caller lacks the right (403), or a detokenize
	// came without a purpose; nothing was decrypted.
	OutcomeDenied = "denied"
	// OutcomeUnauthenticated: no valid credentials (401).
	OutcomeUnauthenticated = "unauthenticated"
	// OutcomeInvalid: the request was refused as malformed (4xx) before
	// the vault was asked.
	OutcomeInvalid = "invalid"
	// OutcomeFailed: the vault failed (store or keys unavailable, 5xx);
	// nothing was returned.
	OutcomeFailed = "failed"
)

// Event is one audited call.
type Event struct {
	Time      time.Time
	RequestID string
	Caller    string // "apikey:NAME", "jwt:SUBJECT", "" when unauthenticated
	Tenant    string
	Policy    string
	Operation string // tokenize, detokenize, lookup, delete, forget
	Purpose   string
	Outcome   string
	Status    int      // the HTTP status answered
	Count     int      // the values or tokens in the call
	Errors    int      // how many of them failed (not found, invalid...)
	Tokens    []string // keyed hashes of the tokens, from Log.TokenHash
	Reveal    string   // for detokenize: full or last4
}

// line is the JSON form of a line; field order is the order written.
type line struct {
	Seq        uint64   `json:"seq"`
	Time       string   `json:"time"`
	Type       string   `json:"type"`
	KeyID      string   `json:"key_id"`
	WrappedKey string   `json:"wrapped_key,omitempty"`
	RequestID  string   `json:"request_id,omitempty"`
	Caller     string   `json:"caller,omitempty"`
	Tenant     string   `json:"tenant,omitempty"`
	Policy     string   `json:"policy,omitempty"`
	Operation  string   `json:"operation,omitempty"`
	Purpose    string   `json:"purpose,omitempty"`
	Outcome    string   `json:"outcome,omitempty"`
	Status     int      `json:"status,omitempty"`
	Count      int      `json:"count,omitempty"`
	Errors     int      `json:"errors,omitempty"`
	Reveal     string   `json:"reveal,omitempty"`
	Tokens     []string `json:"token_hashes,omitempty"`
	Prev       string   `json:"prev"`
}

// Log is an audit trail being written. Build it with [OpenFile] or [New];
// it is safe for concurrent use. Close it after the last Write.
type Log struct {
	keyID string
	mac   sync.Pool // of hash.Hash: HMAC-SHA256 under the audit key

	reqs chan *request
	quit chan struct{}
	done chan struct{}
	once sync.Once

	closeMu sync.RWMutex // held to queue a request; Close takes it to stop queueing
	closed  bool

	// Owned by the writer goroutine.
	w      io.Writer
	file   *os.File // nil for a stream
	offset int64    // the file's length after the last good line
	seq    uint64
	prev   string

	mu   sync.Mutex
	head string // the hash of the last line written
	n    uint64 // lines written by this Log
}

type request struct {
	ev   *Event
	done chan error
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("audit: the log is closed")

// maxGroup bounds the lines written with one fsync.
const maxGroup = 256

// New starts a log on w, a stream such as os.Stdout: its first line holds
// the new audit key, wrapped by provider. Lines are written whole, one
// Write call each, and not fsynced.
func New(ctx context.Context, w io.Writer, provider datamask.Provider) (*Log, error) {
	if w == nil || provider == nil {
		return nil, errors.New("audit: New: nil writer or provider")
	}
	l := &Log{w: w}
	if err := l.startKey(ctx, provider, time.Now()); err != nil {
		return nil, err
	}
	l.run()
	return l, nil
}

// OpenFile opens (or creates, mode 0600) the audit file at path and
// continues its chain: the last line's hash and sequence number are read
// back, and the audit key from the file's last key line, decrypted with
// provider; a new file, or one whose key provider cannot decrypt, gets a
// new key line. A file whose chain is broken is refused (run Verify on
// it, keep it as evidence, and start a new file). Each Write is fsynced
// before it returns.
func OpenFile(ctx context.Context, path string, provider datamask.Provider) (*Log, error) {
	if provider == nil {
		return nil, errors.New("audit: OpenFile: nil provider")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %v", err)
	}
	l := &Log{w: f, file: f}
	st, err := scan(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	if st.partial {
		// A line cut short by a crash was never acknowledged: drop it.
		if err := f.Truncate(st.good); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: %v", err)
		}
	}
	if _, err := f.Seek(st.good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %v", err)
	}
	l.offset, l.seq, l.prev = st.good, st.seq, st.head
	l.head = st.head
	var key []byte
	if st.lastKey != nil {
		wrapped, err := base64.StdEncoding.DecodeString(st.lastKey.WrappedKey)
		if err == nil {
			key, err = provider.Decrypt(ctx, wrapped, keyContext)
			if err == nil && len(key) != 32 {
				err = errors.New("wrong length")
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				f.Close()
				return nil, ctx.Err()
			}
			key = nil // rotated keys: go on under a new one
		}
	}
	if key != nil {
		l.setKey(key, st.lastKey.KeyID)
	} else if err := l.startKey(ctx, provider, time.Now()); err != nil {
		f.Close()
		return nil, err
	}
	l.run()
	return l, nil
}

// startKey makes a new audit key and writes its key line.
func (l *Log) startKey(ctx context.Context, provider datamask.Provider, now time.Time) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	wrapped, err := provider.Encrypt(ctx, key, keyContext)
	if err != nil {
		return fmt.Errorf("audit: cannot wrap the audit key: %w", err)
	}
	id := sha256.Sum256(key)
	l.setKey(key, hex.EncodeToString(id[:8]))
	ln := &line{Type: "key", KeyID: l.keyID, WrappedKey: base64.StdEncoding.EncodeToString(wrapped)}
	return l.writeLines([]*line{ln}, now)
}

func (l *Log) setKey(key []byte, id string) {
	l.keyID = id
	l.mac.New = func() any { return hmac.New(sha256.New, key) }
}

// TokenHash returns the keyed hash of token in tenant and policy, as the
// lines of this log hold it: 32 hex digits.
func (l *Log) TokenHash(tenant, policy, token string) string {
	h := l.mac.Get().(hash.Hash)
	h.Reset()
	var n [4]byte
	for _, s := range []string{tenant, policy, token} {
		n[0], n[1], n[2], n[3] = byte(len(s)>>24), byte(len(s)>>16), byte(len(s)>>8), byte(len(s))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var sum [sha256.Size]byte
	out := hex.EncodeToString(h.Sum(sum[:0])[:16])
	l.mac.Put(h)
	return out
}

// Head returns the hash of the last line written (the chain's head) and
// how many lines this Log wrote.
func (l *Log) Head() (string, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head, l.n
}

// Write appends ev and returns once it is written (and fsynced, for a
// file). An error means the line may be missing: the caller must not
// answer as if the call were audited. A failed write is cut off the file,
// and the next Write tries again.
func (l *Log) Write(ctx context.Context, ev *Event) error {
	r := &request{ev: ev, done: make(chan error, 1)}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return ctx.Err()
	}
	l.closeMu.RUnlock()
	// Once queued, the line is waited for: the caller must know whether
	// it was written.
	return <-r.done
}

// Close writes what is queued and closes the file (not a stream).
func (l *Log) Close() error {
	var err error
	l.once.Do(func() {
		l.closeMu.Lock()
		l.closed = true
		l.closeMu.Unlock()
		close(l.quit)
		<-l.done
		if l.file != nil {
			err = l.file.Close()
		}
	})
	return err
}

func (l *Log) run() {
	l.reqs = make(chan *request, maxGroup)
	l.quit = make(chan struct{})
	l.done = make(chan struct{})
	go l.writer()
}

func (l *Log) writer() {
	defer close(l.done)
	for {
		var group []*request
		quitting := false
		select {
		case r := <-l.reqs:
			group = append(group, r)
		case <-l.quit:
			// Nothing is queued after quit: write what is, then stop.
			quitting = true
		}
	more:
		for quitting || len(group) < maxGroup {
			select {
			case r := <-l.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		if len(group) == 0 {
			return
		}
		lines := make([]*line, len(group))
		for i, r := range group {
			ev := r.ev
			lines[i] = &line{
				Type: "event", KeyID: l.keyID, RequestID: ev.RequestID, Caller: ev.Caller, Tenant: ev.Tenant,
				Policy: ev.Policy, Operation: ev.Operation, Purpose: ev.Purpose, Outcome: ev.Outcome,
				Status: ev.Status, Count: ev.Count, Errors: ev.Errors, Reveal: ev.Reveal, Tokens: ev.Tokens,
				Time: ev.Time.UTC().Format(time.RFC3339Nano),
			}
		}
		err := l.writeLines(lines, time.Time{})
		for _, r := range group {
			r.done <- err
		}
		if quitting {
			return
		}
	}
}

// writeLines chains and writes lines (setting Seq, Prev and, if not set,
// Time from now), then fsyncs a file. On failure the file is cut back to
// its last good line and the chain is left where it was.
func (l *Log) writeLines(lines []*line, now time.Time) error {
	var buf bytes.Buffer
	seq, prev := l.seq, l.prev
	for _, ln := range lines {
		seq++
		ln.Seq = seq
		if ln.Time == "" {
			if now.IsZero() {
				now = time.Now()
			}
			ln.Time = now.UTC().Format(time.RFC3339Nano)
		}
		ln.Prev = prev
		b, err := json.Marshal(ln)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		prev = hex.EncodeToString(sum[:])
		buf.Write(b)
		buf.WriteByte('\n')
	}
	_, err := l.w.Write(buf.Bytes())
	if err == nil && l.file != nil {
		err = l.file.Sync()
	}
	if err != nil {
		if l.file != nil {
			// Cut off what may have been written, so that the next
			// lines chain on the last good one.
			if terr := l.file.Truncate(l.offset); terr == nil {
				_, _ = l.file.Seek(l.offset, io.SeekStart)
			}
		}
		return fmt.Errorf("audit: cannot write the audit trail: %w", err)
	}
	l.offset += int64(buf.Len())
	l.seq, l.prev = seq, prev
	l.mu.Lock()
	l.head = prev
	l.n += uint64(len(lines))
	l.mu.Unlock()
	return nil
}

// Summary is what [Verify] found in an intact trail.
type Summary struct {
	Lines  int    // lines in the file
	Events int    // event lines
	Keys   int    // key lines
	Head   string // the SHA-256 (hex) of the last line: the chain's head
}

// ChainError is returned by [Verify] for a trail whose chain is broken:
// Line (from 1) is the first line that does not follow from the ones
// before it.
type ChainError struct {
	Line   int
	Reason string
}

func (e *ChainError) Error() string {
	return "audit: the chain breaks at line " + strconv.Itoa(e.Line) + ": " + e.Reason
}

// Verify reads an audit trail and checks its chain: every line is a JSON
// object of this format whose "prev" is the hash of the line before it
// ("" for the first), and whose "seq" follows the line before. It returns
// a [*ChainError] naming the first line that breaks it, so a removed,
// edited, inserted or reordered line is found. If head is not "", the
// trail must also end with the line whose hash it is (a head recorded
// elsewhere, which catches lines cut off the end).
func Verify(r io.Reader, head string) (Summary, error) {
	st, err := scan(r)
	if err != nil {
		return Summary{}, err
	}
	if st.partial {
		return Summary{}, &ChainError{Line: st.lines + 1, Reason: "the last line is cut short (no newline)"}
	}
	s := Summary{Lines: st.lines, Events: st.events, Keys: st.keys, Head: st.head}
	if head != "" && head != st.head {
		return s, fmt.Errorf("audit: the trail's head is %s, not %s: lines were cut off the end, or the trail was rewritten", st.head, head)
	}
	return s, nil
}

// scanState is what scan read of a trail.
type scanState struct {
	lines, events, keys int
	seq                 uint64
	head                string
	good                int64 // bytes up to the end of the last whole line
	partial             bool  // bytes after the last newline
	lastKey             *line
}

// maxLine bounds one line: 1,000 token hashes and the rest.
const maxLine = 1 << 20

// scan reads and checks every line of r.
func scan(r io.Reader) (*scanState, error) {
	st := &scanState{}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			var big []byte
			big = append(big, b...)
			for errors.Is(err, bufio.ErrBufferFull) && len(big) <= maxLine {
				b, err = br.ReadSlice('\n')
				big = append(big, b...)
			}
			if len(big) > maxLine {
				return nil, &ChainError{Line: st.lines + 1, Reason: "longer than " + strconv.Itoa(maxLine) + " bytes"}
			}
			b = big
		}
		if err == io.EOF {
			if len(b) > 0 {
				st.partial = true
			}
			return st, nil
		}
		if err != nil {
			return nil, fmt.Errorf("audit: cannot read the trail: %v", err)
		}
		n := st.lines + 1
		text := b[:len(b)-1]
		var ln line
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ln); err != nil || dec.More() {
			return nil, &ChainError{Line: n, Reason: "not an audit line (JSON of this format)"}
		}
		if ln.Prev != st.head {
			return nil, &ChainError{Line: n, Reason: "its prev is not the hash of the line before it (a line before it was removed, edited or inserted)"}
		}
		if ln.Seq != st.seq+1 {
			return nil, &ChainError{Line: n, Reason: fmt.Sprintf("seq %d does not follow %d", ln.Seq, st.seq)}
		}
		switch ln.Type {
		case "key":
			if ln.WrappedKey == "" || ln.KeyID == "" {
				return nil, &ChainError{Line: n, Reason: "a key line without its key"}
			}
			st.keys++
			k := ln
			st.lastKey = &k
		case "event":
			st.events++
		default:
			return nil, &ChainError{Line: n, Reason: "unknown line type " + strconv.Quote(ln.Type)}
		}
		sum := sha256.Sum256(text)
		st.head = hex.EncodeToString(sum[:])
		st.seq = ln.Seq
		st.lines = n
		st.good += int64(len(b))
	}
}
