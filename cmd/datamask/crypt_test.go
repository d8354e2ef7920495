package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command line args with stdin and returns the exit
// status and the standard streams.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

func TestKeygenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	if code, _, stderr := runCLI(t, "", "keygen", "-o", path); code != 0 {
		t.Fatalf("keygen -o = exit %d, %s", code, stderr)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %v, want 0600", perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(string(b), "\n"))
	if err != nil || len(key) != 32 || !strings.HasSuffix(string(b), "\n") {
		t.Errorf("key file = %d bytes decoded, %v; want 32 bytes of base64 and a newline", len(key), err)
	}
	if code, _, _ := runCLI(t, "", "keygen", "-o", path); code != 1 {
		t.Errorf("keygen -o existing = exit %d, want 1", code)
	}
	if b2, _ := os.ReadFile(path); !bytes.Equal(b, b2) {
		t.Error("keygen -o existing changed the file")
	}
}

// TestCryptExitCodes checks exit statuses (2 bad usage, 1 failure) and
// that no diagnostic shows a value of the document.
func TestCryptExitCodes(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.key")
	other := filepath.Join(dir, "other.key")
	for _, p := range []string{key, other} {
		if code, _, stderr := runCLI(t, "", "keygen", "-o", p); code != 0 {
			t.Fatalf("keygen = exit %d, %s", code, stderr)
		}
	}
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("c2VjcmV0LWtleS10ZXh0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose.key")
	if b, err := os.ReadFile(key); err != nil || os.WriteFile(loose, b, 0o644) != nil || os.Chmod(loose, 0o644) != nil {
		t.Fatal("cannot write a key file readable by others")
	}
	doc := `{"name": "Ana Silva", "ssn": "123-45-6789"}`
	code, enc, stderr := runCLI(t, doc, "encrypt", "-f", "ssn", "--aes-key", key, "-c", "tenant=acme")
	if code != 0 {
		t.Fatalf("encrypt = exit %d, %s", code, stderr)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"round trip", enc, []string{"decrypt", "-f", "ssn", "--aes-key", key, "-c", "tenant=acme"}, 0},
		{"no key", doc, []string{"encrypt", "-f", "ssn"}, 2},
		{"both keys", doc, []string{"encrypt", "-f", "ssn", "--aes-key", key, "--kms-key", "arn:aws:kms:us-east-1:111122223333:key/x"}, 2},
		// A missing key file exits as a missing input file does.
		{"missing key file", doc, []string{"encrypt", "-f", "ssn", "--aes-key", filepath.Join(dir, "nope")}, 1},
		{"missing input file", doc, []string{"encrypt", "-f", "ssn", "--aes-key", key, filepath.Join(dir, "nope.json")}, 1},
		{"key file readable by others", doc, []string{"encrypt", "-f", "ssn", "--aes-key", loose}, 1},
		{"big context", doc, []string{"encrypt", "-f", "ssn", "--aes-key", key, "-c", "k=" + strings.Repeat("v", 65500)}, 2},
		{"kms-direct with two keys", doc, []string{"encrypt", "-f", "ssn", "--kms-direct", "--kms-key", "arn:aws:kms:us-east-1:111122223333:key/x", "--kms-key", "arn:aws:kms:us-east-1:111122223333:key/y"}, 2},
		{"unknown flag", doc, []string{"encrypt", "--bogus"}, 2},
		{"short key file", doc, []string{"encrypt", "-f", "ssn", "--aes-key", short}, 2},
		{"bad -c", doc, []string{"encrypt", "-f", "ssn", "--aes-key", key, "-c", "tenant"}, 2},
		{"bad suite", doc, []string{"encrypt", "-f", "ssn", "--aes-key", key, "--suite", "1"}, 2},
		{"bad expression", doc, []string{"encrypt", "-f", "$[", "--aes-key", key}, 2},
		{"alias", doc, []string{"encrypt", "-f", "ssn", "--kms-key", "alias/x"}, 2},
		{"wrong key", enc, []string{"decrypt", "-f", "ssn", "--aes-key", other, "-c", "tenant=acme"}, 1},
		{"wrong context", enc, []string{"decrypt", "-f", "ssn", "--aes-key", key, "-c", "tenant=globex"}, 1},
		{"missing context", enc, []string{"decrypt", "-f", "ssn", "--aes-key", key}, 1},
		{"not a message", doc, []string{"decrypt", "-f", "ssn", "--aes-key", key}, 1},
		{"not a message, whole", doc, []string{"decrypt", "--aes-key", key}, 1},
		{"missing field", doc, []string{"encrypt", "-f", "nope", "--aes-key", key}, 1},
		{"invalid JSON", `{"ssn": "123-45-6789",}`, []string{"encrypt", "-f", "ssn", "--aes-key", key}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("datamask %s = exit %d, want %d; stderr: %s", strings.Join(tt.args, " "), code, tt.code, stderr)
			}
			for _, secret := range []string{"123-45-6789", "Ana Silva", "acme", "globex", "c2VjcmV0", "vvvv"} {
				if strings.Contains(stderr, secret) && !(secret == "acme" && tt.name == "bad -c") {
					t.Errorf("stderr %q shows %q", stderr, secret)
				}
			}
			if tt.code != 0 && stdout != "" {
				t.Errorf("stdout = %q on failure, want nothing", stdout)
			}
		})
	}
}
