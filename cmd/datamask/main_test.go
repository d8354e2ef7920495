package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/datamask/datamask/kmstest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"datamask": func() {
			os.Exit(run(os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
		},
	})
}

// kmsKey is the Env.Values key of each script's fake KMS.
type kmsKey struct{}

// TestScripts runs the command-line transcripts in testdata/*.txt. Each
// script gets its own fake AWS KMS (package kmstest): its environment
// points the AWS config chain at it (AWS_ENDPOINT_URL_KMS, Region, dummy
// credentials), $KMS_KEY_ARN and $KMS_KEY2_ARN are two of its keys, and
// the command "kmscalls OP N" checks how many OP requests it has served
// ("kmscalls reset" forgets them). "movejson FROM KEY TO KEY2" sets member
// KEY2 of the JSON object in file TO to the value of member KEY in file
// FROM, as anyone who can write stored documents can (members come out
// sorted, the rest unchanged).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(e *testscript.Env) error {
			s, err := kmstest.NewServer()
			if err != nil {
				return err
			}
			e.Defer(func() { s.Close() })
			for k, v := range s.Env() {
				e.Setenv(k, v)
			}
			e.Setenv("KMS_KEY_ARN", s.CreateKey())
			// Values too awkward to write in a script: an expression that
			// is not UTF-8, a context value one byte over a message's
			// limit, and one that fits only without a signing key.
			e.Setenv("BADPATH", "$.ssn\xff")
			e.Setenv("BIGVALUE", strings.Repeat("v", 0xFFFF-2-4-1+1))
			e.Setenv("SIGNEDLIMIT", strings.Repeat("v", 0xFFFF-2-4-1-93+1))
			e.Setenv("KMS_KEY2_ARN", s.CreateKey())
			e.Values[kmsKey{}] = s
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"movejson": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 4 || neg {
					ts.Fatalf("usage: movejson FROM KEY TO KEY2")
				}
				var from, to map[string]json.RawMessage
				ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &from))
				ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[2])), &to))
				v, ok := from[args[1]]
				if !ok {
					ts.Fatalf("%s has no member %q", args[0], args[1])
				}
				to[args[3]] = v
				out, err := json.Marshal(to)
				ts.Check(err)
				ts.Check(os.WriteFile(ts.MkAbs(args[2]), append(out, '\n'), 0o644))
			},
			"vaulttokenize":   vaultCmds["vaulttokenize"],
			"vaultdetokenize": vaultCmds["vaultdetokenize"],
			"sleep":           vaultCmds["sleep"],
			"kmscalls": func(ts *testscript.TestScript, neg bool, args []string) {
				s := ts.Value(kmsKey{}).(*kmstest.Server)
				if len(args) == 1 && args[0] == "reset" {
					s.ResetCalls()
					return
				}
				if len(args) != 2 || neg {
					ts.Fatalf("usage: kmscalls OP N | kmscalls reset")
				}
				want, err := strconv.Atoi(args[1])
				ts.Check(err)
				if got := s.Calls(kmstest.Op(args[0])); got != want {
					ts.Fatalf("fake KMS served %d %s requests, want %d", got, args[0], want)
				}
			},
		},
	})
}
