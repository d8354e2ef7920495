package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
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
// sorted, the rest unchanged). "vector MANIFEST ID POINTER OUT" writes to
// OUT the value at the JSON pointer POINTER of test ID of the vector
// manifest MANIFEST (a path from the repository root): a string as it is,
// anything else as JSON. "kmsimport ARN SECRET" imports into the script's
// fake KMS the key of a vector (kmstest.Server.ImportKey).
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
			"jsonstr": vaultCmds["jsonstr"],
			"sleep":   vaultCmds["sleep"],
			"vector": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 4 || neg {
					ts.Fatalf("usage: vector MANIFEST ID POINTER OUT")
				}
				b, err := os.ReadFile(filepath.Join("..", "..", args[0]))
				ts.Check(err)
				var m struct {
					Tests map[string]any `json:"tests"`
				}
				ts.Check(json.Unmarshal(b, &m))
				v, ok := m.Tests[args[1]]
				for _, p := range strings.Split(strings.TrimPrefix(args[2], "/"), "/") {
					obj, isObj := v.(map[string]any)
					if !ok || !isObj {
						ts.Fatalf("%s: test %s has no %s", args[0], args[1], args[2])
					}
					v, ok = obj[p]
				}
				if !ok {
					ts.Fatalf("%s: test %s has no %s", args[0], args[1], args[2])
				}
				out, isString := v.(string)
				if !isString {
					j, err := json.Marshal(v)
					ts.Check(err)
					out = string(j)
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[3]), []byte(out+"\n"), 0o600))
			},
			"kmsimport": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 || neg {
					ts.Fatalf("usage: kmsimport ARN SECRET")
				}
				secret, err := base64.StdEncoding.DecodeString(args[1])
				ts.Check(err)
				_, id, _ := strings.Cut(args[0], ":key/")
				_, err = ts.Value(kmsKey{}).(*kmstest.Server).ImportKey(id, secret)
				ts.Check(err)
			},
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
