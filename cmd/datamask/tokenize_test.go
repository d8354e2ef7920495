package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSplitTokenField(t *testing.T) {
	for _, tt := range []struct {
		in           string
		expr, policy string
	}{
		{"$.ssn=ssn", "$.ssn", "ssn"},
		{"customers[*].card_number=card", "customers[*].card_number", "card"},
		{"$.ssn", "$.ssn", ""},
		{"$.a=b=c", "$.a=b", "c"}, // not JSONPath, but the policy is c
		{"$.a=my-policy.v2", "$.a", "my-policy.v2"},
		{"$.a[?(@.x == 'y')].b=opaque", "$.a[?(@.x == 'y')].b", "opaque"},
		{"$.a[?(@.x == 'y')]", "$.a[?(@.x == 'y')]", ""},
		{"$.a[?(@.x==1)]", "$.a[?(@.x==1)]", ""},
		{"$[?@.x==y]", "$[?@.x==y]", ""},
		{"$[?@.x!=y", "$[?@.x!=y", ""},
		{"$[?@.x>=y", "$[?@.x>=y", ""},
		{"=ssn", "=ssn", ""},
		{"$.a=", "$.a=", ""},
		{"$.a= ssn", "$.a= ssn", ""},
		{"$.a=" + strings.Repeat("p", 65), "$.a=" + strings.Repeat("p", 65), ""},
	} {
		got := splitTokenField(tt.in)
		if got.expr != tt.expr || got.policy != tt.policy {
			t.Errorf("splitTokenField(%q) = %q, %q; want %q, %q", tt.in, got.expr, got.policy, tt.expr, tt.policy)
		}
	}
}

// TestQuickstartTokenize runs the first commands of the README's
// Tokenization section as they are written there, with /tmp replaced by a
// temporary directory: the document comes back, its selected values
// tokenized in between.
func TestQuickstartTokenize(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	customer, err := os.ReadFile("../../testdata/customer.json")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Tokenization\n")
	if !ok {
		t.Fatal("README.md has no Tokenization section")
	}
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(section)
	if block == nil {
		t.Fatal("the Tokenization section has no sh block")
	}
	dir := t.TempDir()
	var outputs []string
	for _, line := range strings.Split(strings.ReplaceAll(block[1], "\\\n", " "), "\n") {
		if line == "" {
			continue
		}
		words := shellWords(t, line)
		if len(words) < 3 || strings.Join(words[:3], " ") != "go run ./cmd/datamask" {
			t.Fatalf("README command %q is not 'go run ./cmd/datamask ...'", line)
		}
		args, redirect := words[3:], ""
		if n := len(args); n >= 2 && args[n-2] == ">" {
			args, redirect = args[:n-2], args[n-1]
		}
		for i, a := range args {
			a = strings.ReplaceAll(a, "/tmp/", dir+"/")
			if strings.HasPrefix(a, "testdata/") {
				a = "../../" + a
			}
			args[i] = a
		}
		var stdout, stderr bytes.Buffer
		if code := run(args, &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}); code != 0 {
			t.Fatalf("README: %s = exit %d, %s", line, code, stderr.String())
		}
		if redirect != "" {
			path := strings.ReplaceAll(redirect, "/tmp/", dir+"/")
			if !strings.HasPrefix(path, dir) {
				t.Fatalf("README command %q writes outside /tmp", line)
			}
			if err := os.WriteFile(path, stdout.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		outputs = append(outputs, stdout.String())
	}
	if len(outputs) != 3 {
		t.Fatalf("the README block has %d commands, want keygen, tokenize, detokenize", len(outputs))
	}
	tok, back := outputs[1], outputs[2]
	for _, secret := range []string{"123-45-6789", "4111-1111-1111-1111", "ana.silva@example.com"} {
		if strings.Contains(tok, secret) {
			t.Errorf("tokenize output shows %q", secret)
		}
	}
	for _, shape := range []string{`"ssn": "\d{3}-\d{2}-6789"`, `"card_number": "\d{4}-\d{4}-\d{4}-1111"`, `"email": "[a-z]{3}\.[a-z]{5}@example\.com"`} {
		if !regexp.MustCompile(shape).MatchString(tok) {
			t.Errorf("tokenize output has no match of %s:\n%s", shape, tok)
		}
	}
	if back != string(customer) {
		t.Errorf("detokenize = %s, want testdata/customer.json", back)
	}
	if _, err := os.Stat(filepath.Join(dir, "datamask-vault.db")); err != nil {
		t.Errorf("no vault file: %v", err)
	}
}

// shellWords splits a command line of the README: words separated by
// spaces, single quotes as a POSIX shell reads them.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, c := range line {
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '"' || c == '$' || c == '\\' || c == '`':
			t.Fatalf("README command %q: unquoted %q, which this test does not read as a shell would", line, c)
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("README command %q: unterminated quote", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
