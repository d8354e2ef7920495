package tokenservice

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Token uses of [WithTokenUse]: Amazon Cognito's token_use claim.
const (
	// TokenUseAccess: OAuth access tokens (Cognito's "access"), whose
	// client is named by client_id. The default: an API takes access
	// tokens.
	TokenUseAccess = "access"
	// TokenUseID: OpenID Connect ID tokens (Cognito's "id"), whose client
	// is named by aud.
	TokenUseID = "id"
)

// Defaults of a [JWTAuthenticator].
const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// jwksMinRefresh is the shortest time between two JWKS fetches, so
	// that tokens naming unknown key ids cannot make the service fetch
	// the JWKS at the attackers' rate.
	jwksMinRefresh = 10 * time.Second
	// jwksMaxAge is how long a fetched JWKS is used before it is fetched
	// again at the next request.
	jwksMaxAge = time.Hour
	// maxJWKS bounds a JWKS response.
	maxJWKS = 1 << 20
	// maxJWT bounds the token a request carries.
	maxJWT = 16 << 10
)

// JWTAuthenticator authenticates requests carrying a JSON Web Token from
// an OpenID Connect issuer ("Authorization: Bearer eyJ..."), Amazon
// Cognito user pools first: the signature against the issuer's JSON Web
// Key Set (fetched, cached, fetched again when a token names an unknown
// key id, at most every 10 seconds), the algorithm from an allow-list
// (RS256 by default: "none" and HMAC are never accepted), the issuer, the
// client (client_id of access tokens, aud of ID tokens), token_use, and
// exp, nbf and iat with a small leeway. Groups come from cognito:groups
// and scopes from scope. Build it with [NewJWTAuthenticator].
type JWTAuthenticator struct {
	issuer    string
	clients   []string
	jwksURL   string
	use       string
	algs      []jose.SignatureAlgorithm
	leeway    time.Duration
	client    *http.Client
	now       func() time.Time
	groupsKey string

	mu      sync.Mutex
	keys    *jose.JSONWebKeySet
	fetched time.Time // when keys were fetched, zero before the first fetch
	tried   time.Time // the last fetch attempt
	lastErr error     // its error
	fetch   chan struct{}
}

var _ Authenticator = (*JWTAuthenticator)(nil)

// A JWTOption configures a [JWTAuthenticator].
type JWTOption interface {
	applyJWT(*JWTAuthenticator) error
}

type jwtOption func(*JWTAuthenticator) error

func (f jwtOption) applyJWT(a *JWTAuthenticator) error { return f(a) }

// WithJWKSURL sets where the JSON Web Key Set is fetched (default: the
// issuer's URL and "/.well-known/jwks.json", which is where Cognito
// serves it). Tests point it at moto_server's
// /<pool id>/.well-known/jwks.json, whose tokens name AWS's issuer.
func WithJWKSURL(u string) JWTOption {
	return jwtOption(func(a *JWTAuthenticator) error {
		if err := checkHTTPURL(u); err != nil {
			return fmt.Errorf("tokenservice: WithJWKSURL: %v", err)
		}
		a.jwksURL = u
		return nil
	})
}

// WithTokenUse sets the tokens accepted: [TokenUseAccess] (the default)
// or [TokenUseID]. A token of the other use is refused, so that an ID
// token cannot stand in for an access token.
func WithTokenUse(use string) JWTOption {
	return jwtOption(func(a *JWTAuthenticator) error {
		if use != TokenUseAccess && use != TokenUseID {
			return fmt.Errorf("tokenservice: WithTokenUse: %s is neither %q nor %q", strconv.Quote(use), TokenUseAccess, TokenUseID)
		}
		a.use = use
		return nil
	})
}

// WithAlgorithms sets the signature algorithms accepted (default RS256,
// what Cognito signs with): RS256, RS384, RS512, PS256, PS384, PS512,
// ES256, ES384 or ES512. "none" and the HMAC algorithms are refused: a
// verifier holding public keys must never accept them.
func WithAlgorithms(algs ...string) JWTOption {
	return jwtOption(func(a *JWTAuthenticator) error {
		if len(algs) == 0 {
			return errors.New("tokenservice: WithAlgorithms: no algorithm given")
		}
		var out []jose.SignatureAlgorithm
		for _, s := range algs {
			alg := jose.SignatureAlgorithm(s)
			if !slices.Contains(asymmetricAlgs, alg) {
				return fmt.Errorf("tokenservice: WithAlgorithms: %s is not an asymmetric signature algorithm (RS256, PS256, ES256, ...)", strconv.Quote(s))
			}
			out = append(out, alg)
		}
		a.algs = out
		return nil
	})
}

var asymmetricAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512,
}

// WithLeeway sets the clock skew allowed on exp, nbf and iat (default
// [DefaultLeeway]; at most 5 minutes).
func WithLeeway(d time.Duration) JWTOption {
	return jwtOption(func(a *JWTAuthenticator) error {
		if d < 0 || d > 5*time.Minute {
			return fmt.Errorf("tokenservice: WithLeeway: %v is not between 0 and 5m", d)
		}
		a.leeway = d
		return nil
	})
}

// WithHTTPClient sets the client that fetches the JWKS (default: one with
// a 10-second timeout).
func WithHTTPClient(c *http.Client) JWTOption {
	return jwtOption(func(a *JWTAuthenticator) error {
		if c == nil {
			return errors.New("tokenservice: WithHTTPClient: nil client")
		}
		a.client = c
		return nil
	})
}

// WithJWTClock sets the clock tokens are checked against (default
// time.Now), for tests.
func WithJWTClock(now func() time.Time) JWTOption {
	return jwtOption(func(a *JWTAuthenticator) error {
		if now == nil {
			return errors.New("tokenservice: WithJWTClock: nil clock")
		}
		a.now = now
		return nil
	})
}

// WithGroupsClaim sets the claim holding the caller's groups, an array of
// strings (default "cognito:groups").
func WithGroupsClaim(name string) JWTOption {
	return jwtOption(func(a *JWTAuthenticator) error {
		if name == "" {
			return errors.New("tokenservice: WithGroupsClaim: empty claim name")
		}
		a.groupsKey = name
		return nil
	})
}

// NewJWTAuthenticator returns an authenticator of the tokens issued by
// issuer (such as https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123)
// to one of clientIDs (the user pool's app clients allowed to call the
// service).
func NewJWTAuthenticator(issuer string, clientIDs []string, opts ...JWTOption) (*JWTAuthenticator, error) {
	if err := checkHTTPURL(issuer); err != nil {
		return nil, fmt.Errorf("tokenservice: NewJWTAuthenticator: issuer: %v", err)
	}
	if len(clientIDs) == 0 {
		return nil, errors.New("tokenservice: NewJWTAuthenticator: no client id given (the app clients whose tokens are accepted)")
	}
	for _, c := range clientIDs {
		if c == "" {
			return nil, errors.New("tokenservice: NewJWTAuthenticator: an empty client id")
		}
	}
	a := &JWTAuthenticator{
		issuer:    strings.TrimSuffix(issuer, "/"),
		clients:   slices.Clone(clientIDs),
		use:       TokenUseAccess,
		algs:      []jose.SignatureAlgorithm{jose.RS256},
		leeway:    DefaultLeeway,
		client:    &http.Client{Timeout: 10 * time.Second},
		now:       time.Now,
		groupsKey: "cognito:groups",
	}
	a.jwksURL = a.issuer + "/.well-known/jwks.json"
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("tokenservice: NewJWTAuthenticator: nil JWTOption")
		}
		if err := o.applyJWT(a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s is not an http(s) URL", strconv.Quote(s))
	}
	return nil
}

// String names the issuer, never a key.
func (a *JWTAuthenticator) String() string {
	return "tokenservice.JWTAuthenticator(" + strconv.Quote(a.issuer) + ")"
}

// claims are the claims the authenticator reads.
type claims struct {
	jwt.Claims
	TokenUse string   `json:"token_use"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	Username string   `json:"username"`
	Groups   []string `json:"-"`
}

// Authenticate verifies the request's bearer JWT.
func (a *JWTAuthenticator) Authenticate(r *http.Request) (*Principal, error) {
	raw, ok := bearer(r)
	if !ok {
		return nil, unauthenticated("no Authorization: Bearer header")
	}
	return a.Verify(r.Context(), raw)
}

// Verify checks a JWT as Authenticate does and returns its caller.
func (a *JWTAuthenticator) Verify(ctx context.Context, raw string) (*Principal, error) {
	if len(raw) > maxJWT {
		return nil, unauthenticated("token longer than %d bytes", maxJWT)
	}
	tok, err := jwt.ParseSigned(raw, a.algs)
	if err != nil {
		// Unknown algorithms ("none", HS256) fail here.
		return nil, unauthenticated("not a JWT signed with an accepted algorithm")
	}
	if len(tok.Headers) != 1 {
		return nil, unauthenticated("not one signature")
	}
	h := tok.Headers[0]
	if h.KeyID == "" {
		return nil, unauthenticated("no key id")
	}
	key, err := a.key(ctx, h.KeyID, h.Algorithm)
	if err != nil {
		return nil, err
	}
	var c claims
	var extra map[string]any
	if err := tok.Claims(key, &c, &extra); err != nil {
		return nil, unauthenticated("bad signature or claims")
	}
	if c.Expiry == nil {
		return nil, unauthenticated("no exp claim")
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: a.issuer, Time: a.now()}, a.leeway); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return nil, unauthenticated("expired")
		case errors.Is(err, jwt.ErrInvalidIssuer):
			return nil, unauthenticated("wrong issuer")
		}
		return nil, unauthenticated("claims: %v", err)
	}
	if c.IssuedAt != nil && c.IssuedAt.Time().After(a.now().Add(a.leeway)) {
		return nil, unauthenticated("issued in the future")
	}
	if c.TokenUse != a.use {
		return nil, unauthenticated("token_use is %s, want %s", strconv.Quote(c.TokenUse), a.use)
	}
	switch a.use {
	case TokenUseAccess:
		if !slices.Contains(a.clients, c.ClientID) {
			return nil, unauthenticated("client_id is not an accepted client")
		}
	case TokenUseID:
		if !slices.ContainsFunc(a.clients, c.Audience.Contains) {
			return nil, unauthenticated("aud is not an accepted client")
		}
	}
	if c.Subject == "" {
		return nil, unauthenticated("no sub claim")
	}
	p := &Principal{Caller: "jwt:" + c.Subject}
	if g, ok := extra[a.groupsKey]; ok {
		list, ok := g.([]any)
		if !ok {
			return nil, unauthenticated("%s is not an array", a.groupsKey)
		}
		for _, v := range list {
			s, ok := v.(string)
			if !ok {
				return nil, unauthenticated("%s holds a non-string", a.groupsKey)
			}
			p.Groups = append(p.Groups, s)
		}
	}
	p.Scopes = strings.Fields(c.Scope)
	return p, nil
}

// key returns the public key of kid for alg, fetching the JWKS when it is
// not known or the set is older than jwksMaxAge. If the issuer cannot be
// reached, a key fetched before is still used: an outage of the identity
// provider does not lock callers out, and a removed key is dropped at the
// next successful fetch.
func (a *JWTAuthenticator) key(ctx context.Context, kid string, alg string) (any, error) {
	if k, fresh, ok := a.cached(kid); ok && fresh {
		return checkKey(k, alg)
	}
	if err := a.refresh(ctx); err != nil {
		if k, _, ok := a.cached(kid); ok {
			return checkKey(k, alg)
		}
		return nil, err
	}
	if k, _, ok := a.cached(kid); ok {
		return checkKey(k, alg)
	}
	return nil, unauthenticated("unknown key id")
}

// cached returns the key of kid in the set last fetched, and whether that
// set is fresh.
func (a *JWTAuthenticator) cached(kid string) (jose.JSONWebKey, bool, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.keys == nil {
		return jose.JSONWebKey{}, false, false
	}
	ks := a.keys.Key(kid)
	if len(ks) != 1 {
		return jose.JSONWebKey{}, false, false
	}
	return ks[0], a.now().Sub(a.fetched) <= jwksMaxAge, true
}

// checkKey refuses keys that are not public signing keys of alg's kind:
// a JWKS entry with a symmetric key, or an RSA key offered for ES256.
func checkKey(k jose.JSONWebKey, alg string) (any, error) {
	if k.Use != "" && k.Use != "sig" {
		return nil, unauthenticated("key is not for signatures")
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		return nil, unauthenticated("key is for another algorithm")
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if !strings.HasPrefix(alg, "RS") && !strings.HasPrefix(alg, "PS") {
			return nil, unauthenticated("RSA key for %s", alg)
		}
		if pub.N.BitLen() < 2048 {
			return nil, unauthenticated("RSA key shorter than 2048 bits")
		}
		return pub, nil
	case *ecdsa.PublicKey:
		if !strings.HasPrefix(alg, "ES") {
			return nil, unauthenticated("EC key for %s", alg)
		}
		return pub, nil
	}
	return nil, unauthenticated("key is not a public RSA or EC key")
}

// errJWKS is the error of a failed JWKS fetch: the service answers 503,
// since the credentials may be valid.
var errJWKS = errors.New("tokenservice: cannot fetch the issuer's JSON Web Key Set")

// refresh fetches the JWKS unless it was tried less than jwksMinRefresh
// ago; concurrent callers share one fetch.
func (a *JWTAuthenticator) refresh(ctx context.Context) error {
	a.mu.Lock()
	if !a.tried.IsZero() && a.now().Sub(a.tried) < jwksMinRefresh && a.keys != nil {
		err := a.lastErr // the last fetch's outcome stands until the next
		a.mu.Unlock()
		return err
	}
	if a.fetch != nil {
		ch := a.fetch
		a.mu.Unlock()
		select {
		case <-ch:
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.lastErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ch := make(chan struct{})
	a.fetch = ch
	a.tried = a.now()
	a.mu.Unlock()

	keys, err := a.fetchJWKS(ctx)

	a.mu.Lock()
	if err == nil {
		a.keys = keys
		a.fetched = a.now()
	}
	a.lastErr = err
	a.fetch = nil
	close(ch)
	a.mu.Unlock()
	return err
}

func (a *JWTAuthenticator) fetchJWKS(ctx context.Context) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errJWKS, err)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errJWKS, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %s", errJWKS, a.jwksURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errJWKS, err)
	}
	if len(body) > maxJWKS {
		return nil, fmt.Errorf("%w: larger than %d bytes", errJWKS, maxJWKS)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%w: %s", errJWKS, jsonError(err))
	}
	return &set, nil
}
