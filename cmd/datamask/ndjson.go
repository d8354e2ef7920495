package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
)

// Limits of the NDJSON driver. Memory stays bounded whatever the input
// size: at most inFlight batches of about batchBytes each are held, plus
// one line of up to maxLineBytes.
const (
	batchBytes = 256 << 10
	batchLines = 512
)

// maxLineBytes is the longest line accepted (a variable for tests).
var maxLineBytes = 64 << 20

// lineError is an error on one input line.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string {
	return fmt.Sprintf("line %d: %s", e.line, strings.TrimPrefix(e.err.Error(), "datamask: "))
}
func (e *lineError) Unwrap() error { return e.err }

// batch is a run of consecutive lines, processed by one worker.
type batch struct {
	first int    // number of the first line (1-based)
	data  []byte // the lines' bytes, back to back
	ends  []int  // end offset of each line in data
	out   []byte // the output lines, each ending with '\n'
	err   error  // the first failure, a *lineError
	done  chan struct{}
}

var batchPool = sync.Pool{New: func() any { return &batch{} }}

// streamNDJSON reads one JSON document per line from r, calls fn on each
// with GOMAXPROCS workers, and writes the results to w, one per line, in
// input order. Blank (whitespace-only) lines are copied as empty lines so
// that output line N is input line N; a trailing "\r" is dropped. It stops
// at the first error, after writing every line before it, and returns a
// *lineError naming the line. fn must be safe for concurrent use; the line
// it gets is only valid during the call.
func streamNDJSON(r io.Reader, w io.Writer, fn func(line []byte) ([]byte, error)) error {
	return streamNDJSONWorkers(r, w, runtime.GOMAXPROCS(0), batchLines, fn)
}

// streamNDJSONWorkers is streamNDJSON with the given number of workers and
// of lines per batch (a worker's run of lines), for work that mostly waits
// (a vault's commits) rather than computes: many small batches keep many
// lines in flight.
func streamNDJSONWorkers(r io.Reader, w io.Writer, workers, lines int, fn func(line []byte) ([]byte, error)) error {
	jobs := make(chan *batch, workers)
	order := make(chan *batch, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range jobs {
				select {
				case <-stop:
				default:
					b.process(fn)
				}
				close(b.done)
			}
		})
	}

	readErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(jobs)
		readErr <- readBatches(r, lines, func(b *batch) bool {
			select {
			case order <- b:
			case <-stop:
				return false
			}
			jobs <- b
			return true
		})
	}()

	var err error
	for b := range order {
		<-b.done
		if err == nil {
			if _, werr := w.Write(b.out); werr != nil {
				err = fmt.Errorf("cannot write output: %v", werr)
			} else if b.err != nil {
				err = b.err
			}
			if err != nil {
				close(stop)
			}
		}
		b.reset()
		batchPool.Put(b)
	}
	wg.Wait()
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	return err
}

// readBatches splits r into batches of at most maxLines lines and hands
// each to send, which returns false to stop reading.
func readBatches(r io.Reader, maxLines int, send func(*batch) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	b := newBatch(1)
	for {
		chunk, err := br.ReadSlice('\n')
		start := len(b.data)
		b.data = append(b.data, chunk...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(b.data)-start > maxLineBytes {
				// Hand over the complete lines before this one first.
				b.data = b.data[:start]
				if len(b.ends) > 0 && !send(b) {
					return nil
				}
				return &lineError{line: line + 1, err: fmt.Errorf("line longer than %d KiB", maxLineBytes>>10)}
			}
			chunk, err = br.ReadSlice('\n')
			b.data = append(b.data, chunk...)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("cannot read input: %v", err)
		}
		if len(b.data) > start { // a line, possibly the last without '\n'
			line++
			b.ends = append(b.ends, len(b.data))
		}
		full := len(b.data) >= batchBytes || len(b.ends) >= maxLines
		if (full || err != nil) && len(b.ends) > 0 {
			if !send(b) {
				return nil
			}
			b = newBatch(line + 1)
		}
		if err != nil {
			return nil // io.EOF
		}
	}
}

func newBatch(first int) *batch {
	b := batchPool.Get().(*batch)
	b.first, b.done = first, make(chan struct{})
	return b
}

func (b *batch) reset() {
	b.data, b.ends, b.out, b.err = b.data[:0], b.ends[:0], b.out[:0], nil
}

// process runs fn on each line of b, filling b.out, and stops at the first
// error.
func (b *batch) process(fn func([]byte) ([]byte, error)) {
	start := 0
	for i, end := range b.ends {
		line := bytes.TrimSuffix(bytes.TrimSuffix(b.data[start:end], []byte("\n")), []byte("\r"))
		start = end
		if len(bytes.TrimSpace(line)) == 0 {
			b.out = append(b.out, '\n')
			continue
		}
		res, err := fn(line)
		if err != nil {
			b.err = &lineError{line: b.first + i, err: err}
			return
		}
		b.out = append(b.out, res...)
		b.out = append(b.out, '\n')
	}
}
