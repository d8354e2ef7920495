package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/audit"
	"github.com/datamask/datamask/tokenvault"
)

var serveUsage = `usage: datamask serve [--vault URL] KEYS [--listen ADDR]
                      (--api-keys FILE | --issuer URL --audience ID [--jwks-url URL])
                      [--rights FILE] [--policies FILE] [--audit FILE]
                      [--tls-cert FILE --tls-key FILE]
       datamask serve apikey --name NAME --grant GRANT... [--append FILE]

Serve the tokenization API of a token vault over HTTP: tokenize, detokenize,
lookup, delete and forget (POST /v1/...), to authenticated callers within
their rights, every reveal audited; GET /healthz, /readyz, /metrics
(Prometheus) and /v1/openapi.json. Logs are JSON lines on standard error,
never holding a value or a token. SIGTERM or SIGINT stops it gracefully:
/readyz turns 503, requests under way finish, then the vault and the audit
trail are closed.

Vault:
  --vault URL          the vault (default file:datamask-vault.db); see 'datamask vault --help'
  --policies FILE      more policies beside card, ssn, email and opaque
  --audit FILE         the audit trail, JSON lines, hash-chained, fsynced before each
                       answer (default datamask-audit.jsonl); 'datamask audit verify FILE'
                       checks it

Callers (exactly one kind):
  --api-keys FILE      API keys: a file of their hashes and grants, one JSON line per key,
                       as 'datamask serve apikey' prints them
  --issuer URL         OpenID Connect issuer of the access tokens, such as
                       https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123
  --audience ID        an app client id whose tokens are accepted (repeatable)
  --jwks-url URL       where the issuer's keys are (default ISSUER/.well-known/jwks.json)
  --token-use USE      access (default) or id: the tokens accepted
  --rights FILE        a JSON file mapping groups (cognito:groups) and scopes to grants,
                       and capping what detokenize reveals per policy:
                       {"groups": {"payments": [{"tenant": "acme", "policies": ["card"],
                         "operations": ["tokenize", "detokenize"], "reveal": "last4"}]},
                        "reveal": {"card": "last4"}}

Server:
  --listen ADDR        the address to listen on (default 127.0.0.1:8080; :8080 for every
                       interface)
  --tls-cert FILE      a PEM certificate chain: serve HTTPS (with --tls-key)
  --tls-key FILE       its PEM private key
  --max-body BYTES     the largest request body (default 4194304)
  --request-timeout D  the longest a request may take (default 10s)
  --shutdown-timeout D how long requests under way may take to finish on SIGTERM
                       (default 30s)

` + keysUsage + `
Every flag can be given in the environment instead: DATAMASK_ and its name in
capitals with _ for - (DATAMASK_VAULT, DATAMASK_AES_KEY, DATAMASK_API_KEYS,
DATAMASK_ISSUER, DATAMASK_LISTEN, ...); a flag on the command line wins.
DATAMASK_KMS_KEY and DATAMASK_AUDIENCE take comma-separated lists.

Exit status: 0 after a graceful stop, 1 on failure, 2 on bad usage.

Examples:
  datamask keygen -o datamask.key
  datamask serve apikey --name orders --grant 'acme/card/tokenize,detokenize/last4' --append apikeys.jsonl
  datamask serve --aes-key datamask.key --api-keys apikeys.jsonl
  curl -s --json '{"policy": "card", "value": "4111-1111-1111-1111"}' \
      -H "Authorization: Bearer $KEY" http://127.0.0.1:8080/v1/tokenize
  datamask serve --vault file:/var/lib/datamask/vault.db --kms-key arn:aws:kms:... \
      --issuer https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123 \
      --audience 5n1s5ba9iqi2hv3cd6gc3pi2m --rights rights.json --listen :8443 \
      --tls-cert cert.pem --tls-key key.pem
`

const apikeyUsage = `usage: datamask serve apikey --name NAME --grant GRANT... [--append FILE]

Mint an API key for 'datamask serve --api-keys': print the key (give it to
the caller once; it is stored nowhere) and its entry, a JSON line with the
key's id, its SHA-256 hash, the name and the grants. With --append the entry
is appended to FILE (created with mode 0600) and only the key is printed.

  --name NAME     the caller's name, in the audit trail and the logs
  --grant GRANT   TENANT/POLICIES/OPERATIONS[/REVEAL], lists comma-separated;
                  operations: tokenize, detokenize, lookup, delete, forget
                  (forget needs the policies *); reveal: full (default) or last4.
                  Repeat for several
  --append FILE   append the entry to FILE

Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask serve apikey --name orders --grant 'acme/card/tokenize,detokenize/last4' --append apikeys.jsonl
  datamask serve apikey --name ops --grant 'acme/*/tokenize,detokenize,lookup,delete,forget'
`

// serveCmd is a parsed serve command line.
type serveCmd struct {
	keys            cryptFlags
	set             map[string]bool
	vault           string
	policies        string
	audit           string
	apiKeys         string
	issuer          string
	audiences       listFlag
	jwksURL         string
	tokenUse        string
	rights          string
	listen          string
	tlsCert         string
	tlsKey          string
	maxBody         int64
	requestTimeout  time.Duration
	shutdownTimeout time.Duration
}

func runServe(e *env, args []string) error {
	if len(args) > 0 && args[0] == "apikey" {
		return runServeAPIKey(e, args[1:])
	}
	c, err := parseServeFlags(e, args)
	if err != nil {
		return err
	}
	return c.run(e)
}

// envFlags sets every flag of fs not given on the command line from the
// environment variable DATAMASK_NAME, if set; lists are comma-separated.
func envFlags(fs *flag.FlagSet, set map[string]bool, lists map[string]bool) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := "DATAMASK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return
		}
		vals := []string{v}
		if lists[f.Name] {
			vals = strings.Split(v, ",")
		}
		for _, s := range vals {
			if e := fs.Set(f.Name, strings.TrimSpace(s)); e != nil {
				err = usageErrorf("%s: %v", name, e)
				return
			}
		}
		set[f.Name] = true
	})
	return err
}

func parseServeFlags(e *env, args []string) (*serveCmd, error) {
	fs := newFlagSet("serve")
	c := &serveCmd{}
	fs.Var(&c.keys.kmsKeys, "kms-key", "")
	fs.StringVar(&c.keys.aesKey, "aes-key", "", "")
	fs.StringVar(&c.keys.keyNamespace, "key-namespace", "", "")
	fs.StringVar(&c.keys.keyName, "key-name", "", "")
	fs.StringVar(&c.vault, "vault", defaultVault, "")
	fs.StringVar(&c.policies, "policies", "", "")
	fs.StringVar(&c.audit, "audit", "datamask-audit.jsonl", "")
	fs.StringVar(&c.apiKeys, "api-keys", "", "")
	fs.StringVar(&c.issuer, "issuer", "", "")
	fs.Var(&c.audiences, "audience", "")
	fs.StringVar(&c.jwksURL, "jwks-url", "", "")
	fs.StringVar(&c.tokenUse, "token-use", tokenservice.TokenUseAccess, "")
	fs.StringVar(&c.rights, "rights", "", "")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "")
	fs.StringVar(&c.tlsKey, "tls-key", "", "")
	fs.Int64Var(&c.maxBody, "max-body", tokenservice.DefaultMaxBodyBytes, "")
	fs.DurationVar(&c.requestTimeout, "request-timeout", tokenservice.DefaultRequestTimeout, "")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "")
	pos, err := parseArgs(e, fs, serveUsage, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		ue := usageErrorf("serve takes no arguments (%d given)", len(pos))
		ue.usage = serveUsage
		return nil, ue
	}
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if err := envFlags(fs, c.set, map[string]bool{"kms-key": true, "audience": true}); err != nil {
		return nil, err
	}
	jwt := c.set["issuer"] || len(c.audiences) > 0 || c.set["jwks-url"] || c.set["token-use"]
	switch {
	case jwt && c.set["api-keys"]:
		return nil, usageErrorf("--api-keys and --issuer cannot be combined: callers present API keys or access tokens").
			withHint("use --api-keys FILE on its own, or --issuer URL --audience ID")
	case !jwt && !c.set["api-keys"]:
		return nil, usageErrorf("no callers: give --api-keys FILE or --issuer URL --audience ID").
			withHint("mint an API key with 'datamask serve apikey --name NAME --grant TENANT/POLICIES/OPERATIONS --append apikeys.jsonl'")
	case jwt && (!c.set["issuer"] || len(c.audiences) == 0):
		return nil, usageErrorf("--issuer and --audience go together: the issuer of the tokens and the app clients they are for")
	case c.set["tls-cert"] != c.set["tls-key"]:
		return nil, usageErrorf("--tls-cert and --tls-key go together")
	case c.maxBody < 1<<10 || c.maxBody > 1<<30:
		return nil, usageErrorf("--max-body %d is not between 1024 and 1073741824", c.maxBody)
	case c.requestTimeout <= 0 || c.shutdownTimeout <= 0:
		return nil, usageErrorf("--request-timeout and --shutdown-timeout must be positive")
	}
	return c, nil
}

// run wires the service together and serves until SIGTERM or SIGINT.
func (c *serveCmd) run(e *env) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	metrics := tokenservice.NewMetrics()

	// Everything that can be checked without the network first.
	auth, err := c.authenticator()
	if err != nil {
		return err
	}
	opts := []tokenservice.Option{
		tokenservice.WithAuthenticator(auth), tokenservice.WithMetrics(metrics), tokenservice.WithLogger(log),
		tokenservice.WithMaxBodyBytes(c.maxBody), tokenservice.WithRequestTimeout(c.requestTimeout),
	}
	if c.set["rights"] {
		data, err := os.ReadFile(c.rights)
		if err != nil {
			return usageErrorf("--rights: cannot read the file: %v", err)
		}
		r, err := tokenservice.ParseRights(data)
		if err != nil {
			return usageErrorf("--rights %s: %s", c.rights, trimPrefixes(err.Error(), "tokenservice: rights file: ", "tokenservice: rights: "))
		}
		opts = append(opts, tokenservice.WithRights(r))
	}
	policies, err := readPolicies(c.set["policies"], c.policies)
	if err != nil {
		return err
	}
	var cert tls.Certificate
	if c.set["tls-cert"] {
		if cert, err = tls.LoadX509KeyPair(c.tlsCert, c.tlsKey); err != nil {
			return usageErrorf("--tls-cert, --tls-key: %v", err)
		}
	}
	keyring, err := buildKeyring(ctx, &c.keys, c.set)
	if err != nil {
		return err
	}
	counting := metrics.Keyring(keyring)
	provider, err := tokenvault.NewProvider(counting)
	if err != nil {
		return failure(err)
	}
	// A DynamoDB vault signs its items with the same keys.
	store, closeStore, err := openStore(ctx, e, c.vault, counting)
	if err != nil {
		return err
	}
	defer closeStore()
	counted := metrics.Store(store)
	vault, err := tokenvault.Open(ctx, counted, provider, policies)
	if err != nil {
		if errors.Is(err, tokenvault.ErrWrongKey) {
			return failure(err, "give the keys the vault was created with")
		}
		return failure(err)
	}
	trail, err := audit.OpenFile(ctx, c.audit, provider)
	if err != nil {
		return failure(err, "keep a broken audit file as evidence and start a new one with --audit")
	}
	defer func() {
		head, n := trail.Head()
		trail.Close()
		log.Info("audit trail closed", "file", c.audit, "head", head, "lines_written", n)
	}()
	opts = append(opts, tokenservice.WithAudit(trail), tokenservice.WithReadiness(func(ctx context.Context) error {
		_, err := store.Get(ctx, []tokenvault.Key{{Tenant: "readiness", Policy: "probe", Token: "probe"}})
		return err
	}))
	svc, err := tokenservice.New(vault, opts...)
	if err != nil {
		return failure(err)
	}

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return failure(fmt.Errorf("cannot listen on %s: %v", c.listen, err), "choose another address with --listen")
	}
	srv := &http.Server{
		Handler:           svc,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      c.requestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	scheme := "http"
	if c.set["tls-cert"] {
		scheme = "https"
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	head, _ := trail.Head()
	log.Info("serving", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String(),
		"vault", redactURL(c.vault), "audit", c.audit, "audit_head", head, "auth", authKind(c))
	errc := make(chan error, 1)
	go func() {
		if scheme == "https" {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return failure(fmt.Errorf("the server stopped: %v", err))
	case <-ctx.Done():
	}
	// Graceful stop: not ready, then wait for requests under way.
	log.Info("stopping: finishing the requests under way", "timeout", c.shutdownTimeout.String())
	svc.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return failure(fmt.Errorf("requests were still under way after %v: %v", c.shutdownTimeout, err))
	}
	log.Info("stopped")
	return nil
}

func authKind(c *serveCmd) string {
	if c.set["api-keys"] {
		return "api-keys"
	}
	return "jwt"
}

// authenticator builds the authenticator of the command line.
func (c *serveCmd) authenticator() (tokenservice.Authenticator, error) {
	if c.set["api-keys"] {
		data, err := os.ReadFile(c.apiKeys)
		if err != nil {
			return nil, usageErrorf("--api-keys: cannot read the file: %v", err)
		}
		k, err := tokenservice.ParseAPIKeys(data)
		if err != nil {
			return nil, usageErrorf("--api-keys %s: %s", c.apiKeys, trimPrefixes(err.Error(), "tokenservice: API keys file, ", "tokenservice: API keys file: ", "tokenservice: ")).
				withHint("mint keys with 'datamask serve apikey --name NAME --grant GRANT --append " + c.apiKeys + "'")
		}
		return k, nil
	}
	var opts []tokenservice.JWTOption
	if c.set["jwks-url"] {
		opts = append(opts, tokenservice.WithJWKSURL(c.jwksURL))
	}
	opts = append(opts, tokenservice.WithTokenUse(c.tokenUse))
	a, err := tokenservice.NewJWTAuthenticator(c.issuer, c.audiences, opts...)
	if err != nil {
		return nil, usageErrorf("%s", strings.TrimPrefix(strings.TrimPrefix(err.Error(), "tokenservice: "), "NewJWTAuthenticator: "))
	}
	return a, nil
}

// trimPrefixes removes the first of prefixes that s starts with.
func trimPrefixes(s string, prefixes ...string) string {
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest
		}
	}
	return s
}

// readPolicies returns the built-in policies and those of a policies file.
func readPolicies(set bool, path string) ([]*tokenvault.Policy, error) {
	policies := tokenvault.BuiltinPolicies()
	if !set {
		return policies, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("--policies: cannot read the file: %v", err)
	}
	ps, err := tokenvault.ParsePolicies(data)
	if err != nil {
		return nil, usageErrorf("--policies %s: %s", path, strings.TrimPrefix(err.Error(), "tokenvault: policies file: "))
	}
	return append(policies, ps...), nil
}

// redactURL hides a password in a vault URL.
func redactURL(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.Index(raw[i+3:], "@"); j >= 0 {
			if k := strings.Index(raw[i+3:i+3+j], ":"); k >= 0 {
				return raw[:i+3+k+1] + "xxxxx" + raw[i+3+j:]
			}
		}
	}
	return raw
}

func runServeAPIKey(e *env, args []string) error {
	fs := newFlagSet("serve apikey")
	name := fs.String("name", "", "")
	var grants listFlag
	fs.Var(&grants, "grant", "")
	appendTo := fs.String("append", "", "")
	pos, err := parseArgs(e, fs, apikeyUsage, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		ue := usageErrorf("serve apikey takes no arguments (%d given)", len(pos))
		ue.usage = apikeyUsage
		return ue
	}
	if *name == "" || len(grants) == 0 {
		ue := usageErrorf("serve apikey needs --name and at least one --grant")
		ue.usage = apikeyUsage
		return ue
	}
	var gs []tokenservice.Grant
	for _, s := range grants {
		g, err := tokenservice.ParseGrant(s)
		if err != nil {
			return usageErrorf("--grant: %s", strings.TrimPrefix(err.Error(), "tokenservice: ")).
				withHint("write TENANT/POLICIES/OPERATIONS[/REVEAL], such as acme/card,ssn/tokenize,detokenize/last4")
		}
		gs = append(gs, g)
	}
	key, entry, err := tokenservice.NewAPIKey(*name, gs)
	if err != nil {
		return usageErrorf("%s", strings.TrimPrefix(err.Error(), "tokenservice: "))
	}
	if *appendTo != "" {
		data, err := os.ReadFile(*appendTo)
		if err == nil && len(data) > 0 {
			all := append([]byte{}, data...)
			if all[len(all)-1] != '\n' {
				all = append(all, '\n')
			}
			if _, err := tokenservice.ParseAPIKeys(append(all, entry...)); err != nil {
				return failure(fmt.Errorf("%s: %s", *appendTo, strings.TrimPrefix(err.Error(), "tokenservice: ")),
					"each name is used once: choose another --name, or remove the old key's line")
			}
		}
		f, err := os.OpenFile(*appendTo, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return failure(fmt.Errorf("cannot open the API keys file: %v", err))
		}
		line := append(entry, '\n')
		if len(data) > 0 && data[len(data)-1] != '\n' {
			line = append([]byte("\n"), line...)
		}
		if _, err := f.Write(line); err != nil {
			f.Close()
			return failure(fmt.Errorf("cannot write the API keys file: %v", err))
		}
		if err := f.Close(); err != nil {
			return failure(fmt.Errorf("cannot write the API keys file: %v", err))
		}
		fmt.Fprintln(e.stdout, key)
		return nil
	}
	fmt.Fprintln(e.stdout, key)
	fmt.Fprintln(e.stdout, string(entry))
	return nil
}
