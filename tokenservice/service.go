package tokenservice

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/datamask/datamask/tokenservice/audit"
	"github.com/datamask/datamask/tokenvault"
)

// OpenAPI is the service's OpenAPI 3.1 document (JSON), also served at
// GET /v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// Defaults of [New].
const (
	// DefaultMaxBodyBytes bounds a request body: 1,000 values of a few
	// hundred bytes each, with room to spare.
	DefaultMaxBodyBytes = 4 << 20
	// DefaultRequestTimeout bounds the work of one request (store, keys,
	// audit).
	DefaultRequestTimeout = 10 * time.Second
	// DefaultRetryAfter is what Retry-After says on 503 answers.
	DefaultRetryAfter = 2 * time.Second
)

// PurposeHeader is the header in which a detokenize call states its
// purpose (1 to 128 printable ASCII characters, such as "paybill" or
// "chargeback-1234"): required, and written to the audit trail.
const PurposeHeader = "X-Datamask-Purpose"

// Service is the tokenization service: an [http.Handler] serving the
// JSON API of a [tokenvault.Vault] to authenticated callers within their
// rights, auditing what it reveals. Build it with [New]; it is safe for
// concurrent use.
type Service struct {
	vault      *tokenvault.Vault
	policies   map[string]bool
	auth       Authenticator
	rights     *Rights
	audit      *audit.Log
	metrics    *Metrics
	log        *slog.Logger
	maxBody    int64
	timeout    time.Duration
	retryAfter string
	ready      func(context.Context) error
	noAudit    bool
	draining   atomic.Bool
	mux        *http.ServeMux
}

// An Option configures a [Service] in [New].
type Option interface {
	applyService(*Service) error
}

type serviceOption func(*Service) error

func (f serviceOption) applyService(s *Service) error { return f(s) }

// WithAuthenticator sets how callers are authenticated (required): an
// [*APIKeys], a [*JWTAuthenticator] or a [*GatewayAuthenticator].
func WithAuthenticator(a Authenticator) Option {
	return serviceOption(func(s *Service) error {
		if a == nil {
			return errors.New("tokenservice: WithAuthenticator: nil authenticator")
		}
		if s.auth != nil {
			return errors.New("tokenservice: WithAuthenticator given twice")
		}
		s.auth = a
		return nil
	})
}

// WithRights maps callers' groups and scopes to grants, and caps what
// detokenize reveals per policy. Without it, callers have only their own
// grants (an API key's).
func WithRights(r *Rights) Option {
	return serviceOption(func(s *Service) error {
		if r == nil {
			return errors.New("tokenservice: WithRights: nil rights")
		}
		s.rights = r
		return nil
	})
}

// WithAudit sets the audit trail (required, unless [InsecureWithoutAudit]):
// every detokenize, lookup, delete and forget, allowed or not, and every
// refused call, is written to it before the call is answered.
func WithAudit(l *audit.Log) Option {
	return serviceOption(func(s *Service) error {
		if l == nil {
			return errors.New("tokenservice: WithAudit: nil log")
		}
		s.audit = l
		return nil
	})
}

// InsecureWithoutAudit runs the service with no audit trail. Only use
// this in tests of other things; every other user should give
// [WithAudit].
func InsecureWithoutAudit() Option {
	return serviceOption(func(s *Service) error {
		s.audit = nil
		s.noAudit = true
		return nil
	})
}

// WithMetrics sets the metrics the service counts in (default: its own).
// Share them with [Metrics.Keyring] and [Metrics.Store] to count KMS and
// store calls too.
func WithMetrics(m *Metrics) Option {
	return serviceOption(func(s *Service) error {
		if m == nil {
			return errors.New("tokenservice: WithMetrics: nil metrics")
		}
		s.metrics = m
		return nil
	})
}

// WithLogger sets the structured logger (default slog.Default()). A line
// per request (route, status, duration, caller, tenant, policy, counts,
// error code) and the failures of the store, keys and audit trail: never
// a value or a token.
func WithLogger(l *slog.Logger) Option {
	return serviceOption(func(s *Service) error {
		if l == nil {
			return errors.New("tokenservice: WithLogger: nil logger")
		}
		s.log = l
		return nil
	})
}

// WithMaxBodyBytes bounds request bodies (default [DefaultMaxBodyBytes]);
// a larger body is answered 413.
func WithMaxBodyBytes(n int64) Option {
	return serviceOption(func(s *Service) error {
		if n < 1<<10 || n > 1<<30 {
			return fmt.Errorf("tokenservice: WithMaxBodyBytes: %d is not between 1 KiB and 1 GiB", n)
		}
		s.maxBody = n
		return nil
	})
}

// WithRequestTimeout bounds the work of one request (default
// [DefaultRequestTimeout]); a request over it is answered 503 "timeout".
func WithRequestTimeout(d time.Duration) Option {
	return serviceOption(func(s *Service) error {
		if d <= 0 {
			return fmt.Errorf("tokenservice: WithRequestTimeout: %v is not positive", d)
		}
		s.timeout = d
		return nil
	})
}

// WithRetryAfter sets the Retry-After of 503 answers (default
// [DefaultRetryAfter], rounded up to whole seconds).
func WithRetryAfter(d time.Duration) Option {
	return serviceOption(func(s *Service) error {
		if d <= 0 {
			return fmt.Errorf("tokenservice: WithRetryAfter: %v is not positive", d)
		}
		s.retryAfter = strconv.Itoa(int((d + time.Second - 1) / time.Second))
		return nil
	})
}

// WithReadiness sets the check of GET /readyz, such as a read of the
// store (default: the service is ready until [Service.Drain]).
func WithReadiness(check func(ctx context.Context) error) Option {
	return serviceOption(func(s *Service) error {
		if check == nil {
			return errors.New("tokenservice: WithReadiness: nil check")
		}
		s.ready = check
		return nil
	})
}

// New returns the service of vault. [WithAuthenticator] and [WithAudit]
// are required.
func New(vault *tokenvault.Vault, opts ...Option) (*Service, error) {
	if vault == nil {
		return nil, errors.New("tokenservice: New: nil vault")
	}
	s := &Service{
		vault:   vault,
		maxBody: DefaultMaxBodyBytes,
		timeout: DefaultRequestTimeout,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("tokenservice: New: nil Option")
		}
		if err := o.applyService(s); err != nil {
			return nil, err
		}
	}
	if s.auth == nil {
		return nil, errors.New("tokenservice: New: no authenticator (WithAuthenticator: API keys or JWTs)")
	}
	if s.audit == nil && !s.noAudit {
		return nil, errors.New("tokenservice: New: no audit trail (WithAudit, with audit.OpenFile or audit.New)")
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.retryAfter == "" {
		s.retryAfter = strconv.Itoa(int(DefaultRetryAfter / time.Second))
	}
	s.policies = map[string]bool{}
	for _, p := range vault.Policies() {
		s.policies[p.Name()] = true
	}
	s.routes()
	return s, nil
}

// ServeHTTP serves the API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Drain makes GET /readyz answer 503 from now on, so that load balancers
// stop sending requests before the server shuts down; requests are still
// served.
func (s *Service) Drain() { s.draining.Store(true) }

// Metrics returns the service's metrics.
func (s *Service) Metrics() *Metrics { return s.metrics }

// String describes the service, never a key.
func (s *Service) String() string { return "tokenservice.Service(" + s.vault.String() + ")" }

// Routes of the API, as the OpenAPI document lists them.
const (
	routeTokenize      = "/v1/tokenize"
	routeDetokenize    = "/v1/detokenize"
	routeLookup        = "/v1/lookup"
	routeDelete        = "/v1/delete"
	routeForget        = "/v1/forget"
	routeDocTokenize   = "/v1/documents/tokenize"
	routeDocDetokenize = "/v1/documents/detokenize"
	routeHealth        = "/healthz"
	routeReady         = "/readyz"
	routeProm          = "/metrics"
	routeOpenAPI       = "/v1/openapi.json"
)

// route is one route of the API.
type route struct {
	method, path string
}

// Routes returns the method and path of every route the service serves,
// for tests that hold them against the OpenAPI document.
func (s *Service) Routes() [][2]string {
	var out [][2]string
	for _, r := range s.routeList() {
		out = append(out, [2]string{r.method, r.path})
	}
	return out
}

func (s *Service) routeList() []route {
	rs := []route{
		{http.MethodPost, routeTokenize},
		{http.MethodPost, routeDetokenize},
		{http.MethodPost, routeLookup},
		{http.MethodPost, routeDelete},
		{http.MethodPost, routeForget},
		{http.MethodPost, routeDocTokenize},
		{http.MethodPost, routeDocDetokenize},
		{http.MethodGet, routeHealth},
		{http.MethodGet, routeReady},
		{http.MethodGet, routeProm},
		{http.MethodGet, routeOpenAPI},
	}
	return rs
}

func (s *Service) routes() {
	mux := http.NewServeMux()
	handlers := map[string]http.HandlerFunc{
		routeTokenize:      s.op(routeTokenize, OpTokenize, s.tokenize),
		routeDetokenize:    s.op(routeDetokenize, OpDetokenize, s.detokenize),
		routeLookup:        s.op(routeLookup, OpLookup, s.lookup),
		routeDelete:        s.op(routeDelete, OpDelete, s.delete),
		routeForget:        s.op(routeForget, OpForget, s.forget),
		routeDocTokenize:   s.op(routeDocTokenize, OpTokenize, s.documentTokenize),
		routeDocDetokenize: s.op(routeDocDetokenize, OpDetokenize, s.documentDetokenize),
		routeHealth:        s.plain(routeHealth, s.health),
		routeReady:         s.plain(routeReady, s.readiness),
		routeProm:          s.plain(routeProm, s.serveMetrics),
		routeOpenAPI:       s.plain(routeOpenAPI, s.serveOpenAPI),
	}
	for _, rt := range s.routeList() {
		h := handlers[rt.path]
		method := rt.method
		path := rt.path
		// One pattern per path, any method, so that a wrong method gets
		// the API's JSON error rather than the mux's text.
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
				w.Header().Set("Allow", method)
				s.simpleError(w, r, path, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed here: use "+method))
				return
			}
			h(w, r)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.simpleError(w, r, "other", newError(http.StatusNotFound, CodeRouteNotFound, "no such route: see /v1/openapi.json"))
	})
	s.mux = mux
}

// simpleError answers err to a request that reached no route or the wrong
// method.
func (s *Service) simpleError(w http.ResponseWriter, r *http.Request, routeName string, e *apiError) {
	start := time.Now()
	id := requestID()
	w.Header().Set("X-Request-Id", id)
	writeJSON(w, e.Status, errorBody{Error: e})
	s.metrics.observe(s.metrics.route(routeName), e.Status, time.Since(start))
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", id),
		slog.String("method", r.Method), slog.String("route", routeName), slog.Int("status", e.Status), slog.String("code", e.Code))
}

// plain wraps the unauthenticated GET routes.
func (s *Service) plain(name string, fn func(w http.ResponseWriter, r *http.Request) int) http.HandlerFunc {
	rm := s.metrics.route(name)
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := fn(w, r)
		s.metrics.observe(rm, code, time.Since(start))
	}
}

func (s *Service) health(w http.ResponseWriter, _ *http.Request) int {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return http.StatusOK
}

func (s *Service) readiness(w http.ResponseWriter, r *http.Request) int {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return http.StatusServiceUnavailable
	}
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.String("error", err.Error()))
			w.Header().Set("Retry-After", s.retryAfter)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return http.StatusServiceUnavailable
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return http.StatusOK
}

func (s *Service) serveMetrics(w http.ResponseWriter, _ *http.Request) int {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = s.metrics.WriteTo(w)
	return http.StatusOK
}

func (s *Service) serveOpenAPI(w http.ResponseWriter, _ *http.Request) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(OpenAPI)
	return http.StatusOK
}

// requestIDs are a random prefix per process and a counter: unique
// without a read of the system's random source per request.
var (
	requestPrefix = func() string {
		var b [6]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}()
	requestCounter atomic.Uint64
)

// requestID returns an id unique to the request: 12 hex digits of the
// process, a dash, and a counter.
func requestID() string {
	return requestPrefix + "-" + strconv.FormatUint(requestCounter.Add(1), 36)
}

type errorBody struct {
	Error *apiError `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"cannot encode the answer"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// call is one API request under way.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context
	op      Operation
	p       *Principal
	grants  []Grant
	ev      audit.Event
	audited bool // write ev to the audit trail
	code    string
	log     []slog.Attr
}

// op wraps an API operation: authentication, body limits, the audit line
// and the answer.
func (s *Service) op(name string, op Operation, fn func(c *call) (int, any)) http.HandlerFunc {
	rm := s.metrics.route(name)
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inflight.Add(1)
		defer s.metrics.inflight.Add(-1)
		id := requestID()
		w.Header().Set("X-Request-Id", id)
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		c := &call{w: w, r: r, ctx: ctx, op: op, audited: op.audited()}
		c.ev = audit.Event{Time: start, RequestID: id, Operation: string(op)}
		status, body := s.serve(c, fn)
		if status >= 400 {
			if e, ok := body.(*apiError); ok {
				c.code = e.Code
				body = errorBody{Error: e}
			}
		}
		c.ev.Status = status
		if c.ev.Outcome == "" {
			switch {
			case status < 400:
				c.ev.Outcome = audit.OutcomeOK
			case status == http.StatusUnauthorized:
				c.ev.Outcome = audit.OutcomeUnauthenticated
			case status == http.StatusForbidden:
				c.ev.Outcome = audit.OutcomeDenied
			case status >= 500:
				c.ev.Outcome = audit.OutcomeFailed
			default:
				c.ev.Outcome = audit.OutcomeInvalid
			}
		}
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			c.audited = true // every refusal is audited
		}
		if c.audited && s.audit != nil {
			err := s.audit.Write(ctx, &c.ev)
			s.metrics.countAudit(err)
			if err != nil {
				// Nothing is revealed that the trail does not hold.
				s.log.LogAttrs(ctx, slog.LevelError, "audit trail failed", slog.String("request_id", id), slog.String("error", err.Error()))
				status = http.StatusServiceUnavailable
				c.code = CodeUnavailable
				body = errorBody{Error: newError(status, CodeUnavailable, "the audit trail cannot be written: nothing was revealed; retry after the time in Retry-After")}
			}
		}
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		writeJSON(w, status, body)
		d := time.Since(start)
		s.metrics.observe(rm, status, d)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := append([]slog.Attr{
			slog.String("request_id", id), slog.String("route", name), slog.Int("status", status),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("caller", c.ev.Caller), slog.String("tenant", c.ev.Tenant),
			slog.String("policy", c.ev.Policy), slog.Int("count", c.ev.Count), slog.Int("errors", c.ev.Errors),
		}, c.log...)
		if c.code != "" {
			attrs = append(attrs, slog.String("code", c.code))
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
	}
}

// serve authenticates c and runs fn.
func (s *Service) serve(c *call, fn func(c *call) (int, any)) (int, any) {
	p, err := s.auth.Authenticate(c.r.WithContext(c.ctx))
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			c.log = append(c.log, slog.String("auth", err.Error()))
			return http.StatusUnauthorized, newError(http.StatusUnauthorized, CodeUnauthenticated, "missing or invalid credentials: send Authorization: Bearer with an API key or an access token")
		}
		c.log = append(c.log, slog.String("error", err.Error()))
		return http.StatusServiceUnavailable, newError(http.StatusServiceUnavailable, CodeIdentityProviderDown, "the identity provider's keys cannot be fetched: retry")
	}
	c.p = p
	c.ev.Caller = p.Caller
	c.grants = s.rights.grants(p)
	if !s.hasJSONBody(c.r) {
		return http.StatusUnsupportedMediaType, newError(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the body must be JSON: send Content-Type: application/json")
	}
	return fn(c)
}

func (s *Service) hasJSONBody(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// decode reads the JSON body of c into v: one object, known fields only,
// within the size limit.
func (s *Service) decode(c *call, v any) *apiError {
	body := http.MaxBytesReader(c.w, c.r.Body, s.maxBody)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("the body is larger than %d bytes: send at most 1000 values per call", s.maxBody))
		}
		return newError(http.StatusBadRequest, CodeBadRequest, "cannot read the body")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return newError(http.StatusBadRequest, CodeBadRequest, "the body is not a valid request: "+jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return newError(http.StatusBadRequest, CodeBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

// tenantOf returns the tenant of the call: the one named in the request
// if the caller's grants name it, or the caller's only tenant.
func (s *Service) tenantOf(c *call, named string) (string, *apiError) {
	var tenants []string
	for _, g := range c.grants {
		if !slices.Contains(tenants, g.Tenant) {
			tenants = append(tenants, g.Tenant)
		}
	}
	if named != "" {
		c.ev.Tenant = named
		if !slices.Contains(tenants, named) {
			return "", newError(http.StatusForbidden, CodeForbidden, "the caller has no rights in tenant "+strconv.Quote(named))
		}
		return named, nil
	}
	switch len(tenants) {
	case 0:
		return "", newError(http.StatusForbidden, CodeForbidden, "the caller has no rights in any tenant")
	case 1:
		c.ev.Tenant = tenants[0]
		return tenants[0], nil
	}
	return "", newError(http.StatusBadRequest, CodeTenantRequired, "the caller has rights in several tenants: name one in \"tenant\"")
}

// authorize checks that c may do its operation on policy in tenant, and
// returns how much detokenize may reveal.
func (s *Service) authorize(c *call, tenant, policy string) (Reveal, *apiError) {
	reveal := Reveal("")
	for _, g := range c.grants {
		if g.covers(tenant, policy, c.op) {
			if reveal == "" || g.Reveal == RevealFull {
				reveal = g.Reveal
			}
		}
	}
	if reveal == "" {
		what := "policy " + strconv.Quote(policy)
		if policy == "" {
			what = "every policy"
		}
		return "", newError(http.StatusForbidden, CodeForbidden, fmt.Sprintf("the caller may not %s under %s in tenant %s", c.op, what, strconv.Quote(tenant)))
	}
	return reveal.less(s.rights.policyReveal(policy)), nil
}

// scope resolves tenant and policy and authorizes the call.
func (s *Service) scope(c *call, tenant, policy string) (string, Reveal, *apiError) {
	if policy == "" {
		return "", "", newError(http.StatusBadRequest, CodeBadRequest, "the body names no \"policy\"")
	}
	c.ev.Policy = policy
	if !s.policies[policy] {
		return "", "", newError(http.StatusBadRequest, CodeUnknownPolicy, fmt.Sprintf("policy %s is not one of the vault's", strconv.Quote(policy)))
	}
	t, e := s.tenantOf(c, tenant)
	if e != nil {
		return "", "", e
	}
	rv, e := s.authorize(c, t, policy)
	if e != nil {
		return "", "", e
	}
	return t, rv, nil
}

// batch returns the one value or the values of a request.
func batch(one *string, many []string, what string) ([]string, bool, *apiError) {
	switch {
	case one != nil && many != nil:
		return nil, false, newError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("give %q or %qs, not both", what, what))
	case one != nil:
		return []string{*one}, true, nil
	case many == nil:
		return nil, false, newError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("the body has no %q or %qs", what, what))
	case len(many) > tokenvault.MaxBatch:
		return nil, false, newError(http.StatusBadRequest, CodeTooManyValues, fmt.Sprintf("%d %ss in one call, more than %d: split the batch", len(many), what, tokenvault.MaxBatch))
	case len(many) == 0:
		return nil, false, newError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%qs is empty", what))
	}
	return many, false, nil
}

// result is one value's result in a batch answer.
type result struct {
	Token   string    `json:"token,omitempty"`
	Value   *string   `json:"value,omitempty"`
	Last4   *string   `json:"last4,omitempty"`
	Deleted bool      `json:"deleted,omitempty"`
	Error   *apiError `json:"error,omitempty"`
}

type results struct {
	Results []result `json:"results"`
}

type tokenizeRequest struct {
	Tenant   string            `json:"tenant"`
	Policy   string            `json:"policy"`
	Value    *string           `json:"value"`
	Values   []string          `json:"values"`
	TTL      string            `json:"ttl"`
	Metadata map[string]string `json:"metadata"`
}

func (s *Service) tokenize(c *call) (int, any) {
	var req tokenizeRequest
	if e := s.decode(c, &req); e != nil {
		return e.Status, e
	}
	tenant, _, e := s.scope(c, req.Tenant, req.Policy)
	if e != nil {
		return e.Status, e
	}
	values, single, e := batch(req.Value, req.Values, "value")
	if e != nil {
		return e.Status, e
	}
	c.ev.Count = len(values)
	var opts []tokenvault.TokenizeOption
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			return http.StatusBadRequest, newError(http.StatusBadRequest, CodeBadRequest, "ttl is not a positive duration such as \"720h\"")
		}
		opts = append(opts, tokenvault.WithTTL(d))
	}
	if req.Metadata != nil {
		opts = append(opts, tokenvault.WithMetadata(req.Metadata))
	}
	if len(opts) > 0 && !single {
		return http.StatusBadRequest, newError(http.StatusBadRequest, CodeBadRequest, "ttl and metadata are for one value: give \"value\"")
	}
	if single {
		tok, err := s.vault.Tokenize(c.ctx, tenant, req.Policy, values[0], opts...)
		if err != nil {
			ae := s.failed(c, err)
			if ae.Status == http.StatusBadRequest && len(opts) > 0 && !errors.Is(err, tokenvault.ErrUnsupported) {
				ae = newError(http.StatusBadRequest, CodeBadRequest, trimPrefix(err))
			}
			c.ev.Errors = 1
			return ae.Status, ae
		}
		s.metrics.countValues(c.op, "ok", 1)
		return http.StatusOK, map[string]string{"token": tok}
	}
	tokens, errs, err := s.vault.TokenizeBatch(c.ctx, tenant, req.Policy, values)
	if err != nil {
		ae := s.failed(c, err)
		return ae.Status, ae
	}
	out := make([]result, len(values))
	for i := range values {
		if errs[i] != nil {
			out[i].Error = s.valueError(c, errs[i])
			continue
		}
		out[i].Token = tokens[i]
		s.metrics.countValues(c.op, "ok", 1)
	}
	return http.StatusOK, results{Results: out}
}

// failed maps a whole-call error of the vault, logging the failures of
// the store and keys.
func (s *Service) failed(c *call, err error) *apiError {
	ae := vaultError(err)
	if ae.Status >= 500 {
		c.log = append(c.log, slog.String("error", err.Error()))
	}
	s.metrics.countValues(c.op, ae.Code, max(c.ev.Count, 1))
	return ae
}

// valueError maps the error of one value of a batch.
func (s *Service) valueError(c *call, err error) *apiError {
	ae := vaultError(err)
	c.ev.Errors++
	s.metrics.countValues(c.op, ae.Code, 1)
	return ae
}

type tokensRequest struct {
	Tenant string   `json:"tenant"`
	Policy string   `json:"policy"`
	Token  *string  `json:"token"`
	Tokens []string `json:"tokens"`
}

// hashTokens puts the keyed hashes of tokens in the audit event.
func (s *Service) hashTokens(c *call, tenant, policy string, tokens []string) {
	if s.audit == nil {
		return
	}
	c.ev.Tokens = make([]string, len(tokens))
	for i, t := range tokens {
		c.ev.Tokens[i] = s.audit.TokenHash(tenant, policy, t)
	}
}

func (s *Service) detokenize(c *call) (int, any) {
	var req tokensRequest
	if e := s.decode(c, &req); e != nil {
		return e.Status, e
	}
	purpose := c.r.Header.Get(PurposeHeader)
	tenant, reveal, e := s.scope(c, req.Tenant, req.Policy)
	tokens, single, be := batch(req.Token, req.Tokens, "token")
	if be == nil {
		s.hashTokens(c, c.ev.Tenant, req.Policy, tokens)
		c.ev.Count = len(tokens)
	}
	if !validPurpose(purpose) {
		return http.StatusBadRequest, newError(http.StatusBadRequest, CodePurposeRequired, "detokenize needs a stated purpose: send "+PurposeHeader+" with 1 to 128 printable ASCII characters, such as \"paybill\"")
	}
	c.ev.Purpose = purpose
	if e != nil {
		return e.Status, e
	}
	if be != nil {
		return be.Status, be
	}
	c.ev.Reveal = string(reveal)
	values, errs, err := s.vault.DetokenizeBatch(c.ctx, tenant, req.Policy, tokens)
	if err != nil {
		ae := s.failed(c, err)
		return ae.Status, ae
	}
	out := make([]result, len(tokens))
	for i := range tokens {
		if errs[i] != nil {
			out[i].Error = s.valueError(c, errs[i])
			continue
		}
		v := values[i]
		if reveal == RevealLast4 {
			l4, ok := last4(v)
			if !ok {
				out[i].Error = newError(http.StatusUnprocessableEntity, CodeNotRevealable, "the value is too short to reveal its last four characters")
				c.ev.Errors++
				s.metrics.countValues(c.op, CodeNotRevealable, 1)
				continue
			}
			out[i].Last4 = &l4
		} else {
			out[i].Value = &v
		}
		s.metrics.countValues(c.op, "ok", 1)
	}
	if single {
		if out[0].Error != nil {
			return out[0].Error.Status, out[0].Error
		}
		return http.StatusOK, out[0]
	}
	return http.StatusOK, results{Results: out}
}

func validPurpose(p string) bool {
	if p == "" || len(p) > 128 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] > 0x7e {
			return false
		}
	}
	return true
}

// last4 returns the last four letters or digits of v, if v has at least
// eight: fewer, and four would reveal most of it.
func last4(v string) (string, bool) {
	var alnum []byte
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' {
			alnum = append(alnum, ch)
		}
	}
	if len(alnum) < 8 {
		return "", false
	}
	return string(alnum[len(alnum)-4:]), true
}

type lookupRequest struct {
	Tenant string `json:"tenant"`
	Policy string `json:"policy"`
	Value  string `json:"value"`
}

func (s *Service) lookup(c *call) (int, any) {
	var req lookupRequest
	if e := s.decode(c, &req); e != nil {
		return e.Status, e
	}
	tenant, _, e := s.scope(c, req.Tenant, req.Policy)
	if e != nil {
		return e.Status, e
	}
	c.ev.Count = 1
	tok, err := s.vault.Lookup(c.ctx, tenant, req.Policy, req.Value)
	if err != nil {
		ae := s.failed(c, err)
		if ae.Code == CodeNotFound {
			ae.Message = "the value has no token in this tenant and policy"
		}
		c.ev.Errors = 1
		return ae.Status, ae
	}
	s.hashTokens(c, tenant, req.Policy, []string{tok})
	s.metrics.countValues(c.op, "ok", 1)
	return http.StatusOK, map[string]string{"token": tok}
}

func (s *Service) delete(c *call) (int, any) {
	var req tokensRequest
	if e := s.decode(c, &req); e != nil {
		return e.Status, e
	}
	tenant, _, e := s.scope(c, req.Tenant, req.Policy)
	tokens, single, be := batch(req.Token, req.Tokens, "token")
	if be == nil {
		s.hashTokens(c, c.ev.Tenant, req.Policy, tokens)
		c.ev.Count = len(tokens)
	}
	if e != nil {
		return e.Status, e
	}
	if be != nil {
		return be.Status, be
	}
	errs, err := s.vault.DeleteBatch(c.ctx, tenant, req.Policy, tokens)
	if err != nil {
		ae := s.failed(c, err)
		return ae.Status, ae
	}
	out := make([]result, len(tokens))
	for i := range tokens {
		if errs[i] != nil {
			out[i].Error = s.valueError(c, errs[i])
			continue
		}
		out[i].Deleted = true
		s.metrics.countValues(c.op, "ok", 1)
	}
	if single {
		if out[0].Error != nil {
			return out[0].Error.Status, out[0].Error
		}
		return http.StatusOK, map[string]bool{"deleted": true}
	}
	return http.StatusOK, results{Results: out}
}

type forgetRequest struct {
	Tenant string   `json:"tenant"`
	Value  *string  `json:"value"`
	Values []string `json:"values"`
}

func (s *Service) forget(c *call) (int, any) {
	var req forgetRequest
	if e := s.decode(c, &req); e != nil {
		return e.Status, e
	}
	tenant, e := s.tenantOf(c, req.Tenant)
	if e != nil {
		return e.Status, e
	}
	if _, e := s.authorize(c, tenant, ""); e != nil {
		return e.Status, e
	}
	values, _, e := batch(req.Value, req.Values, "value")
	if e != nil {
		return e.Status, e
	}
	c.ev.Count = len(values)
	n, err := s.vault.Forget(c.ctx, tenant, values)
	if err != nil {
		ae := s.failed(c, err)
		c.log = append(c.log, slog.Int("deleted", n))
		return ae.Status, ae
	}
	s.metrics.countValues(c.op, "ok", len(values))
	return http.StatusOK, map[string]int{"deleted": n}
}
