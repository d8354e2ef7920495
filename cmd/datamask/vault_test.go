package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Commands of the vault transcripts, which fill and read vaults with the
// tokenize and detokenize commands:
//
//	jsonstr FILE KEY OUT
//	    appends the string member KEY of the JSON object in FILE (a
//	    token, say), and a newline, to OUT: the line vault delete reads
//	sleep DURATION
var vaultCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
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
