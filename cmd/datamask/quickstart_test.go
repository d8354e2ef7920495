package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestQuickstart runs README quickstart commands, which the README must
// show as they are run here, on the sample files of the repository's
// testdata folder, and checks every byte of their output.
func TestQuickstart(t *testing.T) {
	text := readme(t)
	customer, err := os.ReadFile("../../testdata/customer.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string          // as the README shows them, from the repository's root
		changes map[string]string // original text → erased text
	}{
		{[]string{"erase", "-f", "$.ssn", "testdata/customer.json"},
			map[string]string{`"ssn": "123-45-6789"`: `"ssn": "*****"`}},
		{[]string{"erase", "--rules", "testdata/rules.json", "testdata/customer.json"},
			map[string]string{
				`"ssn": "123-45-6789"`:                 `"ssn": "XXX-XX-XXXX"`,
				`"email": "ana.silva@example.com"`:     `"email": "a****@example.com"`,
				`"card_number": "4111-1111-1111-1111"`: `"card_number": "****-****-****-****"`,
				`{"street": "123 Main St", "city"`:     `{"street": "*****", "city"`,
				`{"street": "456 ACME Ave", "city"`:    `{"street": "*****", "city"`,
			}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			readmeShows(t, text, tt.args...)
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				if strings.HasPrefix(a, "testdata/") {
					a = "../../" + a
				}
				args[i] = a
			}
			var stdout, stderr bytes.Buffer
			if code := run(args, &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}); code != 0 {
				t.Fatalf("datamask %s = exit %d, %s", strings.Join(tt.args, " "), code, stderr.String())
			}
			want := string(customer)
			for from, to := range tt.changes {
				if !strings.Contains(want, from) {
					t.Fatalf("customer.json lacks %s", from)
				}
				want = strings.Replace(want, from, to, 1)
			}
			if stdout.String() != want {
				t.Errorf("datamask %s =\n%s\nwant\n%s", strings.Join(tt.args, " "), stdout.String(), want)
			}
		})
	}
}

// TestQuickstartItems runs the README's DynamoDB item commands: a local key,
// then item encrypt and item decrypt of the sample item, and checks the
// item that comes back.
func TestQuickstartItems(t *testing.T) {
	text := readme(t)
	readmeShows(t, text, "keygen", "-o", "/tmp/datamask.key")
	readmeShows(t, text, "item", "encrypt", "--config", "testdata/users.json", "--aes-key", "/tmp/datamask.key", "testdata/user.json", ">", "/tmp/user.enc.json")
	readmeShows(t, text, "item", "decrypt", "--config", "testdata/users.json", "--aes-key", "/tmp/datamask.key", "/tmp/user.enc.json")
	dir := t.TempDir()
	key := dir + "/datamask.key"
	run1 := func(stdin string, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(args, &env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr}); code != 0 {
			t.Fatalf("datamask %s = exit %d, %s", strings.Join(args, " "), code, stderr.String())
		}
		return stdout.String()
	}
	run1("", "keygen", "-o", key)
	enc := run1("", "item", "encrypt", "--config", "../../testdata/users.json", "--aes-key", key, "../../testdata/user.json")
	for _, secret := range []string{"ana.silva", "1990-04-01", "Main St"} {
		if strings.Contains(enc, secret) {
			t.Errorf("item encrypt output shows %q: %s", secret, enc)
		}
	}
	if !strings.Contains(enc, `"aws_dbe_head":{"B":`) || !strings.Contains(enc, `"plan":{"S":"pro"}`) {
		t.Errorf("item encrypt output = %s", enc)
	}
	dec := run1(enc, "item", "decrypt", "--config", "../../testdata/users.json", "--aes-key", key)
	want := `{":last_seen":{"N":"1700000000"},"address":{"M":{"city":{"S":"Lisbon"},"street":{"S":"123 Main St"},"zip":{"N":"1000"}}},` +
		`"dob":{"S":"1990-04-01"},"email":{"S":"ana.silva@example.com"},"pk":{"S":"user#42"},"plan":{"S":"pro"},"sk":{"S":"profile"}}` + "\n"
	if dec != want {
		t.Errorf("item decrypt = %s, want %s", dec, want)
	}
}
