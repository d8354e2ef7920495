package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// When the test binary is run with FAKEKMS_MAIN=1 it is the command itself,
// so the subprocess tests need no go build.
func TestMain(m *testing.M) {
	if os.Getenv("FAKEKMS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestUsage(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{[]string{"-h"}, 0, "usage: fakekms", ""},
		{[]string{"-nope"}, 2, "", "fakekms: flag provided but not defined: -nope\nhint: run fakekms -h"},
		{[]string{"extra"}, 2, "", `fakekms: unexpected argument "extra"`},
		{[]string{"-keys", "-1"}, 2, "", "fakekms: -keys -1: want 0 to 1000"},
		{[]string{"-keys", "x"}, 2, "", "fakekms: invalid value"},
		{[]string{"-region", "Mars"}, 2, "", `fakekms: -region: "Mars" is not a Region name`},
		{[]string{"-account", "42"}, 2, "", `fakekms: -account: "42" is not a 12-digit account id`},
		{[]string{"-listen", "0.0.0.0:0"}, 2, "", `fakekms: -listen: host "0.0.0.0" is not a loopback address`},
		{[]string{"-latency", "-1s"}, 2, "", "fakekms: -latency: negative latency"},
		{[]string{"-listen", busy.Addr().String()}, 1, "", "fakekms: listen on " + busy.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("run(%q) = %d\nstdout: %q\nstderr: %q\nwant %d, stdout with %q, stderr with %q",
					tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
			if tt.code != 0 && stdout.Len() != 0 {
				t.Errorf("run(%q) printed %q on stdout, want nothing on failure", tt.args, stdout.String())
			}
		})
	}
}

// readConfig reads the lines fakekms prints once ready.
func readConfig(t *testing.T, r io.Reader, keys int) (endpoint, region string, arns []string) {
	t.Helper()
	sc := bufio.NewScanner(r)
	for len(arns) < keys || endpoint == "" || region == "" {
		if !sc.Scan() {
			t.Fatalf("fakekms output ended (%v) before %d keys; got endpoint %q region %q keys %q", sc.Err(), keys, endpoint, region, arns)
		}
		name, value, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("fakekms printed %q, want NAME=VALUE", sc.Text())
		}
		switch name {
		case "KMS_ENDPOINT":
			endpoint = value
		case "AWS_REGION":
			region = value
		case "KEY_ARN":
			arns = append(arns, value)
		default:
			t.Fatalf("fakekms printed unknown %q", sc.Text())
		}
	}
	return endpoint, region, arns
}

func useKeys(t *testing.T, endpoint, region string, arns []string) {
	t.Helper()
	client := kms.New(kms.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("a", "b", ""),
	})
	for _, arn := range arns {
		ec := map[string]string{"from": "fakekms test"}
		dk, err := client.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String(arn), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("GenerateDataKey(%s) = %v", arn, err)
		}
		dec, err := client.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
		if err != nil || !bytes.Equal(dec.Plaintext, dk.Plaintext) || aws.ToString(dec.KeyId) != arn {
			t.Fatalf("Decrypt(data key of %s) = %v, want it back", arn, err)
		}
	}
}

// TestRun runs the command in-process until its context is cancelled.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"-keys", "3", "-region", "sa-east-1", "-account", "210987654321", "-latency", "1ms"}, pw, &stderr)
		pw.Close()
	}()
	endpoint, region, arns := readConfig(t, pr, 3)
	if region != "sa-east-1" || !strings.HasPrefix(endpoint, "http://127.0.0.1:") || len(arns) != 3 {
		t.Fatalf("fakekms printed %s %s %v", endpoint, region, arns)
	}
	for _, arn := range arns {
		if !strings.HasPrefix(arn, "arn:aws:kms:sa-east-1:210987654321:key/") {
			t.Errorf("KEY_ARN=%s, want a key of sa-east-1 and account 210987654321", arn)
		}
	}
	useKeys(t, endpoint, region, arns)
	go io.Copy(io.Discard, pr)
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("run() = %d after cancel, want 0; stderr:\n%s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run() did not return within 10s of cancel")
	}
	if got := stderr.String(); !strings.Contains(got, "stopped; calls: Decrypt=3 GenerateDataKey=3") {
		t.Errorf("stderr = %q, want the call counts", got)
	}
}

// TestSubprocess starts fakekms as a separate process, uses it, and stops it
// with SIGINT as a user or a CI script would.
func TestSubprocess(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-keys", "2")
	cmd.Env = append(os.Environ(), "FAKEKMS_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
		}
	}()

	endpoint, region, arns := readConfig(t, stdout, 2)
	if region != "us-east-1" || len(arns) != 2 || arns[0] == arns[1] {
		t.Fatalf("fakekms printed %s %s %v", endpoint, region, arns)
	}
	useKeys(t, endpoint, region, arns)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		io.Copy(io.Discard, stdout)
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		waited = true
		if err != nil {
			t.Errorf("fakekms after SIGINT: %v, want exit 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("fakekms still running 10s after SIGINT; stderr:\n%s", stderr.String())
	}
	if got := stderr.String(); !strings.Contains(got, "fakekms: serving us-east-1 on "+endpoint) || !strings.Contains(got, "calls: Decrypt=2 GenerateDataKey=2") {
		t.Errorf("stderr = %q, want the serving line and the call counts", got)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestExportInShell runs the example of the usage text in a POSIX shell,
// with the test binary standing in for "go run ./cmd/fakekms": it waits
// for the fake to be ready, sources the export lines, and the variables
// point an AWS SDK client at the fake; "kill $FAKEKMS_PID" stops it.
func TestExportInShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no POSIX shell on PATH; CI=true, so this is a failure")
		}
		t.Skip("no POSIX shell on PATH")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var script []string
	inExample := false
	for _, line := range strings.Split(usage, "\n") {
		switch {
		case strings.HasPrefix(line, "Example"):
			inExample = true
		case inExample && strings.HasPrefix(line, "  aws kms"):
			// No AWS CLI here: print what it would use instead.
			script = append(script, `echo "$AWS_ENDPOINT_URL_KMS $AWS_REGION $AWS_ACCESS_KEY_ID $KEY_ARN $KEY_ARN_2"`)
		case inExample && strings.HasPrefix(line, "  "):
			script = append(script, strings.Replace(strings.TrimSpace(line), "go run ./cmd/fakekms", `FAKEKMS_MAIN=1 "$FAKEKMS"`, 1))
		}
	}
	if len(script) != 5 {
		t.Fatalf("usage example = %q, want 5 lines", script)
	}
	cmd := exec.CommandContext(t.Context(), sh, "-c", strings.Join(script, "\n")+"\nwait\n")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "FAKEKMS="+self)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the usage example failed: %v\n%s", err, out)
	}
	var fields []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "http://") {
			fields = strings.Fields(line)
		}
	}
	if len(fields) != 5 || fields[2] != "fakekms" || !strings.HasPrefix(fields[3], "arn:aws:kms:") || fields[3] == fields[4] {
		t.Fatalf("the example's shell saw %q, want the endpoint, Region, credentials and two key ARNs", out)
	}
	if !strings.Contains(string(out), "fakekms: stopped; calls:") {
		t.Errorf("kill $FAKEKMS_PID did not stop fakekms: %s", out)
	}
}

// TestExport checks the -export lines: a shell reads them, and they point
// an AWS SDK client at the fake.
func TestExport(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-export", "-keys", "2"}, pw, &stderr)
		pw.Close()
	}()
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() && sc.Text() != "# fakekms ready" {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			t.Fatalf("-export printed %q, want export lines", sc.Text())
		}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = strings.Trim(v, "'")
		}
	}
	go io.Copy(io.Discard, pr)
	for _, k := range []string{"AWS_ENDPOINT_URL_KMS", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "FAKEKMS_PID", "KEY_ARN", "KEY_ARN_2"} {
		if env[k] == "" {
			t.Errorf("-export did not set %s: %v", k, env)
		}
	}
	useKeys(t, env["AWS_ENDPOINT_URL_KMS"], env["AWS_REGION"], []string{env["KEY_ARN"], env["KEY_ARN_2"]})
	cancel()
	if c := <-done; c != 0 {
		t.Errorf("run(-export) = %d", c)
	}
}
