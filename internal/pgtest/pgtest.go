// Package pgtest gives tests PostgreSQL databases: a new, empty database per
// call, on a real server on 127.0.0.1, dropped when the test ends.
//
// Start with [Database]:
//
//	pool, err := pgxpool.New(ctx, pgtest.Database(t))
//
// Tests that stop, restart or crash the server get one of their own from
// [StartServer].
//
// # Where the server comes from
//
// If the environment variable DATAMASK_POSTGRES_URL is set (test.sh sets it
// for the whole run), [Database] creates its databases on the server it
// names, through that URL, which must let it create and drop databases.
// Otherwise Database starts a server shared by the test binary, with the
// machine's initdb and pg_ctl (on PATH, or under /usr/lib/postgresql/*/bin
// as Debian installs them) in a temporary directory: one to three seconds.
// With a TestMain that server is started once for the whole binary:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
//
// If neither is there, Database skips the test, or fails it when the
// environment variable CI is "true": CI must run every test.
//
// PostgreSQL refuses to run as root, which CI is: as root, the server runs
// as the user postgres through runuser. Its superuser, postgres, has a
// random password, in the URLs this package returns; TCP connections need
// it (scram-sha-256). The servers run with fsync off but synchronous_commit
// on: a commit survives the server's crash (SIGKILL), not the operating
// system's; see [Server.Kill].
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/datamask/datamask/internal/sharedserver"
	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable naming a running server to use
// instead of starting one, as the URL of a database on it and of a role
// that may create databases, such as
// "postgres://postgres:PASSWORD@127.0.0.1:5432/postgres?sslmode=disable".
const EnvURL = "DATAMASK_POSTGRES_URL"

// servers holds the server Start started, if any.
var servers = new(sharedserver.Shared[*Server])

// Database creates a new, empty database on the shared server (see the
// package doc), drops it when tb ends (closing any connection left open),
// and returns its URL with the server's superuser and password. It skips tb
// if there is no server to be had, unless CI=true, when it fails tb.
func Database(tb testing.TB) string {
	tb.Helper()
	return createDatabase(tb, serverURL(tb), true)
}

// StartServer starts a server for tb alone, which tb may stop, restart and
// crash, and removes it when tb ends. It skips tb if PostgreSQL is not
// installed, unless CI=true, when it fails tb.
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	if _, err := findBin(); err != nil {
		skipOrFail(tb, err.Error())
	}
	ctx, cancel := context.WithTimeout(tb.Context(), startTimeout)
	defer cancel()
	s, err := NewServer(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// Database creates a new, empty database on s and returns its URL. The
// database goes when s does.
func (s *Server) Database(tb testing.TB) string {
	tb.Helper()
	return createDatabase(tb, s.URL(), false)
}

// Run runs the tests of m and then stops the server that [Database]
// started, if any, so that one server serves the whole test binary. Call it
// from TestMain and exit with its result.
func Run(m *testing.M) int { return servers.Run(m) }

// serverURL returns the URL of the server named by EnvURL, or of the one
// this binary shares, starting it if needed.
func serverURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		if err := checkURL(u); err != nil {
			tb.Fatalf("pgtest: %s: %v", EnvURL, err)
		}
		return u
	}
	if _, err := findBin(); err != nil {
		skipOrFail(tb, err.Error())
	}

	s, err := servers.Get(tb, func() (*Server, error) {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		return NewServer(ctx)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s.URL()
}

func skipOrFail(tb testing.TB, reason string) {
	tb.Helper()
	msg := fmt.Sprintf("pgtest: %s; or set %s to a running server (./test.sh does both)", reason, EnvURL)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg + "; CI=true, so this is a failure")
	}
	tb.Skip(msg)
}

// createDatabase creates a database named after tb on the server of
// serverURL and returns its URL; with drop, it drops it at cleanup.
func createDatabase(tb testing.TB, serverURL string, drop bool) string {
	tb.Helper()
	name := DatabaseName(tb.Name())
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		_, err = conn.Exec(ctx, sql)
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec(ctx, "CREATE DATABASE "+ident); err != nil {
		tb.Fatalf("pgtest: creating database %s on %s: %v", name, redact(serverURL), err)
	}
	if drop {
		tb.Cleanup(func() {
			// tb.Context is already cancelled when cleanups run.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
				tb.Errorf("pgtest: dropping database %s on %s: %v", name, redact(serverURL), err)
			}
		})
	}
	u, _ := url.Parse(serverURL) // checked by checkURL or made by Server.URL
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

var invalidNameChars = regexp.MustCompile(`[^a-z0-9_]+`)

// DatabaseName returns a database name that starts with prefix (lower
// case, characters other than letters, digits and "_" replaced with "_",
// cut so the whole fits PostgreSQL's 63 bytes) and ends with 12 random hex
// digits, so that no two calls return the same.
func DatabaseName(prefix string) string {
	p := invalidNameChars.ReplaceAllString(strings.ToLower(prefix), "_")
	if len(p) > 50 {
		p = p[:50]
	}
	var b [6]byte
	rand.Read(b[:])
	return "t_" + p + "_" + hex.EncodeToString(b[:])
}

// checkURL checks u is a PostgreSQL URL with a host, without echoing it: it
// may hold a password.
func checkURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("not a URL: %v", redactErr(err))
	}
	if p.Scheme != "postgres" && p.Scheme != "postgresql" {
		return fmt.Errorf("scheme %q is not postgres or postgresql", p.Scheme)
	}
	if p.Host == "" {
		return fmt.Errorf("%s has no host", redact(u))
	}
	return nil
}

// redact returns u with its password replaced by "xxxxx".
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(an invalid URL)"
	}
	return p.Redacted()
}

// redactErr drops the URL from a url.Error, which quotes it whole.
func redactErr(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
