package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// JSClientNodeVersion is the @aws-crypto/client-node version the lockfile
// pins; StartJS refuses any other.
const JSClientNodeVersion = "5.0.2"

// JS RSA paddings, as JSRawRSA takes them.
const (
	JSPaddingPKCS1      = "pkcs1"
	JSPaddingOAEPSHA1   = "oaep-sha1"
	JSPaddingOAEPSHA256 = "oaep-sha256"
	JSPaddingOAEPSHA384 = "oaep-sha384"
	JSPaddingOAEPSHA512 = "oaep-sha512"
)

// JSKeyring describes a keyring for the JS peer to build. Build one with
// JSRawAES, JSRawRSA, JSKMS, JSKMSDiscovery or JSMulti. The JS side reuses
// the keyring it built for an identical description.
type JSKeyring struct {
	Type string `json:"type"` // "aes", "rsa", "kms" or "multi"

	// Raw keyrings.
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	Key        []byte `json:"key,omitempty"`        // raw AES wrapping key
	Padding    string `json:"padding,omitempty"`    // raw RSA: a JSPadding constant
	PublicKey  string `json:"publicKey,omitempty"`  // raw RSA: PEM (SPKI)
	PrivateKey string `json:"privateKey,omitempty"` // raw RSA: PEM (PKCS #8)

	// AWS KMS keyring (KmsKeyringNode).
	Endpoint        string             `json:"endpoint,omitempty"`
	GeneratorKeyID  string             `json:"generatorKeyId,omitempty"`
	KeyIDs          []string           `json:"keyIds,omitempty"`
	Discovery       bool               `json:"discovery,omitempty"`
	DiscoveryFilter *JSDiscoveryFilter `json:"discoveryFilter,omitempty"`
	GrantTokens     []string           `json:"grantTokens,omitempty"`
	AccessKeyID     string             `json:"accessKeyId,omitempty"`
	SecretAccessKey string             `json:"secretAccessKey,omitempty"`

	// Multi-keyring.
	Generator *JSKeyring  `json:"generator,omitempty"`
	Children  []JSKeyring `json:"children,omitempty"`
}

// JSDiscoveryFilter limits a KMS discovery keyring to keys of these accounts
// in this partition.
type JSDiscoveryFilter struct {
	Partition  string   `json:"partition"`
	AccountIDs []string `json:"accountIDs"`
}

// JSRawAES describes a RawAesKeyringNode (built with utf8Sorting: true) with
// a 16-, 24- or 32-byte wrapping key.
func JSRawAES(namespace, name string, key []byte) JSKeyring {
	return JSKeyring{Type: "aes", Namespace: namespace, Name: name, Key: bytes.Clone(key)}
}

// JSRawRSA describes a RawRsaKeyringNode. Either PEM may be empty: without
// the private key it only encrypts, without the public key it only decrypts.
func JSRawRSA(namespace, name, padding string, publicPEM, privatePEM []byte) JSKeyring {
	return JSKeyring{Type: "rsa", Namespace: namespace, Name: name, Padding: padding,
		PublicKey: string(publicPEM), PrivateKey: string(privatePEM)}
}

// JSKMS describes a strict KmsKeyringNode whose KMS clients send every
// request to endpoint (for example a kmstest server), signed with dummy
// credentials. The generator makes the data key, each other key wraps it
// again; on decrypt any of them may unwrap it. The region of each client is
// taken from the key ARN.
func JSKMS(endpoint, generatorKeyID string, keyIDs ...string) JSKeyring {
	return JSKeyring{Type: "kms", Endpoint: endpoint, GeneratorKeyID: generatorKeyID, KeyIDs: keyIDs}
}

// JSKMSDiscovery describes a KMS discovery keyring (decrypt only) sending
// every request to endpoint; filter may be nil.
func JSKMSDiscovery(endpoint string, filter *JSDiscoveryFilter) JSKeyring {
	return JSKeyring{Type: "kms", Endpoint: endpoint, Discovery: true, DiscoveryFilter: filter}
}

// JSMulti describes a MultiKeyringNode; generator may be nil.
func JSMulti(generator *JSKeyring, children ...JSKeyring) JSKeyring {
	return JSKeyring{Type: "multi", Generator: generator, Children: children}
}

// String describes the keyring without its key material.
func (k JSKeyring) String() string {
	switch k.Type {
	case "aes":
		return fmt.Sprintf("js raw AES-%d keyring %q/%q", 8*len(k.Key), k.Namespace, k.Name)
	case "rsa":
		return fmt.Sprintf("js raw RSA %s keyring %q/%q", k.Padding, k.Namespace, k.Name)
	case "kms":
		if k.Discovery {
			return fmt.Sprintf("js KMS discovery keyring at %s", k.Endpoint)
		}
		return fmt.Sprintf("js KMS keyring %s + %d keys at %s", k.GeneratorKeyID, len(k.KeyIDs), k.Endpoint)
	case "multi":
		return fmt.Sprintf("js multi-keyring (generator %t, %d children)", k.Generator != nil, len(k.Children))
	}
	return fmt.Sprintf("js keyring of unknown type %q", k.Type)
}

// GoString is String, so %#v does not print key material either.
func (k JSKeyring) GoString() string { return k.String() }

// JSEncryptOptions are the JS encrypt call's options; zero values leave the
// SDK's defaults (suite 0x0578, frame length 4096, empty context,
// REQUIRE_ENCRYPT_REQUIRE_DECRYPT).
type JSEncryptOptions struct {
	Suite                uint16
	FrameLength          int
	EncryptionContext    map[string]string
	CommitmentPolicy     string // e.g. "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
	MaxEncryptedDataKeys int
}

// JSDecryptOptions are the JS decrypt call's options; zero values leave the
// SDK's defaults.
type JSDecryptOptions struct {
	CommitmentPolicy     string
	MaxEncryptedDataKeys int
	MaxBodySize          int
}

// JSHeader is the message header as the JS ESDK parsed it.
type JSHeader struct {
	Version           int                  `json:"version"`
	SuiteID           uint16               `json:"suiteId"`
	MessageID         []byte               `json:"messageId"`
	EncryptionContext map[string]string    `json:"encryptionContext"`
	EncryptedDataKeys []JSEncryptedDataKey `json:"encryptedDataKeys"`
	ContentType       int                  `json:"contentType"` // 1 non-framed, 2 framed
	FrameLength       int                  `json:"frameLength"`
}

// JSEncryptedDataKey is one EDK of a JSHeader. The JS ESDK decodes the
// provider info as UTF-8, so binary provider info (raw AES) is lossy here.
type JSEncryptedDataKey struct {
	ProviderID   string `json:"providerId"`
	ProviderInfo string `json:"providerInfo"`
	Ciphertext   []byte `json:"encryptedDataKey"`
}

// JSError is an error the JS ESDK raised.
type JSError struct {
	Op      string // "encrypt" or "decrypt"
	Name    string // the JS error's name
	Message string
}

func (e *JSError) Error() string {
	return fmt.Sprintf("interop: js esdk %s: %s: %s", e.Op, e.Name, e.Message)
}

// JSOptions configure the JS peer process.
type JSOptions struct {
	// InsecurePKCS1Decrypt starts node with --security-revert=CVE-2023-46809
	// so that raw RSA keyrings can decrypt PKCS#1 v1.5 data keys, which
	// node 20 otherwise refuses (Marvin attack). Only use this for a test
	// peer that checks PKCS#1 v1.5 messages decrypt in JS.
	InsecurePKCS1Decrypt bool
	// Env is added to the process environment (for example the variables
	// of a fake KMS server).
	Env []string
}

// JS is a running js/esdk.mjs process. Its methods are safe for concurrent
// use; requests are pipelined and answered out of order.
type JS struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	wmu   sync.Mutex // serializes request lines

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan jsResponse
	dead    error // set once the process is gone

	stderr *tailBuffer
	exited chan struct{}

	// Node and ClientNode are the versions the process reported.
	Node, ClientNode string
}

type jsRequest struct {
	ID                   uint64            `json:"id"`
	Op                   string            `json:"op"`
	Keyring              *JSKeyring        `json:"keyring,omitempty"`
	Plaintext            []byte            `json:"plaintext,omitempty"`
	Ciphertext           []byte            `json:"ciphertext,omitempty"`
	Suite                uint16            `json:"suite,omitempty"`
	FrameLength          int               `json:"frameLength,omitempty"`
	EncryptionContext    map[string]string `json:"encryptionContext,omitempty"`
	CommitmentPolicy     string            `json:"commitmentPolicy,omitempty"`
	MaxEncryptedDataKeys int               `json:"maxEncryptedDataKeys,omitempty"`
	MaxBodySize          int               `json:"maxBodySize,omitempty"`
}

type jsResponse struct {
	ID         *uint64   `json:"id"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error"`
	Name       string    `json:"name"`
	Ciphertext []byte    `json:"ciphertext"`
	Plaintext  []byte    `json:"plaintext"`
	Header     *JSHeader `json:"header"`
	Node       string    `json:"node"`
	ClientNode string    `json:"clientNode"`
}

// JSDir returns the directory of the npm project (interop/js).
func JSDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "js")
}

// missingPeer skips tb, or fails it when CI=true: CI must never pass on a
// peer that did not run.
func missingPeer(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s (CI=true: a missing peer is a failure)", msg)
	}
	tb.Skip(msg)
}

// StartJS starts js/esdk.mjs under node and stops it when tb and its
// subtests are done. It skips tb (fails it under CI=true) when node or the
// npm packages are missing, and fails it when the installed client-node is
// not JSClientNodeVersion.
func StartJS(tb testing.TB, opts JSOptions) *JS {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missingPeer(tb, "interop: node is not installed; install Node.js 20 and run `npm ci --prefix interop/js`")
	}
	dir := JSDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@aws-crypto", "client-node", "package.json")); err != nil {
		missingPeer(tb, "interop: the JS ESDK is not installed; run `npm ci --prefix interop/js` from the repository root")
	}
	j, err := startJS(node, dir, opts)
	if err != nil {
		tb.Fatalf("interop: starting the JS peer: %v", err)
	}
	tb.Cleanup(func() {
		if err := j.Close(); err != nil {
			tb.Errorf("interop: stopping the JS peer: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := j.call(ctx, jsRequest{Op: "version"})
	if err != nil {
		tb.Fatalf("interop: the JS peer did not answer: %v", err)
	}
	j.Node, j.ClientNode = r.Node, r.ClientNode
	if j.ClientNode != JSClientNodeVersion {
		tb.Fatalf("interop: JS peer has @aws-crypto/client-node %s, want %s; run `npm ci --prefix interop/js`",
			j.ClientNode, JSClientNodeVersion)
	}
	return j
}

func startJS(node, dir string, opts JSOptions) (*JS, error) {
	var args []string
	if opts.InsecurePKCS1Decrypt {
		args = append(args, "--security-revert=CVE-2023-46809")
	}
	args = append(args, filepath.Join(dir, "esdk.mjs"))
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), opts.Env...)
	j := &JS{
		cmd:     cmd,
		pending: make(map[uint64]chan jsResponse),
		stderr:  &tailBuffer{max: 64 << 10},
		exited:  make(chan struct{}),
	}
	cmd.Stderr = j.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	j.stdin = stdin
	go j.read(stdout)
	return j, nil
}

// read dispatches responses until stdout closes, then fails whatever is
// still pending.
func (j *JS) read(stdout io.Reader) {
	r := bufio.NewReaderSize(stdout, 1<<20)
	var readErr error
	for {
		line, err := r.ReadBytes('\n')
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 && trimmed[0] != '{' {
			// node's own notices (such as the security-revert warning)
			// go to stdout; keep them with stderr for diagnostics.
			_, _ = j.stderr.Write(line)
		} else if len(trimmed) > 0 {
			var resp jsResponse
			if jerr := json.Unmarshal(line, &resp); jerr != nil || resp.ID == nil {
				readErr = fmt.Errorf("unexpected output line %.200q", line)
				_ = j.cmd.Process.Kill() // the protocol is broken: stop it
				break
			}
			j.mu.Lock()
			ch := j.pending[*resp.ID]
			delete(j.pending, *resp.ID)
			j.mu.Unlock()
			if ch != nil {
				ch <- resp
			}
		}
		if err != nil {
			readErr = err
			break
		}
	}
	waitErr := j.cmd.Wait()
	j.mu.Lock()
	j.dead = fmt.Errorf("JS peer exited (%v, wait: %v); stderr: %s", readErr, waitErr, j.stderr.String())
	for id, ch := range j.pending {
		close(ch)
		delete(j.pending, id)
	}
	j.mu.Unlock()
	close(j.exited)
}

func (j *JS) call(ctx context.Context, req jsRequest) (jsResponse, error) {
	if err := ctx.Err(); err != nil {
		return jsResponse{}, err
	}
	ch := make(chan jsResponse, 1)
	j.mu.Lock()
	if j.dead != nil {
		err := j.dead
		j.mu.Unlock()
		return jsResponse{}, err
	}
	j.nextID++
	req.ID = j.nextID
	j.pending[req.ID] = ch
	j.mu.Unlock()

	line, err := json.Marshal(req)
	if err != nil {
		j.forget(req.ID)
		return jsResponse{}, err
	}
	line = append(line, '\n')
	j.wmu.Lock()
	_, err = j.stdin.Write(line)
	j.wmu.Unlock()
	if err != nil {
		j.forget(req.ID)
		return jsResponse{}, fmt.Errorf("writing to the JS peer: %v", err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			j.mu.Lock()
			defer j.mu.Unlock()
			return jsResponse{}, j.dead
		}
		if !resp.OK {
			return resp, &JSError{Op: req.Op, Name: resp.Name, Message: resp.Error}
		}
		return resp, nil
	case <-ctx.Done():
		j.forget(req.ID)
		return jsResponse{}, ctx.Err()
	}
}

func (j *JS) forget(id uint64) {
	j.mu.Lock()
	delete(j.pending, id)
	j.mu.Unlock()
}

// Encrypt encrypts plaintext with the JS ESDK and returns the message and
// the header the JS ESDK wrote.
func (j *JS) Encrypt(ctx context.Context, k JSKeyring, plaintext []byte, o JSEncryptOptions) ([]byte, *JSHeader, error) {
	r, err := j.call(ctx, jsRequest{
		Op: "encrypt", Keyring: &k, Plaintext: plaintext,
		Suite: o.Suite, FrameLength: o.FrameLength, EncryptionContext: o.EncryptionContext,
		CommitmentPolicy: o.CommitmentPolicy, MaxEncryptedDataKeys: o.MaxEncryptedDataKeys,
	})
	if err != nil {
		return nil, nil, err
	}
	if r.Header == nil {
		return nil, nil, errors.New("interop: js esdk encrypt: response has no header")
	}
	return r.Ciphertext, r.Header, nil
}

// Decrypt decrypts message with the JS ESDK and returns the plaintext and
// the header it parsed.
func (j *JS) Decrypt(ctx context.Context, k JSKeyring, message []byte, o JSDecryptOptions) ([]byte, *JSHeader, error) {
	r, err := j.call(ctx, jsRequest{
		Op: "decrypt", Keyring: &k, Ciphertext: message,
		CommitmentPolicy: o.CommitmentPolicy, MaxEncryptedDataKeys: o.MaxEncryptedDataKeys, MaxBodySize: o.MaxBodySize,
	})
	if err != nil {
		return nil, nil, err
	}
	if r.Header == nil {
		return nil, nil, errors.New("interop: js esdk decrypt: response has no header")
	}
	if r.Plaintext == nil {
		r.Plaintext = []byte{}
	}
	return r.Plaintext, r.Header, nil
}

// Close closes the process's standard input, lets it finish what is in
// flight and waits for it to exit (killing it after 10 s).
func (j *JS) Close() error {
	j.wmu.Lock()
	err := j.stdin.Close()
	j.wmu.Unlock()
	select {
	case <-j.exited:
	case <-time.After(10 * time.Second):
		_ = j.cmd.Process.Kill()
		<-j.exited
		return errors.New("JS peer did not exit within 10 s of closing its input; killed")
	}
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	if st := j.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("JS peer exited with %v; stderr: %s", st, j.stderr.String())
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
