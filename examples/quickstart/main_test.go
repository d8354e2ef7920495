package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestReadmeProgram checks that the Go program of the README is this one,
// as written, so that it compiles (go vet and the tests build it).
func TestReadmeProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```go\n")
	if ok {
		block, _, ok = strings.Cut(block, "```\n")
	}
	if !ok {
		t.Fatal("README.md has no ```go block")
	}
	if block != string(src) {
		t.Errorf("the README's Go program differs from examples/quickstart/main.go:\n%s", block)
	}
}

// TestRun runs the program from the root of the repository, as the README
// says, and checks what it prints.
func TestRun(t *testing.T) {
	t.Chdir("../..")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	main()
	w.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"ssn": "*****"`, `"email": "*****"`, `"id": 12345678901234567890`, "encrypted, then decrypted to the same bytes: true"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("quickstart printed:\n%s\nwant %s in it", out, want)
		}
	}
}
