// Package sharedserver keeps one test server per test binary, for the test
// helpers of the servers the tests need (motoserver, dynamolocal, pgtest):
// the first test that asks starts it; without a TestMain it is closed when
// the last test using it ends, and with one that calls [Shared.Run] it
// serves the whole binary and is closed after the last test.
package sharedserver

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// Server is what a Shared holds: a pointer to a running server.
type Server interface {
	comparable
	Close() error
}

// Shared holds the server of a test binary. Its zero value holds none;
// use it through a pointer, as a package variable.
type Shared[S Server] struct {
	mu      sync.Mutex
	managed bool // Run owns the server's lifetime
	cur     S    // the running server, or the zero S
	refs    int  // tests using cur, when not managed
}

// Get returns the running server, starting it with start if none runs, and
// start's error if that fails. Unless [Shared.Run] manages its lifetime,
// the server is closed when the last test that got it ends (an error
// closing it fails that test).
func (sh *Shared[S]) Get(tb testing.TB, start func() (S, error)) (S, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var zero S
	if sh.cur == zero {
		s, err := start()
		if err != nil {
			return zero, err
		}
		sh.cur = s
	}
	s := sh.cur
	if !sh.managed {
		sh.refs++
		tb.Cleanup(func() {
			sh.mu.Lock()
			sh.refs--
			last := sh.refs == 0 && sh.cur == s
			if last {
				sh.cur = zero
			}
			sh.mu.Unlock()
			if last {
				if err := s.Close(); err != nil {
					tb.Error(err)
				}
			}
		})
	}
	return s, nil
}

// Current returns the running server, or the zero S if none runs.
func (sh *Shared[S]) Current() S {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.cur
}

// Run runs the tests of m and then closes the server that Get started, if
// any, so that one server serves the whole test binary; an error closing
// it is printed and fails the run. Call it from TestMain and exit with its
// result.
func (sh *Shared[S]) Run(m *testing.M) int {
	sh.mu.Lock()
	sh.managed = true
	sh.mu.Unlock()
	code := m.Run()
	sh.mu.Lock()
	s := sh.cur
	var zero S
	sh.cur = zero
	sh.managed = false
	sh.mu.Unlock()
	if s != zero {
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}
