package main

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
// once: every call of the per-line function waits until another call is
// running beside it, which happens only if two batches are processed in
// parallel (the timeout only keeps a broken stream from hanging the test).
func TestStreamNDJSONParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	const lines = 4 * batchLines
	in := strings.Repeat("x\n", lines)
	var (
		mu       sync.Mutex
		inflight int
		peak     int
		together = make(chan struct{})
		once     sync.Once
	)
	var out bytes.Buffer
	err := streamNDJSON(strings.NewReader(in), &out, func(line []byte) ([]byte, error) {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		if inflight >= 2 {
			once.Do(func() { close(together) })
		}
		mu.Unlock()
		select {
		case <-together:
		case <-time.After(30 * time.Second):
		}
		mu.Lock()
		inflight--
		mu.Unlock()
		return line, nil
	})
	if err != nil || out.String() != in {
		t.Fatalf("streamNDJSON = %v", err)
	}
	if peak < 2 {
		t.Errorf("streamNDJSON ran at most %d line at a time with GOMAXPROCS %d: batches did not run in parallel", peak, runtime.GOMAXPROCS(0))
	}
}
