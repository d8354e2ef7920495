package motoserver

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datamask/datamask/internal/sharedserver"
)

// startedURL is the server TestStart got; TestMain checks Run stopped it.
var startedURL string

func TestMain(m *testing.M) {
	code := Run(m)
	if startedURL != "" {
		if resp, err := http.Get(startedURL + "/moto-api/"); err == nil {
			resp.Body.Close()
			fmt.Fprintf(os.Stderr, "motoserver: %s still answers after Run returned, want it stopped\n", startedURL)
			code = 1
		}
	}
	os.Exit(code)
}

// kmsCreateKey calls KMS CreateKey on a moto_server and returns the key ARN.
func kmsCreateKey(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", url+"/", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "TrentService.CreateKey")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("CreateKey on %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"Arn": "arn:aws:kms:us-east-1:`) {
		t.Fatalf("CreateKey on %s = HTTP %d %s, want a key", url, resp.StatusCode, body)
	}
	return string(body)
}

func TestStart(t *testing.T) {
	t.Setenv(EnvURL, "") // test.sh sets it; this test is about the server Start runs
	url := Start(t)
	startedURL = url
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("Start() = %q, want http://127.0.0.1:PORT", url)
	}
	kmsCreateKey(t, url)
	if again := Start(t); again != url {
		t.Errorf("Start() again = %q, want the same server %q", again, url)
	}
}

func TestEnvURL(t *testing.T) {
	url := Start(t)
	t.Setenv(EnvURL, url)
	if got := Start(t); got != url {
		t.Errorf("Start() with %s=%s = %q, want it", EnvURL, url, got)
	}

	for _, bad := range []string{"127.0.0.1:5000", "ftp://127.0.0.1:1", "http://127.0.0.1"} {
		t.Setenv(EnvURL, bad)
		r := runFake(func(tb testing.TB) { Start(tb) })
		if !r.fatal || !strings.Contains(r.msg, EnvURL) {
			t.Errorf("Start() with %s=%q: fatal %v %q, want a fatal error naming %s", EnvURL, bad, r.fatal, r.msg, EnvURL)
		}
	}
}

// TestNotInstalled: without moto_server, Start skips, or fails under CI=true.
func TestNotInstalled(t *testing.T) {
	t.Setenv(EnvURL, "")
	t.Setenv("PATH", t.TempDir())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := runFake(func(tb testing.TB) { Start(tb) })
		if r.fatal != (ci == "true") || r.skipped != (ci != "true") {
			t.Errorf("Start() with CI=%q and no moto_server: fatal %v, skipped %v, want fatal only under CI", ci, r.fatal, r.skipped)
		}
		if !strings.Contains(r.msg, "moto_server is not on PATH") {
			t.Errorf("Start() message = %q, want it to say moto_server is not on PATH", r.msg)
		}
	}
}

// TestUnmanaged: without Run, a server lives as long as the tests using it.
func TestUnmanaged(t *testing.T) {
	t.Setenv(EnvURL, "") // test.sh sets it; this test is about the servers Start runs
	saved := servers
	servers = new(sharedserver.Shared[*server])
	defer func() { servers = saved }()

	a := &fakeTB{}
	b := &fakeTB{}
	var urls [2]string
	runFakeWith(a, func(tb testing.TB) { urls[0] = Start(tb) })
	runFakeWith(b, func(tb testing.TB) { urls[1] = Start(tb) })
	if a.fatal || b.fatal || urls[0] == "" || urls[0] != urls[1] {
		t.Fatalf("Start() twice = %q (%s), want one shared server", urls, a.msg+b.msg)
	}
	s := servers.Current()
	kmsCreateKey(t, urls[0])

	a.cleanup()
	select {
	case <-s.exited:
		t.Fatal("moto_server stopped while a test still used it")
	case <-time.After(100 * time.Millisecond):
	}
	kmsCreateKey(t, urls[0])
	b.cleanup()
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		t.Fatal("moto_server still running after the last test using it ended")
	}
	if shared := servers.Current(); shared != nil {
		t.Errorf("shared = %v after the last cleanup, want nil", shared)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 10}
	for i := range 5 {
		fmt.Fprintf(b, "line%d\n", i)
	}
	if got := b.String(); got != "ne3\nline4\n" {
		t.Errorf("tailBuffer = %q, want the last 10 bytes", got)
	}
}

// fakeTB records what Start does with a testing.TB. Fatal and Skip end the
// goroutine, as they do in the testing package.
type fakeTB struct {
	testing.TB // nil: calling anything not overridden panics
	mu         sync.Mutex
	fatal      bool
	skipped    bool
	msg        string
	cleanups   []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) { f.end(&f.fatal, fmt.Sprint(args...)) }

func (f *fakeTB) Fatalf(format string, args ...any) { f.end(&f.fatal, fmt.Sprintf(format, args...)) }

func (f *fakeTB) Skip(args ...any) { f.end(&f.skipped, fmt.Sprint(args...)) }

func (f *fakeTB) Error(args ...any) { f.record(fmt.Sprint(args...)) }

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) record(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msg += msg
}

func (f *fakeTB) end(flag *bool, msg string) {
	f.mu.Lock()
	*flag = true
	f.msg += msg
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) cleanup() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func runFake(fn func(testing.TB)) *fakeTB {
	f := &fakeTB{}
	runFakeWith(f, fn)
	f.cleanup()
	return f
}

func runFakeWith(f *fakeTB, fn func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
}

// TestNewServer starts and stops a server of its own, as test.sh's
// launcher does.
func TestNewServer(t *testing.T) {
	Start(t) // skips or fails as the other tests do when moto_server is missing
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	kmsCreateKey(t, s.URL())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(s.URL() + "/moto-api/"); err == nil {
		resp.Body.Close()
		t.Errorf("%s still answers after Close, want it stopped", s.URL())
	}
}
