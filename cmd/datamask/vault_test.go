package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
	"github.com/rogpeppe/go-internal/testscript"
)

// Commands of the vault transcripts, which fill and read vaults with the
// tokenize and detokenize commands:
//
//	jsonstr FILE KEY OUT
//	    appends the string member KEY of the JSON object in FILE (a
//	    token, say), and a newline, to OUT: the line vault delete reads
//	sleep DURATION
//
// and, for the transcripts of the server stores (testdata/servers), which
// open a vault URL in process:
//
//	vaulttokenize [-ttl D] [-tenant T] [-append LIST] URL KEYFILE POLICY VALUE VAR
//	[!] vaultdetokenize [-tenant T] URL KEYFILE POLICY TOKEN [WANT]
var vaultCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"vaulttokenize":   vaultTokenizeCmd,
	"vaultdetokenize": vaultDetokenizeCmd,
	"jsonstr": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: jsonstr FILE KEY OUT")
		}
		var obj map[string]any
		ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &obj))
		s, ok := obj[args[1]].(string)
		if !ok {
			ts.Fatalf("%s has no string member %q", args[0], args[1])
		}
		f, err := os.OpenFile(ts.MkAbs(args[2]), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		ts.Check(err)
		_, err = f.WriteString(s + "\n")
		ts.Check(err)
		ts.Check(f.Close())
	},
	"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: sleep DURATION")
		}
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		time.Sleep(d)
	},
}

// openTestVault opens the vault of a file path or, with a ":", a vault URL
// (the stores of the command line: file:, postgres://, dynamodb://).
func openTestVault(ts *testscript.TestScript, file, keyFile string) (*tokenvault.Vault, func()) {
	k, err := datamask.ReadLocalKeyring(ts.MkAbs(keyFile))
	ts.Check(err)
	p, err := tokenvault.NewProvider(k)
	ts.Check(err)
	var s tokenvault.Store
	var closeStore func() error
	if strings.Contains(file, ":") {
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
		s, closeStore, err = openStore(context.Background(), e, file, k)
		ts.Check(err)
	} else {
		b, err := boltstore.Open(ts.MkAbs(file))
		ts.Check(err)
		s, closeStore = b, b.Close
	}
	ps := cliPolicies()
	if data, err := os.ReadFile(ts.MkAbs("policies.json")); err == nil {
		more, err := tokenvault.ParsePolicies(data)
		ts.Check(err)
		ps = append(ps, more...)
	}
	v, err := tokenvault.Open(context.Background(), s, p, ps)
	if err != nil {
		closeStore()
		ts.Fatalf("open vault: %v", err)
	}
	return v, func() { closeStore() }
}

func vaultTokenizeCmd(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("vaulttokenize", flag.ContinueOnError)
	ttl := fs.Duration("ttl", 0, "")
	tenant := fs.String("tenant", "default", "")
	appendTo := fs.String("append", "", "")
	ts.Check(fs.Parse(args))
	if neg || fs.NArg() != 5 {
		ts.Fatalf("usage: vaulttokenize [-ttl D] [-tenant T] [-append LIST] FILE KEYFILE POLICY VALUE VAR")
	}
	a := fs.Args()
	v, done := openTestVault(ts, a[0], a[1])
	defer done()
	var opts []tokenvault.TokenizeOption
	if *ttl != 0 {
		opts = append(opts, tokenvault.WithTTL(*ttl))
	}
	tok, err := v.Tokenize(context.Background(), *tenant, a[2], a[3], opts...)
	ts.Check(err)
	ts.Setenv(a[4], tok)
	if *appendTo != "" {
		f, err := os.OpenFile(ts.MkAbs(*appendTo), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		ts.Check(err)
		_, err = f.WriteString(tok + "\n")
		ts.Check(err)
		ts.Check(f.Close())
	}
}

func vaultDetokenizeCmd(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("vaultdetokenize", flag.ContinueOnError)
	tenant := fs.String("tenant", "default", "")
	ts.Check(fs.Parse(args))
	if fs.NArg() < 4 || fs.NArg() > 5 || (!neg && fs.NArg() != 5) {
		ts.Fatalf("usage: [!] vaultdetokenize [-tenant T] FILE KEYFILE POLICY TOKEN [WANT]")
	}
	a := fs.Args()
	v, done := openTestVault(ts, a[0], a[1])
	defer done()
	got, err := v.Detokenize(context.Background(), *tenant, a[2], a[3])
	switch {
	case neg && err == nil:
		ts.Fatalf("the token detokenizes")
	case neg && !errors.Is(err, tokenvault.ErrNotFound) && !errors.Is(err, tokenvault.ErrExpired):
		ts.Fatalf("detokenize: %v, want not found or expired", err)
	case !neg && err != nil:
		ts.Fatalf("detokenize: %v", err)
	case !neg && got != a[4]:
		ts.Fatalf("detokenize = %q, want %q", got, a[4])
	}
}
