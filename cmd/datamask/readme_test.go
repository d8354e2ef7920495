package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readme returns the repository's README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeSection returns the text of the README section whose heading line
// is heading ("## Quickstart", "### Tokens"), up to the next heading of the
// same or a higher level.
func readmeSection(t *testing.T, text, heading string) string {
	t.Helper()
	_, section, ok := strings.Cut(text, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", heading)
	}
	level := strings.IndexByte(heading, ' ')
	end := regexp.MustCompile(`\n#{1,` + strconv.Itoa(level) + `} `)
	if loc := end.FindStringIndex(section); loc != nil {
		section = section[:loc[0]]
	}
	return section
}

var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// shBlocks returns the ```sh blocks of a README section, in order.
func shBlocks(section string) []string {
	var blocks []string
	for _, m := range shBlock.FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// commandLines returns the command lines of a block, continuation lines
// ("\" at the end) joined.
func commandLines(block string) []string {
	var lines []string
	for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// onlyDatamask reports whether every command of block is 'go run
// ./cmd/datamask ...', which runREADMEBlock can run.
func onlyDatamask(block string) bool {
	lines := commandLines(block)
	for _, line := range lines {
		if !strings.HasPrefix(line, "go run ./cmd/datamask ") {
			return false
		}
	}
	return len(lines) > 0
}

// runREADMEBlock runs the commands of a README sh block as they are written
// there, each 'go run ./cmd/datamask ARGS [> FILE]', with /tmp/ replaced by
// dir and testdata/ read from the repository's root, and returns the
// standard output of each. A command that exits other than 0 fails the
// test, as does a command writing outside /tmp.
func runREADMEBlock(t *testing.T, dir, block string) []string {
	t.Helper()
	var outputs []string
	for _, line := range commandLines(block) {
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
	return outputs
}

// readmeShows fails the test unless a README block of datamask commands
// (onlyDatamask) shows the command line 'go run ./cmd/datamask ARGS'.
func readmeShows(t *testing.T, text string, args ...string) {
	t.Helper()
	for _, block := range shBlocks(text) {
		if !onlyDatamask(block) {
			continue
		}
		for _, line := range commandLines(block) {
			words := shellWords(t, line)
			if len(words) >= 3 && strings.Join(words[:3], " ") == "go run ./cmd/datamask" &&
				strings.Join(words[3:], "\x00") == strings.Join(args, "\x00") {
				return
			}
		}
	}
	t.Errorf("the README shows no command 'go run ./cmd/datamask %s'", strings.Join(args, " "))
}

// TestReadmeQuickstart runs, in order and in one temporary directory for
// /tmp, every block of the README's Quickstart made only of 'go run
// ./cmd/datamask' commands, as a newcomer would paste them: each must
// succeed, and each output is JSON (or nothing, for keygen -o). The key
// block comes first, and every product section has such a block.
func TestReadmeQuickstart(t *testing.T) {
	quickstart := readmeSection(t, readme(t), "## Quickstart")
	blocks := shBlocks(quickstart)
	if len(blocks) == 0 || strings.TrimSpace(blocks[0]) != "go run ./cmd/datamask keygen -o /tmp/datamask.key" {
		t.Fatalf("the Quickstart's first block is not the key file: %q", blocks)
	}
	for _, heading := range []string{"### JSON fields: erase, encrypt, decrypt", "### DynamoDB items", "### Tokens"} {
		n := 0
		for _, b := range shBlocks(readmeSection(t, quickstart, heading)) {
			if onlyDatamask(b) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("README section %q has no block of datamask commands", heading)
		}
	}
	dir := t.TempDir()
	ran := 0
	for _, b := range blocks {
		if !onlyDatamask(b) {
			continue
		}
		for i, out := range runREADMEBlock(t, dir, b) {
			if out != "" && !json.Valid([]byte(strings.TrimSuffix(out, "\n"))) {
				t.Errorf("README command %q wrote no JSON:\n%s", commandLines(b)[i], out)
			}
			ran++
		}
	}
	if ran < 13 {
		t.Errorf("ran %d README commands, want the 13 or more of the key, JSON fields, items and tokens blocks", ran)
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
