// Command testservers starts the servers datamask's tests use, on
// 127.0.0.1, for a whole test run, and stops them when told to. test.sh runs
// it before the Go tests:
//
//	testservers -env FILE [-require]
//
// It starts, at the same time, moto_server (KMS, DynamoDB, Cognito user
// pools; see internal/motoserver), DynamoDB Local (internal/dynamolocal) and
// a PostgreSQL server (internal/pgtest). Once each has started or failed, it
// writes FILE, shell lines exporting the variables the test helpers read:
//
//	export DATAMASK_MOTO_URL='http://127.0.0.1:PORT'
//	export DATAMASK_DYNAMODB_URL='http://127.0.0.1:PORT'
//	export DATAMASK_POSTGRES_URL='postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres?sslmode=disable'
//
// and reports on standard error how long each took to start. A server that
// failed is left out of FILE, so the tests needing it skip and say so; with
// -require (test.sh passes it under CI=true) a failure makes testservers
// print the server's output, stop the others and exit 1 without writing
// FILE.
//
// It serves until SIGINT or SIGTERM, or until its parent process exits (a
// test.sh killed without running its trap), then stops the servers and
// removes their temporary directories.
//
// The fake KMS is not among them: each test starts its own in-process
// kmstest server in microseconds, and its call counts must be the test's
// alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/internal/motoserver"
	"github.com/datamask/datamask/internal/pgtest"
)

const usage = `usage: testservers -env FILE [-require]

Starts moto_server, DynamoDB Local and PostgreSQL on 127.0.0.1, writes FILE
with the shell lines exporting DATAMASK_MOTO_URL, DATAMASK_DYNAMODB_URL and
DATAMASK_POSTGRES_URL, and serves until SIGINT or SIGTERM.

  -env FILE   where to write the export lines, once the servers are up
  -require    a server that fails to start is fatal (CI)

Example (what test.sh does):

  go build -o /tmp/testservers ./internal/testservers
  /tmp/testservers -env /tmp/servers.env -require &
  # wait for /tmp/servers.env, then:
  . /tmp/servers.env && go test ./...
  kill %1
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = orphanContext(ctx)
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// orphanContext returns a context that is cancelled when the parent
// process exits (the process is then adopted, and its parent id changes).
func orphanContext(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	parent := os.Getppid()
	go func() {
		for ctx.Err() == nil {
			if os.Getppid() != parent {
				cancel()
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	return ctx
}

// server is one of the servers testservers runs.
type server struct {
	name  string // for messages
	env   string // the variable naming it
	start func(context.Context) (url, desc string, stop func() error, err error)
	url   string
	desc  string // how to print it: url without secrets, and a version
	stop  func() error
	took  time.Duration
	err   error
}

func servers() []*server {
	return []*server{
		{name: "moto_server", env: motoserver.EnvURL, start: func(ctx context.Context) (string, string, func() error, error) {
			s, err := motoserver.NewServer()
			if err != nil {
				return "", "", nil, err
			}
			return s.URL(), s.URL(), s.Close, nil
		}},
		{name: "DynamoDB Local", env: dynamolocal.EnvURL, start: func(ctx context.Context) (string, string, func() error, error) {
			s, err := dynamolocal.NewServer(ctx)
			if err != nil {
				return "", "", nil, err
			}
			return s.URL(), s.URL(), s.Close, nil
		}},
		{name: "PostgreSQL", env: pgtest.EnvURL, start: func(ctx context.Context) (string, string, func() error, error) {
			s, err := pgtest.NewServer(ctx)
			if err != nil {
				return "", "", nil, err
			}
			return s.URL(), s.String(), s.Close, nil
		}},
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("testservers", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	envFile := fs.String("env", "", "")
	require := fs.Bool("require", false, "")
	if err := fs.Parse(args); err != nil || *envFile == "" || fs.NArg() != 0 {
		if err == nil || !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "testservers: -env FILE is required and nothing else is accepted")
		}
		fmt.Fprint(stderr, usage)
		return 2
	}

	all := servers()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Go(func() {
			t0 := time.Now()
			s.url, s.desc, s.stop, s.err = s.start(startCtx)
			s.took = time.Since(t0)
		})
	}
	wg.Wait()
	cancel()

	var env strings.Builder
	failed := false
	for _, s := range all {
		if s.err != nil {
			failed = true
			fmt.Fprintf(stderr, "testservers: %s did not start (%.1fs): %v\n", s.name, s.took.Seconds(), s.err)
			if !*require {
				fmt.Fprintf(stderr, "testservers: the tests that need %s will skip (under CI=true they fail)\n", s.name)
			}
			continue
		}
		fmt.Fprintf(stderr, "testservers: %s ready in %.1fs: %s\n", s.name, s.took.Seconds(), s.desc)
		fmt.Fprintf(&env, "export %s=%s\n", s.env, shellQuote(s.url))
	}
	if failed && *require {
		fmt.Fprintln(stderr, "testservers: -require: a server failed to start")
		stopAll(all, stderr)
		return 1
	}
	if err := writeFile(*envFile, env.String()); err != nil {
		fmt.Fprintf(stderr, "testservers: %v\n", err)
		stopAll(all, stderr)
		return 1
	}

	<-ctx.Done()
	if !stopAll(all, stderr) {
		return 1
	}
	return 0
}

// stopAll stops the servers that started, at the same time, and reports
// whether all stopped cleanly.
func stopAll(all []*server, stderr io.Writer) bool {
	var wg sync.WaitGroup
	errs := make([]error, len(all))
	for i, s := range all {
		if s.stop == nil {
			continue
		}
		wg.Go(func() { errs[i] = s.stop() })
	}
	wg.Wait()
	ok := true
	for i, err := range errs {
		if err != nil {
			fmt.Fprintf(stderr, "testservers: stopping %s: %v\n", all[i].name, err)
			ok = false
		}
	}
	return ok
}

// writeFile writes data to name through a temporary file and a rename, so
// that a reader waiting for name never sees it half written. Only the owner
// may read it: it holds PostgreSQL's password.
func writeFile(name, data string) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
