package kmstest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datamask/datamask/kmstest"
)

// missing skips t, or fails it under CI=true, where every test must run.
func missing(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, so this is a failure", what)
	}
	t.Skip(what)
}

// TestBoto3 drives the fake with boto3 in a subprocess configured only by
// the environment of Server.Env: every operation, the error codes and
// statuses botocore sees, and botocore's retry of a throttled call.
func TestBoto3(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		missing(t, "python3 is not on PATH: cannot run the boto3 client")
	}
	if out, err := exec.Command(python, "-c", "import boto3").CombinedOutput(); err != nil {
		missing(t, "boto3 is not installed for "+python+" (pip install boto3): "+strings.TrimSpace(string(out)))
	}

	srv := kmstest.Start(t, kmstest.WithRegion("eu-west-2"))
	key, disabled := srv.CreateKey(), srv.CreateKey()
	if err := srv.DisableKey(disabled); err != nil {
		t.Fatal(err)
	}
	srv.Throttle(kmstest.OpEncrypt, 1)

	cmd := exec.CommandContext(t.Context(), python, filepath.Join("testdata", "boto3_client.py"))
	dir := t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"KEY_ARN="+key, "DISABLED_KEY_ARN="+disabled)
	for k, v := range srv.Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("boto3_client.py: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}

	want := []string{"DescribeKey", "GenerateDataKey", "DecryptDataKey", "EncryptAfterThrottle", "Decrypt",
		"WrongContext", "DisabledKey", "UnknownKey", "IncorrectKey", "ModeledException", "CreateDisableEnable"}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r struct {
			Check  string
			OK     bool
			Detail string
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("boto3_client.py printed %q: %v", sc.Text(), err)
		}
		seen[r.Check] = true
		t.Logf("boto3 %s ok=%v %s", r.Check, r.OK, r.Detail)
		if !r.OK {
			t.Errorf("boto3 %s failed: %s", r.Check, r.Detail)
		}
	}
	for _, c := range want {
		if !seen[c] {
			t.Errorf("boto3 check %s did not run", c)
		}
	}

	// The throttled Encrypt was retried by botocore: 2 requests, then 1 for
	// the disabled key.
	if got := srv.Calls(kmstest.OpEncrypt); got != 3 {
		t.Errorf("Calls(Encrypt) = %d, want 3 (a throttled one, its retry, the disabled key)", got)
	}
	if got := srv.Calls(kmstest.OpCreateKey); got != 1 {
		t.Errorf("Calls(CreateKey) = %d, want 1", got)
	}
}
