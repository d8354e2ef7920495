package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/internal/motoserver"
	"github.com/datamask/datamask/internal/pgtest"
)

// syncBuffer is a bytes.Buffer safe for run's goroutine and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRun starts the servers as test.sh does, uses each through the
// address FILE exports, checks each listens on 127.0.0.1 only, and stops
// them.
func TestRun(t *testing.T) {
	ci := os.Getenv("CI") == "true"
	envFile := filepath.Join(t.TempDir(), "servers.env")
	args := []string{"-env", envFile}
	if ci {
		args = append(args, "-require")
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &stderr) }()

	deadline := time.After(3 * time.Minute)
	for {
		if _, err := os.Stat(envFile); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run(%q) = %d before writing %s; its output:\n%s", args, code, envFile, &stderr)
		case <-deadline:
			t.Fatalf("run(%q) did not write %s in 3 minutes; its output:\n%s", args, envFile, &stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if fi, err := os.Stat(envFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, %v; want 0600 (it holds PostgreSQL's password)", envFile, fi.Mode(), err)
	}
	env := readEnv(t, envFile)
	t.Logf("testservers said:\n%s", &stderr)

	var addrs []string
	for _, name := range []string{motoserver.EnvURL, dynamolocal.EnvURL, pgtest.EnvURL} {
		u, ok := env[name]
		if !ok {
			if ci {
				t.Errorf("%s does not export %s under -require", envFile, name)
			} else {
				t.Logf("%s does not export %s: that server did not start here (CI fails instead)", envFile, name)
			}
			continue
		}
		p, err := url.Parse(u)
		if err != nil || p.Hostname() != "127.0.0.1" {
			t.Errorf("%s = %q, want a URL on 127.0.0.1", name, redact(u))
			continue
		}
		addrs = append(addrs, p.Host)
		switch name {
		case motoserver.EnvURL, dynamolocal.EnvURL:
			t.Setenv(name, u) // Start checks the server answers, or fails the test
			if name == motoserver.EnvURL {
				motoserver.Start(t)
			} else {
				tables, err := dynamolocal.NewClient(u).ListTables(t.Context(), nil)
				if err != nil {
					t.Errorf("ListTables on %s: %v", u, err)
				} else if len(tables.TableNames) != 0 {
					t.Errorf("ListTables on a new DynamoDB Local = %v, want none", tables.TableNames)
				}
			}
		case pgtest.EnvURL:
			conn, err := pgx.Connect(t.Context(), u)
			if err != nil {
				t.Errorf("pgx.Connect(%s): %v", redact(u), err)
				break
			}
			var one int
			if err := conn.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("SELECT 1 = %d, %v", one, err)
			}
			conn.Close(t.Context())
		}
		if runtime.GOOS == "linux" {
			// All of 127/8 reaches lo on Linux: a server on every
			// interface would answer on 127.0.0.2 too.
			other := "127.0.0.2:" + p.Port()
			if c, err := net.DialTimeout("tcp", other, 2*time.Second); err == nil {
				c.Close()
				t.Errorf("%s: dial %s succeeded, want refused (listen on 127.0.0.1 only)", name, other)
			}
		}
	}
	if strings.Contains(stderr.String(), env[pgtest.EnvURL]) && env[pgtest.EnvURL] != "" {
		t.Errorf("testservers printed PostgreSQL's URL with its password")
	}

	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run after cancel = %d, want 0; its output:\n%s", code, &stderr)
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not return within a minute of being told to stop")
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after run returned", a)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-env"}, {"-env", "f", "extra"}, {"-nope"}} {
		var stderr syncBuffer
		if code := run(context.Background(), args, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage: testservers -env FILE") {
			t.Errorf("run(%q) = %d, %q; want 2 and the usage", args, code, &stderr)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:1": `'http://127.0.0.1:1'`,
		"it's":               `'it'\''s'`,
		"":                   `''`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// readEnv parses the export lines run writes.
func readEnv(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		k, v, ok2 := strings.Cut(line, "=")
		if !ok || !ok2 || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			t.Fatalf("%s: line %q is not export NAME='VALUE'", name, sc.Text())
		}
		env[k] = v[1 : len(v)-1]
	}
	return env
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(an invalid URL)"
	}
	return p.Redacted()
}

// TestRequire: with -require, a server that fails to start makes run print
// that server's output, stop the others and exit 1 without writing FILE;
// without it, FILE leaves that server out.
func TestRequire(t *testing.T) {
	// A java that says something and dies (beside the real javac): DynamoDB
	// Local fails to start.
	javac, err := exec.LookPath("javac")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("javac is not installed (DynamoDB Local needs a Java 17 JDK); CI fails instead")
	}
	javaHome := t.TempDir()
	if err := os.Mkdir(filepath.Join(javaHome, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(javac, filepath.Join(javaHome, "bin", "javac")); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho 'Error: no JVM here, only a test' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(javaHome, "bin", "java"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JAVA_HOME", javaHome)

	for _, require := range []bool{true, false} {
		envFile := filepath.Join(t.TempDir(), "servers.env")
		args := []string{"-env", envFile}
		if require {
			args = append(args, "-require")
		}
		ctx, cancel := context.WithCancel(context.Background())
		var stderr syncBuffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, args, &stderr) }()
		if require {
			if code := <-done; code != 1 {
				t.Errorf("run(%q) with a failing DynamoDB Local = %d, want 1", args, code)
			}
			if _, err := os.Stat(envFile); !os.IsNotExist(err) {
				t.Errorf("run(%q) with a failing DynamoDB Local wrote %s", args, envFile)
			}
		} else {
			for {
				if _, err := os.Stat(envFile); err == nil {
					break
				}
				select {
				case code := <-done:
					t.Fatalf("run(%q) = %d before writing %s; its output:\n%s", args, code, envFile, &stderr)
				case <-time.After(50 * time.Millisecond):
				}
			}
			if env := readEnv(t, envFile); env[dynamolocal.EnvURL] != "" {
				t.Errorf("%s exports %s for a DynamoDB Local that did not start", envFile, dynamolocal.EnvURL)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("run(%q) after cancel = %d, want 0", args, code)
			}
		}
		cancel()
		out := stderr.String()
		if !strings.Contains(out, "DynamoDB Local did not start") || !strings.Contains(out, "no JVM here, only a test") {
			t.Errorf("run(%q) said %q, want the failure with the server's output", args, out)
		}
	}
}
