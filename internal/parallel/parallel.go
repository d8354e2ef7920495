// Package parallel runs one function over many values on a few goroutines,
// the way datamask encrypts and decrypts the values a document holds (one
// value per call) and tokenizes and detokenizes them (one vault batch per
// call): [Do] is the one place that decides how work is shared,
// when it stops and what happens to a panic.
//
// Its promises, whatever the number of values or workers:
//
//   - once the caller's context is done no new value is started, so the
//     work stops within about one value per worker, and Do returns the
//     context's error;
//   - the first error cancels the context given to the calls in flight,
//     stops the rest and is returned;
//   - a panic (or runtime.Goexit) in a worker is recovered there, the
//     other workers stop, and it is raised again, with the same value, in
//     the caller's goroutine once every worker has returned, so a caller
//     that can recover a panic of one value can recover it for any number
//     of values.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers returns how many goroutines Do should use for n values: one per
// CPU (GOMAXPROCS), at most n, at least 1.
func Workers(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0)))
}

// Do calls fn(ctx, worker, i) for every i in [0, n), on up to workers
// goroutines. worker, in [0, workers), names the goroutine making the
// call: no two calls with the same worker run at once, so fn may keep
// per-worker scratch space indexed by it. With one worker (or n <= 1) the
// calls are made in order in the caller's goroutine.
//
// Before each call Do checks ctx: once it is done, no further call starts
// and Do returns ctx.Err() (unless a call failed first). The first error a
// call returns cancels the context of the calls still running, stops the
// others and is returned. A panic in fn is raised again in the caller's
// goroutine with the value it had, after every worker has stopped; a call
// of runtime.Goexit in fn ends the caller's goroutine likewise.
func Do(ctx context.Context, n, workers int, fn func(ctx context.Context, worker, i int) error) error {
	if workers <= 1 || n <= 1 {
		for i := range n {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(ctx, 0, i); err != nil {
				return err
			}
		}
		return nil
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next    atomic.Int64
		stopped atomic.Bool
		mu      sync.Mutex
		first   error
		// The first abnormal exit of a worker, which wins over any error:
		// a panic (panicked, with its value) or runtime.Goexit (exited).
		panicked bool
		value    any
		exited   bool
		wg       sync.WaitGroup
	)
	stop := func(err error, p bool, v any, goexit bool) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case panicked || exited:
		case p || goexit:
			panicked, value, exited = p, v, goexit
		case first == nil:
			first = err
		}
		stopped.Store(true)
		cancel()
	}
	for w := range min(workers, n) {
		wg.Go(func() {
			normal := false
			defer func() {
				if normal {
					return
				}
				// recover returns nil after runtime.Goexit; since Go 1.21
				// panic(nil) recovers as a *runtime.PanicNilError.
				if v := recover(); v != nil {
					stop(nil, true, v, false)
				} else {
					stop(nil, false, nil, true)
				}
			}()
			for !stopped.Load() {
				if err := parent.Err(); err != nil {
					stop(err, false, nil, false)
					break
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				if err := fn(ctx, w, i); err != nil {
					stop(err, false, nil, false)
					break
				}
			}
			normal = true
		})
	}
	wg.Wait()
	switch {
	case panicked:
		panic(value)
	case exited:
		runtime.Goexit()
	}
	return first
}
