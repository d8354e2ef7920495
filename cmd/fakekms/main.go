// Command fakekms serves a fake AWS KMS (package kmstest) on loopback until
// it is interrupted, for tests in any language and for trying things by
// hand.
//
// It prints the endpoint and the ARNs of the keys it created to standard
// output, one KEY=VALUE per line, once the server is ready:
//
//	KMS_ENDPOINT=http://127.0.0.1:40213
//	AWS_REGION=us-east-1
//	KEY_ARN=arn:aws:kms:us-east-1:111122223333:key/5b0e...
//
// and the calls it served, per operation, to standard error when it stops.
// With -export it prints instead lines a POSIX shell can eval, which point
// the AWS SDKs and CLIs at it:
//
//	export AWS_ENDPOINT_URL_KMS='http://127.0.0.1:40213'
//	export AWS_REGION='us-east-1'
//	...
//	export KEY_ARN='arn:aws:kms:us-east-1:111122223333:key/5b0e...'
//
// Run fakekms -h for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/datamask/datamask/kmstest"
)

const usage = `usage: fakekms [-export] [-listen ADDR] [-region REGION] [-account ID] [-keys N] [-latency D]

fakekms serves a fake AWS KMS on loopback until interrupted (Ctrl-C or
SIGTERM). Once ready it prints, one per line on standard output:

  KMS_ENDPOINT=URL     the endpoint: AWS_ENDPOINT_URL_KMS for the AWS SDKs
  AWS_REGION=REGION    the Region requests must be signed for
  KEY_ARN=ARN          one line per key it created

or, with -export, lines a POSIX shell can eval ('. FILE' or eval):

  export AWS_ENDPOINT_URL_KMS='URL' AWS_REGION='REGION' AWS_DEFAULT_REGION='REGION'
  export AWS_ACCESS_KEY_ID='fakekms' AWS_SECRET_ACCESS_KEY='fakekms'
  export FAKEKMS_PID='PID'        its process, to stop it with kill
  export KEY_ARN='ARN'            the first key; KEY_ARN_2, KEY_ARN_3... the others
  # fakekms ready                 the last line

Any credentials work; the fake checks no signature.

Flags:
  -export        print export lines for a shell (see above)
  -listen ADDR   loopback address to listen on (default 127.0.0.1:0, a free port)
  -region NAME   AWS Region of the keys (default us-east-1)
  -account ID    12-digit AWS account of the keys (default 111122223333)
  -keys N        number of keys to create at start (default 1)
  -latency D     delay every request by D, such as 50ms (default 0)

Example (POSIX shell; waits until the fake is ready, then uses it):
  go run ./cmd/fakekms -export -keys 2 > fakekms.env &
  until grep -q '^# fakekms ready' fakekms.env 2>/dev/null; do sleep 0.2; done
  . ./fakekms.env
  aws kms encrypt --plaintext aGk= --key-id "$KEY_ARN"
  kill "$FAKEKMS_PID"
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command: it returns the exit status, 0 once ctx is done, 1 if
// the server fails, 2 on bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakekms", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", kmstest.DefaultAddr, "")
	region := fs.String("region", kmstest.DefaultRegion, "")
	account := fs.String("account", kmstest.DefaultAccount, "")
	keys := fs.Int("keys", 1, "")
	latency := fs.Duration("latency", 0, "")
	export := fs.Bool("export", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "fakekms: %v\nhint: run fakekms -h for usage\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fakekms: unexpected argument %q\nhint: run fakekms -h for usage\n", fs.Arg(0))
		return 2
	}
	if *keys < 0 || *keys > 1000 {
		fmt.Fprintf(stderr, "fakekms: -keys %d: want 0 to 1000\n", *keys)
		return 2
	}

	srv, err := kmstest.NewServer(kmstest.WithAddr(*listen), kmstest.WithRegion(*region),
		kmstest.WithAccount(*account), kmstest.WithLatency(*latency))
	if err != nil {
		fmt.Fprintf(stderr, "fakekms: %v\n", trimPrefix(err))
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			return 1 // the flags were fine; listening failed
		}
		return 2
	}
	arns := make([]string, *keys)
	for i := range arns {
		arns[i] = srv.CreateKey()
	}
	if *export {
		printExports(stdout, srv.URL(), srv.Region(), arns)
	} else {
		fmt.Fprintf(stdout, "KMS_ENDPOINT=%s\nAWS_REGION=%s\n", srv.URL(), srv.Region())
		for _, arn := range arns {
			fmt.Fprintf(stdout, "KEY_ARN=%s\n", arn)
		}
	}
	fmt.Fprintf(stderr, "fakekms: serving %s on %s; interrupt to stop\n", srv.Region(), srv.URL())

	<-ctx.Done()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err = <-closed:
	case <-time.After(10 * time.Second):
		err = errors.New("requests still running 10s after the interrupt")
	}
	counts := srv.CallCounts()
	ops := make([]string, 0, len(counts))
	for op := range counts {
		ops = append(ops, string(op))
	}
	slices.Sort(ops)
	fmt.Fprint(stderr, "fakekms: stopped; calls:")
	for _, op := range ops {
		fmt.Fprintf(stderr, " %s=%d", op, counts[kmstest.Op(op)])
	}
	fmt.Fprintln(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "fakekms: %v\n", trimPrefix(err))
		return 1
	}
	return 0
}

// printExports prints the lines of -export. The values hold no quote, but
// are quoted anyway, as a shell reading them expects.
func printExports(w io.Writer, url, region string, arns []string) {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	fmt.Fprintf(w, "export AWS_ENDPOINT_URL_KMS=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s\n", q(url), q(region), q(region))
	fmt.Fprintf(w, "export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n", q("fakekms"), q("fakekms"))
	fmt.Fprintf(w, "export FAKEKMS_PID=%s\n", q(strconv.Itoa(os.Getpid())))
	for i, arn := range arns {
		name := "KEY_ARN"
		if i > 0 {
			name += "_" + strconv.Itoa(i+1)
		}
		fmt.Fprintf(w, "export %s=%s\n", name, q(arn))
	}
	fmt.Fprintln(w, "# fakekms ready")
}

// trimPrefix drops the package prefix of kmstest errors (the command's own
// prefix is enough) and names flags instead of the options they set.
func trimPrefix(err error) string {
	s, _ := strings.CutPrefix(err.Error(), "kmstest: ")
	for option, flag := range map[string]string{"WithAddr: ": "-listen: ", "WithRegion: ": "-region: ",
		"WithAccount: ": "-account: ", "WithLatency: ": "-latency: "} {
		if rest, ok := strings.CutPrefix(s, option); ok {
			return flag + rest
		}
	}
	return s
}
