// Command datamask erases, encrypts, decrypts, tokenizes and detokenizes
// the values of JSON documents selected with JSONPath, the command-line
// face of package datamask; it encrypts and decrypts DynamoDB items
// (package dbesdk) and manages token vaults (package tokenvault).
//
// Usage:
//
//	datamask erase   [-f PATH]... [--mask S | --dynamic | --regex RE --format F]
//	                 [--rules FILE] [--allow-missing] [--ndjson] [FILE]
//	datamask encrypt [-f PATH]... KEYS [-c KEY=VALUE]... [--suite 0478|0578]
//	                 [--bind-fields] [--context-from NAME=PATH]... [--ndjson] [FILE]
//	datamask decrypt [-f PATH]... KEYS [-c KEY=VALUE]... [--bind-fields]
//	                 [--context-from NAME=PATH]... [--ndjson] [FILE]
//	datamask item encrypt|decrypt --config FILE KEYS [--ndjson] [FILE]
//	datamask branch-key create|version --branch-key-store TABLE --kms-key ARN ...
//	datamask keygen  [-o FILE]
//	datamask tokenize   -f PATH[=POLICY]... [--policy NAME] [--tenant T] [--vault URL]
//	                    [--policies FILE] KEYS [--allow-missing] [--ndjson] [FILE]
//	datamask detokenize -f PATH[=POLICY]... [--policy NAME] [--tenant T] [--vault URL]
//	                    [--policies FILE] KEYS [--allow-missing] [--ndjson] [FILE]
//	datamask vault   delete|forget|rewrap|sweep [--vault URL] KEYS [flags] [FILE]
//	datamask serve   [--vault URL] KEYS [--listen ADDR] (--api-keys FILE | --issuer URL --audience ID) [flags]
//	datamask serve apikey --name NAME --grant GRANT... [--append FILE]
//	datamask audit verify [--head HASH] FILE
//	datamask --version
//	datamask vault   migrate --vault URL
//	datamask vault   copy --from URL --to URL [KEYS] [--tenant T] [--policy NAME]
//	KEYS: --kms-key ARN (repeatable) [--kms-direct] | --aes-key FILE [--key-namespace NS] [--key-name NAME]
//	      (item: or --branch-key-store TABLE --branch-key-id ID --kms-key ARN)
//
// It reads FILE or standard input and writes JSON to standard output;
// diagnostics go to standard error. The exit status is 0 on success, 1 on
// failure and 2 on bad usage. Run "datamask <command> --help" for the
// details. A local key file (--aes-key, written by keygen) needs no AWS
// account; --kms-key uses the AWS config chain and honours
// AWS_ENDPOINT_URL_KMS. Vaults (--vault) are files, PostgreSQL databases
// (postgres://...) or DynamoDB tables (dynamodb://TABLE, honouring
// AWS_ENDPOINT_URL_DYNAMODB).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// command is one subcommand. run gets the arguments after the command name.
type command struct {
	name    string
	summary string
	run     func(env *env, args []string) error
}

// commands lists the subcommands, in the order the usage shows them.
var commands = []command{
	{name: "erase", summary: "irreversibly mask the selected values of JSON documents", run: runErase},
	{name: "encrypt", summary: "encrypt JSON documents or their selected values (AWS Encryption SDK messages)", run: runEncrypt},
	{name: "decrypt", summary: "decrypt what encrypt wrote", run: runDecrypt},
	{name: "item", summary: "encrypt or decrypt DynamoDB items (AWS Database Encryption SDK format)", run: runItem},
	{name: "branch-key", summary: "create or rotate branch keys for 'item --branch-key-store' (hierarchical keyring)", run: runBranchKey},
	{name: "keygen", summary: "generate a local AES key file for --aes-key", run: runKeygen},
	{name: "tokenize", summary: "replace the selected values of JSON documents with tokens of a token vault", run: runTokenize},
	{name: "detokenize", summary: "give back the values of tokens", run: runDetokenize},
	{name: "vault", summary: "manage a token vault: delete, forget, rewrap, sweep, migrate, copy", run: runVault},
	{name: "serve", summary: "serve the tokenization API (HTTP; API keys or OIDC/Cognito tokens; audited)", run: runServe},
	{name: "audit", summary: "verify the hash-chained audit trail of datamask serve", run: runAudit},
}

// env is what a command may touch: its standard streams.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func main() {
	os.Exit(run(os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

// run runs the command line args and returns the exit status.
func run(args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, topUsage())
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, topUsage())
		return 0
	case "-version", "--version":
		fmt.Fprintln(e.stdout, version())
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(e, c.run(e, args[1:]))
		}
	}
	return exitCode(e, usageErrorf("unknown command %q", args[0]).withHint("run 'datamask --help' for the list of commands"))
}

func topUsage() string {
	var b strings.Builder
	b.WriteString("usage: datamask <command> [flags] [FILE]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-12s%s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'datamask <command> --help' for a command's flags and examples,\n'datamask --version' for the version.\n")
	return b.String()
}

// version describes the build: the module version ("(devel)" when built
// from a checkout), the VCS revision when known, and the Go version.
func version() string {
	v := "datamask"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v + " (unknown version)"
	}
	v += " " + bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if rev != "" {
		v += " (" + rev[:min(12, len(rev))] + modified + ")"
	}
	return v + " " + bi.GoVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// cliError is an error with an exit status and hint lines for the user.
type cliError struct {
	msg   string
	code  int // 1 failure, 2 usage
	hints []string
	// usage, if set, is printed after the message, before the hints
	// (the synopsis of the command, for usage errors).
	usage string
}

func (e *cliError) Error() string { return e.msg }

func (e *cliError) withHint(h string) *cliError {
	e.hints = append(e.hints, h)
	return e
}

func usageErrorf(format string, args ...any) *cliError {
	return &cliError{msg: fmt.Sprintf(format, args...), code: 2}
}

func failure(err error, hints ...string) *cliError {
	return &cliError{msg: err.Error(), code: 1, hints: hints}
}

// errHelp is returned by a command that printed its help on request.
var errHelp = errors.New("help requested")

// exitCode prints err (prefixed "datamask: ", with its hints) and returns
// the exit status for it.
func exitCode(e *env, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	code := 1
	var hints []string
	usage := ""
	var ce *cliError
	if errors.As(err, &ce) {
		code, hints, usage = ce.code, ce.hints, ce.usage
	}
	fmt.Fprintf(e.stderr, "datamask: %s\n", strings.TrimPrefix(err.Error(), "datamask: "))
	fmt.Fprint(e.stderr, usage)
	for _, h := range hints {
		fmt.Fprintf(e.stderr, "hint: %s\n", h)
	}
	return code
}

// warnf prints a warning to standard error.
func warnf(e *env, format string, args ...any) {
	fmt.Fprintf(e.stderr, "datamask: warning: "+format+"\n", args...)
}
