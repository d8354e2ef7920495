package tokenservice_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/datamask/datamask/internal/motoserver"
	"github.com/datamask/datamask/kmstest"
	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/servicetest"
)

// cognito is a user pool of moto_server with a group and a user per
// caller of the suite (each user in the group of its name), signed in.
type cognito struct {
	issuer, clientID, jwksURL string
	access, id                map[string]string // caller -> token
}

var (
	cognitoOnce sync.Once
	cognitoPool *cognito
)

// newCognito creates the pool once per test binary (TestMain keeps
// moto_server up for all tests).
func newCognito(t testing.TB) *cognito {
	t.Helper()
	url := motoserver.Start(t)
	cognitoOnce.Do(func() {
		users := map[string][]string{}
		for _, c := range servicetest.Callers {
			users[c] = []string{c}
		}
		p := motoserver.NewPool(t, url, users)
		cognitoPool = &cognito{issuer: p.Issuer, clientID: p.ClientID, jwksURL: p.JWKSURL, access: p.Access, id: p.IDTokens}
	})
	if cognitoPool == nil {
		t.Fatal("the Cognito pool could not be created (see the first test that tried)")
	}
	return cognitoPool
}

// groupRights maps each caller's group to its grants, with the fixture's
// reveal caps.
func groupRights(t testing.TB) *tokenservice.Rights {
	t.Helper()
	r, err := tokenservice.NewRights(tokenservice.RightsSpec{Groups: servicetest.Grants(), Reveal: servicetest.Reveal()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// forge returns token with its payload replaced (the signature kept).
func forge(token string, edit func(claims map[string]any)) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	edit(claims)
	b, _ := json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// claimsOf decodes a token's payload without verifying it.
func claimsOf(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func kidOf(t testing.TB, token string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr map[string]any
	if err := json.Unmarshal(h, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr["kid"].(string)
}

// sign signs claims with key (RS256 or ES256) under kid.
func sign(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLoopbackCognito runs the client suite with callers authenticated by
// access tokens of a moto_server Cognito user pool (InitiateAuth), their
// rights from their cognito:groups, over a loopback listener.
func TestLoopbackCognito(t *testing.T) {
	spec := loadOpenAPI(t)
	servicetest.Run(t, func(t *testing.T) *servicetest.Harness {
		pool := newCognito(t)
		e := newEnv(t, nil)
		a, err := tokenservice.NewJWTAuthenticator(pool.issuer, []string{pool.clientID}, tokenservice.WithJWKSURL(pool.jwksURL))
		if err != nil {
			t.Fatal(err)
		}
		s := e.service(t, tokenservice.WithAuthenticator(a), tokenservice.WithRights(groupRights(t)))
		srv := loopback(t, s)
		forged := forge(pool.access[servicetest.Nobody], func(c map[string]any) { c["cognito:groups"] = []string{servicetest.Admin} })
		return &servicetest.Harness{
			URL:    srv.URL,
			Client: &http.Client{Transport: spec.validating(t, http.DefaultTransport)},
			Credential: func(caller string) string {
				if caller == "stranger" {
					return bearer(forged)
				}
				return bearer(pool.access[caller])
			},
			AuditLines: func() []map[string]any { return e.auditLines(t) },
			KMSCalls:   func(op string) int { return e.kms.Calls(kmstest.Op(op)) },
			Records:    func() int { return e.records(t) },
		}
	})
}

// TestJWTRefusals: tokens that are expired, forged, re-signed with another
// key, unsigned, HMAC-signed with the public key, of another issuer or
// client, or of the wrong use, are refused with 401 over the loopback
// listener; each refusal is audited and nothing is decrypted.
func TestJWTRefusals(t *testing.T) {
	pool := newCognito(t)
	e := newEnv(t, nil)
	admin := pool.access[servicetest.Admin]
	adminID := pool.id[servicetest.Admin]
	kid := kidOf(t, admin)
	claims := claimsOf(t, admin)
	if claims["token_use"] != "access" || claims["client_id"] != pool.clientID || claims["iss"] != pool.issuer {
		t.Fatalf("moto's access token: %v", claims)
	}

	// The pool's public key, as the JWKS gives it.
	resp, err := http.Get(pool.jwksURL)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pub := set.Key(kid)[0].Key.(*rsa.PublicKey)
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(edit func(map[string]any)) map[string]any {
		c := claimsOf(t, admin)
		c["exp"] = time.Now().Add(time.Hour).Unix()
		if edit != nil {
			edit(c)
		}
		return c
	}
	hmacToken := func(secret []byte) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + kid + `","typ":"JWT"}`))
		b, _ := json.Marshal(fresh(nil))
		p := base64.RawURLEncoding.EncodeToString(b)
		m := hmac.New(sha256.New, secret)
		io.WriteString(m, h+"."+p)
		return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	noneToken := func() string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + kid + `","typ":"JWT"}`))
		b, _ := json.Marshal(fresh(nil))
		return h + "." + base64.RawURLEncoding.EncodeToString(b) + "."
	}

	newAuth := func(issuer, client string, opts ...tokenservice.JWTOption) *tokenservice.JWTAuthenticator {
		a, err := tokenservice.NewJWTAuthenticator(issuer, []string{client}, append([]tokenservice.JWTOption{tokenservice.WithJWKSURL(pool.jwksURL)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	std := newAuth(pool.issuer, pool.clientID)
	late := newAuth(pool.issuer, pool.clientID, tokenservice.WithJWTClock(func() time.Time { return time.Now().Add(2 * time.Hour) }))
	for _, tc := range []struct {
		name   string
		auth   *tokenservice.JWTAuthenticator
		token  string
		reason string // in the log line, never the token
	}{
		{"expired", late, admin, "expired"},
		{"payload altered", std, forge(admin, func(c map[string]any) { c["cognito:groups"] = []string{"everything"} }), "bad signature"},
		{"expiry extended", std, forge(admin, func(c map[string]any) { c["exp"] = time.Now().Add(100 * time.Hour).Unix() }), "bad signature"},
		{"re-signed with another RSA key, same kid", std, sign(t, otherRSA, jose.RS256, kid, fresh(nil)), "bad signature"},
		{"signed with an EC key, same kid", newAuth(pool.issuer, pool.clientID, tokenservice.WithAlgorithms("RS256", "ES256")), sign(t, otherEC, jose.ES256, kid, fresh(nil)), "key is for another algorithm"},
		{"alg none", std, noneToken(), "accepted algorithm"},
		{"HS256 with the public key (PEM) as secret", std, hmacToken(pubPEM), "accepted algorithm"},
		{"HS256 with the public key (DER) as secret", std, hmacToken(pubDER), "accepted algorithm"},
		{"wrong issuer", newAuth("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other", pool.clientID), admin, "wrong issuer"},
		{"wrong client", newAuth(pool.issuer, "another-client-id"), admin, "client_id is not an accepted client"},
		{"ID token where access tokens are taken", std, adminID, "token_use is \\\"id\\\""},
		{"access token where ID tokens are taken", newAuth(pool.issuer, pool.clientID, tokenservice.WithTokenUse(tokenservice.TokenUseID)), admin, "token_use is \\\"access\\\""},
		{"unknown kid", std, sign(t, otherRSA, jose.RS256, "not-a-kid-of-the-pool", fresh(nil)), "unknown key id"},
		{"truncated", std, admin[:len(admin)-10], "bad signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := e.service(t, tokenservice.WithAuthenticator(tc.auth), tokenservice.WithRights(groupRights(t)))
			srv := loopback(t, s)
			lines := len(e.auditLines(t))
			decrypts := e.kms.Calls(kmstest.OpDecrypt)
			logStart := len(e.logs.String())
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/detokenize", strings.NewReader(`{"policy":"ssn","token":"123-45-6789"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tc.token)
			req.Header.Set(tokenservice.PurposeHeader, "test")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"unauthenticated"`) {
				t.Fatalf("answered %d %s, want 401 unauthenticated", resp.StatusCode, body)
			}
			got := e.auditLines(t)[lines:]
			if len(got) != 1 || got[0]["outcome"] != "unauthenticated" || got[0]["operation"] != "detokenize" || got[0]["caller"] != nil {
				t.Errorf("audit lines %v, want one unauthenticated detokenize without caller", got)
			}
			if n := e.kms.Calls(kmstest.OpDecrypt) - decrypts; n != 0 {
				t.Errorf("%d KMS Decrypt requests, want 0", n)
			}
			logs := e.logs.String()[logStart:]
			if !strings.Contains(logs, tc.reason) {
				t.Errorf("the log does not give the reason %q:\n%s", tc.reason, logs)
			}
			if strings.Contains(logs, strings.Split(tc.token, ".")[1]) {
				t.Error("the log holds the token")
			}
		})
	}

	// The same tokens, right: the access token passes, and so does the ID
	// token where ID tokens are taken.
	for _, tc := range []struct {
		name  string
		auth  *tokenservice.JWTAuthenticator
		token string
	}{
		{"access token", std, admin},
		{"ID token", newAuth(pool.issuer, pool.clientID, tokenservice.WithTokenUse(tokenservice.TokenUseID)), adminID},
	} {
		p, err := tc.auth.Verify(t.Context(), tc.token)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if p.Caller != "jwt:"+claims["sub"].(string) || len(p.Groups) != 1 || p.Groups[0] != servicetest.Admin {
			t.Errorf("%s: principal %+v", tc.name, p)
		}
	}
}

// TestJWKSRefresh: the JWKS is cached, fetched again when a token names an
// unknown key id (a key rotation), and not more often than every 10
// seconds however many unknown key ids arrive.
func TestJWKSRefresh(t *testing.T) {
	keyA, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyB, _ := rsa.GenerateKey(rand.Reader, 2048)
	var mu sync.Mutex
	published := []jose.JSONWebKey{{Key: &keyA.PublicKey, KeyID: "a", Algorithm: "RS256", Use: "sig"}}
	var fetches atomic.Int32
	var jwksDown atomic.Bool
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if jwksDown.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: published})
	}))
	defer jwks.Close()
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	const issuer = "https://issuer.example"
	a, err := tokenservice.NewJWTAuthenticator(issuer, []string{"client"}, tokenservice.WithJWKSURL(jwks.URL),
		tokenservice.WithJWTClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	if err != nil {
		t.Fatal(err)
	}
	claims := func() map[string]any {
		return map[string]any{"iss": issuer, "sub": "s", "token_use": "access", "client_id": "client", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	}
	ctx := t.Context()
	for range 3 {
		if _, err := a.Verify(ctx, sign(t, keyA, jose.RS256, "a", claims())); err != nil {
			t.Fatalf("a token of key a: %v", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d JWKS fetches for three tokens of one key, want 1", n)
	}
	// Key b is published; its tokens are accepted after one more fetch.
	mu.Lock()
	published = append(published, jose.JSONWebKey{Key: &keyB.PublicKey, KeyID: "b", Algorithm: "RS256", Use: "sig"})
	mu.Unlock()
	clock.Add(int64(11 * time.Second))
	if _, err := a.Verify(ctx, sign(t, keyB, jose.RS256, "b", claims())); err != nil {
		t.Fatalf("a token of the rotated key b: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d JWKS fetches after a rotation, want 2", n)
	}
	// Unknown key ids, many, within 10 seconds: one fetch at most.
	clock.Add(int64(11 * time.Second))
	for i := range 50 {
		if _, err := a.Verify(ctx, sign(t, keyB, jose.RS256, fmt.Sprintf("unknown-%d", i), claims())); err == nil {
			t.Fatal("a token of an unknown key id was accepted")
		}
	}
	if n := fetches.Load(); n != 3 {
		t.Errorf("%d JWKS fetches after 50 unknown key ids in 10 seconds, want 3", n)
	}
	// The issuer down, the set older than an hour: the keys fetched before
	// still verify; an unknown key id cannot, and says the provider is
	// down rather than that the token is bad.
	jwksDown.Store(true)
	clock.Add(int64(2 * time.Hour))
	now = time.Unix(0, clock.Load())
	if _, err := a.Verify(ctx, sign(t, keyB, jose.RS256, "b", claims())); err != nil {
		t.Errorf("a known key while the issuer is down: %v", err)
	}
	if _, err := a.Verify(ctx, sign(t, keyB, jose.RS256, "c", claims())); err == nil || errors.Is(err, tokenservice.ErrUnauthenticated) {
		t.Errorf("an unknown key id while the issuer is down: %v, want the fetch's error", err)
	}
	jwksDown.Store(false)
	// A token without exp, rightly signed, is refused.
	noExp := claims()
	delete(noExp, "exp")
	if _, err := a.Verify(ctx, sign(t, keyA, jose.RS256, "a", noExp)); err == nil || !strings.Contains(err.Error(), "no exp") {
		t.Errorf("a token without exp: %v, want refused for it", err)
	}
	// A token issued in the future (beyond the leeway) is refused.
	future := claims()
	future["iat"] = now.Add(time.Hour).Unix()
	if _, err := a.Verify(ctx, sign(t, keyA, jose.RS256, "a", future)); err == nil {
		t.Error("a token issued an hour in the future was accepted")
	}
	// A JWKS entry of the wrong kind is refused: an RSA key for ES256.
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a2, _ := tokenservice.NewJWTAuthenticator(issuer, []string{"client"}, tokenservice.WithJWKSURL(jwks.URL), tokenservice.WithAlgorithms("ES256"))
	if _, err := a2.Verify(ctx, sign(t, ec, jose.ES256, "a", claims())); err == nil {
		t.Error("an ES256 token verified against an RSA key")
	}
	// The issuer's JWKS down: 503 identity_provider_down, not 401.
	down, _ := tokenservice.NewJWTAuthenticator(issuer, []string{"client"}, tokenservice.WithJWKSURL("http://127.0.0.1:1/jwks.json"))
	e := newEnv(t, nil)
	srv := loopback(t, e.service(t, tokenservice.WithAuthenticator(down)))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/tokenize", strings.NewReader(`{"policy":"opaque","value":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+sign(t, keyA, jose.RS256, "a", claims()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), tokenservice.CodeIdentityProviderDown) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("JWKS down: %d %s, want 503 identity_provider_down with Retry-After", resp.StatusCode, body)
	}
}
