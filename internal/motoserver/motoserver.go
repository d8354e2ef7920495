// Package motoserver gives tests a moto_server (an AWS emulator; datamask's
// tests use its KMS, DynamoDB and Cognito user pools) on 127.0.0.1.
//
// A user pool's JSON Web Key Set is at /<pool id>/.well-known/jwks.json on
// the server; the tokens its InitiateAuth issues are RS256, verify against
// that set, and name AWS's issuer URL (https://cognito-idp.REGION.amazonaws.com/<pool id>),
// not moto's (see TestCognitoJWKS).
//
// [Start] returns the endpoint of a running server. Without a TestMain the
// server lives as long as the tests that asked for it; with one, it is
// started once for the whole test binary:
//
//	func TestMain(m *testing.M) { os.Exit(motoserver.Run(m)) }
//
// If the environment variable DATAMASK_MOTO_URL is set, Start uses the
// server it names instead of starting one. If moto_server is not installed,
// Start skips the test, or fails it when the environment variable CI is
// "true": CI must run every test.
package motoserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/datamask/datamask/internal/sharedserver"
)

// EnvURL is the environment variable naming an already running moto_server
// to use instead of starting one, such as "http://127.0.0.1:5000".
const EnvURL = "DATAMASK_MOTO_URL"

const (
	startTimeout = 60 * time.Second // moto imports every backend on start: seconds on a busy machine
	stopTimeout  = 10 * time.Second
)

// servers holds the server Start started, if any.
var servers = new(sharedserver.Shared[*server])

// Start returns the base URL of a moto_server, such as
// "http://127.0.0.1:41234", starting one if none is running. It skips tb if
// moto_server is not installed, unless CI=true, when it fails tb instead.
func Start(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		if err := checkURL(u); err != nil {
			tb.Fatalf("motoserver: %s=%q: %v", EnvURL, u, err)
		}
		if err := waitReady(context.Background(), u, nil, startTimeout); err != nil {
			tb.Fatalf("motoserver: %s=%q: %v", EnvURL, u, err)
		}
		return u
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		msg := "motoserver: moto_server is not on PATH (install it with: pip install 'moto[server]'), or set " + EnvURL
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + "; CI=true, so this is a failure")
		}
		tb.Skip(msg)
	}

	s, err := servers.Get(tb, func() (*server, error) { return launch(bin) })
	if err != nil {
		tb.Fatalf("motoserver: %v", err)
	}
	return s.url
}

// Run runs the tests of m and then stops the moto_server that [Start]
// started, if any, so that one server serves the whole test binary. Call it
// from TestMain and exit with its result.
func Run(m *testing.M) int { return servers.Run(m) }

// Server is a moto_server process started by [NewServer].
type Server struct{ s *server }

// NewServer starts moto_server on 127.0.0.1 and returns once it answers.
// Only use this outside tests (test.sh's server launcher does); tests call
// [Start].
func NewServer() (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("motoserver: moto_server is not on PATH (install it with: pip install 'moto[server]')")
	}
	s, err := launch(bin)
	if err != nil {
		return nil, fmt.Errorf("motoserver: %v", err)
	}
	return &Server{s}, nil
}

// URL returns the server's base URL, such as "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.s.url }

// Close stops the server: SIGINT, then SIGKILL if it lingers.
func (s *Server) Close() error { return s.s.stop() }

type server struct {
	url    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	output *tailBuffer
	err    error // the process's exit status, set before exited closes
}

// runningRE matches the line werkzeug prints once it listens, with the port
// the system chose for -p 0.
var runningRE = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// launch starts moto_server on 127.0.0.1 with a port chosen by the system,
// reads the port from its log and waits until it answers.
func launch(bin string) (*server, error) {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	pr, pw := io.Pipe()
	out := &tailBuffer{max: 64 << 10}
	cmd.Stdout = out
	cmd.Stderr = io.MultiWriter(out, pw)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %v", err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{}), output: out}
	go func() {
		s.err = cmd.Wait()
		pw.Close()
		close(s.exited)
	}()

	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			if m := runningRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, pr) // keep draining so moto never blocks on stderr
	}()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	select {
	case s.url = <-found:
	case <-s.exited:
		return nil, fmt.Errorf("moto_server exited before listening (%v); its output:\n%s", s.err, out)
	case <-ctx.Done():
		s.stop()
		return nil, fmt.Errorf("moto_server did not listen within %v; its output:\n%s", startTimeout, out)
	}
	if err := waitReady(ctx, s.url, s.exited, startTimeout); err != nil {
		s.stop()
		return nil, fmt.Errorf("%v; its output:\n%s", err, out)
	}
	return s, nil
}

// waitReady polls u until it answers HTTP, the process exits (exited
// closes) or timeout passes.
func waitReady(ctx context.Context, u string, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/moto-api/", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("moto_server at %s did not answer within %v: %v", u, timeout, err)
		case <-exited:
			return errors.New("moto_server exited while starting")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop interrupts moto_server, kills it if it lingers, and waits for it.
// Close stops the server (for the shared server's lifetime).
func (s *server) Close() error { return s.stop() }

func (s *server) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
	}
	s.cmd.Process.Kill()
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("motoserver: moto_server (pid %d) did not exit after SIGKILL", s.cmd.Process.Pid)
	}
}

func checkURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return err
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return fmt.Errorf("scheme %q is not http or https", p.Scheme)
	}
	if _, _, err := net.SplitHostPort(p.Host); err != nil {
		return fmt.Errorf("no host:port: %v", err)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it, for diagnostics.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
