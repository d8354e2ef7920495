package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/audit"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
	"github.com/datamask/datamask/tokenvault/dynamostore"
)

// config is the function's configuration, read from the environment.
type config struct {
	vault     string
	keyARNs   []string
	issuer    string
	clientIDs []string
	rights    []byte
	policies  []byte
}

func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// loadConfig reads the configuration; every error names the variable.
func loadConfig(getenv func(string) string) (*config, error) {
	c := &config{
		vault:     getenv("DATAMASK_VAULT"),
		keyARNs:   list(getenv("KMS_KEY_ARNS")),
		issuer:    getenv("COGNITO_ISSUER"),
		clientIDs: list(getenv("COGNITO_CLIENT_IDS")),
		rights:    []byte(getenv("DATAMASK_RIGHTS")),
		policies:  []byte(getenv("DATAMASK_POLICIES")),
	}
	var missing []string
	for name, empty := range map[string]bool{
		"DATAMASK_VAULT": c.vault == "", "KMS_KEY_ARNS": len(c.keyARNs) == 0, "COGNITO_ISSUER": c.issuer == "",
		"COGNITO_CLIENT_IDS": len(c.clientIDs) == 0, "DATAMASK_RIGHTS": len(c.rights) == 0,
	} {
		if empty {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("tokenization: set %s (see the package documentation)", strings.Join(missing, ", "))
	}
	return c, nil
}

// app is the function: the service's handler behind the adapter.
type app struct {
	service *tokenservice.Service
	store   tokenvault.Store
	adapter *httpadapter.HandlerAdapterV2
	closers []func() error
}

// Close releases the vault's store and the audit trail.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

// gatewayClaims returns the claims API Gateway's JWT authorizer verified,
// from the event the adapter put in the request's context.
func gatewayClaims(r *http.Request) (map[string]string, bool) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return nil, false
	}
	return rc.Authorizer.JWT.Claims, true
}

// newApp builds the function: KMS keys from the AWS config chain (which
// honours AWS_ENDPOINT_URL_KMS), the vault, the audit trail on auditOut,
// the request log on logOut.
func newApp(ctx context.Context, cfg *config, auditOut, logOut io.Writer) (*app, error) {
	a := &app{}
	rights, err := tokenservice.ParseRights(cfg.rights)
	if err != nil {
		return nil, fmt.Errorf("DATAMASK_RIGHTS: %w", err)
	}
	policies := tokenvault.BuiltinPolicies()
	if len(cfg.policies) > 0 {
		ps, err := tokenvault.ParsePolicies(cfg.policies)
		if err != nil {
			return nil, fmt.Errorf("DATAMASK_POLICIES: %w", err)
		}
		policies = append(policies, ps...)
	}
	auth, err := tokenservice.NewGatewayAuthenticator(cfg.issuer, cfg.clientIDs, gatewayClaims)
	if err != nil {
		return nil, fmt.Errorf("COGNITO_ISSUER, COGNITO_CLIENT_IDS: %w", err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	keyring, err := awskms.NewKeyring(kms.NewFromConfig(awsCfg), cfg.keyARNs)
	if err != nil {
		return nil, fmt.Errorf("KMS_KEY_ARNS: %w", err)
	}
	metrics := tokenservice.NewMetrics()
	provider, err := tokenvault.NewProvider(metrics.Keyring(keyring))
	if err != nil {
		return nil, err
	}
	// A DynamoDB vault signs its items with the same keys.
	store, closeStore, err := openStore(cfg.vault, awsCfg, metrics.Keyring(keyring))
	if err != nil {
		return nil, fmt.Errorf("DATAMASK_VAULT: %w", err)
	}
	a.closers = append(a.closers, closeStore)
	a.store = store
	vault, err := tokenvault.Open(ctx, metrics.Store(store), provider, policies)
	if err != nil {
		a.Close()
		return nil, err
	}
	trail, err := audit.New(ctx, auditOut, provider)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.closers = append(a.closers, trail.Close)
	a.service, err = tokenservice.New(vault,
		tokenservice.WithAuthenticator(auth), tokenservice.WithRights(rights), tokenservice.WithAudit(trail),
		tokenservice.WithMetrics(metrics), tokenservice.WithLogger(slog.New(slog.NewJSONHandler(logOut, nil))))
	if err != nil {
		a.Close()
		return nil, err
	}
	a.adapter = httpadapter.NewV2(a.service)
	return a, nil
}

// openStore opens the store a vault URL names: dynamodb://TABLE (a table
// made by 'datamask vault migrate'), or file:PATH for local tests.
func openStore(raw string, awsCfg aws.Config, keys esdk.Keyring) (tokenvault.Store, func() error, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%q is not a vault URL", raw)
	}
	switch u.Scheme {
	case "dynamodb":
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, nil, fmt.Errorf("%q: write dynamodb://TABLE", u.Redacted())
		}
		s, err := dynamostore.New(dynamodb.NewFromConfig(awsCfg), u.Host, keys)
		if err != nil {
			return nil, nil, err
		}
		return s, func() error { return nil }, nil
	case "file":
		path := u.Opaque
		if path == "" {
			path = u.Path
		}
		s, err := boltstore.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}
	return nil, nil, fmt.Errorf("%q: unknown kind of vault (dynamodb://TABLE, or file:PATH for tests)", u.Redacted())
}
