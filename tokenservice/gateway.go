package tokenservice

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GatewayAuthenticator authenticates requests whose JWT an API gateway
// has already verified: Amazon API Gateway's JWT authorizer with a
// Cognito user pool, in front of the service running in AWS Lambda. The
// gateway checks the signature and passes the token's claims in the
// Lambda event; claims reads them for a request (package
// examples/tokenization reads them through aws-lambda-go-api-proxy). The
// authenticator checks the claims again (issuer, client, token_use,
// expiry), reads cognito:groups (which HTTP APIs pass as a string such as
// "[payments support]") and scope, and refuses a request without claims:
// a route the authorizer does not guard gets no rights. Build it with
// [NewGatewayAuthenticator].
type GatewayAuthenticator struct {
	issuer string
	jwt    *JWTAuthenticator // its settings: clients, use, leeway, clock, groups claim
	claims func(*http.Request) (claims map[string]string, ok bool)
}

var _ Authenticator = (*GatewayAuthenticator)(nil)

// NewGatewayAuthenticator returns an authenticator of the claims that
// claims(r) returns for a request, as the gateway passed them, for tokens
// of issuer and clientIDs. Of the options, WithTokenUse, WithLeeway,
// WithJWTClock and WithGroupsClaim apply.
func NewGatewayAuthenticator(issuer string, clientIDs []string, claims func(*http.Request) (map[string]string, bool), opts ...JWTOption) (*GatewayAuthenticator, error) {
	if claims == nil {
		return nil, errors.New("tokenservice: NewGatewayAuthenticator: nil claims function")
	}
	a, err := NewJWTAuthenticator(issuer, clientIDs, opts...)
	if err != nil {
		return nil, fmt.Errorf("tokenservice: NewGatewayAuthenticator: %s", strings.TrimPrefix(err.Error(), "tokenservice: NewJWTAuthenticator: "))
	}
	return &GatewayAuthenticator{issuer: a.issuer, jwt: a, claims: claims}, nil
}

// String names the issuer.
func (g *GatewayAuthenticator) String() string {
	return "tokenservice.GatewayAuthenticator(" + strconv.Quote(g.issuer) + ")"
}

// Authenticate reads the claims the gateway verified.
func (g *GatewayAuthenticator) Authenticate(r *http.Request) (*Principal, error) {
	c, ok := g.claims(r)
	if !ok || len(c) == 0 {
		return nil, unauthenticated("no claims from the gateway's authorizer")
	}
	a := g.jwt
	if c["iss"] != a.issuer {
		return nil, unauthenticated("wrong issuer")
	}
	exp, err := strconv.ParseFloat(c["exp"], 64)
	if err != nil {
		return nil, unauthenticated("no exp claim")
	}
	now := a.now()
	if now.Add(-a.leeway).After(time.Unix(int64(exp), 0)) {
		return nil, unauthenticated("expired")
	}
	if c["token_use"] != a.use {
		return nil, unauthenticated("token_use is %s, want %s", strconv.Quote(c["token_use"]), a.use)
	}
	switch a.use {
	case TokenUseAccess:
		if !slices.Contains(a.clients, c["client_id"]) {
			return nil, unauthenticated("client_id is not an accepted client")
		}
	case TokenUseID:
		if !slices.ContainsFunc(a.clients, func(id string) bool { return slices.Contains(claimList(c["aud"]), id) }) {
			return nil, unauthenticated("aud is not an accepted client")
		}
	}
	if c["sub"] == "" {
		return nil, unauthenticated("no sub claim")
	}
	return &Principal{Caller: "jwt:" + c["sub"], Groups: claimList(c[a.groupsKey]), Scopes: strings.Fields(c["scope"])}, nil
}

// claimList reads an array claim as API Gateway HTTP APIs pass it: "[a b
// c]", or a single value without brackets; JSON arrays (["a","b"]) too.
func claimList(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		inner = strings.TrimSuffix(inner, "]")
		var out []string
		for _, f := range strings.FieldsFunc(inner, func(r rune) bool { return r == ' ' || r == ',' }) {
			if u, err := strconv.Unquote(f); err == nil {
				f = u
			}
			if f != "" {
				out = append(out, f)
			}
		}
		return out
	}
	return []string{s}
}
