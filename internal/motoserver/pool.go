package motoserver

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Pool is a Cognito user pool on a moto_server with one app client and
// users signed in through InitiateAuth (USER_PASSWORD_AUTH).
type Pool struct {
	ID       string // the pool id, such as us-east-1_abc123
	ClientID string // the app client's id
	// Issuer is what the tokens name as iss: AWS's URL of the pool, not
	// moto's.
	Issuer string
	// JWKSURL is where moto serves the pool's keys.
	JWKSURL string
	// Access and IDTokens are each user's access and ID tokens.
	Access   map[string]string
	IDTokens map[string]string
	// Subs are each user's sub claim.
	Subs map[string]string
}

// NewPool creates a user pool on the moto_server at url, an app client,
// and for each user of users a user in the groups listed (groups are
// created as needed), then signs each user in. Tokens are valid for an
// hour.
func NewPool(tb testing.TB, url string, users map[string][]string) *Pool {
	tb.Helper()
	ctx := tb.Context()
	client := cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	fail := func(what string, err error) {
		tb.Helper()
		tb.Fatalf("motoserver: Cognito %s: %v", what, err)
	}
	pool, err := client.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("datamask-test")})
	if err != nil {
		fail("CreateUserPool", err)
	}
	p := &Pool{ID: aws.ToString(pool.UserPool.Id), Access: map[string]string{}, IDTokens: map[string]string{}, Subs: map[string]string{}}
	app, err := client.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId:        pool.UserPool.Id,
		ClientName:        aws.String("datamask-test"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
	})
	if err != nil {
		fail("CreateUserPoolClient", err)
	}
	p.ClientID = aws.ToString(app.UserPoolClient.ClientId)
	p.Issuer = "https://cognito-idp.us-east-1.amazonaws.com/" + p.ID
	p.JWKSURL = url + "/" + p.ID + "/.well-known/jwks.json"
	var groups []string
	const password = "Correct-Horse-9!"
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	slices.Sort(names)
	for _, user := range names {
		created, err := client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: pool.UserPool.Id, Username: aws.String(user)})
		if err != nil {
			fail("AdminCreateUser", err)
		}
		for _, a := range created.User.Attributes {
			if aws.ToString(a.Name) == "sub" {
				p.Subs[user] = aws.ToString(a.Value)
			}
		}
		if _, err := client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
			UserPoolId: pool.UserPool.Id, Username: aws.String(user), Password: aws.String(password), Permanent: true,
		}); err != nil {
			fail("AdminSetUserPassword", err)
		}
		for _, g := range users[user] {
			if !slices.Contains(groups, g) {
				if _, err := client.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: pool.UserPool.Id, GroupName: aws.String(g)}); err != nil {
					fail("CreateGroup", err)
				}
				groups = append(groups, g)
			}
			if _, err := client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
				UserPoolId: pool.UserPool.Id, Username: aws.String(user), GroupName: aws.String(g),
			}); err != nil {
				fail("AdminAddUserToGroup", err)
			}
		}
		auth, err := client.InitiateAuth(ctx, &cip.InitiateAuthInput{
			ClientId:       aws.String(p.ClientID),
			AuthFlow:       types.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password},
		})
		if err != nil {
			fail("InitiateAuth", err)
		}
		if auth.AuthenticationResult == nil {
			fail("InitiateAuth", fmt.Errorf("challenge %s, want tokens", auth.ChallengeName))
		}
		p.Access[user] = aws.ToString(auth.AuthenticationResult.AccessToken)
		p.IDTokens[user] = aws.ToString(auth.AuthenticationResult.IdToken)
	}
	return p
}
