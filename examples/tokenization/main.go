// Command tokenization is datamask's tokenization service (package
// tokenservice) as an AWS Lambda function behind an API Gateway HTTP API
// (payload format 2.0) with a JWT authorizer on an Amazon Cognito user
// pool: the same http.Handler as "datamask serve", through
// aws-lambda-go-api-proxy.
//
// API Gateway verifies each caller's access token and passes its claims in
// the event; the function reads them (tokenservice.GatewayAuthenticator),
// checks issuer, client, token_use and expiry again, and maps the caller's
// cognito:groups to rights with the rights file. A route without the
// authorizer gets no rights: the function refuses requests without claims.
//
// Configuration (environment variables):
//
//	DATAMASK_VAULT       the vault: dynamodb://TABLE (package
//	                     tokenvault/dynamostore; made once by 'datamask vault
//	                     migrate'), or file:PATH for local tests
//	KMS_KEY_ARNS         comma-separated KMS key ARNs; the first makes data keys
//	COGNITO_ISSUER       https://cognito-idp.REGION.amazonaws.com/POOL_ID
//	COGNITO_CLIENT_IDS   comma-separated app client ids whose tokens are accepted
//	DATAMASK_RIGHTS      the rights file's JSON: groups to grants, reveal caps
//	DATAMASK_POLICIES    optional: more policies, as datamask serve --policies
//
// The audit trail goes to standard output, one JSON line per audited call
// (CloudWatch Logs keeps it; each execution environment writes its own
// chain, starting with its own key line); the request log goes to standard
// error.
//
// The vault, its KMS and DynamoDB clients, its data key cache and the
// authenticator are built once per execution environment, before
// lambda.Start (the cold start), and reused by every invocation.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	ctx := context.Background()
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	app, err := newApp(ctx, cfg, os.Stdout, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	lambda.Start(app.adapter.ProxyWithContext)
}
