package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/datamask/datamask/internal/motoserver"
	"github.com/datamask/datamask/tokenservice/audit"
)

// served is a running "datamask serve" process.
type served struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	done   chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveFixture is a directory with a local key and API keys for the
// process tests: "admin" may tokenize and detokenize every policy of
// acme.
type serveFixture struct {
	dir, key string
	vault    string // --vault URL
}

func newServeFixture(t *testing.T) *serveFixture {
	t.Helper()
	dir := t.TempDir()
	f := &serveFixture{dir: dir, vault: "file:" + filepath.Join(dir, "vault.db")}
	out, err := exec.Command("datamask", "keygen", "-o", filepath.Join(dir, "k.key")).CombinedOutput()
	if err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	out, err = exec.Command("datamask", "serve", "apikey", "--name", "admin", "--grant", "acme/*/tokenize,detokenize",
		"--append", filepath.Join(dir, "keys.jsonl")).Output()
	if err != nil {
		t.Fatalf("serve apikey: %v", err)
	}
	f.key = strings.TrimSpace(string(out))
	return f
}

// start runs datamask serve on the fixture and waits until it listens.
func (f *serveFixture) start(t *testing.T, extra ...string) *served {
	t.Helper()
	return f.startArgs(t, append([]string{"serve", "--vault", f.vault, "--aes-key", filepath.Join(f.dir, "k.key"),
		"--api-keys", filepath.Join(f.dir, "keys.jsonl"), "--audit", filepath.Join(f.dir, "audit.jsonl"),
		"--listen", "127.0.0.1:0"}, extra...))
}

// startArgs runs datamask with args and waits until it listens.
func (f *serveFixture) startArgs(t *testing.T, args []string) *served {
	t.Helper()
	cmd := exec.Command("datamask", args...)
	s := &served{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.stderr.Write([]byte(line + "\n"))
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "serving" {
				addr <- m["url"].(string)
			}
		}
	}()
	select {
	case u := <-addr:
		s.url = u
	case err := <-s.done:
		t.Fatalf("datamask serve exited: %v\n%s", err, s.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("datamask serve did not start:\n%s", s.stderr.String())
	}
	return s
}

// post sends a request as admin; it returns the status (0 when no answer
// came) and the decoded body.
func (f *serveFixture) post(client *http.Client, url, path, body string) (int, http.Header, map[string]any) {
	req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.key)
	req.Header.Set("X-Datamask-Purpose", "crash-test")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil // the answer was cut: not received
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return -1, resp.Header, map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, resp.Header, m
}

// acked is what the clients received: tokens of values, and the request
// ids of answered detokenize calls.
type acked struct {
	mu     sync.Mutex
	tokens map[string]string // token -> value
	detoks []string          // request ids
	bad    []string          // answers that were neither success nor a clean refusal
}

// load runs clients against url until stop is closed: each tokenizes
// batches of 10 values and detokenizes a token it got.
func (f *serveFixture) load(t *testing.T, url string, clients int, stop <-chan struct{}, a *acked) *sync.WaitGroup {
	var wg sync.WaitGroup
	var n atomic.Int64
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 20 * time.Second}
			var mine []string
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := n.Add(1)
				vals := make([]string, 10)
				for j := range vals {
					vals[j] = fmt.Sprintf("%03d-%02d-%04d", c, i%100, (int(i)*10+j)%10000)
				}
				body, _ := json.Marshal(map[string]any{"policy": "ssn", "values": vals})
				st, _, m := f.post(client, url, "/v1/tokenize", string(body))
				switch st {
				case 0:
					time.Sleep(5 * time.Millisecond) // down: try again
					continue
				case 200:
					rs, _ := m["results"].([]any)
					a.mu.Lock()
					for j, r := range rs {
						tok, _ := r.(map[string]any)["token"].(string)
						if tok == "" {
							a.bad = append(a.bad, fmt.Sprint(r))
							continue
						}
						a.tokens[tok] = vals[j]
						mine = append(mine, tok)
					}
					a.mu.Unlock()
				default:
					if st != 503 {
						a.mu.Lock()
						a.bad = append(a.bad, fmt.Sprintf("tokenize: %d %v", st, m))
						a.mu.Unlock()
					}
					continue
				}
				if len(mine) == 0 {
					continue
				}
				tok := mine[rand.IntN(len(mine))]
				st, h, m := f.post(client, url, "/v1/detokenize", `{"policy":"ssn","token":"`+tok+`"}`)
				switch st {
				case 0, 503:
				case 200:
					a.mu.Lock()
					if m["value"] != a.tokens[tok] {
						a.bad = append(a.bad, "detokenize gave another value")
					}
					a.detoks = append(a.detoks, h.Get("X-Request-Id"))
					a.mu.Unlock()
				default:
					a.mu.Lock()
					a.bad = append(a.bad, fmt.Sprintf("detokenize: %d %v", st, m))
					a.mu.Unlock()
				}
			}
		}()
	}
	return &wg
}

// check restarts nothing: it detokenizes every acknowledged token at url
// and finds every acknowledged detokenize in the audit trail.
func (f *serveFixture) check(t *testing.T, url string, a *acked) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.bad) > 0 {
		t.Errorf("%d answers were not clean: first %s", len(a.bad), a.bad[0])
	}
	tokens := make([]string, 0, len(a.tokens))
	for tok := range a.tokens {
		tokens = append(tokens, tok)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	lost := 0
	for lo := 0; lo < len(tokens); lo += 1000 {
		chunk := tokens[lo:min(lo+1000, len(tokens))]
		body, _ := json.Marshal(map[string]any{"policy": "ssn", "tokens": chunk})
		st, _, m := f.post(client, url, "/v1/detokenize", string(body))
		if st != 200 {
			t.Fatalf("detokenize after the restart: %d %v", st, m)
		}
		for i, r := range m["results"].([]any) {
			if r.(map[string]any)["value"] != a.tokens[chunk[i]] {
				lost++
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged tokens do not detokenize after the restart", lost, len(tokens))
	}
	data, err := os.ReadFile(filepath.Join(f.dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(bytes.NewReader(data), ""); err != nil {
		t.Errorf("the audit trail after the restart: %v", err)
	}
	missing := 0
	for _, id := range a.detoks {
		if !bytes.Contains(data, []byte(`"request_id":"`+id+`"`)) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d answered detokenize calls are missing from the audit trail", missing, len(a.detoks))
	}
	t.Logf("%d acknowledged tokens detokenize, %d answered detokenize calls audited", len(tokens), len(a.detoks))
}

// TestServeSIGTERMUnderLoad: SIGTERM while clients are busy stops the
// server gracefully (exit 0; requests under way are answered), and every
// acknowledged token detokenizes after a restart.
func TestServeSIGTERMUnderLoad(t *testing.T) {
	f := newServeFixture(t)
	s := f.start(t)
	a := &acked{tokens: map[string]string{}}
	stop := make(chan struct{})
	wg := f.load(t, s.url, 8, stop, a)
	time.Sleep(1500 * time.Millisecond)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("datamask serve after SIGTERM: %v\n%s", err, s.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("datamask serve did not stop after SIGTERM")
	}
	close(stop)
	wg.Wait()
	logs := s.stderr.String()
	for _, want := range []string{`"msg":"stopping: finishing the requests under way"`, `"msg":"stopped"`, `"msg":"audit trail closed"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
	if len(a.tokens) == 0 {
		t.Fatal("no token was acknowledged before SIGTERM")
	}
	s2 := f.start(t)
	f.check(t, s2.url, a)
	s2.cmd.Process.Signal(syscall.SIGTERM)
	<-s2.done
}

// TestServeSIGKILLUnderLoad: the server killed with SIGKILL at random
// points under load, three times; after each restart every token whose
// answer was received detokenizes, the vault file opens without repair,
// and every answered detokenize is in the audit trail.
func TestServeSIGKILLUnderLoad(t *testing.T) {
	sigkillRounds(t, newServeFixture(t))
}

// sigkillRounds kills the server of f under load three times, then checks
// every acknowledged token and detokenize.
func sigkillRounds(t *testing.T, f *serveFixture) {
	a := &acked{tokens: map[string]string{}}
	for round := range 3 {
		s := f.start(t)
		stop := make(chan struct{})
		wg := f.load(t, s.url, 8, stop, a)
		time.Sleep(time.Duration(500+rand.IntN(1000)) * time.Millisecond)
		if err := s.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-s.done
		close(stop)
		wg.Wait()
		if len(a.tokens) == 0 {
			t.Fatalf("round %d: no token acknowledged", round)
		}
	}
	s := f.start(t)
	f.check(t, s.url, a)
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-s.done; err != nil {
		t.Errorf("stop after the check: %v", err)
	}
}

// TestServeCognitoTLS: datamask serve over HTTPS, callers with access
// tokens of a moto_server Cognito pool (--issuer, --audience, --jwks-url),
// rights from their groups (--rights), configured through the
// environment.
func TestServeCognitoTLS(t *testing.T) {
	pool := motoserver.NewPool(t, motoserver.Start(t), map[string][]string{"ana": {"payments"}, "eve": {}})
	f := newServeFixture(t)
	// A self-signed certificate for 127.0.0.1.
	key, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "datamask test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(cryptorand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(f.dir, "cert.pem"), filepath.Join(f.dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	rights := filepath.Join(f.dir, "rights.json")
	os.WriteFile(rights, []byte(`{"groups": {"payments": [{"tenant": "acme", "policies": ["card"], "operations": ["tokenize", "detokenize"]}]}, "reveal": {"card": "last4"}}`), 0o600)

	t.Setenv("DATAMASK_ISSUER", pool.Issuer)
	t.Setenv("DATAMASK_AUDIENCE", pool.ClientID)
	t.Setenv("DATAMASK_JWKS_URL", pool.JWKSURL)
	t.Setenv("DATAMASK_RIGHTS", rights)
	t.Setenv("DATAMASK_TLS_CERT", certFile)
	t.Setenv("DATAMASK_TLS_KEY", keyFile)
	args := []string{"serve", "--vault", f.vault, "--aes-key", filepath.Join(f.dir, "k.key"),
		"--audit", filepath.Join(f.dir, "audit.jsonl"), "--listen", "127.0.0.1:0"}
	s := f.startArgs(t, args)
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("url %s, want https", s.url)
	}
	roots := x509.NewCertPool()
	roots.AddCert(mustParse(t, der))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	call := func(user, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+pool.Access[user])
		req.Header.Set("X-Datamask-Purpose", "paybill")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	st, m := call("ana", "/v1/tokenize", `{"policy": "card", "value": "4111-1111-1111-1234"}`)
	if st != 200 {
		t.Fatalf("tokenize as ana: %d %v", st, m)
	}
	tok := m["token"].(string)
	if st, m := call("ana", "/v1/detokenize", `{"policy": "card", "token": "`+tok+`"}`); st != 200 || m["last4"] != "1234" {
		t.Errorf("detokenize as ana: %d %v", st, m)
	}
	if st, _ := call("eve", "/v1/detokenize", `{"policy": "card", "token": "`+tok+`"}`); st != http.StatusForbidden {
		t.Errorf("detokenize as eve (no group): %d, want 403", st)
	}
	// Plain HTTP is not served.
	if resp, err := http.Get(strings.Replace(s.url, "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the TLS server answered plain HTTP")
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-s.done; err != nil {
		t.Errorf("stop: %v", err)
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
