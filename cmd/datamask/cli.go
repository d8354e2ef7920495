package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// listFlag is a repeatable string flag, such as -f PATH.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ", ") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// newFlagSet returns a FlagSet that reports errors to the caller instead
// of printing them, so that every diagnostic has the same form.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("datamask "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses args with fs, allowing flags after positional arguments
// ("erase file.json -f x"), and returns the positional arguments. After
// "--" everything is positional. A parse error is a usage error; -h and
// --help print usage to standard output and return errHelp.
func parseArgs(e *env, fs *flag.FlagSet, usage string, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(e.stdout, usage)
				return nil, errHelp
			}
			ue := usageErrorf("%s", err.Error())
			ue.usage = usage
			return nil, ue
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// inputArg returns the single optional FILE argument ("" or "-" for
// standard input).
func inputArg(pos []string, usage string) (string, error) {
	switch len(pos) {
	case 0:
		return "", nil
	case 1:
		return pos[0], nil
	}
	ue := usageErrorf("too many arguments: %d files given, at most one is read", len(pos))
	ue.usage = usage
	return "", ue.withHint("quote expressions for the shell: -f '$.a[*].b'")
}

// openInput opens FILE, or standard input for "" and "-".
func openInput(e *env, path string) (io.ReadCloser, error) {
	if path == "" || path == "-" {
		return io.NopCloser(e.stdin), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, failure(fmt.Errorf("cannot read input: %v", err))
	}
	return f, nil
}

// readInput reads all of FILE, or of standard input.
func readInput(e *env, path string) ([]byte, error) {
	r, err := openInput(e, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, failure(fmt.Errorf("cannot read input: %v", err))
	}
	return b, nil
}

// writeDoc writes one output document, ending it with a newline.
func writeDoc(e *env, doc []byte) error {
	if len(doc) == 0 || doc[len(doc)-1] != '\n' {
		doc = append(doc, '\n')
	}
	if _, err := e.stdout.Write(doc); err != nil {
		return failure(fmt.Errorf("cannot write output: %v", err))
	}
	return nil
}
