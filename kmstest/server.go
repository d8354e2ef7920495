package kmstest

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Op names a KMS operation the fake serves, as it appears in the
// X-Amz-Target header (TrentService.Op). The zero value is not an operation.
type Op string

// The operations the fake serves.
const (
	OpCreateKey                       Op = "CreateKey"
	OpDescribeKey                     Op = "DescribeKey"
	OpGenerateDataKey                 Op = "GenerateDataKey"
	OpGenerateDataKeyWithoutPlaintext Op = "GenerateDataKeyWithoutPlaintext"
	OpEncrypt                         Op = "Encrypt"
	OpDecrypt                         Op = "Decrypt"
	OpReEncrypt                       Op = "ReEncrypt"
	OpDisableKey                      Op = "DisableKey"
	OpEnableKey                       Op = "EnableKey"
)

var ops = [...]Op{OpCreateKey, OpDescribeKey, OpGenerateDataKey, OpGenerateDataKeyWithoutPlaintext, OpEncrypt, OpDecrypt,
	OpReEncrypt, OpDisableKey, OpEnableKey}

// Ops returns every operation the fake serves.
func Ops() []Op { return slices.Clone(ops[:]) }

func (op Op) valid() bool { return slices.Contains(ops[:], op) }

// mustValid panics on an operation the fake does not serve: asking for the
// calls or faults of one is a bug in the test, and a silent zero would hide
// it.
func (op Op) mustValid(method string) {
	if !op.valid() {
		panic(fmt.Sprintf("kmstest: %s: unknown operation %q (want one of %v)", method, string(op), ops))
	}
}

// Defaults of a [Server].
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "111122223333"
	DefaultAddr    = "127.0.0.1:0"
)

// Credentials the fake expects nothing of: it checks that requests are
// signed for its region and the kms service, never the signature itself.
// [Server.Env] hands these to subprocesses.
const (
	AccessKeyID     = "kmstest"
	SecretAccessKey = "kmstest"
)

const (
	maxRequestBody = 1 << 20 // far above KMS's own limits (6144-byte ciphertexts)
	maxHTTPKeys    = 10000   // keys CreateKey over HTTP may create
	maxLog         = 1000    // requests kept by Requests
)

// An Option configures a [Server] in [NewServer] or [Start].
type Option interface {
	apply(*config) error
}

type config struct {
	region, account, addr string
	latency               time.Duration
	keySeed               []byte
	set                   map[string]bool
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

func once(c *config, name string) error {
	if c.set[name] {
		return fmt.Errorf("kmstest: %s given twice", name)
	}
	c.set[name] = true
	return nil
}

// WithInsecureKeySeed derives the id and secret of every key the server
// creates from seed and the key's creation order (the first key created,
// by CreateKey or over HTTP, is key 0), instead of drawing them at random.
// Two servers started with the same seed, Region and account create the
// same keys, so that one decrypts the ciphertext blobs of the other: test
// vectors holding KMS-wrapped data keys can be replayed. Anyone who knows
// the seed has the keys: only use it for test vectors, never for anything
// to protect.
func WithInsecureKeySeed(seed []byte) Option {
	return option(func(c *config) error {
		if err := once(c, "WithInsecureKeySeed"); err != nil {
			return err
		}
		if len(seed) == 0 {
			return errors.New("kmstest: WithInsecureKeySeed: the seed is empty")
		}
		c.keySeed = slices.Clone(seed)
		return nil
	})
}

// WithRegion sets the AWS Region the server acts as (default
// [DefaultRegion]). Key ARNs name it, requests must be signed for it, and
// the ARN partition follows from it ("cn-" Regions are in aws-cn, "us-gov-"
// in aws-us-gov, the others in aws).
func WithRegion(region string) Option {
	return option(func(c *config) error {
		if err := once(c, "WithRegion"); err != nil {
			return err
		}
		if !validRegion(region) {
			return fmt.Errorf("kmstest: WithRegion: %q is not a Region name such as %q", region, DefaultRegion)
		}
		c.region = region
		return nil
	})
}

// WithAccount sets the 12-digit AWS account the keys belong to (default
// [DefaultAccount]).
func WithAccount(account string) Option {
	return option(func(c *config) error {
		if err := once(c, "WithAccount"); err != nil {
			return err
		}
		if !validAccount(account) {
			return fmt.Errorf("kmstest: WithAccount: %q is not a 12-digit account id", account)
		}
		c.account = account
		return nil
	})
}

// WithAddr sets the address to listen on (default [DefaultAddr], a free
// port). The host must be a loopback address or "localhost": the fake checks
// no signature, so it must not be reachable from other machines.
func WithAddr(addr string) Option {
	return option(func(c *config) error {
		if err := once(c, "WithAddr"); err != nil {
			return err
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("kmstest: WithAddr: %q is not host:port: %v", addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("kmstest: WithAddr: host %q is not a loopback address (use 127.0.0.1, [::1] or localhost)", host)
		}
		c.addr = addr
		return nil
	})
}

// WithLatency delays every request by d before it is served, as
// [Server.SetLatency] does.
func WithLatency(d time.Duration) Option {
	return option(func(c *config) error {
		if err := once(c, "WithLatency"); err != nil {
			return err
		}
		if d < 0 {
			return fmt.Errorf("kmstest: WithLatency: negative latency %v", d)
		}
		c.latency = d
		return nil
	})
}

// A Fault is an error response the server returns instead of serving a
// request; see [Server.FailNext].
type Fault struct {
	Type    string // the exception name sent as __type, e.g. "KMSInternalException"
	Status  int    // the HTTP status, 400 to 599
	Message string // the message sent with it
}

// A Request is what the server recorded of one request; see
// [Server.Requests]. It never holds plaintext or ciphertext.
type Request struct {
	Op Op
	// KeyID is the KeyId the client sent ("" if none); for ReEncrypt, the
	// DestinationKeyId.
	KeyID string
	// EncryptionContext is the context the client sent (nil if none); for
	// ReEncrypt, the DestinationEncryptionContext.
	EncryptionContext map[string]string
	// SourceKeyID and SourceEncryptionContext are ReEncrypt's SourceKeyId
	// and SourceEncryptionContext ("" and nil if none, and for the other
	// operations).
	SourceKeyID             string
	SourceEncryptionContext map[string]string
	GrantTokens             []string // nil if none were sent
	Error                   string   // the exception returned, "" on success, "client went away" if dropped
}

// Server is a fake AWS KMS on loopback. It speaks the KMS JSON 1.1 protocol,
// so any AWS SDK pointed at [Server.URL] works against it. Build it with
// [NewServer] or [Start]; its methods are safe for concurrent use.
type Server struct {
	region, account, partition string
	url                        string
	httpServer                 *http.Server
	done                       chan struct{} // closed by Close
	serveErr                   chan error

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup // requests being served; Add only under mu while !closed
	keys     map[keyUUID]*key
	order    []*key
	keySeed  []byte // see WithInsecureKeySeed; nil for random keys
	created  int    // keys created over HTTP
	calls    map[Op]int
	faults   map[Op][]Fault
	latency  time.Duration
	log      []Request // the last maxLog requests, oldest first

	abandoned atomic.Int64 // requests dropped because their client went away
}

type key struct {
	id          keyUUID
	keyID, arn  string
	created     time.Time
	description string
	enabled     bool // guarded by Server.mu
	aead        cipher.AEAD
}

// NewServer starts a fake KMS listening on loopback. Close it when done, or
// use [Start] in tests. An error to listen wraps the *net.OpError.
func NewServer(opts ...Option) (*Server, error) {
	c := &config{region: DefaultRegion, account: DefaultAccount, addr: DefaultAddr, set: map[string]bool{}}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("kmstest: NewServer: nil Option")
		}
		if err := o.apply(c); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("kmstest: listen on %s: %w", c.addr, err)
	}
	s := &Server{
		region:    c.region,
		account:   c.account,
		partition: partitionOf(c.region),
		url:       "http://" + ln.Addr().String(),
		done:      make(chan struct{}),
		serveErr:  make(chan error, 1),
		keys:      map[keyUUID]*key{},
		calls:     map[Op]int{},
		faults:    map[Op][]Fault{},
		latency:   c.latency,
		keySeed:   c.keySeed,
	}
	s.httpServer = &http.Server{
		Handler:           handler{s},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	go func() { s.serveErr <- s.httpServer.Serve(ln) }()
	return s, nil
}

// Start starts a fake KMS for the test tb and closes it when tb ends. It
// fails tb if the server cannot start.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := NewServer(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// URL returns the endpoint, such as "http://127.0.0.1:38451". Give it to an
// SDK as its KMS endpoint (see the package documentation).
func (s *Server) URL() string { return s.url }

// Region returns the AWS Region the server acts as.
func (s *Server) Region() string { return s.region }

// Account returns the AWS account its keys belong to.
func (s *Server) Account() string { return s.account }

// Partition returns the ARN partition of its keys: "aws", "aws-cn", ...
func (s *Server) Partition() string { return s.partition }

// Env returns the environment variables that point an AWS SDK or CLI
// running in a subprocess at this server: the KMS endpoint
// (AWS_ENDPOINT_URL_KMS), the Region (AWS_REGION and AWS_DEFAULT_REGION),
// static credentials the fake accepts, and AWS_EC2_METADATA_DISABLED so no
// SDK waits for instance metadata.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_KMS":      s.url,
		"AWS_REGION":                s.region,
		"AWS_DEFAULT_REGION":        s.region,
		"AWS_ACCESS_KEY_ID":         AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// Close stops the server: it stops listening, drops open connections, ends
// requests waiting out an injected latency and waits for the requests being
// served. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	err := s.httpServer.Close()
	s.inflight.Wait()
	if serr := <-s.serveErr; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("kmstest: close: %v", err)
	}
	return nil
}

// CreateKey creates an enabled symmetric encryption key and returns its key
// ARN (arn:aws:kms:REGION:ACCOUNT:key/UUID). Keys created this way do not
// count against the limit on keys created over HTTP, and the call is not
// counted in [Server.Calls].
func (s *Server) CreateKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createKeyLocked("").arn
}

func (s *Server) createKeyLocked(description string) *key {
	var id keyUUID
	var aead cipher.AEAD
	if s.keySeed != nil {
		id, aead = seededKey(s.keySeed, len(s.order))
	} else {
		id = newKeyUUID()
		for s.keys[id] != nil { // never in practice: 122 random bits
			id = newKeyUUID()
		}
		aead = newKeyAEAD()
	}
	k := &key{
		id:          id,
		keyID:       id.String(),
		created:     time.Now(),
		description: description,
		enabled:     true,
		aead:        aead,
	}
	k.arn = s.keyARN(k.keyID)
	s.keys[id] = k
	s.order = append(s.order, k)
	return k
}

func (s *Server) keyARN(keyID string) string {
	return "arn:" + s.partition + ":kms:" + s.region + ":" + s.account + ":key/" + keyID
}

// Keys returns the key ARNs of every key, in order of creation.
func (s *Server) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	arns := make([]string, len(s.order))
	for i, k := range s.order {
		arns[i] = k.arn
	}
	return arns
}

// DisableKey disables the key named by keyID (a key ARN or key id):
// GenerateDataKey, Encrypt and Decrypt with it then fail with
// DisabledException, as they do in AWS KMS. It fails if there is no such key.
func (s *Server) DisableKey(keyID string) error { return s.setEnabled("DisableKey", keyID, false) }

// EnableKey enables the key named by keyID again (a key ARN or key id). It
// fails if there is no such key.
func (s *Server) EnableKey(keyID string) error { return s.setEnabled("EnableKey", keyID, true) }

func (s *Server) setEnabled(method, keyID string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, aerr := s.lookupLocked(keyID, false)
	if aerr != nil {
		return fmt.Errorf("kmstest: %s: %s", method, aerr.Message)
	}
	k.enabled = enabled
	return nil
}

// Calls returns how many requests for op the server has received since it
// started or since [Server.ResetCalls]: every request that named op in its
// X-Amz-Target header, whether it succeeded, failed or was refused by an
// injected fault (so an SDK's retries count). It panics if op is not one of
// [Ops].
func (s *Server) Calls(op Op) int {
	op.mustValid("Calls")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// CallCounts returns a snapshot of [Server.Calls] for every operation
// called at least once.
func (s *Server) CallCounts() map[Op]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Requests returns what the server recorded of the most recent requests
// (up to 1000), oldest first; see [Request].
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		r.EncryptionContext = maps.Clone(r.EncryptionContext)
		r.SourceEncryptionContext = maps.Clone(r.SourceEncryptionContext)
		r.GrantTokens = slices.Clone(r.GrantTokens)
		out[i] = r
	}
	return out
}

// ResetCalls sets every call count to zero and forgets the recorded
// requests. Keys, faults and latency stay as they are.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	s.log = nil
}

// FailNext makes the next n requests for op fail with f instead of being
// served, after any queued faults. Each refused request still counts in
// [Server.Calls]. It panics if op is not one of [Ops], n is negative, or f
// has no Type or a Status outside 400-599.
func (s *Server) FailNext(op Op, n int, f Fault) {
	op.mustValid("FailNext")
	if n < 0 {
		panic(fmt.Sprintf("kmstest: FailNext: negative count %d", n))
	}
	if f.Type == "" || f.Status < 400 || f.Status > 599 {
		panic(fmt.Sprintf("kmstest: FailNext: fault needs a Type and a Status in 400-599, got %q %d", f.Type, f.Status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[op] = append(s.faults[op], f)
	}
}

// Throttle makes the next n requests for op fail with ThrottlingException
// (HTTP 400, "Rate exceeded"), which AWS SDKs retry with backoff. It panics
// if op is not one of [Ops] or n is negative.
func (s *Server) Throttle(op Op, n int) {
	s.FailNext(op, n, Fault{Type: "ThrottlingException", Status: http.StatusBadRequest, Message: "Rate exceeded"})
}

// ResetFaults drops every fault queued by [Server.FailNext] and
// [Server.Throttle].
func (s *Server) ResetFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// SetLatency delays every request received from now on by d before it is
// served (0 for none). A client that gives up while it waits sees its own
// context error, and the server drops the request without serving it.
// It panics if d is negative.
func (s *Server) SetLatency(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("kmstest: SetLatency: negative latency %v", d))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

func validRegion(r string) bool {
	if r == "" || len(r) > 32 || r[0] < 'a' || r[0] > 'z' || !strings.Contains(r, "-") || strings.HasSuffix(r, "-") {
		return false
	}
	for _, c := range r {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func validAccount(a string) bool {
	if len(a) != 12 {
		return false
	}
	for _, c := range a {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// partitionOf returns the ARN partition of region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	default:
		return "aws"
	}
}
