package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
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
// "--" everything is positional. A parse error is a usage error that names
// the flag as it was typed and shows the command's synopsis; -h and --help
// print usage to standard output and return errHelp.
func parseArgs(e *env, fs *flag.FlagSet, usage string, args []string) ([]string, error) {
	var pos []string
	all := args
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(e.stdout, usage)
				return nil, errHelp
			}
			return nil, flagError(fs.Name(), err, all, usage)
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

// flagError rewrites an error of package flag, which names every flag
// "-name", with the flag as the user typed it ("--bogus"), and makes it a
// usage error showing the synopsis of the command (name is "datamask
// erase") with a pointer to its --help.
func flagError(name string, err error, args []string, usage string) *cliError {
	msg := err.Error()
	typed := func(flagName string) string {
		for _, a := range args {
			if a == "--" {
				break
			}
			n := strings.TrimLeft(a, "-")
			n, _, _ = strings.Cut(n, "=")
			if n == flagName && strings.HasPrefix(a, "-") {
				return strings.SplitN(a, "=", 2)[0]
			}
		}
		return "-" + flagName
	}
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined: -"):
		msg = "unknown flag " + typed(strings.TrimPrefix(msg, "flag provided but not defined: -"))
	case strings.HasPrefix(msg, "flag needs an argument: -"):
		msg = "flag " + typed(strings.TrimPrefix(msg, "flag needs an argument: -")) + " needs an argument"
	default:
		// invalid value "x" for flag -n: ...; invalid boolean value "x" for -b: ...
		if loc := flagNameRE.FindStringSubmatchIndex(msg); loc != nil {
			msg = msg[:loc[2]-1] + typed(msg[loc[2]:loc[3]]) + msg[loc[3]:]
		}
	}
	ue := usageErrorf("%s", msg).withHint("run '" + name + " --help' for every flag, with examples")
	ue.usage = synopsis(usage)
	return ue
}

// flagNameRE finds the flag an error of package flag is about.
var flagNameRE = regexp.MustCompile(`for (?:flag )?-([A-Za-z][A-Za-z0-9-]*)`)

// synopsis returns the first paragraph of a usage text: its usage lines.
func synopsis(usage string) string {
	if i := strings.Index(usage, "\n\n"); i >= 0 {
		return usage[:i+1]
	}
	return usage
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
	ue.usage = synopsis(usage)
	return "", ue.withHint("quote expressions for the shell: -f '$.a[*].b'")
}

// openInput opens FILE, or standard input for "" and "-".
func openInput(e *env, path string) (io.ReadCloser, error) {
	if path == "" || path == "-" {
		return nopCloser{e.stdin}, nil
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
	b, err := readAll(r)
	if err != nil {
		return nil, failure(fmt.Errorf("cannot read input: %v", err))
	}
	return b, nil
}

// limitMemory asks the Go runtime to keep its memory within factor times
// the size of a large input document (plus 64 MiB), unless GOMEMLIMIT
// says otherwise. The document, its index and the work on it stay in
// memory while values are processed; without a limit the collector lets
// garbage grow as large as they are before it runs, which can double the
// peak. The limit is soft: a run that needs more gets it, with more
// frequent collections.
func limitMemory(docLen int, factor float64) {
	if docLen < 32<<20 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(int64(float64(docLen)*factor) + 64<<20)
}

// readAll reads r to its end. A regular file (FILE, or standard input
// redirected from one) is read into a buffer of its size: io.ReadAll's
// doubling would make a 228 MB input cost up to twice that while reading.
func readAll(r io.Reader) ([]byte, error) {
	if nc, ok := r.(nopCloser); ok {
		r = nc.Reader
	}
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			// One byte more than the size, to see the end without a
			// second buffer; a file that grew meanwhile is still read
			// whole.
			b := make([]byte, 0, fi.Size()+1)
			for {
				n, err := f.Read(b[len(b):cap(b)])
				b = b[:len(b)+n]
				if errors.Is(err, io.EOF) {
					return b, nil
				}
				if err != nil {
					return nil, err
				}
				if len(b) == cap(b) {
					b = append(b, 0)[:len(b)] // grow
				}
			}
		}
	}
	return io.ReadAll(r)
}

// nopCloser is standard input as openInput returns it.
type nopCloser struct{ io.Reader }

func (nopCloser) Close() error { return nil }

// docWriter writes one output document, remembering its last byte so that
// end can finish it with a newline, and the first error of w.
type docWriter struct {
	w    io.Writer
	n    int64 // bytes written
	last byte
	err  error
}

func (d *docWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.w.Write(p)
	if n > 0 {
		d.last = p[n-1]
		d.n += int64(n)
	}
	d.err = err
	return n, err
}

// end writes the final newline if the document has none.
func (d *docWriter) end() error {
	if d.last != '\n' {
		_, _ = d.Write([]byte{'\n'})
	}
	if d.err != nil {
		return failure(fmt.Errorf("cannot write output: %v", d.err))
	}
	return nil
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
