package main

import (
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

// TestQuickstartTokenize runs the README's Quickstart key block and then
// the commands of its Tokens section as they are written there, with /tmp
// replaced by a temporary directory: the document comes back, its
// selected values tokenized in between.
func TestQuickstartTokenize(t *testing.T) {
	text := readme(t)
	customer, err := os.ReadFile("../../testdata/customer.json")
	if err != nil {
		t.Fatal(err)
	}
	keyBlocks := shBlocks(readmeSection(t, text, "## Quickstart"))
	tokenBlocks := shBlocks(readmeSection(t, text, "### Tokens"))
	if len(keyBlocks) == 0 || len(tokenBlocks) == 0 {
		t.Fatal("the README's Quickstart or its Tokens section has no sh block")
	}
	dir := t.TempDir()
	keygen := runREADMEBlock(t, dir, keyBlocks[0])
	outputs := runREADMEBlock(t, dir, tokenBlocks[0])
	if len(keygen) != 1 || len(outputs) != 2 {
		t.Fatalf("the README blocks have %d and %d commands, want keygen, then tokenize and detokenize", len(keygen), len(outputs))
	}
	tok, back := outputs[0], outputs[1]
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
