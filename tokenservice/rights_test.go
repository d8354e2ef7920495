package tokenservice_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datamask/datamask/tokenservice"
)

func TestParseGrant(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string // "" for an error
		errPart string
	}{
		{"acme/card/tokenize", "acme [card] [tokenize] full", ""},
		{"acme/card,ssn/tokenize,detokenize/last4", "acme [card ssn] [tokenize detokenize] last4", ""},
		{"acme/*/forget", "acme [*] [forget] full", ""},
		{"acme/card/forget", "", "forget"},
		{"acme/card/steal", "", "unknown operation"},
		{"acme/card/detokenize/half", "", "reveal"},
		{"acme/card", "", "TENANT/POLICIES/OPERATIONS"},
		{"/card/tokenize", "", "tenant"},
		{"acme//tokenize", "", "empty policy"},
		{"a/b/tokenize/full/x", "", "TENANT/POLICIES/OPERATIONS"},
	} {
		g, err := tokenservice.ParseGrant(tc.in)
		if tc.want == "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("ParseGrant(%q) = %v, want an error about %s", tc.in, err, tc.errPart)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseGrant(%q) = %v", tc.in, err)
			continue
		}
		got := g.Tenant + " " + strings.Join([]string{"[" + strings.Join(g.Policies, " ") + "]"}, "")
		ops := make([]string, len(g.Operations))
		for i, o := range g.Operations {
			ops[i] = string(o)
		}
		got += " [" + strings.Join(ops, " ") + "] " + string(g.Reveal)
		if got != tc.want {
			t.Errorf("ParseGrant(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseRights(t *testing.T) {
	good := `{"groups": {"payments": [{"tenant": "acme", "policies": ["card"], "operations": ["tokenize", "detokenize"], "reveal": "last4"}]},
	          "scopes": {"datamask/tokenize": [{"tenant": "acme", "policies": ["*"], "operations": ["tokenize"]}]},
	          "reveal": {"card": "last4"}}`
	if _, err := tokenservice.ParseRights([]byte(good)); err != nil {
		t.Fatalf("ParseRights: %v", err)
	}
	for _, tc := range []struct{ in, errPart string }{
		{`{"groups": {"g": [{"tenant": "acme", "policies": ["card"], "operations": ["tokenize"], "colour": 1}]}}`, `unknown field "colour"`},
		{`{"groups": {"g": [{"tenant": "acme", "policies": ["card"], "operations": ["destroy"]}]}}`, `group "g", grant 1: unknown operation`},
		{`{"scopes": {"s": [{"tenant": "", "policies": ["card"], "operations": ["tokenize"]}]}}`, `scope "s", grant 1: tenant`},
		{`{"reveal": {"card": "first6"}}`, `reveal of policy "card"`},
		{`{"groups": {"g": [{"tenant": "acme", "policies": "card", "operations": ["tokenize"]}]}}`, `must be a JSON array`},
		{`{"groups": {}} {}`, "data after"},
		{`{"groups": {"g": [{"tenant": "acme", "policies": ["4111111111111111"`, "unexpected end"},
		{`[1,2]`, "where an object is expected"},
	} {
		_, err := tokenservice.ParseRights([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("ParseRights(%s) = %v, want an error with %q", tc.in, err, tc.errPart)
		}
		if err != nil && strings.Contains(err.Error(), "4111111111111111") {
			t.Errorf("ParseRights error holds input: %v", err)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	g, _ := tokenservice.ParseGrant("acme/card/tokenize")
	key, entry, err := tokenservice.NewAPIKey("orders", []tokenservice.Grant{g})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "dmk_") || bytes.Contains(entry, []byte(key)) || bytes.Contains(entry, []byte(key[21:])) {
		t.Fatalf("key %q, entry %s: the entry must hold only the hash", key, entry)
	}
	keys, err := tokenservice.ParseAPIKeys(append([]byte("# orders service\n\n"), entry...))
	if err != nil {
		t.Fatal(err)
	}
	if s := keys.String(); strings.Contains(s, string(entry[10:30])) {
		t.Errorf("String() = %s", s)
	}
	auth := func(h string) (*tokenservice.Principal, error) {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		return keys.Authenticate(r)
	}
	p, err := auth("Bearer " + key)
	if err != nil || p.Caller != "apikey:orders" || len(p.Grants) != 1 {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	if _, err := auth("bearer  " + key); err != nil {
		t.Errorf("a lowercase scheme: %v", err)
	}
	other, _, _ := tokenservice.NewAPIKey("orders", []tokenservice.Grant{g})
	for _, h := range []string{"", "Bearer", "Bearer " + key[:len(key)-1] + "A", "Bearer " + key[:21] + other[21:], "Bearer " + other, "Basic " + key, "Bearer dmk_", "Bearer " + strings.Replace(key, "_", "-", 2)} {
		if _, err := auth(h); err == nil {
			t.Errorf("Authenticate(%.30q) succeeded", h)
		}
	}
	// Files.
	for _, tc := range []struct{ in, errPart string }{
		{``, "no key"},
		{`{"id":"0123456789abcdef","sha256":"00","name":"x","grants":[]}`, "line 1: sha256"},
		{`{"id":"xyz","sha256":"` + strings.Repeat("0", 64) + `","name":"x","grants":[]}`, "line 1: id"},
		{string(entry) + "\n" + string(entry), "line 2: id"},
		{"\n" + `{"id":"0123456789abcdef","sha256":"` + strings.Repeat("0", 64) + `","name":"x","grants":[]}`, "line 2: key \"x\" has no grants"},
		{`{"id":"0123456789abcdef","sha256":"` + strings.Repeat("0", 64) + `","name":"x y","grants":[]}`, "line 1: API key name"},
		{`not json`, "line 1: invalid JSON"},
		{`{"id":"0123456789abcdef","secret":"s"}`, `unknown field "secret"`},
	} {
		_, err := tokenservice.ParseAPIKeys([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("ParseAPIKeys(%.60q) = %v, want an error with %q", tc.in, err, tc.errPart)
		}
	}
	if _, _, err := tokenservice.NewAPIKey("orders", nil); err == nil {
		t.Error("NewAPIKey without grants succeeded")
	}
}

func TestGatewayAuthenticator(t *testing.T) {
	const issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool"
	now := time.Now()
	base := func() map[string]string {
		return map[string]string{
			"iss": issuer, "sub": "u-1", "token_use": "access", "client_id": "app", "exp": itoa(now.Add(time.Hour).Unix()),
			"cognito:groups": "[payments support]", "scope": "aws.cognito.signin.user.admin",
		}
	}
	var claims map[string]string
	a, err := tokenservice.NewGatewayAuthenticator(issuer, []string{"app"}, func(*http.Request) (map[string]string, bool) { return claims, claims != nil })
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	claims = base()
	p, err := a.Authenticate(r)
	if err != nil || p.Caller != "jwt:u-1" || strings.Join(p.Groups, ",") != "payments,support" || len(p.Scopes) != 1 {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
	}{
		{"no claims", func(c map[string]string) { clear(c) }},
		{"expired", func(c map[string]string) { c["exp"] = itoa(now.Add(-time.Hour).Unix()) }},
		{"no exp", func(c map[string]string) { delete(c, "exp") }},
		{"other issuer", func(c map[string]string) { c["iss"] = "https://evil.example" }},
		{"id token", func(c map[string]string) { c["token_use"] = "id" }},
		{"other client", func(c map[string]string) { c["client_id"] = "other" }},
		{"no sub", func(c map[string]string) { delete(c, "sub") }},
	} {
		claims = base()
		tc.edit(claims)
		if _, err := a.Authenticate(r); err == nil {
			t.Errorf("%s: authenticated", tc.name)
		}
	}
	claims = nil
	if _, err := a.Authenticate(r); err == nil {
		t.Error("a request without authorizer claims was authenticated")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzParseRights(f *testing.F) {
	f.Add([]byte(`{"groups": {"g": [{"tenant": "acme", "policies": ["*"], "operations": ["forget"]}]}, "reveal": {"card": "last4"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = tokenservice.ParseRights(data)
	})
}

func FuzzParseAPIKeys(f *testing.F) {
	g, _ := tokenservice.ParseGrant("acme/*/tokenize,forget")
	_, entry, _ := tokenservice.NewAPIKey("k", []tokenservice.Grant{g})
	f.Add(entry)
	f.Add([]byte("# c\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = tokenservice.ParseAPIKeys(data)
	})
}

func FuzzParseGrant(f *testing.F) {
	f.Add("acme/card,ssn/tokenize,detokenize/last4")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := tokenservice.ParseGrant(s)
		if err == nil && (g.Tenant == "" || len(g.Policies) == 0 || len(g.Operations) == 0) {
			t.Errorf("ParseGrant(%q) = %+v", s, g)
		}
	})
}
