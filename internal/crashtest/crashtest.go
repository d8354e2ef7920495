// Package crashtest kills test child processes at random points, for the
// crash-safety tests of the token vault's stores: a test re-executes its
// own binary as a child that works and prints a line per result it got
// back, kills it with SIGKILL, and checks that every printed result
// survived.
package crashtest

import (
	"bufio"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// KillRound starts cmd, whose standard output and error must be unset,
// and kills it with SIGKILL at a random time up to 800 ms later: after its
// start on even rounds (perhaps before it printed anything), after its
// first line of n fields on odd rounds (mid-stream, whatever the
// machine's speed). It returns the fields of every whole line of n fields
// the child printed (the kill may cut the last line, which is dropped).
// It fails tb if the child cannot start, prints no such line within a
// minute on an odd round, or ends by itself.
func KillRound(tb testing.TB, cmd *exec.Cmd, round int, r *rand.Rand, n int) [][]string {
	tb.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := make(chan [][]string, 1)
	first := make(chan struct{})
	go func() {
		var got [][]string
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadString('\n') // only whole lines
			if err != nil {
				break
			}
			if f := strings.Fields(line); len(f) == n {
				if len(got) == 0 {
					close(first)
				}
				got = append(got, f)
			}
		}
		lines <- got
	}()
	if round%2 == 1 {
		select {
		case <-first:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			cmd.Wait()
			tb.Fatalf("round %d: no result from the child within a minute: %s", round, stderr.String())
		}
	}
	time.Sleep(time.Duration(r.IntN(800)) * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		tb.Fatal(err)
	}
	got := <-lines
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		tb.Fatalf("round %d: the child ended by itself (%v): %s", round, err, stderr.String())
	}
	return got
}
