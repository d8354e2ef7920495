package parallel_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datamask/datamask/internal/parallel"
)

// workerCounts are the worker counts every property is checked with: the
// caller's goroutine alone, and several goroutines.
var workerCounts = []int{1, 2, 4, 8}

func TestDoEveryIndexOnce(t *testing.T) {
	for _, workers := range workerCounts {
		for _, n := range []int{0, 1, 2, 7, 1000} {
			t.Run(fmt.Sprintf("workers=%d/n=%d", workers, n), func(t *testing.T) {
				seen := make([]atomic.Int32, n)
				var busy [8]atomic.Int32 // calls in flight per worker
				err := parallel.Do(context.Background(), n, workers, func(_ context.Context, w, i int) error {
					if w < 0 || w >= workers {
						t.Errorf("worker %d outside [0, %d)", w, workers)
						return nil
					}
					if busy[w].Add(1) != 1 {
						t.Errorf("worker %d made two calls at once", w)
					}
					seen[i].Add(1)
					busy[w].Add(-1)
					return nil
				})
				if err != nil {
					t.Fatalf("Do = %v, want nil", err)
				}
				for i := range seen {
					if c := seen[i].Load(); c != 1 {
						t.Errorf("index %d called %d times, want 1", i, c)
					}
				}
			})
		}
	}
}

// TestDoStopsOnCancel cancels the context during the first call: calls
// that never look at their context (a warm data key cache) must still
// stop within about one value per worker, and Do must return ctx's error.
func TestDoStopsOnCancel(t *testing.T) {
	for _, workers := range workerCounts {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var calls atomic.Int64
			err := parallel.Do(ctx, 100000, workers, func(context.Context, int, int) error {
				if calls.Add(1) == 1 {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Do after cancel = %v, want context.Canceled", err)
			}
			if n := calls.Load(); n > int64(2*workers) {
				t.Errorf("calls after cancellation = %d, want at most %d (about one value per worker)", n, 2*workers)
			}
		})
	}
}

func TestDoDeadline(t *testing.T) {
	for _, workers := range workerCounts {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			defer cancel()
			var calls atomic.Int64
			err := parallel.Do(ctx, 1000, workers, func(context.Context, int, int) error {
				calls.Add(1)
				return nil
			})
			if !errors.Is(err, context.DeadlineExceeded) || calls.Load() != 0 {
				t.Errorf("Do with an expired deadline = %v after %d calls, want context.DeadlineExceeded after none", err, calls.Load())
			}
		})
	}
}

func TestDoFirstErrorStops(t *testing.T) {
	errBoom := errors.New("boom")
	for _, workers := range workerCounts {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			var calls atomic.Int64
			var cancelled atomic.Bool
			err := parallel.Do(context.Background(), 100000, workers, func(ctx context.Context, _, i int) error {
				calls.Add(1)
				switch {
				case i == 1:
					return errBoom
				case i == 0 && workers > 1:
					// Index 0 waits for the failure of index 1 to cancel it.
					select {
					case <-ctx.Done():
						cancelled.Store(true)
					case <-time.After(10 * time.Second):
					}
				}
				return nil
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("Do = %v, want the first error", err)
			}
			if n := calls.Load(); n > int64(2+2*workers) {
				t.Errorf("calls = %d, want the work to stop after the error", n)
			}
			if workers > 1 && !cancelled.Load() {
				t.Error("the call in flight did not see its context cancelled")
			}
		})
	}
}

// TestDoPanic checks that a panic in any worker reaches the caller's
// goroutine with its own value, whatever the number of workers, and
// after the other workers have stopped.
func TestDoPanic(t *testing.T) {
	type marker struct{ s string }
	for _, workers := range workerCounts {
		for _, n := range []int{1, 2, 1000} {
			t.Run(fmt.Sprintf("workers=%d/n=%d", workers, n), func(t *testing.T) {
				var running atomic.Int64
				got := func() (v any) {
					defer func() { v = recover() }()
					_ = parallel.Do(context.Background(), n, workers, func(_ context.Context, _, i int) error {
						running.Add(1)
						defer running.Add(-1)
						if i == n-1 {
							panic(&marker{"provider bug"})
						}
						return nil
					})
					return nil
				}()
				m, ok := got.(*marker)
				if !ok || m.s != "provider bug" {
					t.Fatalf("recover() = %#v, want the worker's own panic value", got)
				}
				if r := running.Load(); r != 0 {
					t.Errorf("%d calls still running when the panic reached the caller", r)
				}
			})
		}
	}
}

// TestDoPanicWinsOverError: a panic is never swallowed because another
// worker failed first.
func TestDoPanicWinsOverError(t *testing.T) {
	got := func() (v any) {
		defer func() { v = recover() }()
		started := make(chan struct{})
		_ = parallel.Do(context.Background(), 2, 2, func(ctx context.Context, _, i int) error {
			if i == 0 {
				<-started
				return errors.New("first")
			}
			close(started)
			<-ctx.Done() // the error of index 0 is recorded
			panic("second")
		})
		return nil
	}()
	if got != "second" {
		t.Errorf("recover() = %v, want the panic that followed an error", got)
	}
}

func TestDoRuntimeError(t *testing.T) {
	got := func() (v any) {
		defer func() { v = recover() }()
		short := make([]int, 50)
		_ = parallel.Do(context.Background(), 100, 4, func(_ context.Context, _, i int) error {
			short[i]++ // index out of range from i = 50
			return nil
		})
		return nil
	}()
	if _, ok := got.(runtime.Error); !ok {
		t.Errorf("recover() = %#v, want the runtime.Error of the worker", got)
	}
}

// TestDoGoexit: runtime.Goexit in a worker (t.FailNow in a test's fake
// provider) ends the caller's goroutine rather than letting Do return
// success with work undone.
func TestDoGoexit(t *testing.T) {
	for _, workers := range workerCounts {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			returned := make(chan bool, 1)
			go func() {
				ok := false
				defer func() { returned <- ok }()
				_ = parallel.Do(context.Background(), 100, workers, func(_ context.Context, _, i int) error {
					if i == 10 {
						runtime.Goexit()
					}
					return nil
				})
				ok = true
			}()
			if <-returned {
				t.Error("Do returned after a worker called runtime.Goexit")
			}
		})
	}
}

func TestWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, tt := range []struct{ n, want int }{{0, 1}, {1, 1}, {3, 3}, {4, 4}, {1000, 4}} {
		if got := parallel.Workers(tt.n); got != tt.want {
			t.Errorf("Workers(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

func BenchmarkDo(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				_ = parallel.Do(context.Background(), n, parallel.Workers(n), func(_ context.Context, _, i int) error {
					sink.Add(int64(i))
					return nil
				})
			}
		})
	}
}
