package main

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// upper is a per-line function that also fails on demand.
func upper(line []byte) ([]byte, error) {
	if bytes.Contains(line, []byte("fail")) {
		return nil, errors.New("datamask: asked to fail")
	}
	return bytes.ToUpper(line), nil
}

func TestStreamNDJSON(t *testing.T) {
	var in, want strings.Builder
	for i := range 30000 {
		switch {
		case i%1000 == 7:
			in.WriteString("  \r\n")
			want.WriteString("\n")
		default:
			fmt.Fprintf(&in, "line %d\r\n", i)
			fmt.Fprintf(&want, "LINE %d\n", i)
		}
	}
	in.WriteString("last without newline")
	want.WriteString("LAST WITHOUT NEWLINE\n")
	var out bytes.Buffer
	if err := streamNDJSON(strings.NewReader(in.String()), &out, upper); err != nil {
		t.Fatalf("streamNDJSON = %v", err)
	}
	if out.String() != want.String() {
		t.Errorf("streamNDJSON output differs from the input order (%d bytes, want %d)", out.Len(), want.Len())
	}
}

func TestStreamNDJSONError(t *testing.T) {
	for _, failAt := range []int{1, 2, 511, 512, 513, 17777} {
		t.Run(strconv.Itoa(failAt), func(t *testing.T) {
			var in strings.Builder
			for i := 1; i <= 20000; i++ {
				if i == failAt || i == failAt+3 {
					in.WriteString("fail\n")
					continue
				}
				fmt.Fprintf(&in, "l%d\n", i)
			}
			var out bytes.Buffer
			err := streamNDJSON(strings.NewReader(in.String()), &out, upper)
			var le *lineError
			if !errors.As(err, &le) || le.line != failAt {
				t.Fatalf("streamNDJSON = %v, want an error on line %d", err, failAt)
			}
			if got := strings.Count(out.String(), "\n"); got != failAt-1 {
				t.Errorf("streamNDJSON wrote %d lines before the error on line %d, want %d", got, failAt, failAt-1)
			}
			if want := fmt.Sprintf("line %d: asked to fail", failAt); err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
		})
	}
}

func TestStreamNDJSONLongLine(t *testing.T) {
	defer func(n int) { maxLineBytes = n }(maxLineBytes)
	maxLineBytes = 100 << 10
	in := "ok\n" + strings.Repeat("x", 300<<10) + "\nok\n"
	var out bytes.Buffer
	err := streamNDJSON(strings.NewReader(in), &out, upper)
	var le *lineError
	if !errors.As(err, &le) || le.line != 2 || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("streamNDJSON(long line) = %v, want a line 2 error", err)
	}
	if out.String() != "OK\n" {
		t.Errorf("output = %q, want the first line", out.String())
	}
}

// TestStreamNDJSONParallel checks that batches run on several workers at
// once: with a per-line function that waits, the stream takes about
// 1/GOMAXPROCS of the sequential time (waiting needs no CPU, so a busy
// machine does not change this).
func TestStreamNDJSONParallel(t *testing.T) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 {
		t.Skip("GOMAXPROCS is 1: nothing runs in parallel")
	}
	const lines = 4 * batchLines
	const wait = 500 * time.Microsecond
	in := strings.Repeat("x\n", lines)
	var out bytes.Buffer
	start := time.Now()
	err := streamNDJSON(strings.NewReader(in), &out, func(line []byte) ([]byte, error) {
		time.Sleep(wait)
		return line, nil
	})
	elapsed := time.Since(start)
	if err != nil || out.String() != in {
		t.Fatalf("streamNDJSON = %v", err)
	}
	// time.Sleep sleeps at least wait, often more: measure the real
	// sequential cost instead of assuming it.
	seqStart := time.Now()
	for range lines / 8 {
		time.Sleep(wait)
	}
	sequential := 8 * time.Since(seqStart)
	if elapsed > sequential*3/4 {
		t.Errorf("streamNDJSON took %v for %d waiting lines, sequential takes %v: batches did not run in parallel", elapsed, lines, sequential)
	}
}
