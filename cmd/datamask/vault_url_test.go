package main

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzVaultURL: any --vault value is parsed without panicking, and an
// error never shows the password of a URL.
func FuzzVaultURL(f *testing.F) {
	for _, s := range []string{
		"file:datamask-vault.db",
		"postgres://u:s3cret@127.0.0.1:5432/db?sslmode=disable&vault-table=x",
		"dynamodb://table",
		"dynamodb://CreditCardTokenizerTable?layout=aws-sample&kms-key=arn:aws:kms:us-east-1:111122223333:key/k",
		"dynamodb://t?layout=aws-sample&layout=aws-sample",
		"mysql://u:s3cret@h/db",
		"dynamodb://u:s3cret@t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		// The password of the URL, if it is one of the seeds' kind.
		pw := ""
		if p, err := url.Parse(raw); err == nil && p.User != nil {
			if s, ok := p.User.Password(); ok && strings.Contains(s, "s3cret") {
				pw = s
			}
		}
		u, err := parseVaultURL("--vault", raw)
		if err != nil {
			if pw != "" && strings.Contains(err.Error(), pw) {
				t.Fatalf("parseVaultURL(%q) error shows the password: %v", raw, err)
			}
			return
		}
		switch strings.ToLower(u.Scheme) {
		case "dynamodb":
			if _, err := parseDynamoURL(u); err != nil && pw != "" && strings.Contains(err.Error(), pw) {
				t.Fatalf("parseDynamoURL(%q) error shows the password: %v", raw, err)
			}
		case "postgres", "postgresql":
			if _, _, err := pgURL(u); err != nil && pw != "" && strings.Contains(err.Error(), pw) {
				t.Fatalf("pgURL(%q) error shows the password: %v", raw, err)
			}
		}
	})
}
