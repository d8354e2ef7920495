package motoserver

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestCognitoJWKS is what the tokenization service's tests stand on:
// moto_server's Cognito user pools issue RS256 access and ID tokens that
// verify against the pool's JWKS at /<pool id>/.well-known/jwks.json, and
// carry cognito:groups, token_use and client_id. The issuer they name is
// AWS's URL, not moto's.
func TestCognitoJWKS(t *testing.T) {
	url := Start(t)
	ctx := t.Context()
	client := cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})

	pool, err := client.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("datamask-test")})
	if err != nil {
		t.Fatalf("CreateUserPool: %v", err)
	}
	poolID := aws.ToString(pool.UserPool.Id)
	app, err := client.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId:        aws.String(poolID),
		ClientName:        aws.String("orders"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
	})
	if err != nil {
		t.Fatalf("CreateUserPoolClient: %v", err)
	}
	clientID := aws.ToString(app.UserPoolClient.ClientId)
	const user, password = "alice", "Correct-Horse-9"
	if _, err := client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String(user)}); err != nil {
		t.Fatalf("AdminCreateUser: %v", err)
	}
	if _, err := client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(poolID), Username: aws.String(user), Password: aws.String(password), Permanent: true,
	}); err != nil {
		t.Fatalf("AdminSetUserPassword: %v", err)
	}
	if _, err := client.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String("detokenizers")}); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if _, err := client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
		UserPoolId: aws.String(poolID), Username: aws.String(user), GroupName: aws.String("detokenizers"),
	}); err != nil {
		t.Fatalf("AdminAddUserToGroup: %v", err)
	}
	auth, err := client.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId:       aws.String(clientID),
		AuthFlow:       types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password},
	})
	if err != nil {
		t.Fatalf("InitiateAuth: %v", err)
	}
	if auth.AuthenticationResult == nil {
		t.Fatalf("InitiateAuth: challenge %q, want tokens", auth.ChallengeName)
	}

	keys := fetchJWKS(t, url+"/"+poolID+"/.well-known/jwks.json")
	issuer := "https://cognito-idp.us-east-1.amazonaws.com/" + poolID
	for _, tc := range []struct {
		use, token string
	}{
		{"access", aws.ToString(auth.AuthenticationResult.AccessToken)},
		{"id", aws.ToString(auth.AuthenticationResult.IdToken)},
	} {
		claims := verifyRS256(t, tc.token, keys)
		if claims["token_use"] != tc.use || claims["iss"] != issuer {
			t.Errorf("%s token: token_use %v, iss %v; want %s, %s", tc.use, claims["token_use"], claims["iss"], tc.use, issuer)
		}
		if exp, _ := claims["exp"].(float64); time.Unix(int64(exp), 0).Before(time.Now()) {
			t.Errorf("%s token: exp %v is past", tc.use, claims["exp"])
		}
		groups, _ := claims["cognito:groups"].([]any)
		if !slices.Contains(groups, any("detokenizers")) {
			t.Errorf("%s token: cognito:groups %v, want detokenizers", tc.use, claims["cognito:groups"])
		}
		switch tc.use {
		case "access":
			if claims["client_id"] != clientID {
				t.Errorf("access token: client_id %v, want %s", claims["client_id"], clientID)
			}
		case "id":
			if claims["aud"] != clientID {
				t.Errorf("id token: aud %v, want %s", claims["aud"], clientID)
			}
		}
	}

	// A token whose payload was altered no longer verifies: the check above
	// is a real signature check.
	parts := strings.Split(aws.ToString(auth.AuthenticationResult.AccessToken), ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"token_use":"access","cognito:groups":["admins"]}`)) + "." + parts[2]
	if err := checkRS256(forged, keys); err == nil {
		t.Error("a token with an altered payload verified against the JWKS")
	}
}

// fetchJWKS reads the RSA keys of a JSON Web Key Set, by key id.
func fetchJWKS(t *testing.T, url string) map[string]*rsa.PublicKey {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = HTTP %d %s", url, resp.StatusCode, body)
	}
	var set struct {
		Keys []struct{ Kty, Kid, Alg, N, E string }
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Alg != "RS256" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) > 4 {
			t.Fatalf("GET %s: key %q: bad n or e", url, k.Kid)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) == 0 {
		t.Fatalf("GET %s = %s, want RS256 keys", url, body)
	}
	return keys
}

// verifyRS256 checks a compact JWS's RS256 signature against keys and
// returns its claims. It is a test's check of moto_server, not a JWT
// validator: the service uses a JOSE library.
func verifyRS256(t *testing.T, token string, keys map[string]*rsa.PublicKey) map[string]any {
	t.Helper()
	if err := checkRS256(token, keys); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("token claims: %v", err)
	}
	return claims
}

func checkRS256(token string, keys map[string]*rsa.PublicKey) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errString("not a compact JWS")
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return err
	}
	var header struct{ Alg, Kid string }
	if err := json.Unmarshal(h, &header); err != nil {
		return err
	}
	key, ok := keys[header.Kid]
	if header.Alg != "RS256" || !ok {
		return errString("alg " + header.Alg + ", kid " + header.Kid + ": not an RS256 key of the set")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig)
}

type errString string

func (e errString) Error() string { return string(e) }
